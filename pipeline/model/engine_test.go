package model

import (
	"context"
	"errors"
	"flag"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"github.com/stylize/stylize/pipeline/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// photo returns stata.jpg from ../shared scaled to w×h (skips without it).
func photo(t testing.TB, w, h int) *pipeline.Frame {
	t.Helper()
	f := readFrame(t, testenv.SharedFile(t, "media/images/stata.jpg"))
	if w == f.W && h == f.H {
		return f
	}
	g := pipeline.NewFrame(w, h)
	FromPlanes(ResizePlanes(ToPlanes(f), f.W, f.H, w, h), g)
	return g
}

// sample is the repository's own sample picture (no ../shared needed).
func sample(t testing.TB) *pipeline.Frame {
	t.Helper()
	return readFrame(t, filepath.Join(testenv.Root(t), "cmd", "stylize", "testdata", "sample.jpg"))
}

func open(t testing.TB, o Options) *Engine {
	t.Helper()
	testenv.ORT(t)
	e, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open %s: %v", o.Model, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func stylize(t testing.TB, e *Engine, f *pipeline.Frame) *pipeline.Frame {
	t.Helper()
	g, err := e.Stylize(context.Background(), f)
	if err != nil {
		t.Fatalf("stylize: %v", err)
	}
	if g.W != f.W || g.H != f.H {
		t.Fatalf("output %dx%d, input %dx%d", g.W, g.H, f.W, f.H)
	}
	return g
}

// meanAbsDiff is the mean absolute difference per channel value, 0..255.
func meanAbsDiff(a, b *pipeline.Frame) float64 {
	s := 0.0
	for i := range a.Pix {
		s += math.Abs(float64(a.Pix[i]) - float64(b.Pix[i]))
	}
	return s / float64(len(a.Pix))
}

func TestConventionVariants(t *testing.T) {
	base := testenv.Model(t, "la_muse")
	dir := t.TempDir()
	content := photo(t, 96, 64)
	ref := stylize(t, open(t, Options{Model: base}), content)

	tests := []struct {
		name    string
		spec    wrapSpec
		sidecar string
		flags   Overrides
		maxDiff float64 // mean abs difference to la_muse itself
		want    Conventions
	}{
		{name: "nhwc", spec: wrapSpec{nhwc: true}, maxDiff: 0.5, want: Conventions{Layout: NHWC, InputRange: Range255, OutputRange: Range255}},
		// Named channel dimensions: the layout comes from the first layer.
		{name: "nhwc-named", spec: wrapSpec{nhwc: true, named: true}, maxDiff: 0.5, want: Conventions{Layout: NHWC, InputRange: Range255, OutputRange: Range255}},
		{name: "nchw-named", spec: wrapSpec{named: true, float16: true}, maxDiff: 2.0, want: Conventions{Layout: NCHW, Float16: true, InputRange: Range255, OutputRange: Range255}},
		{name: "tanh-probed", spec: wrapSpec{tanh: true}, maxDiff: 0.5, want: Conventions{Layout: NCHW, InputRange: RangeTanh, OutputRange: RangeTanh}},
		{name: "unit-probed", spec: wrapSpec{unit: true, nhwc: true}, maxDiff: 0.5, want: Conventions{Layout: NHWC, InputRange: Range1, OutputRange: Range1}},
		{name: "bgr-sidecar", spec: wrapSpec{bgr: true}, sidecar: "channel_order: bgr\n", maxDiff: 0.5, want: Conventions{Layout: NCHW, BGR: true, InputRange: Range255, OutputRange: Range255}},
		{name: "float16", spec: wrapSpec{float16: true}, maxDiff: 2.0, want: Conventions{Layout: NCHW, Float16: true, InputRange: Range255, OutputRange: Range255}},
		{name: "metadata", spec: wrapSpec{tanh: true, metadata: map[string]string{MetaInputRange: "-1..1", MetaOutputRange: "-1..1"}}, maxDiff: 0.5,
			want: Conventions{Layout: NCHW, InputRange: RangeTanh, OutputRange: RangeTanh}},
		// A wrong sidecar is overruled by explicit flags.
		{name: "flags-over-sidecar", spec: wrapSpec{tanh: true}, sidecar: "input_range: 0..255\noutput_range: 0..255\n",
			flags: Overrides{InputRange: "-1..1", OutputRange: "-1..1"}, maxDiff: 0.5, want: Conventions{Layout: NCHW, InputRange: RangeTanh, OutputRange: RangeTanh}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := wrapModel(t, base, dir, tc.name, tc.spec)
			if tc.sidecar != "" {
				if err := os.WriteFile(p+".yaml", []byte(tc.sidecar), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			e := open(t, Options{Model: p, Conventions: tc.flags})
			c := e.Conv
			if c.Layout != tc.want.Layout || c.InputRange != tc.want.InputRange || c.OutputRange != tc.want.OutputRange ||
				c.BGR != tc.want.BGR || c.Float16 != tc.want.Float16 {
				t.Fatalf("conventions %s %s→%s bgr=%v f16=%v, want %s %s→%s bgr=%v f16=%v (why: %v)", c.Layout, c.InputRange, c.OutputRange, c.BGR, c.Float16,
					tc.want.Layout, tc.want.InputRange, tc.want.OutputRange, tc.want.BGR, tc.want.Float16, c.Why)
			}
			out := stylize(t, e, content)
			if d := meanAbsDiff(out, ref); d > tc.maxDiff {
				t.Errorf("mean abs difference to la_muse = %.3f, want ≤ %.2f", d, tc.maxDiff)
			}
		})
	}

	// Without the sidecar, a BGR model is fed RGB: the result must differ,
	// which shows the option is what made bgr-sidecar pass.
	t.Run("bgr-without-sidecar-differs", func(t *testing.T) {
		p := wrapModel(t, base, t.TempDir(), "bgr-plain", wrapSpec{bgr: true})
		out := stylize(t, open(t, Options{Model: p}), content)
		if d := meanAbsDiff(out, ref); d < 2 {
			t.Errorf("BGR model fed RGB gives the same output (diff %.3f): the channel order test proves nothing", d)
		}
	})
}

// gridRatio measures whether window seams show: the mean absolute luma step
// across the given columns, over the mean step across all columns.
func gridRatio(f *pipeline.Frame, cols []int) float64 {
	luma := func(x, y int) float64 {
		i := 3 * (y*f.W + x)
		return 0.299*float64(f.Pix[i]) + 0.587*float64(f.Pix[i+1]) + 0.114*float64(f.Pix[i+2])
	}
	all, n := 0.0, 0
	for y := 0; y < f.H; y++ {
		for x := 1; x < f.W; x++ {
			all += math.Abs(luma(x, y) - luma(x-1, y))
			n++
		}
	}
	at, m := 0.0, 0
	for _, c := range cols {
		for y := 0; y < f.H; y++ {
			at += math.Abs(luma(c, y) - luma(c-1, y))
			m++
		}
	}
	return (at / float64(m)) / (all / float64(n))
}

func TestFixedSizeWindows(t *testing.T) {
	base := testenv.Model(t, "la_muse")
	p := wrapModel(t, base, t.TempDir(), "fixed224", wrapSpec{fixed: 224})
	e := open(t, Options{Model: p})
	if e.Conv.FixedW != 224 || e.Conv.FixedH != 224 {
		t.Fatalf("fixed size %dx%d, want 224x224", e.Conv.FixedW, e.Conv.FixedH)
	}
	for _, sz := range [][2]int{{500, 300}, {100, 60}, {1, 1}} {
		content := photo(t, sz[0], sz[1])
		out := stylize(t, e, content)
		if sz[0] < 224 {
			continue
		}
		// Window starts along x: every start but the first is a potential seam.
		starts := windowStarts(sz[0], 224, 56)
		var seams []int
		for _, s := range starts[1:] {
			seams = append(seams, s, s+28) // window edge and middle of the feather
		}
		if r := gridRatio(out, seams); r > 1.3 {
			t.Errorf("%dx%d: luma steps at window edges are %.2f× the average: the window grid shows", sz[0], sz[1], r)
		}
		ref := stylize(t, open(t, Options{Model: base}), content)
		if d := meanAbsDiff(out, ref); d > 40 {
			t.Errorf("%dx%d: windowed output differs from whole-image la_muse by %.1f on average", sz[0], sz[1], d)
		}
	}
}

func TestSharedModels(t *testing.T) {
	dir := filepath.Join(testenv.Shared(t), "models")
	files, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
	if len(files) == 0 {
		t.Skip("no models in " + dir)
	}
	content := photo(t, 90, 61) // odd sizes on purpose
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out := stylize(t, open(t, Options{Model: f}), content)
			if d := meanAbsDiff(out, content); d < 8 {
				t.Errorf("output is nearly the content (diff %.2f): not stylized", d)
			}
			var lo, hi byte = 255, 0
			for _, v := range out.Pix {
				lo, hi = min(lo, v), max(hi, v)
			}
			if hi-lo < 64 {
				t.Errorf("output range %d..%d is flat", lo, hi)
			}
		})
	}
}

