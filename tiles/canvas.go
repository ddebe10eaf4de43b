package tiles

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"sync"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
)

// raster is a decoded tile: packed RGB plus alpha (nil when opaque).
type raster struct {
	w, h  int
	rgb   []byte
	alpha []byte
}

// blank reports a fully transparent tile (nil counts as not blank: it is
// handled as missing anyway).
func (r *raster) blank() bool {
	if r == nil || r.alpha == nil {
		return false
	}
	for _, a := range r.alpha {
		if a != 0 {
			return false
		}
	}
	return true
}

// decodeTile decodes PNG, JPEG or WebP bytes, keeping alpha.
func decodeTile(name string, b []byte) (*raster, error) {
	img, err := imageio.Decode(name, b)
	if err != nil {
		return nil, err
	}
	bd := img.Bounds()
	r := &raster{w: bd.Dx(), h: bd.Dy()}
	r.rgb = make([]byte, 3*r.w*r.h)
	var alpha []byte
	opaque := true
	setA := func(i int, a uint8) {
		if a != 255 {
			if alpha == nil {
				alpha = make([]byte, r.w*r.h)
				for k := range alpha {
					alpha[k] = 255
				}
			}
			opaque = false
		}
		if alpha != nil {
			alpha[i] = a
		}
	}
	switch src := img.(type) {
	case *image.Paletted:
		pal := make([][4]uint8, len(src.Palette))
		for i, c := range src.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			pal[i] = [4]uint8{n.R, n.G, n.B, n.A}
		}
		for y := 0; y < r.h; y++ {
			row := src.Pix[y*src.Stride : y*src.Stride+r.w]
			for x, pi := range row {
				i := y*r.w + x
				var c [4]uint8
				if int(pi) < len(pal) {
					c = pal[pi]
				}
				r.rgb[3*i], r.rgb[3*i+1], r.rgb[3*i+2] = c[0], c[1], c[2]
				setA(i, c[3])
			}
		}
	case *image.NRGBA:
		for y := 0; y < r.h; y++ {
			row := src.Pix[y*src.Stride : y*src.Stride+4*r.w]
			for x := 0; x < r.w; x++ {
				i := y*r.w + x
				r.rgb[3*i], r.rgb[3*i+1], r.rgb[3*i+2] = row[4*x], row[4*x+1], row[4*x+2]
				setA(i, row[4*x+3])
			}
		}
	default:
		f := pipeline.FromImage(img)
		copy(r.rgb, f.Pix)
		if o, ok := img.(interface{ Opaque() bool }); !ok || !o.Opaque() {
			if a := pipeline.AlphaOf(img); a != nil {
				alpha, opaque = a, false
			}
		}
	}
	if !opaque {
		r.alpha = alpha
	}
	return r, nil
}

var pngBuffers = &pngPool{}

type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer {
	if b, ok := p.p.Get().(*png.EncoderBuffer); ok {
		return b
	}
	return nil
}
func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

// getPix and putPix recycle the 4-byte-per-pixel pictures tiles are
// encoded from, through the house's byte pool.
func getPix(n int) []byte { return pipeline.GetBytes(n) }

func putPix(b []byte) { pipeline.PutBytes(b) }

// encodeTile encodes w×h packed RGB (+ alpha, nil when opaque)
// deterministically.
func encodeTile(f Format, quality, w, h int, rgb, alpha []byte) ([]byte, error) {
	pix := getPix(4 * w * h)
	defer putPix(pix)
	jpg := f == JPEG
	for i, j := 0, 0; i < len(rgb); i, j = i+3, j+4 {
		a := uint8(255)
		if alpha != nil && !jpg {
			a = alpha[i/3]
		}
		if a == 0 { // invisible: store zeros, not stylized paint
			pix[j], pix[j+1], pix[j+2], pix[j+3] = 0, 0, 0, 0
			continue
		}
		pix[j], pix[j+1], pix[j+2], pix[j+3] = rgb[i], rgb[i+1], rgb[i+2], a
	}
	return encodePix(f, quality, w, h, pix)
}

