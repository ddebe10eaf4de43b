package onnx_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/pipeline/testenv"
)

// tinyIN is conv → IN → relu → conv → IN → conv: two chained layers, so the
// second layer's statistics depend on the first's normalisation.
func tinyIN() *onnx.Model {
	b := onnx.NewBuilder("tiny_in")
	x := b.Input("input", onnxpb.TensorProto_FLOAT, onnx.ImageDims())
	w1 := make([]float32, 4*3*3*3)
	for i := range w1 {
		w1[i] = float32(math.Sin(float64(i))) * 0.1
	}
	w2 := make([]float32, 4*4*3*3)
	for i := range w2 {
		w2[i] = float32(math.Cos(float64(i))) * 0.1
	}
	w3 := make([]float32, 3*4*1*1)
	for i := range w3 {
		w3[i] = float32(i%5) * 0.3
	}
	pads := onnx.AttrInts("pads", 1, 1, 1, 1)
	h := b.Node("Conv", []string{x, b.Const("w1", []int64{4, 3, 3, 3}, w1)}, pads)
	h = b.Node("InstanceNormalization", []string{h, b.Const("s1", []int64{4}, []float32{1, 2, 0.5, 1}), b.Const("b1", []int64{4}, []float32{0, 0.1, -0.2, 0.3})}, onnx.AttrFloat("epsilon", 1e-5))
	h = b.Node("Relu", []string{h})
	h = b.Node("Conv", []string{h, b.Const("w2", []int64{4, 4, 3, 3}, w2)}, pads)
	h = b.Node("InstanceNormalization", []string{h, b.Const("s2", []int64{4}, []float32{1, 1, 1, 2}), b.Const("b2", []int64{4}, []float32{1, 0, 0, 0})})
	h = b.Node("Conv", []string{h, b.Const("w3", []int64{3, 4, 1, 1}, w3)})
	b.NodeTo("Identity", []string{h}, []string{"output"})
	b.Output("output", onnxpb.TensorProto_FLOAT, onnx.ImageDims())
	return b.Model("tiny_in", 13, map[string]string{"stylize.input_range": "0..255", "stylize.output_range": "0..255"})
}

func testImage(w, h int) []float32 {
	p := make([]float32, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			p[i] = float32(255 * x / w)
			p[w*h+i] = float32(128 + 100*math.Sin(float64(x*y)/50))
			p[2*w*h+i] = float32((x/7*40 + y*3) % 256)
		}
	}
	return p
}

func TestSplitInstanceNorm(t *testing.T) {
	testenv.ORT(t)
	cases := []struct {
		name  string
		load  func(t *testing.T) *onnx.Model
		w, h  int
		tol   float64
		adain int // written-out normalisations
	}{
		{"tiny", func(t *testing.T) *onnx.Model { return tinyIN() }, 40, 24, 1e-3, 0},
		{"la_muse", func(t *testing.T) *onnx.Model {
			m, err := model.LoadModel(testenv.Model(t, "la_muse"))
			if err != nil {
				t.Fatal(err)
			}
			return m
		}, 64, 48, 1e-3 * 255, 0}, // outputs are 0..255: 1e-3 of the range
		// MicroAST's transfer net with la_muse.jpg baked in: AdaIN written
		// with ReduceMean/ReduceSum/Sqrt, outputs 0..1.
		{"microast", func(t *testing.T) *onnx.Model {
			e, err := model.Open(context.Background(), model.Options{Model: testenv.SharedFile(t, "models/arbitrary/microast_transfer.onnx"),
				Style: []string{testenv.SharedFile(t, "media/images/la_muse.jpg")}, StyleSize: 256})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			return e.Model
		}, 64, 48, 1e-4, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.load(t)
			before := fmt.Sprint(m.OpCounts())
			apply, measure, layers, err := onnx.SplitInstanceNorm(m)
			if err != nil {
				t.Fatal(err)
			}
			if want := m.OpCounts()["InstanceNormalization"] + tc.adain; len(layers) != want || want == 0 {
				t.Fatalf("%d layers, graph has %d InstanceNormalization and %d written out", len(layers), want-tc.adain, tc.adain)
			}
			if apply.OpCounts()["InstanceNormalization"] != 0 || measure.OpCounts()["InstanceNormalization"] != 0 {
				t.Fatal("rewritten graphs still hold InstanceNormalization")
			}
			if n := apply.OpCounts()["ReduceMean"] + apply.OpCounts()["ReduceSum"]; n != 0 {
				t.Fatalf("apply variant still computes statistics (%d reductions)", n)
			}
			if fmt.Sprint(m.OpCounts()) != before {
				t.Fatal("original changed")
			}
			conv, err := model.Resolve(m, m.Name, model.Overrides{InputRange: "0..255", OutputRange: "0..255"})
			if err != nil {
				t.Fatal(err)
			}
			open := func(mm *onnx.Model) *model.Net {
				n, err := model.NewNet(mm, conv, ort.SessionOptions{Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { n.Close() })
				return n
			}
			orig, meas, app := open(m), open(measure), open(apply)
			if len(meas.ExtraOutputs) != 2*len(layers) || len(app.ExtraInputs) != 2*len(layers) {
				t.Fatalf("measure has %d extra outputs, apply %d extra inputs, want %d", len(meas.ExtraOutputs), len(app.ExtraInputs), 2*len(layers))
			}
			for i, l := range layers {
				if app.ExtraInputs[2*i] != l.Mean || meas.ExtraOutputs[2*i+1] != l.Var {
					t.Fatalf("layer %d: extra tensors out of order: %v / %v", i, app.ExtraInputs, meas.ExtraOutputs)
				}
			}
			ctx := context.Background()
			img := testImage(tc.w, tc.h)
			want, _, _, err := orig.Run(ctx, img, tc.w, tc.h)
			if err != nil {
				t.Fatal(err)
			}
			got0, _, _, stats, err := meas.RunExtra(ctx, img, tc.w, tc.h, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(want, got0); d > tc.tol {
				t.Errorf("measure variant differs from the original by %g", d)
			}
			got, _, _, _, err := app.RunExtra(ctx, img, tc.w, tc.h, stats)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d layers; apply variant with measured statistics: max difference %.3g (tolerance %g)", len(layers), maxDiff(want, got), tc.tol)
			if d := maxDiff(want, got); d > tc.tol {
				t.Errorf("apply variant with measured statistics differs from the original by %g (tolerance %g)", d, tc.tol)
			}
			// Statistics from another picture must change the result: the
			// inputs are really used.
			_, _, _, other, err := meas.RunExtra(ctx, testImage(tc.h, tc.w), tc.h, tc.w, nil)
			if err != nil {
				t.Fatal(err)
			}
			got2, _, _, _, err := app.RunExtra(ctx, img, tc.w, tc.h, other)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(want, got2); d < tc.tol {
				t.Errorf("foreign statistics changed the output by only %g", d)
			}
		})
	}
}

func TestSplitInstanceNormWithout(t *testing.T) {
	m, err := onnx.LoadBuiltin("builtin:identity")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := onnx.SplitInstanceNorm(m); !errors.Is(err, onnx.ErrNoInstanceNorm) {
		t.Fatalf("err = %v, want ErrNoInstanceNorm", err)
	}
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