// laplacian is the mean |4·c − neighbours| of luma over a set of pixels.
func laplacianBands(f *pipeline.Frame, band int) (border, interior float64) {
	luma := func(x, y int) float64 {
		i := 3 * (y*f.W + x)
		return 0.299*float64(f.Pix[i]) + 0.587*float64(f.Pix[i+1]) + 0.114*float64(f.Pix[i+2])
	}
	var bs, is float64
	var bn, in int
	for y := 1; y < f.H-1; y++ {
		for x := 1; x < f.W-1; x++ {
			l := math.Abs(4*luma(x, y) - luma(x-1, y) - luma(x+1, y) - luma(x, y-1) - luma(x, y+1))
			if x < band || y < band || x >= f.W-band || y >= f.H-band {
				bs += l
				bn++
			} else {
				is += l
				in++
			}
		}
	}
	return bs / float64(bn), is / float64(in)
}

// colourShift is the distance between the mean colour of the outer band px
// and that of the next 2·band px inward: a painted frame shifts it.
func colourShift(f *pipeline.Frame, band int) float64 {
	var a, b [3]float64
	var na, nb float64
	for y := 0; y < f.H; y++ {
		for x := 0; x < f.W; x++ {
			d := min(x, y, f.W-1-x, f.H-1-y)
			i := 3 * (y*f.W + x)
			switch {
			case d < band:
				for c := 0; c < 3; c++ {
					a[c] += float64(f.Pix[i+c])
				}
				na++
			case d < 3*band:
				for c := 0; c < 3; c++ {
					b[c] += float64(f.Pix[i+c])
				}
				nb++
			}
		}
	}
	s := 0.0
	for c := 0; c < 3; c++ {
		s += math.Abs(a[c]/na - b[c]/nb)
	}
	return s
}

