package temporal

import (
	"fmt"
	"math"
)

// Flow is a dense displacement field on a W×H grid: the point (x, y) of the
// first frame is at (x+U, y+V) in the second, in pixels.
type Flow struct {
	W, H int
	U, V []float32
}

// NewFlow returns a zero flow field.
func NewFlow(w, h int) *Flow {
	return &Flow{W: w, H: h, U: make([]float32, w*h), V: make([]float32, w*h)}
}

// ShiftFlow is the constant flow of a pure translation by (dx, dy).
func ShiftFlow(w, h int, dx, dy float32) *Flow {
	f := NewFlow(w, h)
	for i := range f.U {
		f.U[i], f.V[i] = dx, dy
	}
	return f
}

// Resize resamples the flow onto a w×h grid covering the same picture,
// scaling the vectors with it.
func (f *Flow) Resize(w, h int) *Flow {
	if w == f.W && h == f.H {
		return f
	}
	o := NewFlow(w, h)
	sx, sy := float32(f.W)/float32(w), float32(f.H)/float32(h)
	for y := 0; y < h; y++ {
		fy := (float32(y)+0.5)*sy - 0.5
		for x := 0; x < w; x++ {
			fx := (float32(x)+0.5)*sx - 0.5
			i := y*w + x
			o.U[i] = bilinear(f.U, f.W, f.H, fx, fy) / sx
			o.V[i] = bilinear(f.V, f.W, f.H, fx, fy) / sy
		}
	}
	return o
}

// FlowOptions tune the flow estimator. The zero value is the default.
type FlowOptions struct {
	Levels     int     // pyramid levels; 0 = as many as keep the coarsest side ≥ 12 px (at most 6)
	Iterations int     // Lucas-Kanade updates per level; 0 = 4
	Window     int     // radius of the matching window in px; 0 = 6 (13×13)
	Lambda     float32 // regularisation of the 2×2 systems in (grey levels/px)²; 0 = 8
}

func (o *FlowOptions) applyDefaults() {
	if o.Iterations <= 0 {
		o.Iterations = 4 // converges for sub-pixel residuals after the coarser level's guess
	}
	if o.Window <= 0 {
		// 13×13: averages σ≈6 noise down to ~0.1 px of flow error while
		// keeping motion boundaries within a few pixels.
		o.Window = 6
	}
	if o.Lambda <= 0 {
		// Above the gradient energy of σ≈6 noise after the pyramid's blur, so
		// flat areas keep the coarse estimate instead of fitting noise.
		o.Lambda = 8
	}
}

// Pyramid is one frame prepared for flow estimation: a Gaussian pyramid
// with each level's gradients and the inverse of its windowed structure
// tensor. Building it is the per-frame part of the work and can run in
// parallel with other frames; EstimateFlow then only iterates.
type Pyramid struct {
	W, H   int
	opt    FlowOptions
	levels []*level
}

type level struct {
	w, h          int
	img           []float32
	ix, iy        []float32
	i11, i12, i22 []float32 // (A + λI)⁻¹, A = windowed [ix² ixiy; ixiy iy²]
	conf          []float32 // smallest eigenvalue of A: how well the window pins the motion down
}

// NewPyramid prepares g for flow estimation.
func NewPyramid(g *Gray, opt FlowOptions) *Pyramid {
	opt.applyDefaults()
	p := &Pyramid{W: g.W, H: g.H, opt: opt}
	img := blur5(g.Pix, g.W, g.H)
	w, h := g.W, g.H
	n := opt.Levels
	if n <= 0 {
		n = 1
		for n < 6 && min(w>>n, h>>n) >= 12 {
			n++
		}
	}
	for l := 0; l < n; l++ {
		p.levels = append(p.levels, newLevel(img, w, h, opt))
		if l == n-1 {
			break
		}
		b := blur5(img, w, h)
		nw, nh := max(1, w/2), max(1, h/2)
		d := make([]float32, nw*nh)
		for y := 0; y < nh; y++ {
			for x := 0; x < nw; x++ {
				d[y*nw+x] = b[min(2*y, h-1)*w+min(2*x, w-1)]
			}
		}
		img, w, h = d, nw, nh
	}
	return p
}

func newLevel(img []float32, w, h int, opt FlowOptions) *level {
	n := w * h
	lv := &level{w: w, h: h, img: img, ix: make([]float32, n), iy: make([]float32, n)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			x0, x1 := max(x-1, 0), min(x+1, w-1)
			y0, y1 := max(y-1, 0), min(y+1, h-1)
			if x1 > x0 {
				lv.ix[i] = (img[y*w+x1] - img[y*w+x0]) / float32(x1-x0)
			}
			if y1 > y0 {
				lv.iy[i] = (img[y1*w+x] - img[y0*w+x]) / float32(y1-y0)
			}
		}
	}
	axx, axy, ayy := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range axx {
		gx, gy := lv.ix[i], lv.iy[i]
		axx[i], axy[i], ayy[i] = gx*gx, gx*gy, gy*gy
	}
	tmp := make([]float32, n)
	boxBlur(axx, tmp, w, h, opt.Window)
	boxBlur(axy, tmp, w, h, opt.Window)
	boxBlur(ayy, tmp, w, h, opt.Window)
	lv.i11, lv.i12, lv.i22, lv.conf = axx, axy, ayy, tmp
	for i := range axx {
		a, b, d := axx[i], axy[i], ayy[i]
		tr := a + d
		disc := float32(math.Sqrt(float64((a-d)*(a-d) + 4*b*b)))
		lv.conf[i] = 0.5 * (tr - disc)
		a += opt.Lambda
		d += opt.Lambda
		det := a*d - b*b
		lv.i11[i], lv.i12[i], lv.i22[i] = d/det, -b/det, a/det
	}
	return lv
}

