package model

import (
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/pipeline/testenv"
)

// paintings are the six style pictures in ../shared/media/images.
var paintings = []string{"la_muse", "rain_princess", "scream", "udnie", "wave", "wreck"}

func transferNet(t testing.TB) string {
	return testenv.SharedFile(t, "models/arbitrary/"+PairTransfer)
}

func painting(t testing.TB, name string) string {
	return testenv.SharedFile(t, "media/images/"+name+".jpg")
}

func readFrame(t testing.TB, path string) *pipeline.Frame {
	t.Helper()
	img, err := imageio.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.FromImage(img)
}

func meter(t testing.TB, side int) *StyleMeter {
	t.Helper()
	testenv.ORT(t)
	m, err := NewStyleMeter(testenv.SharedFile(t, "models/perceptual/cd16x_vgg_features.onnx"), side, ort.SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func distance(t testing.TB, m *StyleMeter, a, b *pipeline.Frame) float64 {
	t.Helper()
	sa, err := m.Stats(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := m.Stats(b)
	if err != nil {
		t.Fatal(err)
	}
	return StyleDistance(sa, sb)
}

// TestArbitraryStyleDistance stylizes stata.jpg at 512 px with each
// painting as the style: the output's style distance to the painting must
// be at least 80 % below the content's (-short: la_muse only).
func TestArbitraryStyleDistance(t *testing.T) {
	transfer := transferNet(t)
	stata := readFrame(t, testenv.SharedFile(t, "media/images/stata.jpg"))
	w, h := longSide(stata.W, stata.H, 512, 1)
	content := scaleFrame(stata, w, h)
	sm := meter(t, 512)
	names := paintings
	if testing.Short() {
		names = names[:1]
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			e := open(t, Options{Model: transfer, Style: []string{painting(t, name)}})
			out := stylize(t, e, content)
			style := readFrame(t, painting(t, name))
			dc, do := distance(t, sm, content, style), distance(t, sm, out, style)
			t.Logf("%s: style distance content %.1f → output %.1f (%.0f %% lower)", name, dc, do, 100*(1-do/dc))
			if do > 0.2*dc {
				t.Errorf("output style distance %.1f, want ≤ 20 %% of the content's %.1f", do, dc)
			}
		})
	}
}

// smallContent is stata.jpg at 192 px: quick runs.
func smallContent(t testing.TB) *pipeline.Frame {
	f := readFrame(t, testenv.SharedFile(t, "media/images/stata.jpg"))
	w, h := longSide(f.W, f.H, 192, 1)
	return scaleFrame(f, w, h)
}

func TestStyleMixing(t *testing.T) {
	if testing.Short() {
		t.Skip("four stylizations and eight perceptual runs: skipped in -short")
	}
	transfer, a, b := transferNet(t), painting(t, "la_muse"), painting(t, "wave")
	content := smallContent(t)
	run := func(style []string, ws []float64) *pipeline.Frame {
		return stylize(t, open(t, Options{Model: transfer, Style: style, StyleWeights: ws}), content)
	}
	alone := run([]string{a}, nil)
	if d := meanAbsDiff(run([]string{a, b}, []float64{1, 0}), alone); d > 0.5 {
		t.Errorf("weights 1,0 differ from the first style alone by %.2f", d)
	}
	mostlyA, mostlyB := run([]string{a, b}, []float64{0.8, 0.2}), run([]string{a, b}, []float64{2, 8})
	sm := meter(t, 512)
	fa, fb := readFrame(t, a), readFrame(t, b)
	dAA, dAB := distance(t, sm, mostlyA, fa), distance(t, sm, mostlyB, fa)
	dBA, dBB := distance(t, sm, mostlyA, fb), distance(t, sm, mostlyB, fb)
	t.Logf("distance to la_muse: 0.8/0.2 mix %.1f, 0.2/0.8 mix %.1f; to wave: %.1f, %.1f", dAA, dAB, dBA, dBB)
	if dAA >= dAB || dBB >= dBA {
		t.Errorf("mixes do not lean to their heavier style: la_muse %.1f vs %.1f, wave %.1f vs %.1f", dAA, dAB, dBB, dBA)
	}
}

// TestStyleCache: a style picture is encoded once per content and size,
// whatever its file name.
func TestStyleCache(t *testing.T) {
	transfer, pic := transferNet(t), painting(t, "udnie")
	copyPic := filepath.Join(t.TempDir(), "copy.jpg")
	b, err := os.ReadFile(pic)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPic, b, 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		pic  string
		size int
		want int64
	}{{pic, 96, 1}, {pic, 96, 0}, {copyPic, 96, 0}, {pic, 112, 1}}
	for i, s := range steps {
		n := encodings.Load()
		e := open(t, Options{Model: transfer, Style: []string{s.pic}, StyleSize: s.size})
		if got := encodings.Load() - n; got != s.want || int64(e.Style().Encoded) != s.want {
			t.Errorf("step %d (%s at %d px): %d encoder runs (engine says %d), want %d", i, filepath.Base(s.pic), s.size, got, e.Style().Encoded, s.want)
		}
	}
}

