package paint

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/pipeline/testenv"
)

// microAST stylizes content with the shared MicroAST graphs (style at its
// size, as given), cropped back to the content's size.
func microAST(b *testing.B, content, style Picture) Picture {
	dir := testenv.SharedFile(b, filepath.Join("models", "arbitrary"))
	open := func(name string, ins, outs []string) *ort.Session {
		m, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		s, err := ort.NewSession(name, m, ins, outs, ortOptions)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	codes := []string{"s1_mean", "s1_std", "s2_mean", "s2_std", "mod_w1", "mod_b1", "mod_w2", "mod_b2"}
	se := open("microast_style.onnx", []string{"style"}, codes)
	defer se.Close()
	tr := open("microast_transfer.onnx", append([]string{"content"}, codes...), []string{"stylized"})
	defer tr.Close()
	sc, err := se.Run([]ort.Tensor{{Shape: []int64{1, 3, int64(style.H), int64(style.W)}, F32: style.Pix}})
	if err != nil {
		b.Fatal(err)
	}
	out, err := tr.Run(append([]ort.Tensor{{Shape: []int64{1, 3, int64(content.H), int64(content.W)}, F32: content.Pix}}, sc...))
	if err != nil {
		b.Fatal(err)
	}
	ow, oh := int(out[0].Shape[3]), int(out[0].Shape[2])
	p := Picture{W: content.W, H: content.H, Pix: make([]float32, 3*content.W*content.H)}
	for c := 0; c < 3; c++ {
		for y := 0; y < content.H; y++ {
			copy(p.Pix[(c*content.H+y)*content.W:][:content.W], out[0].F32[(c*oh+y)*ow:][:content.W])
		}
	}
	return p
}

// BenchmarkPaintQuality512 runs the project's quality measurement: stata.jpg
// at 512 px long side with la_muse.jpg and udnie.jpg, 300 iterations
// (PAINT_ITERATIONS overrides; PAINT_POOL=avg, PAINT_SCALES,
// PAINT_STYLE_WEIGHT), and reports
// the style distance (to the style picture, shrunk to 512 px if larger, as
// Paint uses it; PAINT_STYLES=a,b picks the styles) of the content, of
// MicroAST's output and of the result, the relu4_2 content distances, and
// s/iteration. PAINT_OUT=dir writes the results there. It takes minutes.
func BenchmarkPaintQuality512(b *testing.B) {
	n := testNet(b)
	iters, _ := strconv.Atoi(os.Getenv("PAINT_ITERATIONS"))
	scales, _ := strconv.Atoi(os.Getenv("PAINT_SCALES"))
	sweight, _ := strconv.ParseFloat(os.Getenv("PAINT_STYLE_WEIGHT"), 64)
	content := sharedPicture(b, "stata.jpg")
	w, h := Fit(content.W, content.H, 512)
	content = Resize(content, w, h)
	ex, err := n.NewExtractor(MaxPool, ortOptions)
	if err != nil {
		b.Fatal(err)
	}
	defer ex.Close()
	feat := func(p Picture) Features {
		f, err := ex.Features(p)
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	cf := feat(content)
	styles := []string{"la_muse", "udnie"}
	if s := os.Getenv("PAINT_STYLES"); s != "" {
		styles = strings.Split(s, ",")
	}
	for _, name := range styles {
		b.Run(name, func(b *testing.B) {
			style := sharedPicture(b, name+".jpg")
			sw, sh := FitDown(style.W, style.H, 512)
			style = Resize(style, sw, sh)
			sf := feat(style)
			mast := microAST(b, content, style)
			var out Picture
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out, err = Paint(context.Background(), n, content, Options{Style: []Picture{style}, Iterations: iters, StyleWeight: sweight,
					Scales: scales, Pool: Pool(os.Getenv("PAINT_POOL")), Threads: 2})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			it := iters
			if it == 0 {
				it = 300
			}
			it *= max(scales, 1) // each scale runs the iterations
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N*it), "s/iteration")
			for _, r := range []struct {
				unit string
				p    Picture
			}{{"content", content}, {"microast", mast}, {"result", out}} {
				f := feat(r.p)
				sd, _ := StyleDistance(f, sf)
				cd, _ := ContentDistance(f["relu4_2"], cf["relu4_2"])
				b.ReportMetric(sd, "style-"+r.unit)
				b.ReportMetric(cd, "content-"+r.unit)
			}
			if d := os.Getenv("PAINT_OUT"); d != "" {
				for _, r := range []struct {
					name string
					p    Picture
				}{{"paint_" + name + ".png", out}, {"microast_" + name + ".png", mast}} {
					if err := imageio.Write(filepath.Join(d, r.name), r.p.Frame(), nil, 0); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
