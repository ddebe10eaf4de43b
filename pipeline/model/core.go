package model

import (
	"image"
	"math"
)

// The one stylize core: every variant (whole model, split halves, shared
// statistics) pads with padding.apply, runs, puts the output back with
// padding.place and ends with Engine.Finish.

// padding is where a w×h picture sits in a model input: at (x, y) of a
// pw×ph canvas filled by reflection.
type padding struct{ w, h, x, y, pw, ph int }

// padFor places a w×h picture at at, with at least m px of reflection past
// its far sides and the canvas rounded up to the size multiple. The engine
// uses at = (margin, margin), m = margin; temporal alignment moves at;
// metatiles that carry their own margin use zero for both.
func (c Conventions) padFor(w, h int, at image.Point, m int) padding {
	k := max(1, c.SizeMultiple)
	return padding{w: w, h: h, x: at.X, y: at.Y, pw: roundUp(w+at.X+m, k), ph: roundUp(h+at.Y+m, k)}
}

// apply returns the padded canvas; in itself (not a copy) when nothing is
// added.
func (p padding) apply(in []float32) []float32 {
	if p.x == 0 && p.y == 0 && p.pw == p.w && p.ph == p.h {
		return in
	}
	return padReflect(in, p.w, p.h, p.x, p.y, p.pw, p.ph)
}

// release hands a canvas from apply back to the pool unless it is in.
func (p padding) release(canvas, in []float32) {
	if len(canvas) > 0 && len(in) > 0 && &canvas[0] != &in[0] {
		putF32(canvas)
	}
}

// place cuts the picture back out of an ow×oh model output and recycles
// out. The one trim rule: an output the size of the canvas is cut at the
// picture's place; one smaller by 0 < t ≤ max(¼ of the canvas, the padding
// added) on both axes has its borders trimmed by unpadded convolutions and
// is centred on the canvas (where the cut leaves it, the lost rim is
// reflected: it lies in the margin); any other size is a change of scale
// (an upsampling net) and is resized to the canvas first.
func (p padding) place(out []float32, ow, oh int) []float32 {
	x0, y0 := p.x, p.y
	tx, ty := p.pw-ow, p.ph-oh
	switch {
	case tx == 0 && ty == 0:
	case tx > 0 && ty > 0 && tx <= max(p.pw/4, p.pw-p.w) && ty <= max(p.ph/4, p.ph-p.h):
		x0, y0 = x0-tx/2, y0-ty/2
	default:
		r := resizePlanes(out, ow, oh, p.pw, p.ph)
		putF32(out)
		out, ow, oh = r, p.pw, p.ph
	}
	var res []float32
	if x0 >= 0 && y0 >= 0 && x0+p.w <= ow && y0+p.h <= oh {
		res = cropInto(getF32(3*p.w*p.h), out, ow, oh, x0, y0, p.w, p.h)
	} else {
		res = padReflect(out, ow, oh, -x0, -y0, p.w, p.h)
	}
	putF32(out)
	return res
}

// WorkSize is the size the model runs at for a w×h picture: at most
// MaxSide on the longer side.
func (e *Engine) WorkSize(w, h int) (int, int) {
	if ms := e.opt.MaxSide; ms > 0 && max(w, h) > ms {
		s := float64(ms) / float64(max(w, h))
		return max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
	}
	return w, h
}

// Finish ends every variant: work (ww×wh, the model's result at working
// size, taken over) is brought back to the content's w×h, then the
// content's colours and the content mix are applied as the options say.
func (e *Engine) Finish(work []float32, ww, wh int, content []float32, w, h int) []float32 {
	if ww != w || wh != h {
		r := resizePlanes(work, ww, wh, w, h)
		putF32(work)
		work = r
	}
	if e.opt.PreserveColors {
		preserveColors(work, content, w*h)
	}
	if m := float32(e.opt.ContentMix); m > 0 {
		for i := range work {
			work[i] = (1-m)*work[i] + m*content[i]
		}
	}
	return work
}
