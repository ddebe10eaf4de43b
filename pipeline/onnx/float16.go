package onnx

import (
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// CastIOToFloat32 rewrites a model whose image input or output is float16 so
// that the runtime sees float32 on both sides: a Cast node is inserted after
// the input and before the output. Models that are float32 already are
// returned unchanged. It reports whether it changed anything.
func (m *Model) CastIOToFloat32() bool {
	g := m.Proto.GetGraph()
	b := Edit(g)
	changed := false
	f16 := int32(onnxpb.TensorProto_FLOAT16)
	f32 := int32(onnxpb.TensorProto_FLOAT)
	for _, in := range m.Inputs() {
		if in.ElemType != onnxpb.TensorProto_FLOAT16 {
			continue
		}
		inner := b.Fresh(in.Name + "_f16")
		renameUses(g, in.Name, inner)
		b.NodeTo("Cast", []string{in.Name}, []string{inner}, AttrInt("to", int64(f16)))
		// Cast must come first: move it to the front of the node list.
		n := g.Node[len(g.Node)-1]
		copy(g.Node[1:], g.Node[:len(g.Node)-1])
		g.Node[0] = n
		setElemType(g.Input, in.Name, f32)
		changed = true
	}
	for _, out := range m.Outputs() {
		if out.ElemType != onnxpb.TensorProto_FLOAT16 {
			continue
		}
		inner := b.Fresh(out.Name + "_f16")
		renameProducer(g, out.Name, inner)
		b.NodeTo("Cast", []string{inner}, []string{out.Name}, AttrInt("to", int64(f32)))
		setElemType(g.Output, out.Name, f32)
		changed = true
	}
	m.Float16IO = m.Float16IO || changed
	return changed
}

func setElemType(vs []*onnxpb.ValueInfoProto, name string, t int32) {
	for _, v := range vs {
		if v.GetName() == name && v.GetType().GetTensorType() != nil {
			v.GetType().GetTensorType().ElemType = &t
		}
	}
}

// renameUses makes every node that reads from renames it to to.
func renameUses(g *onnxpb.GraphProto, from, to string) {
	for _, n := range g.GetNode() {
		for i, x := range n.Input {
			if x == from {
				n.Input[i] = to
			}
		}
	}
}

// renameProducer renames the output of the node that produces from, and
// every use of it.
func renameProducer(g *onnxpb.GraphProto, from, to string) {
	for _, n := range g.GetNode() {
		for i, x := range n.Output {
			if x == from {
				n.Output[i] = to
			}
		}
	}
	renameUses(g, from, to)
}

// RenameValue renames a value everywhere: the producing node's output, every
// use, and graph inputs/outputs of that name.
func (m *Model) RenameValue(from, to string) {
	g := m.Proto.GetGraph()
	renameProducer(g, from, to)
	for _, v := range g.GetInput() {
		if v.GetName() == from {
			v.Name = &to
		}
	}
	for _, v := range g.GetOutput() {
		if v.GetName() == from {
			v.Name = &to
		}
	}
}
