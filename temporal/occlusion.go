package temporal

// Occlusion marks where flow a (frame P → Q, on P's grid) is not confirmed
// by flow b (Q → P, on Q's grid): the forward-backward check of Ruder et al.
// 2016 / Lai et al. 2018, occluded where
//
//	|a(x) + b(x + a(x))|² > 0.01·(|a(x)|² + |b(x + a(x))|²) + 0.5,
//
// and where x + a(x) leaves the picture. It returns 1 for visible pixels
// and 0 for occluded ones, on P's grid.
func Occlusion(a, b *Flow) []float32 {
	m := make([]float32, a.W*a.H)
	wmax, hmax := float32(b.W-1), float32(b.H-1)
	for y := 0; y < a.H; y++ {
		for x := 0; x < a.W; x++ {
			i := y*a.W + x
			au, av := a.U[i], a.V[i]
			px, py := float32(x)+au, float32(y)+av
			if px < 0 || py < 0 || px > wmax || py > hmax {
				continue
			}
			bu := bilinear(b.U, b.W, b.H, px, py)
			bv := bilinear(b.V, b.W, b.H, px, py)
			du, dv := au+bu, av+bv
			if du*du+dv*dv <= 0.01*(au*au+av*av+bu*bu+bv*bv)+0.5 {
				m[i] = 1
			}
		}
	}
	return m
}

// MotionBoundaries clears mask where flow f changes too fast to be
// trusted (Ruder et al. 2016): |∇u|² + |∇v|² > 0.01·|f|² + 0.002.
func MotionBoundaries(f *Flow, mask []float32) {
	w, h := f.W, f.H
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			x0, x1 := max(x-1, 0), min(x+1, w-1)
			y0, y1 := max(y-1, 0), min(y+1, h-1)
			var ux, vx, uy, vy float32
			if x1 > x0 {
				d := float32(x1 - x0)
				ux, vx = (f.U[y*w+x1]-f.U[y*w+x0])/d, (f.V[y*w+x1]-f.V[y*w+x0])/d
			}
			if y1 > y0 {
				d := float32(y1 - y0)
				uy, vy = (f.U[y1*w+x]-f.U[y0*w+x])/d, (f.V[y1*w+x]-f.V[y0*w+x])/d
			}
			g := ux*ux + uy*uy + vx*vx + vy*vy
			if g > 0.01*(f.U[i]*f.U[i]+f.V[i]*f.V[i])+0.002 {
				mask[i] = 0
			}
		}
	}
}

// Reliable is where the flow a (P → Q) can carry Q's content to P: visible
// by the forward-backward check and away from motion boundaries.
func Reliable(a, b *Flow) []float32 {
	m := Occlusion(a, b)
	MotionBoundaries(a, m)
	return m
}

// Coverage is the mean of a mask: the share of reliable pixels.
func Coverage(mask []float32) float64 {
	if len(mask) == 0 {
		return 0
	}
	var s float64
	for _, v := range mask {
		s += float64(v)
	}
	return s / float64(len(mask))
}

// WarpPlanes resamples c planes of w×h values along flow f (on the same
// grid): out(x) = src(x + f(x)), bilinear, clamped at the borders. With f
// the flow from the current frame to the previous one, it brings the
// previous frame's planes onto the current frame.
func WarpPlanes(src []float32, c int, f *Flow) []float32 {
	w, h := f.W, f.H
	n := w * h
	out := make([]float32, c*n)
	wmax, hmax := float32(w-1), float32(h-1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			px, py := clampf(float32(x)+f.U[i], 0, wmax), clampf(float32(y)+f.V[i], 0, hmax)
			x0, y0 := int(px), int(py)
			fx, fy := px-float32(x0), py-float32(y0)
			x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
			w00, w01 := (1-fx)*(1-fy), fx*(1-fy)
			w10, w11 := (1-fx)*fy, fx*fy
			i00, i01, i10, i11 := y0*w+x0, y0*w+x1, y1*w+x0, y1*w+x1
			for ch := 0; ch < c; ch++ {
				p := src[ch*n : (ch+1)*n]
				out[ch*n+i] = w00*p[i00] + w01*p[i01] + w10*p[i10] + w11*p[i11]
			}
		}
	}
	return out
}

// WarpPlanesCubic is WarpPlanes with Catmull-Rom bicubic interpolation:
// repeated warping by fractional shifts (the recursive blend does one per
// frame) blurs far less than with bilinear weights.
func WarpPlanesCubic(src []float32, c int, f *Flow) []float32 {
	return warpCubic(src, c, f.W, f.H, f)
}

// warpCubic samples src planes of sw×sh at the flow's targets, which may
// lie on a grid of another size (feature maps of differently padded frames).
func warpCubic(src []float32, c, sw, sh int, f *Flow) []float32 {
	w, h := f.W, f.H
	n, sn := w*h, sw*sh
	out := make([]float32, c*n)
	wmax, hmax := float32(sw-1), float32(sh-1)
	var xi, yi [4]int
	var wx, wy [4]float32
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			px, py := clampf(float32(x)+f.U[i], 0, wmax), clampf(float32(y)+f.V[i], 0, hmax)
			x0, y0 := int(px), int(py)
			catmullRom(px-float32(x0), &wx)
			catmullRom(py-float32(y0), &wy)
			for k := 0; k < 4; k++ {
				xi[k] = min(max(x0-1+k, 0), sw-1)
				yi[k] = min(max(y0-1+k, 0), sh-1) * sw
			}
			for ch := 0; ch < c; ch++ {
				p := src[ch*sn : (ch+1)*sn]
				var s float32
				for ky := 0; ky < 4; ky++ {
					r := p[yi[ky]:]
					s += wy[ky] * (wx[0]*r[xi[0]] + wx[1]*r[xi[1]] + wx[2]*r[xi[2]] + wx[3]*r[xi[3]])
				}
				out[ch*n+i] = s
			}
		}
	}
	return out
}

// catmullRom fills the four Catmull-Rom weights for fraction t.
func catmullRom(t float32, w *[4]float32) {
	t2, t3 := t*t, t*t*t
	w[0] = 0.5 * (-t3 + 2*t2 - t)
	w[1] = 0.5 * (3*t3 - 5*t2 + 2)
	w[2] = 0.5 * (-3*t3 + 4*t2 + t)
	w[3] = 0.5 * (t3 - t2)
}