// encodePlanes encodes the t×t tile at (x0, y0) of w×h planar RGB (+ the
// tile's alpha, nil when opaque) like encodeTile, without an intermediate
// packed copy.
func encodePlanes(f Format, quality int, p []float32, w, h, x0, y0, t int, alpha []byte) ([]byte, error) {
	pix := getPix(4 * t * t)
	defer putPix(pix)
	hw := w * h
	if f == JPEG {
		alpha = nil
	}
	for y := 0; y < t; y++ {
		s := (y0+y)*w + x0
		rs, gs, bs := p[s:s+t], p[hw+s:hw+s+t], p[2*hw+s:2*hw+s+t]
		row := pix[4*y*t : 4*(y+1)*t]
		var ar []byte
		if alpha != nil {
			ar = alpha[y*t : (y+1)*t]
		}
		for x := range rs {
			a := uint8(255)
			if ar != nil {
				a = ar[x]
			}
			if a == 0 {
				row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = 0, 0, 0, 0
				continue
			}
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = clamp8(rs[x]), clamp8(gs[x]), clamp8(bs[x]), a
		}
	}
	return encodePix(f, quality, t, t, pix)
}

// encodePix encodes 4-byte pixels: non-premultiplied RGBA for PNG and
// WebP, opaque RGBA for JPEG.
func encodePix(f Format, quality, w, h int, pix []byte) ([]byte, error) {
	var buf bytes.Buffer
	r := image.Rect(0, 0, w, h)
	switch f {
	case JPEG:
		img := &image.RGBA{Pix: pix, Stride: 4 * w, Rect: r}
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
			return nil, fmt.Errorf("encode jpeg: %w", err)
		}
	case PNG:
		img := &image.NRGBA{Pix: pix, Stride: 4 * w, Rect: r}
		enc := png.Encoder{CompressionLevel: png.DefaultCompression, BufferPool: pngBuffers}
		if err := enc.Encode(&buf, img); err != nil {
			return nil, fmt.Errorf("encode png: %w", err)
		}
	case WebP:
		// Lossy at the quality, alpha kept losslessly; deterministic.
		img := &image.NRGBA{Pix: pix, Stride: 4 * w, Rect: r}
		if err := imageio.EncodeWebP(&buf, img, quality); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("encode %s: no encoder (png, jpg and webp are supported)", f)
	}
	return buf.Bytes(), nil
}

// grid is a rectangle of tiles (nil where missing) as one picture.
type grid struct {
	cols, rows, t int
	cells         []*raster // row-major
}

