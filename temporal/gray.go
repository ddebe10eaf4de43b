package temporal

import (
	"github.com/stylize/stylize/pipeline"
)

// Gray is a single-channel float image (luma 0..255), row-major.
type Gray struct {
	W, H int
	Pix  []float32
}

// NewGray returns a black w×h image.
func NewGray(w, h int) *Gray { return &Gray{W: w, H: h, Pix: make([]float32, w*h)} }

// GrayOf is the Rec.601 luma of f.
func GrayOf(f *pipeline.Frame) *Gray {
	g := NewGray(f.W, f.H)
	for i := range g.Pix {
		p := f.Pix[3*i : 3*i+3]
		g.Pix[i] = 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
	}
	return g
}

// Resize scales g to w×h: box-averaging when shrinking by an integer factor,
// bilinear otherwise.
func (g *Gray) Resize(w, h int) *Gray {
	if w == g.W && h == g.H {
		return &Gray{W: w, H: h, Pix: append([]float32(nil), g.Pix...)}
	}
	if g.W%w == 0 && g.H%h == 0 {
		fx, fy := g.W/w, g.H/h
		o := NewGray(w, h)
		inv := 1 / float32(fx*fy)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s float32
				for yy := 0; yy < fy; yy++ {
					row := g.Pix[(y*fy+yy)*g.W+x*fx:]
					for xx := 0; xx < fx; xx++ {
						s += row[xx]
					}
				}
				o.Pix[y*w+x] = s * inv
			}
		}
		return o
	}
	src := g
	// Shrinking a lot: halve first so bilinear does not alias.
	for src.W >= 2*w && src.H >= 2*h {
		src = src.Resize(src.W/2, src.H/2)
	}
	o := NewGray(w, h)
	sx, sy := float32(src.W)/float32(w), float32(src.H)/float32(h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o.Pix[y*w+x] = bilinear(src.Pix, src.W, src.H, (float32(x)+0.5)*sx-0.5, (float32(y)+0.5)*sy-0.5)
		}
	}
	return o
}

// bilinear samples plane p (w×h) at (x, y) with clamping at the borders.
func bilinear(p []float32, w, h int, x, y float32) float32 {
	if x < 0 {
		x = 0
	} else if x > float32(w-1) {
		x = float32(w - 1)
	}
	if y < 0 {
		y = 0
	} else if y > float32(h-1) {
		y = float32(h - 1)
	}
	x0, y0 := int(x), int(y)
	fx, fy := x-float32(x0), y-float32(y0)
	x1, y1 := x0+1, y0+1
	if x1 >= w {
		x1 = w - 1
	}
	if y1 >= h {
		y1 = h - 1
	}
	r0, r1 := p[y0*w:], p[y1*w:]
	a := r0[x0] + fx*(r0[x1]-r0[x0])
	b := r1[x0] + fx*(r1[x1]-r1[x0])
	return a + fy*(b-a)
}

// blur5 smooths p (w×h) with the binomial kernel [1 4 6 4 1]/16 in both
// directions, mirroring at the borders, into a new plane.
func blur5(p []float32, w, h int) []float32 {
	tmp := make([]float32, len(p))
	out := make([]float32, len(p))
	idx := func(i, n int) int {
		if i < 0 {
			i = -i
		}
		if i >= n {
			i = 2*n - 2 - i
		}
		if i < 0 || i >= n {
			return 0
		}
		return i
	}
	for y := 0; y < h; y++ {
		row := p[y*w : (y+1)*w]
		o := tmp[y*w : (y+1)*w]
		for x := 0; x < w; x++ {
			if x >= 2 && x < w-2 {
				o[x] = (row[x-2] + 4*row[x-1] + 6*row[x] + 4*row[x+1] + row[x+2]) * (1.0 / 16)
				continue
			}
			o[x] = (row[idx(x-2, w)] + 4*row[idx(x-1, w)] + 6*row[x] + 4*row[idx(x+1, w)] + row[idx(x+2, w)]) * (1.0 / 16)
		}
	}
	for y := 0; y < h; y++ {
		r := [5][]float32{tmp[idx(y-2, h)*w:], tmp[idx(y-1, h)*w:], tmp[y*w:], tmp[idx(y+1, h)*w:], tmp[idx(y+2, h)*w:]}
		o := out[y*w : (y+1)*w]
		for x := 0; x < w; x++ {
			o[x] = (r[0][x] + 4*r[1][x] + 6*r[2][x] + 4*r[3][x] + r[4][x]) * (1.0 / 16)
		}
	}
	return out
}

// boxBlur averages p (w×h) over a (2r+1)² window in place, with the window
// shrunk at the borders; tmp must hold w·h values.
func boxBlur(p, tmp []float32, w, h, r int) {
	if r <= 0 {
		return
	}
	invN := make([]float32, 2*r+2)
	for i := 1; i < len(invN); i++ {
		invN[i] = 1 / float32(i)
	}
	// Horizontal running sums into tmp.
	for y := 0; y < h; y++ {
		row := p[y*w : (y+1)*w]
		o := tmp[y*w : (y+1)*w]
		var s float32
		n := 0
		for x := 0; x <= r && x < w; x++ {
			s += row[x]
			n++
		}
		for x := 0; x < w; x++ {
			o[x] = s * invN[n]
			if a := x + r + 1; a < w {
				s += row[a]
				n++
			}
			if d := x - r; d >= 0 {
				s -= row[d]
				n--
			}
		}
	}
	// Vertical running sums back into p, one column stripe at a time.
	sum := make([]float32, w)
	cnt := 0
	for y := 0; y <= r && y < h; y++ {
		row := tmp[y*w : (y+1)*w]
		for x := range sum {
			sum[x] += row[x]
		}
		cnt++
	}
	for y := 0; y < h; y++ {
		o := p[y*w : (y+1)*w]
		inv := 1 / float32(cnt)
		for x := range o {
			o[x] = sum[x] * inv
		}
		if a := y + r + 1; a < h {
			row := tmp[a*w : (a+1)*w]
			for x := range sum {
				sum[x] += row[x]
			}
			cnt++
		}
		if d := y - r; d >= 0 {
			row := tmp[d*w : (d+1)*w]
			for x := range sum {
				sum[x] -= row[x]
			}
			cnt--
		}
	}
}