func TestBorderBand(t *testing.T) {
	content := photo(t, 1024, 679)
	for _, name := range []string{"la_muse", "mindgame_dynamic"} {
		t.Run(name, func(t *testing.T) {
			base := testenv.Model(t, name)
			e := open(t, Options{Model: base})
			out := stylize(t, e, content)
			b, i := laplacianBands(out, 8)
			t.Logf("%s on stata.jpg 1024x679, margin %d: border band |Laplacian| %.2f, interior %.2f, ratio %.3f", name, e.Conv.Margin, b, i, b/i)
			if b/i > 1.10 {
				t.Errorf("border band / interior = %.3f, want ≤ 1.10", b/i)
			}
			// Without the margin the frame painted by zero padding shows: the
			// check above must be able to fail.
			raw := stylize(t, open(t, Options{Model: base, Conventions: Overrides{Margin: new(int)}}), content)
			b0, i0 := laplacianBands(raw, 8)
			cs, cs0 := colourShift(out, 8), colourShift(raw, 8)
			t.Logf("margin 0: ratio %.3f; colour shift of the outer 8 px: %.1f with the margin, %.1f without", b0/i0, cs, cs0)
			if b0/i0 <= b/i && cs0 <= cs {
				t.Errorf("margin 0 (ratio %.3f, shift %.1f) is not worse than the default (%.3f, %.1f)", b0/i0, cs0, b/i, cs)
			}
			if cs > 12 {
				t.Errorf("outer 8 px colour differs from the next 16 px by %.1f (sum over RGB): a frame shows", cs)
			}
		})
	}
}

