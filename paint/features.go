package paint

import (
	"fmt"
	"math"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/ort"
)

// Feature is one layer's activations for one picture, C planes of H×W.
type Feature struct {
	C, H, W int
	Data    []float32
}

// Features are a picture's activations by layer name.
type Features map[string]Feature

// Picture is planar RGB 0..1 (R plane, G plane, B plane), W×H.
type Picture struct {
	W, H int
	Pix  []float32 // len 3·W·H
}

// Extractor runs the perceptual net forward.
type Extractor struct {
	sess   *ort.Session
	layers []string
}

// NewExtractor opens a forward-only session of the net, with its MaxPool
// layers replaced when pool is AvgPool (targets must be computed with the
// pooling the optimisation uses).
func (n *Net) NewExtractor(pool Pool, o ort.SessionOptions) (*Extractor, error) {
	m := n.model.Clone()
	if pool == AvgPool {
		for _, nd := range m.Proto.GetGraph().GetNode() {
			if nd.GetOpType() == "MaxPool" {
				nd.OpType = ptr("AveragePool")
			}
		}
	}
	b, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	layers := n.Layers()
	s, err := ort.NewSession(n.name, b, []string{n.input}, layers, o)
	if err != nil {
		return nil, err
	}
	return &Extractor{sess: s, layers: layers}, nil
}

func ptr[T any](v T) *T { return &v }

// Features runs the net on p.
func (e *Extractor) Features(p Picture) (Features, error) {
	outs, err := e.sess.Run([]ort.Tensor{{Shape: []int64{1, 3, int64(p.H), int64(p.W)}, F32: p.Pix}})
	if err != nil {
		return nil, fmt.Errorf("perceptual net on %d×%d: %w", p.W, p.H, err)
	}
	f := Features{}
	for i, o := range outs {
		s := o.Shape
		f[e.layers[i]] = Feature{C: int(s[1]), H: int(s[2]), W: int(s[3]), Data: o.F32}
	}
	return f, nil
}

// Close releases the session.
func (e *Extractor) Close() error { return e.sess.Close() }

// Gram is F·Fᵀ/N for the C×N matrix F of f (N = H·W), the normalisation
// the generated graph uses, as a C×C row-major matrix.
func Gram(f Feature) []float32 {
	n := f.H * f.W
	g := make([]float32, f.C*f.C)
	for i := 0; i < f.C; i++ {
		a := f.Data[i*n : (i+1)*n]
		for j := i; j < f.C; j++ {
			b := f.Data[j*n : (j+1)*n]
			var s float64
			for k := range a {
				s += float64(a[k]) * float64(b[k])
			}
			v := float32(s / float64(n))
			g[i*f.C+j], g[j*f.C+i] = v, v
		}
	}
	return g
}

// DistanceLayers are the layers StyleDistance compares.
var DistanceLayers = []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1"}

// StyleDistance is the style distance of a picture's features to a style
// picture's, as model.StyleDistance measures it (the MicroAST paper's style
// loss): the sum over DistanceLayers of the mean squared difference of the
// per-channel means plus that of the per-channel stds. Both should come
// from the max-pool net at the same size (512 px long side in the
// project's measurements). A layer missing from either side is an error.
func StyleDistance(a, b Features) (float64, error) {
	var sa, sb model.ChannelStats
	for _, l := range DistanceLayers {
		fa, oka := a[l]
		fb, okb := b[l]
		if !oka || !okb {
			return 0, fmt.Errorf("style distance: layer %s missing", l)
		}
		if fa.C != fb.C {
			return 0, fmt.Errorf("style distance: layer %s has %d and %d channels", l, fa.C, fb.C)
		}
		for _, x := range []struct {
			f  Feature
			st *model.ChannelStats
		}{{fa, &sa}, {fb, &sb}} {
			mean, std := model.MeanStd(x.f.Data, x.f.C, x.f.H*x.f.W)
			x.st.Mean, x.st.Std = append(x.st.Mean, mean), append(x.st.Std, std)
		}
	}
	return model.StyleDistance(sa, sb), nil
}

