package temporal

import (
	"fmt"

	"github.com/stylize/stylize/pipeline"
)

// PairWarpError is the warping error of Lai et al. 2018 for one pair of
// output frames: Σ M·(W(next) − cur)² / Σ M, with colours in 0..1, averaged
// over the three channels. fwd is the flow from cur to next on cur's grid
// (W(next)(x) = next(x + fwd(x))) and mask is M on cur's grid (1 = not
// occluded; nil = everywhere).
func PairWarpError(cur, next *pipeline.Frame, fwd *Flow, mask []float32) (float64, error) {
	if cur.W != next.W || cur.H != next.H || fwd.W != cur.W || fwd.H != cur.H {
		return 0, fmt.Errorf("temporal: warping error of %dx%d and %dx%d frames with a %dx%d flow", cur.W, cur.H, next.W, next.H, fwd.W, fwd.H)
	}
	n := cur.W * cur.H
	warped := WarpPlanes(framePlanes(next, 1.0/255), 3, fwd)
	c := framePlanes(cur, 1.0/255)
	var num, den float64
	for i := 0; i < n; i++ {
		m := float64(1)
		if mask != nil {
			m = float64(mask[i])
		}
		if m == 0 {
			continue
		}
		for ch := 0; ch < 3; ch++ {
			d := float64(warped[ch*n+i] - c[ch*n+i])
			num += m * d * d
		}
		den += 3 * m
	}
	if den == 0 {
		return 0, nil
	}
	return num / den, nil
}

func framePlanes(f *pipeline.Frame, scale float32) []float32 {
	n := f.W * f.H
	p := make([]float32, 3*n)
	for i := 0; i < n; i++ {
		p[i] = float32(f.Pix[3*i]) * scale
		p[n+i] = float32(f.Pix[3*i+1]) * scale
		p[2*n+i] = float32(f.Pix[3*i+2]) * scale
	}
	return p
}

// WarpMeter measures E_warp over a video one frame pair at a time (bounded
// state: the previous input and output). W and M come from the input
// video: a known translation when Shift is set, else flow estimated from
// the input frames in both directions with the forward-backward check.
type WarpMeter struct {
	Shift *[2]float32 // content motion per frame in px (dx, dy); nil = estimate
	Flow  FlowOptions

	prevIn   *Pyramid
	prevOut  *pipeline.Frame
	w, h     int
	sum, cov float64
	pairs    int
}

// Add feeds the next input frame and its output (same size).
func (m *WarpMeter) Add(in, out *pipeline.Frame) error {
	if in.W != out.W || in.H != out.H {
		return fmt.Errorf("temporal: input frame %dx%d, output %dx%d: want the same size", in.W, in.H, out.W, out.H)
	}
	if m.prevOut != nil && (in.W != m.w || in.H != m.h) {
		return fmt.Errorf("temporal: frame size changed from %dx%d to %dx%d", m.w, m.h, in.W, in.H)
	}
	var pyr *Pyramid
	if m.Shift == nil {
		pyr = NewPyramid(GrayOf(in), m.Flow)
	}
	if m.prevOut != nil {
		var fwd, bwd *Flow
		if m.Shift != nil {
			fwd = ShiftFlow(in.W, in.H, m.Shift[0], m.Shift[1])
			bwd = ShiftFlow(in.W, in.H, -m.Shift[0], -m.Shift[1])
		} else {
			var err error
			if fwd, err = EstimateFlow(m.prevIn, pyr); err != nil {
				return err
			}
			if bwd, err = EstimateFlow(pyr, m.prevIn); err != nil {
				return err
			}
		}
		mask := Occlusion(fwd, bwd)
		e, err := PairWarpError(m.prevOut, out, fwd, mask)
		if err != nil {
			return err
		}
		m.sum += e
		m.cov += Coverage(mask)
		m.pairs++
	}
	m.prevIn, m.prevOut, m.w, m.h = pyr, out.Clone(), in.W, in.H
	return nil
}

// Value is E_warp: the mean of the pairs' warping errors (0 before two
// frames).
func (m *WarpMeter) Value() float64 {
	if m.pairs == 0 {
		return 0
	}
	return m.sum / float64(m.pairs)
}

// Pairs is the number of frame pairs measured.
func (m *WarpMeter) Pairs() int { return m.pairs }

// Coverage is the mean share of non-occluded pixels over the pairs.
func (m *WarpMeter) Coverage() float64 {
	if m.pairs == 0 {
		return 0
	}
	return m.cov / float64(m.pairs)
}

// MeanAbsDiff is the mean absolute difference of two frames' channels
// (0..255): how far an output is from its content (style strength) or from
// another output.
func MeanAbsDiff(a, b *pipeline.Frame) float64 {
	if len(a.Pix) != len(b.Pix) || len(a.Pix) == 0 {
		return 0
	}
	var s int64
	for i, v := range a.Pix {
		d := int64(v) - int64(b.Pix[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(len(a.Pix))
}

// MeanColor is the mean of each RGB channel (0..255).
func MeanColor(f *pipeline.Frame) [3]float64 {
	var s [3]float64
	n := f.W * f.H
	for i := 0; i < n; i++ {
		for c := 0; c < 3; c++ {
			s[c] += float64(f.Pix[3*i+c])
		}
	}
	if n > 0 {
		for c := range s {
			s[c] /= float64(n)
		}
	}
	return s
}

// Sharpness is the mean absolute 4-neighbour Laplacian of f's luma: it
// falls when repeated warping blurs the picture.
func Sharpness(f *pipeline.Frame) float64 {
	g := GrayOf(f)
	w, h := g.W, g.H
	if w < 3 || h < 3 {
		return 0
	}
	var s float64
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			l := 4*g.Pix[i] - g.Pix[i-1] - g.Pix[i+1] - g.Pix[i-w] - g.Pix[i+w]
			if l < 0 {
				l = -l
			}
			s += float64(l)
		}
	}
	return s / float64((w-2)*(h-2))
}
