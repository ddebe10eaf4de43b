package onnx

import (
	"errors"
	"fmt"
	"slices"

	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// ErrNotSplittable means a graph has no feature map to split at: no
// upsampling layer, or no single tensor that separates encoder and decoder.
var ErrNotSplittable = errors.New("no feature map to split the graph at")

// Split is a style network cut in two at its low-resolution feature map:
// Encoder maps the image to the features, Decoder the features to the
// image. Decoder(Encoder(x)) computes exactly what the whole model does.
type Split struct {
	Encoder, Decoder *Model
	// Features is the name of the feature tensor: the encoder's only output
	// and the decoder's only input (float32, [N, C, h, w], dynamic dims).
	Features string
	// At describes the cut for messages: the node that produces the features
	// and the upsampling layer that follows.
	At string
}

// upsamplers are the operators that raise the spatial resolution.
var upsamplers = map[string]bool{"ConvTranspose": true, "Resize": true, "Upsample": true, "DepthToSpace": true}

// SplitFeatures cuts m before its first upsampling layer (ConvTranspose,
// Resize, Upsample, DepthToSpace): at the output of the last residual Add
// before it when that is a clean cut, else at the upsampling layer's input.
// A clean cut is one tensor that carries everything the rest of the graph
// needs from the image; nodes that only compute constants (padding shapes)
// are copied into each half that uses them, initializers into the half that
// reads them. Graph inputs after the first (the image) are side inputs,
// such as normalisation statistics or a conditioned net's style tensors:
// each half that reads one gets it as an input of its own. Graphs without
// such a point fail with ErrNotSplittable.
func SplitFeatures(m *Model) (*Split, error) {
	ins := m.Inputs()
	if len(ins) == 0 {
		return nil, fmt.Errorf("model %s: no graph input: %w", m.Name, ErrNotSplittable)
	}
	s := newSplitter(m.Proto.GetGraph(), ins)
	up := s.upsampling()
	if up < 0 {
		return nil, fmt.Errorf("model %s: no upsampling layer (%s): %w", m.Name, "ConvTranspose, Resize, Upsample or DepthToSpace", ErrNotSplittable)
	}
	cut, at := s.findCut(up)
	if cut < 0 {
		return nil, fmt.Errorf("model %s: no single tensor separates the layers before the %s: %w", m.Name, s.nodes[s.dyn[up]].GetOpType(), ErrNotSplittable)
	}
	encNodes, decNodes := s.half(cut, true), s.half(cut, false)
	featName := at
	if featureIsFloat16(s.g, at) {
		// The runtime only sees float32: cast the features at the cut.
		featName = freshName(s.g, at+"_f32")
		encNodes = append(encNodes, castNode(featName+"_cast", at, featName, onnxpb.TensorProto_FLOAT))
		decNodes = append([]*onnxpb.NodeProto{castNode(at+"_cast", featName, at, onnxpb.TensorProto_FLOAT16)}, decNodes...)
	}
	featDims := []Dim{{Value: -1, Param: "batch"}, {Value: -1, Param: "channels"}, {Value: -1, Param: "feature_height"}, {Value: -1, Param: "feature_width"}}
	featVI := TensorValue(featName, onnxpb.TensorProto_FLOAT, featDims)
	var imgIn *onnxpb.ValueInfoProto
	for _, vi := range s.g.GetInput() {
		if vi.GetName() == ins[0].Name {
			imgIn = vi
		}
	}
	// All graph outputs come from the decoder: one produced before the cut
	// would have been a second live tensor there.
	enc := subModel(m, "encoder", encNodes, append([]*onnxpb.ValueInfoProto{imgIn}, s.sides(encNodes)...), []*onnxpb.ValueInfoProto{featVI})
	dec := subModel(m, "decoder", decNodes, append([]*onnxpb.ValueInfoProto{featVI}, s.sides(decNodes)...), s.g.GetOutput())
	return &Split{Encoder: enc, Decoder: dec, Features: featName,
		At: fmt.Sprintf("%s output %q before %s", s.nodes[s.dyn[cut]].GetOpType(), at, s.nodes[s.dyn[up]].GetOpType())}, nil
}

func castNode(name, in, out string, to onnxpb.TensorProto_DataType) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: ptr("Cast"), Name: ptr(name), Input: []string{in}, Output: []string{out},
		Attribute: []*onnxpb.AttributeProto{AttrInt("to", int64(to))}}
}

