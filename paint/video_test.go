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
// below that of painting each frame on its own with the same iterations,
// and below that of the warm start from the warped previous frame alone
// (a negligible temporal weight).
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
	o.TemporalWeight = 1e-9
	warm, err := NewVideoProcessor(n, o)
	if err != nil {
		t.Fatal(err)
	}
	var warmed []*pipeline.Frame
	for _, f := range frames {
		part, _ := warm.Parallel(ctx, f)
		out, err := warm.Ordered(ctx, f, part)
		if err != nil {
			t.Fatal(err)
		}
		warmed = append(warmed, out)
	}
	ec, ew, ea := warpError(t, frames, coherent), warpError(t, frames, warmed), warpError(t, frames, alone)
	t.Logf("E_warp %.5f with the temporal loss, %.5f warm start alone, %.5f per frame (ratios %.2f, %.2f)", ec, ew, ea, ec/ew, ec/ea)
	if !(ec < 0.7*ea) || !(ec < 0.95*ew) {
		t.Errorf("E_warp %.5f with the temporal loss, %.5f warm start alone, %.5f per frame: want under 0.95× and 0.7×", ec, ew, ea)
	}
}