func TestStyleOptions(t *testing.T) {
	content := sample(t)
	content = func() *pipeline.Frame { // 128 px wide keeps it quick
		g := pipeline.NewFrame(128, 85)
		FromPlanes(ResizePlanes(ToPlanes(content), content.W, content.H, 128, 85), g)
		return g
	}()
	full := stylize(t, open(t, Options{}), content)

	t.Run("strength 0 returns the content", func(t *testing.T) {
		out := stylize(t, open(t, Options{ContentMix: 1}), content)
		if d := meanAbsDiff(out, content); d > 0.5 {
			t.Errorf("diff to content %.2f", d)
		}
	})
	t.Run("strength 0.5 is half way", func(t *testing.T) {
		out := stylize(t, open(t, Options{ContentMix: 0.5}), content)
		for i := range out.Pix {
			want := (float64(full.Pix[i]) + float64(content.Pix[i])) / 2
			if math.Abs(float64(out.Pix[i])-want) > 1 {
				t.Fatalf("value %d at %d, want %.1f", out.Pix[i], i, want)
			}
		}
	})
	t.Run("preserve colors keeps the chroma", func(t *testing.T) {
		out := stylize(t, open(t, Options{PreserveColors: true}), content)
		chroma := func(f *pipeline.Frame, i int) (float64, float64) {
			r, g, b := float64(f.Pix[i]), float64(f.Pix[i+1]), float64(f.Pix[i+2])
			y := 0.299*r + 0.587*g + 0.114*b
			return r - y, b - y
		}
		var dPres, dFull float64
		n := 0
		for i := 0; i < len(out.Pix); i += 3 {
			if out.Pix[i] == 0 || out.Pix[i] == 255 || out.Pix[i+2] == 0 || out.Pix[i+2] == 255 {
				continue // clipped pixels cannot keep the chroma exactly
			}
			cr, cb := chroma(content, i)
			or, ob := chroma(out, i)
			fr, fb := chroma(full, i)
			dPres += math.Abs(cr-or) + math.Abs(cb-ob)
			dFull += math.Abs(cr-fr) + math.Abs(cb-fb)
			n++
		}
		dPres, dFull = dPres/float64(n), dFull/float64(n)
		if dPres > 1.5 || dPres > dFull/3 {
			t.Errorf("chroma difference %.2f with preserve-colors, %.2f without", dPres, dFull)
		}
	})
	t.Run("passes feed the output back", func(t *testing.T) {
		e := open(t, Options{Passes: 2})
		two := stylize(t, e, content)
		again := stylize(t, open(t, Options{}), full)
		if d := meanAbsDiff(two, again); d > 0.5 {
			t.Errorf("two passes differ from stylizing the stylized frame by %.2f", d)
		}
		if d := meanAbsDiff(two, full); d < 1 {
			t.Errorf("two passes equal one pass (diff %.2f)", d)
		}
	})
	t.Run("max-side stylizes at a working resolution", func(t *testing.T) {
		e := open(t, Options{MaxSide: 64})
		out := stylize(t, e, content)
		small := pipeline.NewFrame(64, 43)
		FromPlanes(ResizePlanes(ToPlanes(content), 128, 85, 64, 43), small)
		ref := stylize(t, open(t, Options{}), small)
		up := pipeline.NewFrame(128, 85)
		FromPlanes(ResizePlanes(ToPlanes(ref), 64, 43, 128, 85), up)
		if d := meanAbsDiff(out, up); d > 0.5 {
			t.Errorf("max-side output differs from stylize-small-then-enlarge by %.2f", d)
		}
	})
}

