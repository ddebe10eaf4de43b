package paint

import (
	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
)

// FromFrame converts a frame to a planar 0..1 picture.
func FromFrame(f *pipeline.Frame) Picture {
	n := f.W * f.H
	p := Picture{W: f.W, H: f.H, Pix: make([]float32, 3*n)}
	for i := 0; i < n; i++ {
		for c := 0; c < 3; c++ {
			p.Pix[c*n+i] = float32(f.Pix[3*i+c]) / 255
		}
	}
	return p
}

// Frame converts the picture to 8-bit RGB, rounding and clamping.
func (p Picture) Frame() *pipeline.Frame {
	f := pipeline.NewFrame(p.W, p.H)
	n := p.W * p.H
	for i := 0; i < n; i++ {
		for c := 0; c < 3; c++ {
			v := p.Pix[c*n+i]*255 + 0.5
			switch {
			case !(v > 0): // also NaN
				f.Pix[3*i+c] = 0
			case v >= 255:
				f.Pix[3*i+c] = 255
			default:
				f.Pix[3*i+c] = uint8(v)
			}
		}
	}
	return f
}

// ReadPicture reads and decodes an image file (errors name the file).
func ReadPicture(path string) (Picture, error) {
	img, err := imageio.Read(path)
	if err != nil {
		return Picture{}, err
	}
	return FromFrame(pipeline.FromImage(img)), nil
}
