package paint

import (
	"context"
	"testing"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/temporal"
)

// pan crops n w×h frames from p, the window moving step px right each frame.
func pan(p Picture, n, w, h, step int) []*pipeline.Frame {
	src := p.Frame()
	var fs []*pipeline.Frame
	for i := 0; i < n; i++ {
		f := pipeline.NewFrame(w, h)
		for y := 0; y < h; y++ {
			copy(f.Pix[3*y*w:3*(y+1)*w], src.Pix[3*(y*src.W+i*step):3*(y*src.W+i*step+w)])
		}
		fs = append(fs, f)
	}
	return fs
}

func warpError(t *testing.T, in, out []*pipeline.Frame) float64 {
	t.Helper()
	var m temporal.WarpMeter
	for i := range in {
		if err := m.Add(in[i], out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return m.Value()
}

// TestVideoProcessorTemporalLoss paints a 6-frame 64×48 pan of stata.jpg:
// with the temporal loss the frame-to-frame warping error must be well
// below that of painting each frame on its own with the same iterations.
func TestVideoProcessorTemporalLoss(t *testing.T) {
	n := testNet(t)
	content, style := sharedPicture(t, "stata.jpg"), sharedPicture(t, "la_muse.jpg")
	w, h := Fit(content.W, content.H, 96)
	frames := pan(Resize(content, w, h), 6, 64, 48, 3)
	o := VideoOptions{Options: Options{Style: []Picture{style}, Iterations: 12, Threads: 2}, FrameIterations: 6}
	proc, err := NewVideoProcessor(n, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var coherent, alone []*pipeline.Frame
	for i, f := range frames {
		part, err := proc.Parallel(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := proc.Ordered(ctx, f, part)
		if err != nil {
			t.Fatal(err)
		}
		if out.W != f.W || out.H != f.H {
			t.Fatalf("frame %d: %d×%d out of %d×%d", i, out.W, out.H, f.W, f.H)
		}
		coherent = append(coherent, out)
		iters := o.FrameIterations
		if i == 0 {
			iters = o.Iterations
		}
		p, err := Paint(ctx, n, FromFrame(f), Options{Style: o.Style, Iterations: iters, Size: 64, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		alone = append(alone, p.Frame())
	}
	if proc.Frames != 6 || proc.Restarts != 1 {
		t.Errorf("%d frames, %d restarts: want 6 and 1 (a pan has no cut)", proc.Frames, proc.Restarts)
	}
	ec, ea := warpError(t, frames, coherent), warpError(t, frames, alone)
	t.Logf("E_warp %.5f with the temporal loss, %.5f per frame (ratio %.2f)", ec, ea, ec/ea)
	if !(ec < 0.7*ea) {
		t.Errorf("E_warp %.5f with the temporal loss, %.5f per frame: want under 0.7×", ec, ea)
	}
}