// splitter is a graph analysed for a cut: which values are constant, the
// image-dependent nodes in order, and where each tensor is last read.
type splitter struct {
	g         *onnxpb.GraphProto
	nodes     []*onnxpb.NodeProto
	image     string
	isConst   map[string]bool // initializers, side inputs and what is computed from them only
	isSide    map[string]bool
	constNode []bool
	dyn       []int          // image-dependent nodes in graph order
	producer  map[string]int // tensor → index in dyn
	lastUse   map[string]int // tensor → last index in dyn that reads it
}

func newSplitter(g *onnxpb.GraphProto, ins []Value) *splitter {
	s := &splitter{g: g, nodes: g.GetNode(), image: ins[0].Name, isConst: map[string]bool{"": true}, isSide: map[string]bool{},
		producer: map[string]int{}, lastUse: map[string]int{}}
	for _, t := range g.GetInitializer() {
		s.isConst[t.GetName()] = true
	}
	for _, v := range ins[1:] {
		s.isConst[v.Name], s.isSide[v.Name] = true, true
	}
	s.constNode = make([]bool, len(s.nodes))
	for i, n := range s.nodes {
		s.constNode[i] = !slices.ContainsFunc(n.GetInput(), func(in string) bool { return !s.isConst[in] })
		if s.constNode[i] {
			for _, o := range n.GetOutput() {
				s.isConst[o] = true
			}
			continue
		}
		for _, o := range n.GetOutput() {
			s.producer[o] = len(s.dyn)
		}
		for _, in := range n.GetInput() {
			if !s.isConst[in] {
				s.lastUse[in] = len(s.dyn)
			}
		}
		s.dyn = append(s.dyn, i)
	}
	for _, o := range g.GetOutput() {
		s.lastUse[o.GetName()] = len(s.dyn) // graph outputs live to the end
	}
	return s
}

// upsampling is the index in dyn of the first upsampling layer, or −1.
func (s *splitter) upsampling() int {
	return slices.IndexFunc(s.dyn, func(i int) bool { return upsamplers[s.nodes[i].GetOpType()] })
}

// cutAfter reports the only tensor live after dyn[j], if there is one.
func (s *splitter) cutAfter(j int) (string, bool) {
	if s.lastUse[s.image] > j {
		return "", false // the image itself is still needed
	}
	live, count := "", 0
	for k := 0; k <= j; k++ {
		for _, o := range s.nodes[s.dyn[k]].GetOutput() {
			if lu, ok := s.lastUse[o]; ok && lu > j {
				live = o
				count++
			}
		}
	}
	return live, count == 1
}

// findCut picks the cut before dyn[up]: the last Add before it when its
// output is the only live tensor, else the upsampling layer's input when
// that is. −1 when neither is a clean cut.
func (s *splitter) findCut(up int) (int, string) {
	for j := up - 1; j >= 0; j-- {
		if s.nodes[s.dyn[j]].GetOpType() == "Add" {
			if t, ok := s.cutAfter(j); ok && t == s.nodes[s.dyn[j]].GetOutput()[0] {
				return j, t
			}
			break
		}
	}
	data := s.nodes[s.dyn[up]].GetInput()[0]
	if p, ok := s.producer[data]; ok {
		if t, ok := s.cutAfter(p); ok && t == data {
			return p, t
		}
	}
	return -1, ""
}

// half returns the nodes of the encoder (dyn[0..cut]) or the decoder, with
// copies of the constant nodes that feed them, transitively.
func (s *splitter) half(cut int, inEnc bool) []*onnxpb.NodeProto {
	enc := map[int]bool{}
	for j := 0; j <= cut; j++ {
		enc[s.dyn[j]] = true
	}
	need := map[string]bool{}
	keep := make([]bool, len(s.nodes))
	for i := len(s.nodes) - 1; i >= 0; i-- {
		keep[i] = !s.constNode[i] && enc[i] == inEnc
		if s.constNode[i] {
			keep[i] = slices.ContainsFunc(s.nodes[i].GetOutput(), func(o string) bool { return need[o] })
		}
		if keep[i] {
			for _, in := range s.nodes[i].GetInput() {
				need[in] = true
			}
		}
	}
	var out []*onnxpb.NodeProto
	for i, n := range s.nodes {
		if keep[i] {
			out = append(out, proto.Clone(n).(*onnxpb.NodeProto))
		}
	}
	return out
}

