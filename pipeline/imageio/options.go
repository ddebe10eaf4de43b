package imageio

import "github.com/stylize/stylize/pipeline/option"

// Options are the options of writing one stylized picture.
type Options struct {
	Quality int // JPEG and WebP quality 1..100; 0 = 92
}

// Table declares the picture options (stylize image flags, image job keys).
func (o *Options) Table() *option.Table {
	return option.New(
		// 92: visually lossless for stylized pictures, a third of PNG's size.
		option.IntVar(&o.Quality, "quality", "JPEG and WebP quality 1..100").Default(92).Range(1, 100, ""),
	)
}
