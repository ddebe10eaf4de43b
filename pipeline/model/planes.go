package model

import (
	"math"

	"github.com/stylize/stylize/pipeline"
)

// Planar images: 3 planes (R, G, B) of w·h float32 in 0..255.

// getF32 and putF32 use the house's one float pool (pipeline.GetFloats):
// frames, padded frames, model outputs and metatiles share it, so the
// engine does not allocate megabytes per frame.
func getF32(n int) []float32 { return pipeline.GetFloats(n) }

func putF32(s []float32) { pipeline.PutFloats(s) }

func toPlanes(f *pipeline.Frame) []float32 {
	hw := f.W * f.H
	p := getF32(3 * hw)
	for i := 0; i < hw; i++ {
		p[i] = float32(f.Pix[3*i])
		p[hw+i] = float32(f.Pix[3*i+1])
		p[2*hw+i] = float32(f.Pix[3*i+2])
	}
	return p
}

// ToPlanes converts a frame to planar RGB 0..255.
func ToPlanes(f *pipeline.Frame) []float32 { return toPlanes(f) }

// FromPlanes writes planar RGB 0..255 into f, rounding and clamping.
func FromPlanes(p []float32, f *pipeline.Frame) { fromPlanes(p, f) }

func fromPlanes(p []float32, f *pipeline.Frame) {
	hw := f.W * f.H
	for i := 0; i < hw; i++ {
		f.Pix[3*i] = clamp8(p[i])
		f.Pix[3*i+1] = clamp8(p[hw+i])
		f.Pix[3*i+2] = clamp8(p[2*hw+i])
	}
}

func clamp8(v float32) uint8 {
	if !(v > 0) { // also NaN
		return 0
	}
	if v >= 254.5 {
		return 255
	}
	return uint8(v + 0.5)
}

// reflect maps any index onto 0..n-1 by mirroring without repeating the edge
// (…2 1 0 1 2…), periodically, so margins larger than the image still work.
func reflect(i, n int) int {
	if n == 1 {
		return 0
	}
	p := 2 * (n - 1)
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - i
	}
	return i
}

// padReflect places the w×h planes at (ox, oy) in a pw×ph canvas, filling
// the rest by reflection.
func padReflect(in []float32, w, h, ox, oy, pw, ph int) []float32 {
	out := getF32(3 * pw * ph)
	xs := make([]int, pw)
	for x := range xs {
		xs[x] = reflect(x-ox, w)
	}
	for c := 0; c < 3; c++ {
		src := in[c*w*h : (c+1)*w*h]
		dst := out[c*pw*ph : (c+1)*pw*ph]
		for y := 0; y < ph; y++ {
			row := src[reflect(y-oy, h)*w:]
			d := dst[y*pw : (y+1)*pw]
			for x, sx := range xs {
				d[x] = row[sx]
			}
		}
	}
	return out
}

// PadReflect is padReflect for other packages (tiles, temporal).
func PadReflect(in []float32, w, h, ox, oy, pw, ph int) []float32 {
	return padReflect(in, w, h, ox, oy, pw, ph)
}

// crop cuts a w×h window at (x0, y0) out of iw×ih planes.
func crop(in []float32, iw, ih, x0, y0, w, h int) []float32 {
	return cropInto(make([]float32, 3*w*h), in, iw, ih, x0, y0, w, h)
}

func cropInto(out, in []float32, iw, ih, x0, y0, w, h int) []float32 {
	for c := 0; c < 3; c++ {
		for y := 0; y < h; y++ {
			copy(out[c*w*h+y*w:c*w*h+(y+1)*w], in[c*iw*ih+(y0+y)*iw+x0:])
		}
	}
	return out
}

// Crop is crop for other packages.
func Crop(in []float32, iw, ih, x0, y0, w, h int) []float32 { return crop(in, iw, ih, x0, y0, w, h) }

// resizePlanes resizes with a box filter when shrinking (no aliasing) and
// bilinear interpolation when enlarging.
func resizePlanes(in []float32, w, h, nw, nh int) []float32 {
	if w == nw && h == nh {
		out := make([]float32, len(in))
		copy(out, in)
		return out
	}
	tmp := resize1D(in, w, h, nw, true) // rows: w → nw
	return resize1D(tmp, nw, h, nh, false)
}

// ResizePlanes is resizePlanes for other packages.
func ResizePlanes(in []float32, w, h, nw, nh int) []float32 { return resizePlanes(in, w, h, nw, nh) }

// resize1D resizes along x (horizontal) or y, keeping the other axis.
func resize1D(in []float32, w, h, n int, horizontal bool) []float32 {
	src := w
	if !horizontal {
		src = h
	}
	type tap struct {
		i int
		w float32
	}
	taps := make([][]tap, n)
	scale := float64(src) / float64(n)
	for o := 0; o < n; o++ {
		if scale > 1 { // box: average the source pixels the output covers
			a, b := float64(o)*scale, float64(o+1)*scale
			var t []tap
			for s := int(math.Floor(a)); s < int(math.Ceil(b)); s++ {
				lo, hi := math.Max(a, float64(s)), math.Min(b, float64(s+1))
				if hi > lo {
					t = append(t, tap{min(s, src-1), float32((hi - lo) / scale)})
				}
			}
			taps[o] = t
		} else { // bilinear on pixel centres
			x := (float64(o)+0.5)*scale - 0.5
			x0 := int(math.Floor(x))
			f := float32(x - float64(x0))
			taps[o] = []tap{{clampI(x0, src-1), 1 - f}, {clampI(x0+1, src-1), f}}
		}
	}
	var out []float32
	if horizontal {
		out = make([]float32, 3*n*h)
		for c := 0; c < 3; c++ {
			for y := 0; y < h; y++ {
				row := in[c*w*h+y*w : c*w*h+(y+1)*w]
				dst := out[c*n*h+y*n : c*n*h+(y+1)*n]
				for o, ts := range taps {
					var s float32
					for _, t := range ts {
						s += t.w * row[t.i]
					}
					dst[o] = s
				}
			}
		}
		return out
	}
	out = make([]float32, 3*w*n)
	for c := 0; c < 3; c++ {
		for o, ts := range taps {
			dst := out[c*w*n+o*w : c*w*n+(o+1)*w]
			for _, t := range ts {
				row := in[c*w*h+t.i*w : c*w*h+(t.i+1)*w]
				for x := range dst {
					dst[x] += t.w * row[x]
				}
			}
		}
	}
	return out
}

func clampI(v, hi int) int {
	if v < 0 {
		return 0
	}
	if v > hi {
		return hi
	}
	return v
}

// preserveColors keeps the content's chroma and takes the stylized luma:
// out = content + (Y(styl) − Y(content)) on every channel, which is exact in
// a YCbCr-type space with Rec.601 luma weights.
func preserveColors(styl, content []float32, hw int) {
	for i := 0; i < hw; i++ {
		ys := 0.299*styl[i] + 0.587*styl[hw+i] + 0.114*styl[2*hw+i]
		yc := 0.299*content[i] + 0.587*content[hw+i] + 0.114*content[2*hw+i]
		d := ys - yc
		styl[i] = content[i] + d
		styl[hw+i] = content[hw+i] + d
		styl[2*hw+i] = content[2*hw+i] + d
	}
}
