package onnx

import (
	"errors"
	"fmt"

	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// ErrNoInstanceNorm means a graph has no instance normalisation (neither
// the op nor the written-out pattern of adain.go), so there are no
// statistics to share (SplitInstanceNorm's callers then run the model as it
// is).
var ErrNoInstanceNorm = errors.New("no instance normalisation in the graph")

// INLayer is one InstanceNormalization of the original graph, in graph
// order. Mean and Var name the extra tensors that carry its statistics:
// graph inputs of the apply variant and graph outputs of the measure
// variant, both of shape [1, Channels, 1, 1]. For a written-out
// normalisation (AdaIN nets, see adain.go) Std is set and Var carries the
// std (the Sqrt the graph divides by) instead of the variance.
type INLayer struct {
	Node      string // the original node's name (or its output's when unnamed)
	Channels  int    // C, from the scale initializer; 0 when unknown
	Epsilon   float32
	Mean, Var string
	Std       bool
}

// SplitInstanceNorm rewrites every InstanceNormalization of m into explicit
// arithmetic, (x − mean)/sqrt(var + eps)·scale + bias, in two variants:
//
//   - apply takes each layer's mean and variance from extra graph inputs
//     (after the image input, in layer order: mean₀, var₀, mean₁, var₁, …), so
//     many windows of one picture can be normalised with the same statistics;
//   - measure computes each layer's statistics on the way, exactly as the
//     original graph does (later layers see the earlier layers normalised by
//     their own statistics), and returns them as extra graph outputs in the
//     same order. Its image output equals the original model's.
//
// Feeding apply the tensors measure returned for an image reproduces the
// original model's output on that image. m is not changed. The
// InstanceNormalization layers come first, then the written-out ones, each
// in graph order.
func SplitInstanceNorm(m *Model) (apply, measure *Model, layers []INLayer, err error) {
	if !HasInstanceNorm(m) {
		return nil, nil, nil, fmt.Errorf("model %s: %w", m.Name, ErrNoInstanceNorm)
	}
	apply = m.Clone()
	measure = m.Clone()
	layers, err = rewriteIN(apply, false)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err = rewriteIN(measure, true); err != nil {
		return nil, nil, nil, err
	}
	return apply, measure, layers, nil
}

// HasInstanceNorm reports whether m normalises with InstanceNormalization
// or with the same arithmetic written out (ReduceMean over H and W, Sqrt of
// the variance, Div: AdaIN nets).
func HasInstanceNorm(m *Model) bool {
	for _, n := range m.Proto.GetGraph().GetNode() {
		if n.GetOpType() == "InstanceNormalization" && n.GetDomain() == "" {
			return true
		}
	}
	return hasAdaIN(m.Proto.GetGraph())
}

// rewriteIN replaces the InstanceNormalization nodes of m in place.
func rewriteIN(m *Model, measure bool) ([]INLayer, error) {
	g := m.Proto.GetGraph()
	b := Edit(g)
	used := b.names()
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = t
	}
	opset := m.OpsetVersion()
	orig := g.Node
	adain := findAdaIN(g) // before the rewrite below writes the same pattern
	replace := map[int][]*onnxpb.NodeProto{}
	var layers []INLayer
	for i, n := range orig {
		if n.GetOpType() != "InstanceNormalization" || n.GetDomain() != "" {
			continue
		}
		if len(n.GetInput()) != 3 || len(n.GetOutput()) != 1 {
			return nil, fmt.Errorf("model %s: InstanceNormalization %s has %d inputs and %d outputs, want 3 and 1", m.Name, n.GetName(), len(n.GetInput()), len(n.GetOutput()))
		}
		k := len(layers)
		l := INLayer{Node: n.GetName(), Epsilon: 1e-5, Mean: fmt.Sprintf("stylize_in%d_mean", k), Var: fmt.Sprintf("stylize_in%d_var", k)}
		if l.Node == "" {
			l.Node = n.GetOutput()[0]
		}
		if used[l.Mean] || used[l.Var] {
			return nil, fmt.Errorf("model %s: names %s/%s already in use", m.Name, l.Mean, l.Var)
		}
		for _, a := range n.GetAttribute() {
			if a.GetName() == "epsilon" {
				l.Epsilon = a.GetF()
			}
		}
		if t := inits[n.GetInput()[1]]; t != nil && len(t.GetDims()) == 1 {
			l.Channels = int(t.GetDims()[0])
		}
		c := Dim{Value: int64(l.Channels)}
		if l.Channels <= 0 {
			c = Dim{Value: -1, Param: "channels"}
		}
		statDims := []Dim{{Value: 1}, c, {Value: 1}, {Value: 1}}

		start := len(g.Node)
		x, scale, bias := n.GetInput()[0], n.GetInput()[1], n.GetInput()[2]
		var diff string
		if measure {
			l.Mean = b.reduceMean(x, l.Mean, opset)
			diff = b.Node("Sub", []string{x, l.Mean})
			sq := b.Node("Mul", []string{diff, diff})
			l.Var = b.reduceMean(sq, l.Var, opset)
			b.Output(l.Mean, onnxpb.TensorProto_FLOAT, statDims)
			b.Output(l.Var, onnxpb.TensorProto_FLOAT, statDims)
		} else {
			b.Input(l.Mean, onnxpb.TensorProto_FLOAT, statDims)
			b.Input(l.Var, onnxpb.TensorProto_FLOAT, statDims)
			diff = b.Node("Sub", []string{x, l.Mean})
		}
		eps := b.Scalar(l.Epsilon)
		sd := b.Node("Sqrt", []string{b.Node("Add", []string{l.Var, eps})})
		norm := b.Node("Div", []string{diff, sd})
		shape := b.Int64s("in_shape", []int64{1, -1, 1, 1})
		sc := b.Node("Reshape", []string{scale, shape})
		bc := b.Node("Reshape", []string{bias, shape})
		b.NodeTo("Add", []string{b.Node("Mul", []string{norm, sc}), bc}, []string{n.GetOutput()[0]})
		replace[i] = append([]*onnxpb.NodeProto(nil), g.Node[start:]...)
		layers = append(layers, l)
	}
	nodes := make([]*onnxpb.NodeProto, 0, len(g.Node))
	for i, n := range orig {
		if r, ok := replace[i]; ok {
			nodes = append(nodes, r...)
			continue
		}
		nodes = append(nodes, n)
	}
	g.Node = nodes
	more, err := rewriteAdaIN(m, b, measure, len(layers), adain)
	return append(layers, more...), err
}

// reduceMean adds a spatial mean over axes 2 and 3 (keepdims) named out; the
// axes moved from an attribute to an input in opset 18.
func (b *Builder) reduceMean(x, out string, opset int64) string {
	if opset >= 18 {
		axes := b.Int64s("in_axes", []int64{2, 3})
		b.NodeTo("ReduceMean", []string{x, axes}, []string{out}, AttrInt("keepdims", 1))
		return out
	}
	b.NodeTo("ReduceMean", []string{x}, []string{out}, AttrInts("axes", 2, 3), AttrInt("keepdims", 1))
	return out
}
