package pipeline

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
)

// Frame is the one image type of the house: packed 8-bit RGB, row after row,
// with no padding between rows (stride 3·W). Video decoders fill it straight
// from ffmpeg's rgb24 output; tiles and images convert once on entry.
type Frame struct {
	W, H int
	Pix  []byte // len(Pix) == 3*W*H
}

// NewFrame returns a zeroed w×h frame.
func NewFrame(w, h int) *Frame {
	return &Frame{W: w, H: h, Pix: make([]byte, 3*w*h)}
}

// Bytes is the size of a w×h frame in bytes.
func Bytes(w, h int) int { return 3 * w * h }

// Clone returns a deep copy of f.
func (f *Frame) Clone() *Frame {
	g := &Frame{W: f.W, H: f.H, Pix: make([]byte, len(f.Pix))}
	copy(g.Pix, f.Pix)
	return g
}

// Validate checks that the buffer matches the size.
func (f *Frame) Validate() error {
	if f == nil {
		return fmt.Errorf("frame: nil")
	}
	if f.W <= 0 || f.H <= 0 {
		return fmt.Errorf("frame: empty size %dx%d", f.W, f.H)
	}
	if len(f.Pix) != 3*f.W*f.H {
		return fmt.Errorf("frame: %dx%d needs %d bytes, has %d", f.W, f.H, 3*f.W*f.H, len(f.Pix))
	}
	return nil
}

// FromImage converts any image to a Frame. Alpha is dropped (premultiplied
// colours are un-premultiplied first, so a half-transparent red stays red);
// callers that must keep alpha use AlphaOf.
func FromImage(img image.Image) *Frame {
	b := img.Bounds()
	f := NewFrame(b.Dx(), b.Dy())
	switch src := img.(type) {
	case *image.RGBA:
		for y := 0; y < f.H; y++ {
			row := src.Pix[(y)*src.Stride : (y)*src.Stride+4*f.W]
			dst := f.Pix[3*y*f.W : 3*(y+1)*f.W]
			for x := 0; x < f.W; x++ {
				r, g, bb, a := row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]
				if a != 255 && a != 0 {
					r = uint8(int(r) * 255 / int(a))
					g = uint8(int(g) * 255 / int(a))
					bb = uint8(int(bb) * 255 / int(a))
				}
				dst[3*x], dst[3*x+1], dst[3*x+2] = r, g, bb
			}
		}
		return f
	case *image.NRGBA:
		for y := 0; y < f.H; y++ {
			row := src.Pix[y*src.Stride : y*src.Stride+4*f.W]
			dst := f.Pix[3*y*f.W : 3*(y+1)*f.W]
			for x := 0; x < f.W; x++ {
				dst[3*x], dst[3*x+1], dst[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
		return f
	case *image.YCbCr:
		for y := 0; y < f.H; y++ {
			for x := 0; x < f.W; x++ {
				yi := src.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := src.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(src.Y[yi], src.Cb[ci], src.Cr[ci])
				i := 3 * (y*f.W + x)
				f.Pix[i], f.Pix[i+1], f.Pix[i+2] = r, g, bb
			}
		}
		return f
	}
	for y := 0; y < f.H; y++ {
		for x := 0; x < f.W; x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			i := 3 * (y*f.W + x)
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = c.R, c.G, c.B
		}
	}
	return f
}

// AlphaOf returns the alpha channel of img (nil when the image is fully
// opaque or has no alpha), one byte per pixel.
func AlphaOf(img image.Image) []byte {
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return nil
	}
	b := img.Bounds()
	a := make([]byte, b.Dx()*b.Dy())
	opaque := true
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			_, _, _, aa := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			a[y*b.Dx()+x] = uint8(aa >> 8)
			if aa>>8 != 255 {
				opaque = false
			}
		}
	}
	if opaque {
		return nil
	}
	return a
}

// Image returns f as an opaque *image.NRGBA (or with the given alpha, one byte
// per pixel, when alpha is not nil).
func (f *Frame) Image(alpha []byte) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, f.W, f.H))
	for i, j := 0, 0; i < len(f.Pix); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2] = f.Pix[i], f.Pix[i+1], f.Pix[i+2]
		if alpha != nil {
			img.Pix[j+3] = alpha[i/3]
		} else {
			img.Pix[j+3] = 255
		}
	}
	return img
}

// Draw satisfies callers that want a draw.Image copy of f.
func (f *Frame) Draw(dst draw.Image, at image.Point) {
	draw.Draw(dst, image.Rect(at.X, at.Y, at.X+f.W, at.Y+f.H), f.Image(nil), image.Point{}, draw.Src)
}

// FramePool hands out w×h frames whose pixels come from the shared byte
// free list (see GetBytes), so a long video does not allocate a new buffer
// per frame. Frames of another size go back to the list as plain buffers.
type FramePool struct {
	W, H int
}

// NewFramePool returns a pool of w×h frames.
func NewFramePool(w, h int) *FramePool { return &FramePool{W: w, H: h} }

// Get returns a w×h frame with undefined contents.
func (p *FramePool) Get() *Frame {
	return &Frame{W: p.W, H: p.H, Pix: GetBytes(3 * p.W * p.H)}
}

// Put returns f's pixels for reuse; f must not be used afterwards.
func (p *FramePool) Put(f *Frame) {
	if f != nil {
		PutBytes(f.Pix)
	}
}