// ContentDistance is the mean squared difference of two same-size
// features (e.g. relu4_2 of a result and of its content picture).
func ContentDistance(a, b Feature) (float64, error) {
	if a.C != b.C || a.H != b.H || a.W != b.W {
		return 0, fmt.Errorf("content distance: sizes %dx%dx%d and %dx%dx%d differ", a.C, a.H, a.W, b.C, b.H, b.W)
	}
	var s float64
	for i, v := range a.Data {
		e := float64(v) - float64(b.Data[i])
		s += e * e
	}
	return s / float64(len(a.Data)), nil
}

// Evaluator runs a generated graph: one call returns the loss and its
// gradient with respect to the picture.
type Evaluator struct {
	sess  *ort.Session
	spec  Spec
	feeds map[string]ort.Tensor
}

// NewEvaluator generates the graph for spec and opens a session for it.
func (n *Net) NewEvaluator(spec Spec, o ort.SessionOptions) (*Evaluator, error) {
	m, err := n.Build(spec)
	if err != nil {
		return nil, err
	}
	b, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	var ins []string
	for _, v := range m.Inputs() {
		ins = append(ins, v.Name)
	}
	s, err := ort.NewSession("paint gradient graph", b, ins, []string{OutLoss, OutGrad}, o)
	if err != nil {
		return nil, err
	}
	return &Evaluator{sess: s, spec: spec, feeds: map[string]ort.Tensor{}}, nil
}

// Feed sets a graph input other than the image (targets, weights, a
// term's data); it stays until set again.
func (e *Evaluator) Feed(name string, t ort.Tensor) { e.feeds[name] = t }

// Eval returns the loss at x (planar RGB, the spec's size) and writes its
// gradient into grad.
func (e *Evaluator) Eval(x, grad []float32) (float64, error) {
	ins := make([]ort.Tensor, len(e.sess.Inputs))
	for i, name := range e.sess.Inputs {
		if name == InImage {
			ins[i] = ort.Tensor{Shape: []int64{1, 3, int64(e.spec.H), int64(e.spec.W)}, F32: x}
			continue
		}
		t, ok := e.feeds[name]
		if !ok {
			return 0, fmt.Errorf("paint: graph input %s not fed", name)
		}
		ins[i] = t
	}
	var loss float64
	err := e.sess.RunWith(ins, func(outs []ort.Tensor) error {
		loss = float64(outs[0].F32[0])
		copy(grad, outs[1].F32)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("gradient graph: %w", err)
	}
	return loss, nil
}

// Close releases the session.
func (e *Evaluator) Close() error { return e.sess.Close() }

// Targets are what the losses compare to: a Gram matrix per style layer and
// the content picture's features.
type Targets struct {
	Grams   map[string][]float32
	Content Features
}

// SetTargets feeds the targets and the per-layer weights (in the order of
// the spec's Style and Content layers).
func (e *Evaluator) SetTargets(t Targets, style, content []float32) error {
	if len(style) != len(e.spec.Style) || len(content) != len(e.spec.Content) {
		return fmt.Errorf("paint: %d style and %d content weights for %d and %d layers",
			len(style), len(content), len(e.spec.Style), len(e.spec.Content))
	}
	for _, l := range e.spec.Style {
		g, ok := t.Grams[l]
		if !ok {
			return fmt.Errorf("paint: no Gram target for %s", l)
		}
		c := int64(math.Sqrt(float64(len(g))))
		e.Feed(GramInput(l), ort.Tensor{Shape: []int64{c, c}, F32: g})
	}
	for _, l := range e.spec.Content {
		f, ok := t.Content[l]
		if !ok {
			return fmt.Errorf("paint: no content target for %s", l)
		}
		e.Feed(ContentInput(l), ort.Tensor{Shape: []int64{1, int64(f.C), int64(f.H), int64(f.W)}, F32: f.Data})
	}
	e.Feed(InStyleWeights, ort.Tensor{Shape: []int64{int64(len(style))}, F32: style})
	e.Feed(InContentWeights, ort.Tensor{Shape: []int64{int64(len(content))}, F32: content})
	return nil
}
