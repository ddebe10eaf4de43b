// Package imageio reads and writes still images (PNG, JPEG, GIF, WebP in;
// PNG, JPEG, WebP out) with size checks before decoding and atomic writes.
package imageio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	gowebp "github.com/gen2brain/webp"
	xwebp "golang.org/x/image/webp"

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
	// WebP is decoded by golang.org/x/image/webp (pure Go), never by the
	// encoder package's registered WASM decoder, whichever registered first.
	decodeConfig, decode := image.DecodeConfig, image.Decode
	if isWebP(b) {
		decodeConfig = func(r io.Reader) (image.Config, string, error) {
			c, err := xwebp.DecodeConfig(r)
			return c, "webp", err
		}
		decode = func(r io.Reader) (image.Image, string, error) {
			img, err := xwebp.Decode(r)
			if err != nil {
				return nil, "webp", err
			}
			return fromVP8(img), "webp", nil
		}
	}
	cfg, _, err := decodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w (%v)", name, ErrNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("image %s: empty size %dx%d", name, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxDecodePixels {
		return nil, fmt.Errorf("image %s: %dx%d is larger than the %d-megapixel limit", name, cfg.Width, cfg.Height, MaxDecodePixels/1000000)
	}
	img, _, err := decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("image %s: corrupt or truncated: %v", name, err)
	}
	return img, nil
}

// fromVP8 converts a lossy WebP picture as golang.org/x/image/webp returns
// it (*image.YCbCr or *image.NYCbCrA holding VP8's limited-range BT.601
// samples, which Go's colour model would read as full-range JPEG YCbCr:
// blacks lifted, whites dimmed, golang/go#40173) to NRGBA with libwebp's
// own conversion. Other pictures (lossless WebP) are returned as they are.
func fromVP8(img image.Image) image.Image {
	var yc *image.YCbCr
	var a []byte
	var aStride int
	switch m := img.(type) {
	case *image.YCbCr:
		yc = m
	case *image.NYCbCrA:
		yc, a, aStride = &m.YCbCr, m.A, m.AStride
	default:
		return img
	}
	b := yc.Rect
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := out.Pix[(y-b.Min.Y)*out.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			yy := (int32(yc.Y[yc.YOffset(x, y)]) - 16) * 76309 // 1.164 << 16
			ci := yc.COffset(x, y)
			u, v := int32(yc.Cb[ci])-128, int32(yc.Cr[ci])-128
			o := 4 * (x - b.Min.X)
			row[o] = clampFix(yy + 104597*v)            // 1.596
			row[o+1] = clampFix(yy - 25675*u - 53279*v) // 0.392, 0.813
			row[o+2] = clampFix(yy + 132201*u)          // 2.017
			row[o+3] = 255
			if a != nil {
				row[o+3] = a[(y-b.Min.Y)*aStride+(x-b.Min.X)]
			}
		}
	}
	return out
}

// clampFix rounds a 16.16 fixed-point value to 0..255.
func clampFix(v int32) uint8 {
	v = (v + 1<<15) >> 16
	return uint8(min(max(v, 0), 255))
}

// isWebP reports whether b starts like a WebP file (RIFF....WEBP).
func isWebP(b []byte) bool {
	return len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP"
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
	WebP Format = "webp"
)

// FormatOf picks the format from a file name's extension.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return PNG, nil
	case ".jpg", ".jpeg":
		return JPEG, nil
	case ".webp":
		return WebP, nil
	}
	return "", fmt.Errorf("output %s: unknown image extension %q (want .png, .jpg, .jpeg or .webp)", path, filepath.Ext(path))
}

// Encode writes img in the format (JPEG/WebP quality q, 0 = 92 for JPEG,
// 90 for WebP).
func Encode(w io.Writer, img image.Image, f Format, q int) error {
	switch f {
	case JPEG:
		if q <= 0 {
			q = 92 // visually lossless for stylized pictures, a third of PNG's size
		}
		return jpeg.Encode(w, img, &jpeg.Options{Quality: q})
	case WebP:
		if q <= 0 {
			q = 90
		}
		return EncodeWebP(w, img, q)
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

// EncodeWebP writes img as lossy WebP at quality q (1..100; alpha is kept,
// losslessly). It runs libwebp compiled to WebAssembly in-process
// (github.com/gen2brain/webp on wazero, no cgo); the same pixels always give
// the same bytes, so resumed tile runs stay byte-identical.
func EncodeWebP(w io.Writer, img image.Image, q int) error {
	if q < 1 || q > 100 {
		return fmt.Errorf("webp quality %d: want 1..100", q)
	}
	// The encoder reads Pix as tightly packed, non-premultiplied RGBA from
	// the origin: give it exactly that.
	b := img.Bounds()
	n, ok := img.(*image.NRGBA)
	if !ok || b.Min != (image.Point{}) || n.Stride != 4*b.Dx() {
		n = image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(n, n.Rect, img, b.Min, draw.Src)
	}
	// Quality 100 is still lossy in libwebp (config.lossless stays 0).
	err := gowebp.Encode(w, n, gowebp.Options{Quality: q, Method: gowebp.DefaultMethod})
	if err != nil {
		return fmt.Errorf("encode webp: %w", err)
	}
	return nil
}
