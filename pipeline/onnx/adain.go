package onnx

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// Instance normalisation written out, as AdaIN-type nets (MicroAST) do
// instead of using the InstanceNormalization op:
//
//	mean = ReduceMean(x, axes 2,3, keepdims)
//	d    = Sub(x, mean)
//	std  = Sqrt(… reduction of Mul(d, d) or Pow(d, 2) …)
//	norm = Div(d, std)
//
// The statistics are mean and std (whatever the variance and epsilon
// arithmetic between d·d and the Sqrt): the apply variant takes them as
// inputs, the measure variant returns them.

// adainMatch is one written-out normalisation: the tensors of its mean and
// std and the nodes that read them.
type adainMatch struct {
	mean, std string
	sub, div  *onnxpb.NodeProto
	name      string
}

// findAdaIN lists the written-out normalisations of g in graph order.
func findAdaIN(g *onnxpb.GraphProto) []adainMatch {
	prod := map[string]*onnxpb.NodeProto{}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			prod[o] = n
		}
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = t
	}
	var ms []adainMatch
	for _, n := range g.GetNode() {
		if n.GetOpType() != "Div" || len(n.GetInput()) != 2 {
			continue
		}
		d, s := n.GetInput()[0], n.GetInput()[1]
		sub, sq := prod[d], prod[s]
		if sub == nil || sub.GetOpType() != "Sub" || sq == nil || sq.GetOpType() != "Sqrt" {
			continue
		}
		rm := prod[sub.GetInput()[1]]
		if rm == nil || rm.GetOpType() != "ReduceMean" || rm.GetInput()[0] != sub.GetInput()[0] || !spatialMean(rm, inits) {
			continue
		}
		if !squares(prod, s, d, 8) {
			continue
		}
		name := n.GetName()
		if name == "" {
			name = n.GetOutput()[0]
		}
		ms = append(ms, adainMatch{mean: sub.GetInput()[1], std: s, sub: sub, div: n, name: name})
	}
	return ms
}

// spatialMean reports whether a ReduceMean averages over axes 2 and 3 and
// keeps the dimensions (axes as an attribute, or as an input from opset 18).
func spatialMean(n *onnxpb.NodeProto, inits map[string]*onnxpb.TensorProto) bool {
	if attrInt(n, "keepdims", 1) != 1 {
		return false
	}
	axes := attrInts(n, "axes")
	if len(n.GetInput()) > 1 {
		axes = int64s(inits[n.GetInput()[1]])
	}
	slices.Sort(axes)
	return slices.Equal(axes, []int64{2, 3}) || slices.Equal(axes, []int64{-2, -1})
}

// int64s reads an int64 initializer (nil when it is not one).
func int64s(t *onnxpb.TensorProto) []int64 {
	if t == nil || t.GetDataType() != int32(onnxpb.TensorProto_INT64) {
		return nil
	}
	if v := t.GetInt64Data(); len(v) > 0 {
		return slices.Clone(v)
	}
	raw := t.GetRawData()
	v := make([]int64, len(raw)/8)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return v
}

// squares reports whether t is computed, within depth nodes, from d·d
// (Mul(d, d) or Pow(d, ·)): the variance of the centred tensor.
func squares(prod map[string]*onnxpb.NodeProto, t, d string, depth int) bool {
	n := prod[t]
	if n == nil || depth == 0 {
		return false
	}
	in := n.GetInput()
	switch {
	case n.GetOpType() == "Mul" && len(in) == 2 && in[0] == d && in[1] == d:
		return true
	case n.GetOpType() == "Pow" && len(in) == 2 && in[0] == d:
		return true
	}
	for _, x := range in {
		if x != "" && squares(prod, x, d, depth-1) {
			return true
		}
	}
	return false
}

// hasAdaIN reports whether g normalises with the written-out pattern.
func hasAdaIN(g *onnxpb.GraphProto) bool { return len(findAdaIN(g)) > 0 }

// rewriteAdaIN exposes the statistics of the written-out normalisations
// found (findAdaIN on the graph as loaded): as graph outputs (measure) or
// graph inputs (apply, the nodes that computed them pruned). Layers are
// numbered on from first.
func rewriteAdaIN(m *Model, b *Builder, measure bool, first int, found []adainMatch) ([]INLayer, error) {
	g := m.Proto.GetGraph()
	used := b.names()
	var layers []INLayer
	for i, a := range found {
		k := first + i
		l := INLayer{Node: a.name, Std: true, Mean: fmt.Sprintf("stylize_in%d_mean", k), Var: fmt.Sprintf("stylize_in%d_std", k)}
		if used[l.Mean] || used[l.Var] {
			return nil, fmt.Errorf("model %s: names %s/%s already in use", m.Name, l.Mean, l.Var)
		}
		dims := []Dim{{Value: 1}, {Value: -1, Param: "channels"}, {Value: 1}, {Value: 1}}
		if measure {
			b.NodeTo("Identity", []string{a.mean}, []string{l.Mean})
			b.NodeTo("Identity", []string{a.std}, []string{l.Var})
			b.Output(l.Mean, onnxpb.TensorProto_FLOAT, dims)
			b.Output(l.Var, onnxpb.TensorProto_FLOAT, dims)
		} else {
			b.Input(l.Mean, onnxpb.TensorProto_FLOAT, dims)
			b.Input(l.Var, onnxpb.TensorProto_FLOAT, dims)
			a.sub.Input[1], a.div.Input[1] = l.Mean, l.Var
		}
		layers = append(layers, l)
	}
	if !measure && len(found) > 0 {
		pruneDead(g)
	}
	return layers, nil
}

// pruneDead drops the nodes no graph output depends on.
func pruneDead(g *onnxpb.GraphProto) {
	need := map[string]bool{}
	for _, o := range g.GetOutput() {
		need[o.GetName()] = true
	}
	keep := make([]bool, len(g.GetNode()))
	for i := len(g.GetNode()) - 1; i >= 0; i-- {
		n := g.GetNode()[i]
		for _, o := range n.GetOutput() {
			keep[i] = keep[i] || need[o]
		}
		if keep[i] {
			for _, in := range n.GetInput() {
				need[in] = true
			}
		}
	}
	var nodes []*onnxpb.NodeProto
	for i, n := range g.GetNode() {
		if keep[i] {
			nodes = append(nodes, n)
		}
	}
	g.Node = nodes
}