func TestStyleStrength(t *testing.T) {
	transfer, pic := transferNet(t), painting(t, "wave")
	content := smallContent(t)
	full := stylize(t, open(t, Options{Model: transfer, Style: []string{pic}}), content)
	half := stylize(t, open(t, Options{Model: transfer, Style: []string{pic}, ContentMix: 0.5}), content)
	for i := range half.Pix {
		want := (float64(full.Pix[i]) + float64(content.Pix[i])) / 2
		if d := float64(half.Pix[i]) - want; d > 1 || d < -1 {
			t.Fatalf("strength 0.5: value %d at %d, want %.1f (a pixel-space blend)", half.Pix[i], i, want)
		}
	}
}

// TestStyleDefaultPair finds the pair in $STYLIZE_MODELS/arbitrary when
// only --style is given, and says where to put it when it is nowhere.
func TestStyleDefaultPair(t *testing.T) {
	transfer, pic := transferNet(t), painting(t, "udnie")
	testenv.ORT(t) // before leaving the source tree, where the library is found
	empty := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", empty)
	t.Setenv("HOME", empty)
	t.Chdir(empty)
	t.Run("found", func(t *testing.T) {
		root := t.TempDir()
		dir := filepath.Join(root, PairFolder)
		os.Mkdir(dir, 0o755)
		for _, n := range []string{PairTransfer, PairEncoder} {
			if err := os.Symlink(filepath.Join(filepath.Dir(transfer), n), filepath.Join(dir, n)); err != nil {
				t.Fatal(err)
			}
		}
		t.Setenv(ModelsEnv, root)
		e := open(t, Options{Style: []string{pic}, StyleSize: 64})
		if e.Name() != filepath.Join(dir, PairTransfer) {
			t.Errorf("model %s, want the pair in %s", e.Name(), dir)
		}
		t.Setenv(ModelsEnv, empty)
		if e := open(t, Options{Model: dir, Style: []string{pic}, StyleSize: 64}); e.Name() != filepath.Join(dir, PairTransfer) {
			t.Errorf("-m %s: model %s, want the pair in that folder", dir, e.Name())
		}
	})
	t.Run("absent", func(t *testing.T) {
		t.Setenv(ModelsEnv, empty)
		_, err := Open(context.Background(), Options{Style: []string{pic}})
		if !errors.Is(err, ErrNoStyleModel) || !strings.Contains(err.Error(), "stylize models import microast") ||
			!strings.Contains(err.Error(), empty) {
			t.Errorf("err = %v, want ErrNoStyleModel saying where to put the pair and how to import it", err)
		}
	})
}