// EstimateFlow computes the dense flow from frame a to frame b (on a's
// grid): coarse-to-fine Lucas-Kanade with inverse-compositional updates
// over windows, each level started from the coarser level's result and
// smoothed with confidence weights, so textureless areas take the motion
// of the textured areas around them.
func EstimateFlow(a, b *Pyramid) (*Flow, error) {
	if a.W != b.W || a.H != b.H || len(a.levels) != len(b.levels) {
		return nil, fmt.Errorf("temporal: flow between %dx%d and %dx%d frames", a.W, a.H, b.W, b.H)
	}
	var u, v []float32
	pw, ph := 0, 0
	for l := len(a.levels) - 1; l >= 0; l-- {
		la, lb := a.levels[l], b.levels[l]
		w, h := la.w, la.h
		n := w * h
		nu, nv := make([]float32, n), make([]float32, n)
		if u != nil {
			sx, sy := float32(pw)/float32(w), float32(ph)/float32(h)
			for y := 0; y < h; y++ {
				fy := (float32(y)+0.5)*sy - 0.5
				for x := 0; x < w; x++ {
					fx := (float32(x)+0.5)*sx - 0.5
					nu[y*w+x] = bilinear(u, pw, ph, fx, fy) / sx
					nv[y*w+x] = bilinear(v, pw, ph, fx, fy) / sy
				}
			}
		}
		u, v, pw, ph = nu, nv, w, h
		refine(la, lb, u, v, a.opt)
	}
	return &Flow{W: a.W, H: a.H, U: u, V: v}, nil
}

// refine runs the Lucas-Kanade iterations of one level in place. The
// gradient is the mean of both frames' (the second one's warped along the
// current flow), which converges in fewer steps than either alone (ESM).
func refine(la, lb *level, u, v []float32, opt FlowOptions) {
	w, h := la.w, la.h
	n := w * h
	bx, by, tmp := make([]float32, n), make([]float32, n), make([]float32, n)
	axx, axy, ayy := make([]float32, n), make([]float32, n), make([]float32, n)
	tmp2 := make([]float32, n)
	wmax, hmax := float32(w-1), float32(h-1)
	const maxStep = 2 // px per update: keeps a bad window from throwing its flow away
	for it := 0; it < opt.Iterations; it++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := y*w + x
				px := clampf(float32(x)+u[i], 0, wmax)
				py := clampf(float32(y)+v[i], 0, hmax)
				x0, y0 := int(px), int(py)
				fx, fy := px-float32(x0), py-float32(y0)
				x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
				w00, w01, w10, w11 := (1-fx)*(1-fy), fx*(1-fy), (1-fx)*fy, fx*fy
				i00, i01, i10, i11 := y0*w+x0, y0*w+x1, y1*w+x0, y1*w+x1
				e := w00*lb.img[i00] + w01*lb.img[i01] + w10*lb.img[i10] + w11*lb.img[i11] - la.img[i]
				gx := 0.5 * (la.ix[i] + w00*lb.ix[i00] + w01*lb.ix[i01] + w10*lb.ix[i10] + w11*lb.ix[i11])
				gy := 0.5 * (la.iy[i] + w00*lb.iy[i00] + w01*lb.iy[i01] + w10*lb.iy[i10] + w11*lb.iy[i11])
				bx[i], by[i] = gx*e, gy*e
				axx[i], axy[i], ayy[i] = gx*gx, gx*gy, gy*gy
			}
		}
		boxBlur(bx, tmp, w, h, opt.Window)
		boxBlur(by, tmp, w, h, opt.Window)
		boxBlur(axx, tmp, w, h, opt.Window)
		boxBlur(axy, tmp, w, h, opt.Window)
		boxBlur(ayy, tmp, w, h, opt.Window)
		cw := tmp2
		for i := 0; i < n; i++ {
			a, b, d := axx[i]+opt.Lambda, axy[i], ayy[i]+opt.Lambda
			inv := 1 / (a*d - b*b)
			du := -(d*bx[i] - b*by[i]) * inv
			dv := -(a*by[i] - b*bx[i]) * inv
			u[i] += clampf(du, -maxStep, maxStep)
			v[i] += clampf(dv, -maxStep, maxStep)
			// Smallest eigenvalue of the window's structure tensor: how
			// well the window pins the motion down.
			a, d = axx[i], ayy[i]
			disc := float32(math.Sqrt(float64((a-d)*(a-d) + 4*b*b)))
			cw[i] = 0.5*(a+d-disc) + 1e-3
		}
		smooth(u, v, cw, bx, by, tmp, w, h, max(1, opt.Window/2))
	}
}

// smooth replaces u, v by their confidence-weighted local means, so
// reliable windows speak for flat ones and noise does not random-walk the
// flow from one iteration to the next. bx, by, tmp are scratch.
func smooth(u, v, cw, bx, by, tmp []float32, w, h, r int) {
	for i := range cw {
		bx[i], by[i] = u[i]*cw[i], v[i]*cw[i]
	}
	boxBlur(bx, tmp, w, h, r)
	boxBlur(by, tmp, w, h, r)
	boxBlur(cw, tmp, w, h, r)
	for i := range u {
		u[i], v[i] = bx[i]/cw[i], by[i]/cw[i]
	}
}

func clampf(v, lo, hi float32) float32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
