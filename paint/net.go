package paint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// ErrUnsupportedNet means the perceptual network uses an op or a form of an
// op that the gradient generator has no backward for.
var ErrUnsupportedNet = errors.New("paint: perceptual net not supported")

// opKind is one of the ops the generator differentiates.
type opKind int

const (
	opConv opKind = iota
	opPad
	opRelu
	opMaxPool
)

// netOp is one node of the perceptual net: a chain, each node reading the
// previous one's output.
type netOp struct {
	kind    opKind
	in, out string
	w, bias string  // Conv initializers (bias may be "")
	k       int64   // Conv kernel size (square)
	cout    int64   // Conv output channels
	pads    []int64 // Pad: [0, 0, top, left, 0, 0, bottom, right]
}

// Net is a perceptual network read for differentiation.
type Net struct {
	name  string
	ops   []netOp
	inits map[string]*onnxpb.TensorProto
	input string
	model *onnx.Model
}

// LoadNet reads a perceptual network such as cd16x_vgg_features.onnx: one
// input [1,3,H,W], a chain of Conv (stride 1, no padding, no groups),
// reflect Pad, Relu and 2×2 MaxPool, and named outputs along the chain.
func LoadNet(path string) (*Net, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	return newNet(m)
}

func newNet(m *onnx.Model) (*Net, error) {
	g := m.Proto.GetGraph()
	n := &Net{name: m.Name, model: m, inits: map[string]*onnxpb.TensorProto{}}
	for _, t := range g.GetInitializer() {
		n.inits[t.GetName()] = t
	}
	ins := m.Inputs()
	if len(ins) != 1 {
		return nil, fmt.Errorf("%w: %s has %d inputs, want one image", ErrUnsupportedNet, m.Name, len(ins))
	}
	n.input = ins[0].Name
	prev := n.input
	for _, nd := range g.GetNode() {
		if nd.GetOpType() == "Identity" && len(n.ops) > 0 && len(nd.GetInput()) == 1 && nd.GetInput()[0] == prev &&
			len(nd.GetOutput()) == 1 {
			// A name for the last op's output (the imported graphs name
			// their layers so): the chain goes on under that name.
			n.ops[len(n.ops)-1].out = nd.GetOutput()[0]
			prev = nd.GetOutput()[0]
			continue
		}
		op, err := n.readOp(nd)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: node %s (%s): %v", ErrUnsupportedNet, m.Name, nd.GetName(), nd.GetOpType(), err)
		}
		if op.in != prev {
			return nil, fmt.Errorf("%w: %s: node %s does not continue the chain (reads %s, not %s)",
				ErrUnsupportedNet, m.Name, nd.GetName(), op.in, prev)
		}
		n.ops = append(n.ops, op)
		prev = op.out
	}
	return n, nil
}

func attrs(nd *onnxpb.NodeProto) map[string]*onnxpb.AttributeProto {
	a := map[string]*onnxpb.AttributeProto{}
	for _, x := range nd.GetAttribute() {
		a[x.GetName()] = x
	}
	return a
}

// allEqual reports whether every value of the INTS attribute is v (an
// absent attribute counts as the default, which callers pass as v).
func allEqual(a *onnxpb.AttributeProto, v int64) bool {
	for _, x := range a.GetInts() {
		if x != v {
			return false
		}
	}
	return true
}

func (n *Net) readOp(nd *onnxpb.NodeProto) (netOp, error) {
	if len(nd.GetInput()) == 0 || len(nd.GetOutput()) != 1 {
		return netOp{}, fmt.Errorf("want one data input and one output")
	}
	op := netOp{in: nd.GetInput()[0], out: nd.GetOutput()[0]}
	a := attrs(nd)
	switch nd.GetOpType() {
	case "Conv":
		return n.readConv(nd, op, a)
	case "Relu":
		op.kind = opRelu
	case "Pad":
		return n.readPad(nd, op, a)
	case "MaxPool":
		op.kind = opMaxPool
		if !allEqual(a["kernel_shape"], 2) || !allEqual(a["strides"], 2) || !allEqual(a["pads"], 0) ||
			a["ceil_mode"].GetI() != 0 || !allEqual(a["dilations"], 1) {
			return op, fmt.Errorf("only 2×2 stride-2 MaxPool without padding is supported")
		}
	default:
		return op, fmt.Errorf("op %s has no backward here", nd.GetOpType())
	}
	return op, nil
}

