package imageio

import (
	"bytes"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	xwebp "golang.org/x/image/webp"

	"github.com/stylize/stylize/pipeline"
)

// testPicture is a gradient with a transparent corner and a half-transparent band.
func testPicture(w, h int) (*pipeline.Frame, []byte) {
	f := &pipeline.Frame{W: w, H: h, Pix: make([]byte, 3*w*h)}
	alpha := make([]byte, w*h)
	for y := range h {
		for x := range w {
			i := y*w + x
			f.Pix[3*i], f.Pix[3*i+1], f.Pix[3*i+2] = uint8(x*255/w), uint8(y*255/h), uint8((x+y)*255/(w+h))
			switch {
			case x < w/4 && y < h/4:
				alpha[i] = 0
			case y > h/2 && y < h/2+8:
				alpha[i] = 128
			default:
				alpha[i] = 255
			}
		}
	}
	return f, alpha
}

func TestFormatOf(t *testing.T) {
	for _, c := range []struct {
		path string
		want Format
		ok   bool
	}{
		{"a.png", PNG, true},
		{"a.JPG", JPEG, true},
		{"a.jpeg", JPEG, true},
		{"a.webp", WebP, true},
		{"dir/a.WebP", WebP, true},
		{"a.gif", "", false},
		{"a", "", false},
	} {
		got, err := FormatOf(c.path)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q, ok %v", c.path, got, err, c.want, c.ok)
		}
	}
}

// TestWriteWebP writes a picture with alpha as WebP and reads it back with
// golang.org/x/image/webp: same size, alpha kept, colours close, and the
// encoder gives the same bytes twice.
func TestWriteWebP(t *testing.T) {
	const w, h = 96, 64
	f, alpha := testPicture(w, h)
	dir := t.TempDir()
	var files [2][]byte
	for k := range files {
		path := filepath.Join(dir, "out"+string(rune('a'+k))+".webp")
		if err := Write(path, f, alpha, 90); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[k] = b
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatalf("two encodes of the same picture differ (%d vs %d bytes)", len(files[0]), len(files[1]))
	}
	if !isWebP(files[0]) {
		t.Fatalf("output does not start with RIFF....WEBP: % x", files[0][:min(12, len(files[0]))])
	}
	if _, err := xwebp.Decode(bytes.NewReader(files[0])); err != nil {
		t.Fatalf("x/image/webp cannot decode the output: %v", err)
	}
	img, err := Decode("out.webp", files[0])
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("decoded size %v, want %dx%d", b, w, h)
	}
	var sum, n float64
	for y := range h {
		for x := range w {
			i := y*w + x
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if int(c.A) != int(alpha[i]) {
				t.Fatalf("alpha at %d,%d = %d, want %d (alpha must be kept exactly)", x, y, c.A, alpha[i])
			}
			if alpha[i] == 255 {
				for k, v := range []uint8{c.R, c.G, c.B} {
					d := float64(v) - float64(f.Pix[3*i+k])
					sum += max(d, -d)
					n++
				}
			}
		}
	}
	if mad := sum / n; mad > 6 {
		t.Errorf("mean absolute colour error %.2f at quality 90, want ≤ 6", mad)
	}
}

// TestDecodeWebPRange: lossy WebP stores limited-range YCbCr; Decode must
// give back full-range RGB (black stays black, white white), which reading
// x/image/webp's YCbCr through Go's colour model does not (golang/go#40173).
func TestDecodeWebPRange(t *testing.T) {
	for _, c := range []struct {
		name  string
		rgb   [3]uint8
		alpha uint8
	}{
		{"black", [3]uint8{0, 0, 0}, 255},
		{"white", [3]uint8{255, 255, 255}, 255},
		{"red", [3]uint8{230, 20, 30}, 255},
		{"sea, translucent", [3]uint8{170, 211, 223}, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
			for i := 0; i < len(img.Pix); i += 4 {
				img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.rgb[0], c.rgb[1], c.rgb[2], c.alpha
			}
			var b bytes.Buffer
			if err := EncodeWebP(&b, img, 95); err != nil {
				t.Fatal(err)
			}
			got, err := Decode("flat.webp", b.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			p := color.NRGBAModel.Convert(got.At(8, 8)).(color.NRGBA)
			for k, v := range []uint8{p.R, p.G, p.B} {
				if d := int(v) - int(c.rgb[k]); d < -3 || d > 3 {
					t.Errorf("channel %d = %d, want %d ± 3 (full pixel %v)", k, v, c.rgb[k], p)
				}
			}
			if p.A != c.alpha {
				t.Errorf("alpha %d, want %d", p.A, c.alpha)
			}
		})
	}
}

func TestEncodeWebPQuality(t *testing.T) {
	f, _ := testPicture(32, 32)
	img := f.Image(nil)
	for _, q := range []int{0, -1, 101} {
		if err := EncodeWebP(&bytes.Buffer{}, img, q); err == nil {
			t.Errorf("quality %d accepted", q)
		}
	}
	var lo, hi bytes.Buffer
	if err := EncodeWebP(&lo, img, 20); err != nil {
		t.Fatal(err)
	}
	if err := EncodeWebP(&hi, img, 100); err != nil {
		t.Fatal(err)
	}
	if lo.Len() >= hi.Len() {
		t.Errorf("quality 20 gave %d bytes, quality 100 %d: want fewer at lower quality", lo.Len(), hi.Len())
	}
	// A sub-image (non-zero origin, wider stride) encodes its own pixels.
	sub := img.SubImage(image.Rect(8, 8, 24, 24))
	var sb bytes.Buffer
	if err := EncodeWebP(&sb, sub, 90); err != nil {
		t.Fatal(err)
	}
	got, err := xwebp.Decode(&sb)
	if err != nil {
		t.Fatal(err)
	}
	if b := got.Bounds(); b.Dx() != 16 || b.Dy() != 16 {
		t.Errorf("sub-image decoded as %v, want 16x16", b)
	}
}
