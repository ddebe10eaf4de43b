package temporal

import (
	"math"
	"testing"
)

const confMin = 2

func TestEstimateFlowShifts(t *testing.T) {
	src := photo(t, "stata.jpg")
	t.Logf("stata.jpg is %dx%d", src.W, src.H)
	tests := []struct {
		name   string
		dx, dy float64 // window motion; the content moves by −(dx, dy)
		sigma  float64
	}{
		{"2px noise6", 2, 0, 6},
		{"subpixel", -1.5, 0.75, 2},
		{"diagonal 7,-3", 7, -3, 4},
		{"large 15,9", 15, 9, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const w, h = 320, 180
			fs := pan(src, w, h, 2, 100, 80, tc.dx, tc.dy, tc.sigma, 1)
			a, b := NewPyramid(GrayOf(fs[0]), FlowOptions{}), NewPyramid(GrayOf(fs[1]), FlowOptions{})
			f, err := EstimateFlow(a, b)
			if err != nil {
				t.Fatal(err)
			}
			// Mean endpoint error in textured areas away from the border,
			// where the true displacement stays inside the picture.
			lv := a.levels[0]
			var sum float64
			var n int
			m := 12 + int(math.Abs(tc.dx)+math.Abs(tc.dy))
			for y := m; y < h-m; y++ {
				for x := m; x < w-m; x++ {
					i := y*w + x
					if lv.conf[i] < confMin {
						continue
					}
					eu, ev := float64(f.U[i])+tc.dx, float64(f.V[i])+tc.dy
					sum += math.Hypot(eu, ev)
					n++
				}
			}
			if n < w*h/10 {
				t.Fatalf("only %d textured pixels", n)
			}
			epe := sum / float64(n)
			t.Logf("mean endpoint error %.3f px over %d px", epe, n)
			if epe > 0.5 {
				t.Errorf("mean endpoint error %.3f px, want < 0.5", epe)
			}
		})
	}
}

// benchFlow is the flow work per frame as the processor does it: one new
// pyramid (the previous frame's is kept), flow both ways, the reliability
// mask.
func benchFlow(b *testing.B, w, h int) {
	src := photo(b, "stata.jpg")
	fs := pan(src, w, h, 2, 50, 50, 3, 1, 6, 1)
	g0, g1 := GrayOf(fs[0]), GrayOf(fs[1])
	p0 := NewPyramid(g0, FlowOptions{})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p1 := NewPyramid(g1, FlowOptions{})
		f, _ := EstimateFlow(p1, p0)
		bk, _ := EstimateFlow(p0, p1)
		_ = Reliable(f, bk)
	}
}

// BenchmarkFlow640x360 is full-resolution flow for 640×360 frames.
func BenchmarkFlow640x360(b *testing.B) { benchFlow(b, 640, 360) }

// BenchmarkFlow320x180 is what the processor does for 640×360 frames by
// default (FlowMaxSide 480 halves them).
func BenchmarkFlow320x180(b *testing.B) { benchFlow(b, 320, 180) }