// planes renders the grid as planar RGB 0..255 and crops crop pixels from
// every side. Missing cells are filled by reflection of the present ones
// (mirrored at the edge of the data, never black); holes inside the data
// take the mirror image of a present neighbour.
func (g *grid) planes(crop int) ([]float32, int, int, bool) {
	gw, gh := g.cols*g.t, g.rows*g.t
	minC, minR, maxC, maxR := g.cols, g.rows, -1, -1
	for r := 0; r < g.rows; r++ {
		for c := 0; c < g.cols; c++ {
			if g.cells[r*g.cols+c] != nil {
				minC, maxC = min(minC, c), max(maxC, c)
				minR, maxR = min(minR, r), max(maxR, r)
			}
		}
	}
	if maxC < 0 {
		return nil, 0, 0, false
	}
	x0, x1 := minC*g.t, (maxC+1)*g.t
	y0, y1 := minR*g.t, (maxR+1)*g.t
	pick := func(c, r int) *raster {
		if c < 0 || r < 0 || c >= g.cols || r >= g.rows {
			return nil
		}
		return g.cells[r*g.cols+c]
	}
	w, h := gw-2*crop, gh-2*crop
	out := pipeline.GetFloats(3 * w * h) // every pixel is written below
	hw := w * h
	rp, gp, bp := out[:hw], out[hw:2*hw], out[2*hw:]
	// Per output column: the grid column and the pixel in it it mirrors
	// (computed once, no divisions per pixel).
	xc := make([]int, w)
	xp := make([]int, w)
	for x := range xc {
		gx := reflectIn(x+crop, x0, x1)
		xc[x], xp[x] = gx/g.t, gx%g.t
	}
	for y := 0; y < h; y++ {
		gy := reflectIn(y+crop, y0, y1)
		r := gy / g.t
		ro, gro, bro := rp[y*w:(y+1)*w], gp[y*w:(y+1)*w], bp[y*w:(y+1)*w]
		for x := 0; x < w; {
			c := xc[x]
			py := gy % g.t
			cell := pick(c, r)
			flip := false
			if cell == nil { // a hole inside the data: mirror a neighbour
				switch {
				case pick(c-1, r) != nil:
					cell, flip = pick(c-1, r), true
				case pick(c+1, r) != nil:
					cell, flip = pick(c+1, r), true
				case pick(c, r-1) != nil:
					cell, py = pick(c, r-1), g.t-1-py
				case pick(c, r+1) != nil:
					cell, py = pick(c, r+1), g.t-1-py
				}
			}
			// Run of output pixels that stay in this cell.
			e := x
			for e < w && xc[e] == c {
				e++
			}
			if cell == nil {
				for ; x < e; x++ {
					ro[x], gro[x], bro[x] = 128, 128, 128
				}
				continue
			}
			src := cell.rgb[3*py*g.t : 3*(py+1)*g.t]
			for ; x < e; x++ {
				px := xp[x]
				if flip {
					px = g.t - 1 - px
				}
				s := src[3*px : 3*px+3]
				ro[x], gro[x], bro[x] = float32(s[0]), float32(s[1]), float32(s[2])
			}
		}
	}
	return out, w, h, true
}

// reflectIn mirrors i into [lo, hi) without repeating the edge pixel.
func reflectIn(i, lo, hi int) int {
	n := hi - lo
	if n <= 1 {
		return lo
	}
	p := 2 * (n - 1)
	k := (i - lo) % p
	if k < 0 {
		k += p
	}
	if k >= n {
		k = p - k
	}
	return lo + k
}

func clamp8(v float32) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 254.5 {
		return 255
	}
	return uint8(v + 0.5)
}

// downsample2 averages 2×2 blocks of a 2t×2t quad (four children, nil =
// transparent) into one t×t tile, weighting colour by alpha so transparent
// pixels do not darken the edges.
func downsample2(kids [4]*raster, t int) (rgb, alpha []byte) {
	rgb = make([]byte, 3*t*t)
	alpha = make([]byte, t*t)
	opaque := true
	for y := 0; y < t; y++ {
		for x := 0; x < t; x++ {
			var sr, sg, sb, sa float64
			for dy := 0; dy < 2; dy++ {
				for dx := 0; dx < 2; dx++ {
					gx, gy := 2*x+dx, 2*y+dy
					k := kids[(gy/t)*2+gx/t]
					if k == nil {
						continue
					}
					px, py := gx%t, gy%t
					a := 255.0
					if k.alpha != nil {
						a = float64(k.alpha[py*t+px])
					}
					i := 3 * (py*t + px)
					sr += a * float64(k.rgb[i])
					sg += a * float64(k.rgb[i+1])
					sb += a * float64(k.rgb[i+2])
					sa += a
				}
			}
			o := y*t + x
			if sa > 0 {
				rgb[3*o] = uint8(sr/sa + 0.5)
				rgb[3*o+1] = uint8(sg/sa + 0.5)
				rgb[3*o+2] = uint8(sb/sa + 0.5)
			}
			alpha[o] = uint8(sa/4 + 0.5)
			if alpha[o] != 255 {
				opaque = false
			}
		}
	}
	if opaque {
		alpha = nil
	}
	return rgb, alpha
}
