package model

import (
	"context"
	"errors"
	"image"
	"math"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/testenv"
)

// TestCancelTerminatesRun: cancelling the context while la_muse runs on a
// 1600×1600 picture (many seconds of work) terminates the run in progress:
// Stylize fails with context.Canceled soon after, instead of finishing the
// run and returning a picture.
func TestCancelTerminatesRun(t *testing.T) {
	e := open(t, Options{Model: testenv.Model(t, "la_muse"), Threads: 2})
	f := pipeline.NewFrame(1600, 1600)
	for i := range f.Pix {
		f.Pix[i] = uint8(i * 7)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var cancelled time.Time
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancelled = time.Now()
		cancel()
	}()
	start := time.Now()
	_, err := e.Stylize(ctx, f)
	end := time.Now()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v after %v, want context.Canceled", err, end.Sub(start))
	}
	// Generous: a whole run takes far longer; termination is checked
	// between nodes.
	if lag := end.Sub(cancelled); lag > 10*time.Second {
		t.Errorf("returned %v after the cancellation", lag)
	}
	t.Logf("returned %v after cancelling (run started %v before)", end.Sub(cancelled), cancelled.Sub(start))
	// The session still works after a terminated run.
	if _, err := e.Stylize(context.Background(), pipeline.NewFrame(64, 64)); err != nil {
		t.Fatalf("run after a terminated one: %v", err)
	}
}

// The shared place rule: an output of the canvas size is cut at the
// picture's place; a trimmed one is centred, its lost rim reflected; any
// other size is resized.
func TestPaddingPlace(t *testing.T) {
	const w, h = 9, 8
	in := make([]float32, 3*w*h)
	for i := range in {
		in[i] = float32(i % (w * h))
	}
	c := Conventions{SizeMultiple: 4}
	for _, tc := range []struct {
		name    string
		at      image.Point
		m, trim int
	}{
		{"engine padding", image.Pt(3, 3), 3, 0},
		{"trimmed inside the margin", image.Pt(3, 3), 3, 2},
		{"trimmed past the margin", image.Pt(0, 0), 0, 1},
		{"moved", image.Pt(5, 4), 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := c.padFor(w, h, tc.at, tc.m)
			if p.pw%4 != 0 || p.ph%4 != 0 || p.pw < w+tc.at.X+tc.m {
				t.Fatalf("canvas %dx%d for %dx%d at %v", p.pw, p.ph, w, h, tc.at)
			}
			canvas := append([]float32(nil), p.apply(in)...)
			// A model that trims tc.trim px from each side.
			ow, oh := p.pw-2*tc.trim, p.ph-2*tc.trim
			out := crop(canvas, p.pw, p.ph, tc.trim, tc.trim, ow, oh)
			got := p.place(out, ow, oh)
			// Past the margin only the rim is lost: it is reflected from
			// the output (picture column 0 ← output column 1 = picture
			// column 2); everything else is in place.
			lost := max(0, tc.trim-min(tc.at.X, tc.at.Y))
			for i := range in {
				x, y := i%w, i/w%h
				want := in[i]
				if x < lost {
					want = in[i-x+2*lost-x]
				}
				if y >= lost && y < h-lost && got[i] != want {
					t.Fatalf("value %d (%d,%d): %g, want %g", i, x, y, got[i], want)
				}
			}
		})
	}
	// A ×2 upsampling output is resized back, not taken for a trim.
	p := c.padFor(w, h, image.Pt(1, 1), 1)
	big := resizePlanes(p.apply(in), p.pw, p.ph, 2*p.pw, 2*p.ph)
	got := p.place(big, 2*p.pw, 2*p.ph)
	for i := range in {
		if math.Abs(float64(got[i]-in[i])) > 3 {
			t.Fatalf("upsampled value %d: %g, want about %g", i, got[i], in[i])
		}
	}
}
