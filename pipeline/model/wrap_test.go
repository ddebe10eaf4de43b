package model

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// Test models for conventions the shared ones lack, made by wrapping a real
// model (la_muse: NCHW, RGB, 0..255, dynamic) in adapter nodes.

type wrapSpec struct {
	nhwc     bool // image tensors are N,H,W,C
	tanh     bool // input and output in -1..1
	unit     bool // input and output in 0..1
	bgr      bool // channels are B,G,R
	fixed    int  // >0: fixed fixed×fixed input
	float16  bool // float16 input and output
	named    bool // every dimension named (the channels' too), as some exports write them
	metadata map[string]string
}

// wrapModel rewrites base (loaded fresh) so that its outer interface follows
// spec, and writes it to dir/name.onnx.
func wrapModel(t *testing.T, base, dir, name string, spec wrapSpec) string {
	t.Helper()
	m, err := onnx.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	ins, outs := m.Inputs(), m.Outputs()
	inName, outName := ins[0].Name, outs[0].Name
	m.RenameValue(inName, "core_in")
	m.RenameValue(outName, "core_out")
	g := m.Proto.Graph
	core := g.Node
	g.Node = nil
	g.Input, g.Output = nil, nil
	b := onnx.Edit(g)

	elem := onnxpb.TensorProto_FLOAT
	if spec.float16 {
		elem = onnxpb.TensorProto_FLOAT16
	}
	h := onnx.Dim{Value: -1, Param: "height"}
	w := onnx.Dim{Value: -1, Param: "width"}
	if spec.fixed > 0 {
		h, w = onnx.Dim{Value: int64(spec.fixed)}, onnx.Dim{Value: int64(spec.fixed)}
	}
	dims := []onnx.Dim{{Value: 1}, {Value: 3}, h, w}
	if spec.nhwc {
		dims = []onnx.Dim{{Value: 1}, h, w, {Value: 3}}
	}
	if spec.named {
		n, c := onnx.Dim{Value: -1, Param: "N"}, onnx.Dim{Value: -1, Param: "C"}
		dims = []onnx.Dim{n, c, h, w}
		if spec.nhwc {
			dims = []onnx.Dim{n, h, w, c}
		}
	}
	x := b.Input("image", elem, dims)
	if spec.float16 {
		x = b.Node("Cast", []string{x}, onnx.AttrInt("to", int64(onnxpb.TensorProto_FLOAT)))
	}
	if spec.nhwc {
		x = b.Node("Transpose", []string{x}, onnx.AttrInts("perm", 0, 3, 1, 2))
	}
	perm := b.Const("perm", []int64{3, 3, 1, 1}, []float32{0, 0, 1, 0, 1, 0, 1, 0, 0})
	if spec.bgr {
		x = b.Node("Conv", []string{x, perm})
	}
	switch {
	case spec.tanh:
		x = b.Node("Mul", []string{b.Node("Add", []string{x, b.Scalar(1)}), b.Scalar(127.5)})
	case spec.unit:
		x = b.Node("Mul", []string{x, b.Scalar(255)})
	}
	b.NodeTo("Identity", []string{x}, []string{"core_in"})
	g.Node = append(g.Node, core...)
	y := "core_out"
	switch {
	case spec.tanh:
		y = b.Node("Sub", []string{b.Node("Div", []string{y, b.Scalar(127.5)}), b.Scalar(1)})
	case spec.unit:
		y = b.Node("Div", []string{y, b.Scalar(255)})
	}
	if spec.bgr {
		y = b.Node("Conv", []string{y, perm})
	}
	if spec.nhwc {
		y = b.Node("Transpose", []string{y}, onnx.AttrInts("perm", 0, 2, 3, 1))
	}
	if spec.float16 {
		y = b.Node("Cast", []string{y}, onnx.AttrInt("to", int64(onnxpb.TensorProto_FLOAT16)))
	}
	b.NodeTo("Identity", []string{y}, []string{"stylized"})
	b.Output("stylized", elem, dims)
	for k, v := range spec.metadata {
		k, v := k, v
		m.Proto.MetadataProps = append(m.Proto.MetadataProps, &onnxpb.StringStringEntryProto{Key: &k, Value: &v})
	}
	bs, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".onnx")
	if err := os.WriteFile(p, bs, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyModel builds a small graph with the given input dims (for refusal tests).
func tinyModel(t *testing.T, dir, name string, inputs [][]onnx.Dim) string {
	t.Helper()
	b := onnx.NewBuilder(name)
	var last string
	for i, d := range inputs {
		last = b.Input(filepath.Base(name)+string(rune('a'+i)), onnxpb.TensorProto_FLOAT, d)
	}
	b.NodeTo("Identity", []string{last}, []string{"out"})
	b.Output("out", onnxpb.TensorProto_FLOAT, inputs[len(inputs)-1])
	bs, err := b.Model(name, 13, nil).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".onnx")
	if err := os.WriteFile(p, bs, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