// sides are the side inputs the nodes read, in graph input order.
func (s *splitter) sides(nodes []*onnxpb.NodeProto) []*onnxpb.ValueInfoProto {
	reads := map[string]bool{}
	for _, n := range nodes {
		for _, in := range n.GetInput() {
			reads[in] = true
		}
	}
	var vs []*onnxpb.ValueInfoProto
	for _, vi := range s.g.GetInput() {
		if s.isSide[vi.GetName()] && reads[vi.GetName()] {
			vs = append(vs, vi)
		}
	}
	return vs
}

// featureIsFloat16 reports whether tensor t is float16, from the graph's
// value_info or, failing that, from float16 initializers (a float16 model).
func featureIsFloat16(g *onnxpb.GraphProto, t string) bool {
	for _, vi := range g.GetValueInfo() {
		if vi.GetName() == t {
			return vi.GetType().GetTensorType().GetElemType() == int32(onnxpb.TensorProto_FLOAT16)
		}
	}
	for _, in := range g.GetInitializer() {
		if in.GetDataType() == int32(onnxpb.TensorProto_FLOAT16) && len(in.GetDims()) == 4 {
			return true
		}
	}
	return false
}

func freshName(g *onnxpb.GraphProto, base string) string {
	b := Edit(g)
	used := b.names()
	if !used[base] {
		return base
	}
	return b.Fresh(base)
}

// subModel builds one half of a split: the given nodes, with the
// initializers and value_info they refer to, and m's opsets and metadata.
func subModel(m *Model, part string, nodes []*onnxpb.NodeProto, inputs, outputs []*onnxpb.ValueInfoProto) *Model {
	g := m.Proto.GetGraph()
	used := map[string]bool{}
	for _, n := range nodes {
		for _, in := range n.GetInput() {
			used[in] = true
		}
		for _, o := range n.GetOutput() {
			used[o] = true
		}
	}
	ng := &onnxpb.GraphProto{Name: ptr(g.GetName() + "_" + part)}
	ng.Node = nodes
	for _, vi := range inputs {
		ng.Input = append(ng.Input, proto.Clone(vi).(*onnxpb.ValueInfoProto))
	}
	isInit := map[string]bool{}
	for _, t := range g.GetInitializer() {
		isInit[t.GetName()] = true
		if used[t.GetName()] {
			ng.Initializer = append(ng.Initializer, t) // shared, read-only
		}
	}
	// Old exporters (IR < 4) list initializers among the inputs too.
	for _, vi := range g.GetInput() {
		if isInit[vi.GetName()] && used[vi.GetName()] {
			ng.Input = append(ng.Input, proto.Clone(vi).(*onnxpb.ValueInfoProto))
		}
	}
	for _, vi := range outputs {
		ng.Output = append(ng.Output, proto.Clone(vi).(*onnxpb.ValueInfoProto))
	}
	io := map[string]bool{}
	for _, vi := range append(append([]*onnxpb.ValueInfoProto{}, inputs...), outputs...) {
		io[vi.GetName()] = true
	}
	for _, vi := range g.GetValueInfo() {
		if used[vi.GetName()] && !io[vi.GetName()] {
			ng.ValueInfo = append(ng.ValueInfo, vi)
		}
	}
	p := &onnxpb.ModelProto{
		IrVersion:       m.Proto.IrVersion,
		ProducerName:    m.Proto.ProducerName,
		ProducerVersion: m.Proto.ProducerVersion,
		OpsetImport:     m.Proto.OpsetImport,
		MetadataProps:   m.Proto.MetadataProps,
		Graph:           ng,
	}
	return &Model{Name: m.Name + " (" + part + ")", Proto: p}
}