func TestBadModels(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dyn := onnx.Dim{Value: -1, Param: "h"}
	tests := []struct {
		name  string
		model string
		want  string
	}{
		{"missing", filepath.Join(dir, "nope.onnx"), "no such file"},
		{"empty", write("empty.onnx", nil), "empty file"},
		{"text", write("text.onnx", []byte("this is not a model\n")), "not an ONNX model"},
		{"random bytes", write("junk.onnx", []byte{0xff, 0x12, 0x00, 0x9a, 0x33, 0x01, 0xde, 0xad, 0xbe, 0xef}), "not an ONNX model"},
		{"folder", dir, "is a folder"},
		{"rank 2", tinyModel(t, dir, "rank2", [][]onnx.Dim{{{Value: 1}, {Value: 10}}}), "rank 2"},
		{"one channel", tinyModel(t, dir, "gray", [][]onnx.Dim{{{Value: 1}, {Value: 1}, {Value: 64}, {Value: 64}}}), "no dimension of 3 channels"},
		{"two inputs", tinyModel(t, dir, "two", [][]onnx.Dim{{{Value: 1}, {Value: 3}, dyn, dyn}, {{Value: 1}, {Value: 3}, dyn, dyn}}), "2 inputs"},
		{"unknown builtin", "builtin:nope", "no such built-in"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Open(context.Background(), Options{Model: tc.model})
			if err == nil {
				e.Close()
				t.Fatal("opened without error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			if !strings.Contains(msg, filepath.Base(tc.model)) && !strings.HasPrefix(tc.model, "builtin:") {
				t.Errorf("error %q does not name the file", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
		})
	}
}

func TestDevices(t *testing.T) {
	testenv.ORT(t)
	_, err := Open(context.Background(), Options{Device: "cuda"})
	if err == nil {
		t.Skip("this onnxruntime has CUDA: the missing-provider error cannot be shown here")
	}
	if !strings.Contains(err.Error(), "cuda") || !strings.Contains(err.Error(), "not available") {
		t.Errorf("cuda error does not name the missing provider: %v", err)
	}
	e := open(t, Options{Device: "auto"})
	if e.Device() != "cpu" {
		t.Errorf("auto picked %s on a CPU-only library", e.Device())
	}
	if _, err := Open(context.Background(), Options{Device: "tpu"}); err == nil || !strings.Contains(err.Error(), "tpu") {
		t.Errorf("device tpu: %v", err)
	}
}

func TestSizes(t *testing.T) {
	e := open(t, Options{Model: "builtin:ink"})
	for _, sz := range [][2]int{{1, 1}, {2, 1}, {1, 7}, {33, 17}} {
		f := pipeline.NewFrame(sz[0], sz[1])
		for i := range f.Pix {
			f.Pix[i] = byte(i * 37)
		}
		stylize(t, e, f)
	}
	// 10000×10000-class pictures are refused before anything is allocated.
	e2 := open(t, Options{Model: testenv.Model(t, "la_muse")})
	err := e2.checkSize(100000, 100000)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "--max-side") {
		t.Errorf("100000x100000: %v", err)
	}
	e3 := open(t, Options{Model: "builtin:ink", MaxPixels: 1000})
	if _, err := e3.Stylize(context.Background(), pipeline.NewFrame(100, 100)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxPixels 1000, 100x100: %v", err)
	}
	// With --max-side the same picture fits.
	e4 := open(t, Options{Model: "builtin:ink", MaxPixels: 40 * 40, MaxSide: 16})
	if _, err := e4.Stylize(context.Background(), pipeline.NewFrame(100, 100)); err != nil {
		t.Errorf("MaxSide 16: %v", err)
	}
}

// TestGolden compares builtin:ink on the repository's sample picture with a
// golden file (regenerate with -update after an intended change).
func TestGolden(t *testing.T) {
	content := sample(t)
	out := stylize(t, open(t, Options{}), content)
	golden := filepath.Join("testdata", "sample-ink.png")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := imageio.Write(golden, out, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	want := pipeline.FromImage(img)
	if want.W != out.W || want.H != out.H {
		t.Fatalf("golden is %dx%d, output %dx%d", want.W, want.H, out.W, out.H)
	}
	d := meanAbsDiff(out, want)
	bad := 0
	for i := range out.Pix {
		if math.Abs(float64(out.Pix[i])-float64(want.Pix[i])) > 8 {
			bad++
		}
	}
	if d > 0.5 || float64(bad) > 0.001*float64(len(out.Pix)) {
		t.Errorf("differs from golden: mean %.3f, %d values off by more than 8", d, bad)
	}
	_ = image.Rect
}

func BenchmarkInference640x360(b *testing.B) {
	for _, name := range []string{"builtin:ink", "la_muse"} {
		b.Run(strings.TrimPrefix(name, "builtin:"), func(b *testing.B) {
			m := name
			if !onnx.IsBuiltin(name) {
				m = testenv.Model(b, name)
			}
			e := open(b, Options{Model: m})
			f := photo(b, 640, 360)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.Stylize(context.Background(), f); err != nil {
					b.Fatal(err)
				}
			}
			d, n := e.InferenceTime()
			b.ReportMetric(float64(d.Milliseconds())/float64(n), "ms-model/frame")
		})
	}
}

// A model with outputs beyond the image (here a scalar, which onnxruntime_go
// cannot even return) runs: only the image output is computed and read.
func TestExtraOutputsIgnored(t *testing.T) {
	testenv.ORT(t)
	b := onnx.NewBuilder("extra")
	dims := []onnx.Dim{{Value: 1}, {Value: 3}, {Value: -1, Param: "h"}, {Value: -1, Param: "w"}}
	x := b.Input("image", onnxpb.TensorProto_FLOAT, dims)
	b.NodeTo("Identity", []string{x}, []string{"stylized"})
	b.NodeTo("ReduceMean", []string{x}, []string{"score"}, onnx.AttrInt("keepdims", 0))
	b.Output("stylized", onnxpb.TensorProto_FLOAT, dims)
	b.Output("score", onnxpb.TensorProto_FLOAT, nil)
	bs, err := b.Model("extra", 13, nil).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "extra.onnx")
	if err := os.WriteFile(p, bs, 0o644); err != nil {
		t.Fatal(err)
	}
	e := open(t, Options{Model: p, Threads: 1})
	f := pipeline.NewFrame(20, 12)
	for i := range f.Pix {
		f.Pix[i] = byte(i * 7)
	}
	if d := meanAbsDiff(f, stylize(t, e, f)); d > 1 {
		t.Errorf("identity with an extra output changed the picture by %.2f per value", d)
	}
}

