package onnx_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/pipeline/testenv"
)

func session(t *testing.T, m *onnx.Model) *ort.Session {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var ins, outs []string
	for _, v := range m.Inputs() {
		ins = append(ins, v.Name)
	}
	for _, v := range m.Outputs() {
		outs = append(outs, v.Name)
	}
	s, err := ort.NewSession(m.Name, b, ins, outs, ort.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSplitFeatures(t *testing.T) {
	tests := []struct {
		name  string
		scale float32 // input range
	}{
		{"la_muse", 255},
		{"mindgame_dynamic", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := onnx.Load(testenv.Model(t, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			testenv.ORT(t)
			sp, err := onnx.SplitFeatures(m)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("split at %s", sp.At)
			if got := sp.Encoder.Outputs(); len(got) != 1 || got[0].Name != sp.Features {
				t.Fatalf("encoder outputs %v, want only %s", got, sp.Features)
			}
			if got := sp.Decoder.Inputs(); len(got) != 1 || got[0].Name != sp.Features {
				t.Fatalf("decoder inputs %v, want only %s", got, sp.Features)
			}
			// Every initializer lands in exactly the halves that read it:
			// together they hold no more than the model (constants may repeat).
			if n, e, d := len(m.Proto.GetGraph().GetInitializer()), len(sp.Encoder.Proto.GetGraph().GetInitializer()), len(sp.Decoder.Proto.GetGraph().GetInitializer()); e == 0 || d == 0 || e+d < n {
				t.Errorf("initializers: model %d, encoder %d, decoder %d", n, e, d)
			}
			const w, h = 68, 52
			rng := rand.New(rand.NewPCG(1, 2))
			in := make([]float32, 3*w*h)
			for i := range in {
				in[i] = tc.scale * float32(rng.Float64())
			}
			img := ort.Tensor{Shape: []int64{1, 3, h, w}, F32: in}
			full, err := session(t, m).Run([]ort.Tensor{img})
			if err != nil {
				t.Fatal(err)
			}
			feat, err := session(t, sp.Encoder).Run([]ort.Tensor{img})
			if err != nil {
				t.Fatal(err)
			}
			if s := feat[0].Shape; len(s) != 4 || s[2] != h/4 || s[3] != w/4 {
				t.Errorf("features have shape %v, want [1 C %d %d]", s, h/4, w/4)
			}
			out, err := session(t, sp.Decoder).Run(feat)
			if err != nil {
				t.Fatal(err)
			}
			if len(out[0].F32) != len(full[0].F32) {
				t.Fatalf("split output shape %v, full %v", out[0].Shape, full[0].Shape)
			}
			var worst float64
			for i, v := range out[0].F32 {
				worst = math.Max(worst, math.Abs(float64(v-full[0].F32[i])))
			}
			if worst > 1e-3 {
				t.Errorf("decoder(encoder(x)) differs from the model by up to %g, want ≤ 1e-3", worst)
			}
		})
	}
	t.Run("builtin:ink", func(t *testing.T) {
		m, err := onnx.LoadBuiltin("builtin:ink")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := onnx.SplitFeatures(m); !errors.Is(err, onnx.ErrNotSplittable) {
			t.Errorf("SplitFeatures(builtin:ink) = %v, want ErrNotSplittable", err)
		}
	})
}

// The apply variant of the statistics rewrite splits too: each half takes
// the statistics of its own layers as side inputs.
func TestSplitFeaturesSideInputs(t *testing.T) {
	m, err := onnx.Load(testenv.Model(t, "la_muse"))
	if err != nil {
		t.Fatal(err)
	}
	testenv.ORT(t)
	apply, measure, layers, err := onnx.SplitInstanceNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := onnx.SplitFeatures(apply)
	if err != nil {
		t.Fatal(err)
	}
	encIn, decIn := sp.Encoder.Inputs(), sp.Decoder.Inputs()
	if len(encIn)+len(decIn) != 2+2*len(layers) || encIn[0].Name != "input" || decIn[0].Name != sp.Features {
		t.Fatalf("encoder inputs %d (first %s), decoder %d (first %s), want 2+2·%d with image and features first",
			len(encIn), encIn[0].Name, len(decIn), decIn[0].Name, len(layers))
	}
	const w, h = 40, 32
	rng := rand.New(rand.NewPCG(3, 4))
	in := make([]float32, 3*w*h)
	for i := range in {
		in[i] = 255 * float32(rng.Float64())
	}
	img := ort.Tensor{Shape: []int64{1, 3, h, w}, F32: in}
	ms := session(t, measure)
	res, err := ms.Run([]ort.Tensor{img})
	if err != nil {
		t.Fatal(err)
	}
	stats := map[string]ort.Tensor{}
	for i, name := range ms.Outputs {
		stats[name] = res[i]
	}
	feed := func(vs []onnx.Value, first ort.Tensor) []ort.Tensor {
		ts := []ort.Tensor{first}
		for _, v := range vs[1:] {
			ts = append(ts, stats[v.Name])
		}
		return ts
	}
	feat, err := session(t, sp.Encoder).Run(feed(encIn, img))
	if err != nil {
		t.Fatal(err)
	}
	out, err := session(t, sp.Decoder).Run(feed(decIn, feat[0]))
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i, v := range out[0].F32 {
		worst = math.Max(worst, math.Abs(float64(v-res[0].F32[i])))
	}
	if worst > 1e-2 {
		t.Errorf("split apply graph with measured statistics differs from the model by up to %g", worst)
	}
}

// MicroAST's transfer net splits before its first Resize, with the style
// tensors as side inputs of the halves that read them (raw pair), or baked
// in as constants (the engine's conditioned model).
func TestSplitFeaturesConditioned(t *testing.T) {
	testenv.ORT(t)
	m, err := onnx.Load(testenv.SharedFile(t, "models/arbitrary/microast_transfer.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := onnx.Load(testenv.SharedFile(t, "models/arbitrary/microast_style.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	picture := func(w, h int) ort.Tensor {
		p := make([]float32, 3*w*h)
		for i := range p {
			p[i] = float32(rng.Float64())
		}
		return ort.Tensor{Shape: []int64{1, 3, int64(h), int64(w)}, F32: p}
	}
	es := session(t, enc)
	st, err := es.Run([]ort.Tensor{picture(96, 80)})
	if err != nil {
		t.Fatal(err)
	}
	style := map[string]ort.Tensor{}
	for i, n := range es.Outputs {
		style[n] = st[i]
	}
	img := picture(68, 52)
	feed := func(vs []onnx.Value, first ort.Tensor) []ort.Tensor {
		ts := []ort.Tensor{first}
		for _, v := range vs[1:] {
			ts = append(ts, style[v.Name])
		}
		return ts
	}
	full, err := session(t, m).Run(feed(m.Inputs(), img))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := onnx.SplitFeatures(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("split at %s; encoder side inputs %d, decoder %d", sp.At, len(sp.Encoder.Inputs())-1, len(sp.Decoder.Inputs())-1)
	if !strings.Contains(sp.At, "before Resize") {
		t.Errorf("split at %s, want before the first Resize", sp.At)
	}
	if n := len(sp.Encoder.Inputs()) + len(sp.Decoder.Inputs()) - 2; n != len(style) {
		t.Errorf("%d side inputs over both halves, want the %d style tensors", n, len(style))
	}
	feat, err := session(t, sp.Encoder).Run(feed(sp.Encoder.Inputs(), img))
	if err != nil {
		t.Fatal(err)
	}
	out, err := session(t, sp.Decoder).Run(feed(sp.Decoder.Inputs(), feat[0]))
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(out[0].F32, full[0].F32); d > 1e-4 {
		t.Errorf("decoder(encoder(x)) differs from the model by up to %g, want ≤ 1e-4", d)
	}
}