func (n *Net) readConv(nd *onnxpb.NodeProto, op netOp, a map[string]*onnxpb.AttributeProto) (netOp, error) {
	op.kind = opConv
	if !allEqual(a["strides"], 1) || !allEqual(a["pads"], 0) || !allEqual(a["dilations"], 1) ||
		(a["group"] != nil && a["group"].GetI() != 1) {
		return op, fmt.Errorf("only stride-1 unpadded ungrouped Conv is supported")
	}
	if len(nd.GetInput()) < 2 {
		return op, fmt.Errorf("Conv without weights")
	}
	w := n.inits[nd.GetInput()[1]]
	if w == nil || len(w.GetDims()) != 4 || w.GetDims()[2] != w.GetDims()[3] {
		return op, fmt.Errorf("Conv weights must be a square-kernel initializer")
	}
	op.w, op.k, op.cout = w.GetName(), w.GetDims()[2], w.GetDims()[0]
	if len(nd.GetInput()) > 2 {
		op.bias = nd.GetInput()[2]
	}
	return op, nil
}

func (n *Net) readPad(nd *onnxpb.NodeProto, op netOp, a map[string]*onnxpb.AttributeProto) (netOp, error) {
	op.kind = opPad
	if string(a["mode"].GetS()) != "reflect" {
		return op, fmt.Errorf("only reflect Pad is supported")
	}
	if len(nd.GetInput()) < 2 {
		return op, fmt.Errorf("Pad without pads input")
	}
	p := n.inits[nd.GetInput()[1]]
	pads, err := int64sOf(p)
	if err != nil {
		return op, fmt.Errorf("pads: %v", err)
	}
	if len(pads) != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		return op, fmt.Errorf("only spatial padding of NCHW tensors is supported (pads %v)", pads)
	}
	for _, v := range pads {
		if v < 0 {
			return op, fmt.Errorf("negative pads %v", pads)
		}
	}
	op.pads = pads
	return op, nil
}

// int64sOf reads an INT64 initializer, raw or typed.
func int64sOf(t *onnxpb.TensorProto) ([]int64, error) {
	if t == nil {
		return nil, fmt.Errorf("not an initializer")
	}
	if onnxpb.TensorProto_DataType(t.GetDataType()) != onnxpb.TensorProto_INT64 {
		return nil, fmt.Errorf("type %v, want INT64", onnxpb.TensorProto_DataType(t.GetDataType()))
	}
	if len(t.GetInt64Data()) > 0 {
		return t.GetInt64Data(), nil
	}
	raw := t.GetRawData()
	v := make([]int64, len(raw)/8)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return v, nil
}

// shape is a CHW size (batch 1).
type shape struct{ c, h, w int64 }

// shapes runs the chain's shape inference for an h×w picture: the shape of
// every op's output, by value name, and an error when a reflect Pad meets a
// side too short for it.
func (n *Net) shapes(h, w int) (map[string]shape, error) {
	s := shape{3, int64(h), int64(w)}
	out := map[string]shape{n.input: s}
	for _, op := range n.ops {
		switch op.kind {
		case opConv:
			s = shape{op.cout, s.h - op.k + 1, s.w - op.k + 1}
		case opPad:
			if s.h <= max(op.pads[2], op.pads[6]) || s.w <= max(op.pads[3], op.pads[7]) {
				return nil, fmt.Errorf("picture %d×%d is too small for %s (%s is %d×%d there)", w, h, n.name, op.in, s.w, s.h)
			}
			s = shape{s.c, s.h + op.pads[2] + op.pads[6], s.w + op.pads[3] + op.pads[7]}
		case opMaxPool:
			s = shape{s.c, s.h / 2, s.w / 2}
		}
		if s.h < 1 || s.w < 1 {
			return nil, fmt.Errorf("picture %d×%d is too small for %s", w, h, n.name)
		}
		out[op.out] = s
	}
	return out, nil
}

// Layers are the net's named outputs.
func (n *Net) Layers() []string {
	var l []string
	for _, o := range n.model.Outputs() {
		l = append(l, o.Name)
	}
	return l
}

func floatsOfRaw(raw []byte) []float32 {
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}
