// Package imageio reads and writes still images (PNG, JPEG, GIF, WebP in;
// PNG, JPEG out) with size checks before decoding and atomic writes.
package imageio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	_ "golang.org/x/image/webp" // register the WebP decoder

	"github.com/stylize/stylize/pipeline"
)

func init() {
	// image/gif registers itself through its import; keep the import used.
	_ = gif.Decode
}

// MaxDecodePixels bounds what Decode accepts before allocating: 16k × 16k
// RGBA is 1 GiB. Larger pictures are refused with a clear error.
const MaxDecodePixels = 16384 * 16384

// ErrNotImage means the data is not a decodable image.
var ErrNotImage = errors.New("not a PNG, JPEG, GIF or WebP image")

// Decode decodes image bytes; name is used in messages.
func Decode(name string, b []byte) (image.Image, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("image %s: empty file, %w", name, ErrNotImage)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w (%v)", name, ErrNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("image %s: empty size %dx%d", name, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxDecodePixels {
		return nil, fmt.Errorf("image %s: %dx%d is larger than the %d-megapixel limit", name, cfg.Width, cfg.Height, MaxDecodePixels/1000000)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("image %s: corrupt or truncated: %v", name, err)
	}
	return img, nil
}

// Read reads and decodes an image file.
func Read(path string) (image.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	return Decode(path, b)
}

// Format is an output encoding.
type Format string

// The output formats.
const (
	PNG  Format = "png"
	JPEG Format = "jpg"
)

// FormatOf picks the format from a file name's extension.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return PNG, nil
	case ".jpg", ".jpeg":
		return JPEG, nil
	}
	return "", fmt.Errorf("output %s: unknown image extension %q (want .png, .jpg or .jpeg)", path, filepath.Ext(path))
}

// Encode writes img in the format (JPEG quality q, 0 = 92).
func Encode(w io.Writer, img image.Image, f Format, q int) error {
	switch f {
	case JPEG:
		if q <= 0 {
			q = 92 // visually lossless for stylized pictures, a third of PNG's size
		}
		return jpeg.Encode(w, img, &jpeg.Options{Quality: q})
	default:
		enc := png.Encoder{CompressionLevel: png.DefaultCompression}
		return enc.Encode(w, img)
	}
}

// Write encodes the frame (with alpha, if not nil) to path atomically.
func Write(path string, f *pipeline.Frame, alpha []byte, q int) error {
	format, err := FormatOf(path)
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if err := Encode(bw, f.Image(alpha), format, q); err != nil {
			return fmt.Errorf("output %s: encode: %w", path, err)
		}
		return bw.Flush()
	})
}

// Stylizer is what StylizeFile needs of the model engine.
type Stylizer interface {
	Stylize(ctx context.Context, f *pipeline.Frame) (*pipeline.Frame, error)
}

// StylizeFile reads in, stylizes it, and writes out (PNG or JPEG by
// extension) atomically. Alpha is kept for PNG output.
func StylizeFile(ctx context.Context, s Stylizer, in, out string, quality int) error {
	format, err := FormatOf(out)
	if err != nil {
		return err
	}
	if d := filepath.Dir(out); d != "" {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return fmt.Errorf("output %s: folder %s does not exist", out, d)
		}
	}
	if sameFile(in, out) {
		return fmt.Errorf("output %s: is the input file", out)
	}
	img, err := Read(in)
	if err != nil {
		return err
	}
	f := pipeline.FromImage(img)
	var alpha []byte
	if format == PNG {
		alpha = pipeline.AlphaOf(img)
	}
	res, err := s.Stylize(ctx, f)
	if err != nil {
		return fmt.Errorf("image %s: %w", in, err)
	}
	return Write(out, res, alpha, quality)
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