// Models whose output is not the input's size: an upsampling net is scaled
// back, one that trims its borders (unpadded convolutions) is centred.
// Both are identities here, so the picture must come back unchanged.
func TestOutputSizeChanged(t *testing.T) {
	testenv.ORT(t)
	dims := []onnx.Dim{{Value: 1}, {Value: 3}, {Value: -1, Param: "h"}, {Value: -1, Param: "w"}}
	outDims := []onnx.Dim{{Value: 1}, {Value: 3}, {Value: -1, Param: "oh"}, {Value: -1, Param: "ow"}}
	tests := []struct {
		name string
		body func(b *onnx.Builder, x string)
	}{
		{"upsampled 2x", func(b *onnx.Builder, x string) {
			scales := b.Const("scales", []int64{4}, []float32{1, 1, 2, 2})
			b.NodeTo("Resize", []string{x, "", scales}, []string{"stylized"}, onnx.AttrString("mode", "nearest"))
		}},
		{"borders trimmed by 4 px", func(b *onnx.Builder, x string) {
			b.NodeTo("Slice", []string{x, b.Int64s("starts", []int64{4, 4}), b.Int64s("ends", []int64{-4, -4}), b.Int64s("axes", []int64{2, 3})}, []string{"stylized"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := onnx.NewBuilder("resized")
			tc.body(b, b.Input("image", onnxpb.TensorProto_FLOAT, dims))
			b.Output("stylized", onnxpb.TensorProto_FLOAT, outDims)
			bs, err := b.Model("resized", 13, nil).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "resized.onnx")
			if err := os.WriteFile(p, bs, 0o644); err != nil {
				t.Fatal(err)
			}
			e := open(t, Options{Model: p, Threads: 1})
			f := pipeline.NewFrame(40, 24)
			for y := range f.H {
				for x := range f.W {
					i := 3 * (y*f.W + x)
					f.Pix[i], f.Pix[i+1], f.Pix[i+2] = byte(6*x), byte(10*y), byte(3*x+4*y)
				}
			}
			if d := meanAbsDiff(f, stylize(t, e, f)); d > 2 {
				t.Errorf("identity changed the picture by %.2f per value (output misplaced)", d)
			}
		})
	}
}