func TestStyleBadInputs(t *testing.T) {
	transfer := transferNet(t)
	testenv.ORT(t)
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.jpg")
	if err := os.WriteFile(notes, []byte("not a picture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tiny := filepath.Join(dir, "tiny.png")
	f, _ := os.Create(tiny)
	png.Encode(f, image.NewRGBA(image.Rect(0, 0, 1, 1)))
	f.Close()
	// pair builds a folder with the transfer net and the given sidecar.
	pair := func(name, sidecar string, encoder bool) string {
		d := filepath.Join(dir, name)
		os.Mkdir(d, 0o755)
		p := filepath.Join(d, PairTransfer)
		os.Symlink(transfer, p)
		if encoder {
			os.Symlink(filepath.Join(filepath.Dir(transfer), PairEncoder), filepath.Join(d, PairEncoder))
		}
		if sidecar != "" {
			os.WriteFile(p+".yaml", []byte(sidecar), 0o644)
		}
		return p
	}
	good := painting(t, "la_muse")
	tests := []struct {
		name, model string
		style       []string
		weights     []float64
		want, names string
	}{
		{"missing picture", transfer, []string{filepath.Join(dir, "nope.jpg")}, nil, "no such file", "nope.jpg"},
		{"1x1 picture", transfer, []string{tiny}, nil, "too small", "tiny.png"},
		{"not a picture", transfer, []string{notes}, nil, "style image", "notes.jpg"},
		{"names do not match", pair("mismatch", "style_encoder: "+testenv.Model(t, "la_muse")+"\n", false), []string{good}, nil, "names do not match", "la_muse"},
		{"unknown tensor", pair("unknown", "style_encoder: "+PairEncoder+"\nstyle_tensors: {nope: s1_mean}\n", true), []string{good}, nil, "nope", "yaml"},
		{"no encoder", pair("alone", "", false), []string{good}, nil, "no style encoder", "alone"},
		{"plain net", testenv.Model(t, "la_muse"), []string{good}, nil, "not an arbitrary-style model", "la_muse"},
		{"no style", transfer, nil, nil, "--style", PairTransfer},
		{"weights", transfer, []string{good}, []float64{1, 2}, "2 weights for 1 style", "style-weights"},
		{"negative weight", transfer, []string{good, good}, []float64{1, -1}, "≥ 0", "style-weights"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Open(context.Background(), Options{Model: tc.model, Style: tc.style, StyleWeights: tc.weights})
			if err == nil {
				e.Close()
				t.Fatal("opened without error")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, tc.names) {
				t.Errorf("error %q does not say %q and name %q", msg, tc.want, tc.names)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
		})
	}
}

// TestStyleSidecar: a sidecar names the encoder and the default style size.
func TestStyleSidecar(t *testing.T) {
	transfer := transferNet(t)
	d := t.TempDir()
	p := filepath.Join(d, "my_transfer.onnx")
	os.Symlink(transfer, p)
	os.Symlink(filepath.Join(filepath.Dir(transfer), PairEncoder), filepath.Join(d, "enc.onnx"))
	os.WriteFile(p+".yaml", []byte("style_encoder: enc.onnx\nstyle_input: style\nstyle_size: 64\nstyle_tensors: {s1_mean: s1_mean}\ndescription: test pair\n"), 0o644)
	e := open(t, Options{Model: p, Style: []string{painting(t, "wreck")}})
	if s := e.Style(); s == nil || !strings.HasPrefix(s.Pair, "sidecar ") || s.Size != 64 || s.Encoder != filepath.Join(d, "enc.onnx") {
		t.Fatalf("style %+v, want the sidecar's encoder at 64 px", s)
	}
	if e.Conv.InputRange != Range1 || e.Conv.OutputRange != Range1 || e.Conv.Margin != 0 {
		t.Errorf("conventions %s → %s, margin %d: want 0..1 both ways and no margin (reflect-padded net)", e.Conv.InputRange, e.Conv.OutputRange, e.Conv.Margin)
	}
}

// TestStyleBorderBand: MicroAST pads by reflection inside, so it runs
// without a margin and still paints no frame (measured as TestBorderBand
// does for la_muse).
func TestStyleBorderBand(t *testing.T) {
	if testing.Short() {
		t.Skip("1024×679 stylization: skipped in -short")
	}
	e := open(t, Options{Model: transferNet(t), Style: []string{painting(t, "la_muse")}})
	out := stylize(t, e, photo(t, 1024, 679))
	b, i := laplacianBands(out, 8)
	cs := colourShift(out, 8)
	t.Logf("MicroAST la_muse.jpg on stata.jpg 1024x679, margin %d: border band / interior |Laplacian| %.3f, colour shift of the outer 8 px %.1f", e.Conv.Margin, b/i, cs)
	if e.Conv.Margin != 0 || b/i > 1.10 || cs > 12 {
		t.Errorf("margin %d: border ratio %.3f (want ≤ 1.10), colour shift %.1f (want ≤ 12)", e.Conv.Margin, b/i, cs)
	}
}

func TestStyleDescribe(t *testing.T) {
	e := open(t, Options{Model: transferNet(t), Style: []string{painting(t, "udnie"), painting(t, "wave")}, StyleWeights: []float64{3, 1}})
	var sb strings.Builder
	if err := Describe(&sb, e, "", ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"style encoder:  ", "udnie.jpg  (weight 0.75, own size, shrunk to 512 px at most)", "wave.jpg  (weight 0.25", "border margin:  0 px"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("describe output lacks %q:\n%s", want, sb.String())
		}
	}
}
