package onnx

import (
	"errors"
	"fmt"

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
// reads them. Graphs without such a point fail with ErrNotSplittable.
func SplitFeatures(m *Model) (*Split, error) {
	g := m.Proto.GetGraph()
	ins := m.Inputs()
	if len(ins) == 0 {
		return nil, fmt.Errorf("model %s: no graph input: %w", m.Name, ErrNotSplittable)
	}
	nodes := g.GetNode()

	// Constant values: initializers, Constant nodes and everything computed
	// from constants only. Graph inputs after the first (the image) are
	// side inputs, such as normalisation statistics: like constants, each
	// half that reads one gets it as an input of its own.
	isConst := map[string]bool{"": true}
	for _, t := range g.GetInitializer() {
		isConst[t.GetName()] = true
	}
	isSide := map[string]bool{}
	for _, v := range ins[1:] {
		isConst[v.Name] = true
		isSide[v.Name] = true
	}
	constNode := make([]bool, len(nodes))
	for i, n := range nodes {
		c := true
		for _, in := range n.GetInput() {
			if !isConst[in] {
				c = false
				break
			}
		}
		if c {
			constNode[i] = true
			for _, o := range n.GetOutput() {
				isConst[o] = true
			}
		}
	}

	// Dynamic (image-dependent) nodes in graph order, with where each of
	// their outputs is last used.
	var dyn []int
	producer := map[string]int{} // tensor → index in dyn
	for i, n := range nodes {
		if constNode[i] {
			continue
		}
		for _, o := range n.GetOutput() {
			producer[o] = len(dyn)
		}
		dyn = append(dyn, i)
	}
	lastUse := map[string]int{} // tensor → last index in dyn that reads it
	for j, i := range dyn {
		for _, in := range nodes[i].GetInput() {
			if !isConst[in] {
				lastUse[in] = j
			}
		}
	}
	for _, o := range g.GetOutput() {
		lastUse[o.GetName()] = len(dyn) // graph outputs live to the end
	}
	up := -1
	for j, i := range dyn {
		if upsamplers[nodes[i].GetOpType()] {
			up = j
			break
		}
	}
	if up < 0 {
		return nil, fmt.Errorf("model %s: no upsampling layer (%s): %w", m.Name, "ConvTranspose, Resize, Upsample or DepthToSpace", ErrNotSplittable)
	}
	// cutAfter reports the only tensor live after dyn[j], if there is one.
	cutAfter := func(j int) (string, bool) {
		live := ""
		count := 0
		if lastUse[ins[0].Name] > j {
			return "", false // the image itself is still needed
		}
		for k := 0; k <= j; k++ {
			for _, o := range nodes[dyn[k]].GetOutput() {
				if lu, ok := lastUse[o]; ok && lu > j {
					live = o
					count++
				}
			}
		}
		return live, count == 1
	}
	cut, at := -1, ""
	for j := up - 1; j >= 0; j-- {
		if nodes[dyn[j]].GetOpType() == "Add" {
			if t, ok := cutAfter(j); ok && t == nodes[dyn[j]].GetOutput()[0] {
				cut, at = j, t
			}
			break
		}
	}
	if cut < 0 {
		data := nodes[dyn[up]].GetInput()[0]
		if p, ok := producer[data]; ok {
			if t, ok := cutAfter(p); ok && t == data {
				cut, at = p, t
			}
		}
	}
	if cut < 0 {
		return nil, fmt.Errorf("model %s: no single tensor separates the layers before the %s: %w", m.Name, nodes[dyn[up]].GetOpType(), ErrNotSplittable)
	}

	// Nodes of each half, constant nodes copied to the halves that use them.
	encSet := map[int]bool{}
	for j := 0; j <= cut; j++ {
		encSet[dyn[j]] = true
	}
	half := func(inEnc bool) []*onnxpb.NodeProto {
		need := map[string]bool{}
		for i := len(nodes) - 1; i >= 0; i-- {
			if constNode[i] {
				continue
			}
			if encSet[i] == inEnc {
				for _, in := range nodes[i].GetInput() {
					need[in] = true
				}
			}
		}
		// Constant nodes feeding this half, transitively (walk backwards).
		keep := make([]bool, len(nodes))
		for i := len(nodes) - 1; i >= 0; i-- {
			if !constNode[i] {
				keep[i] = encSet[i] == inEnc
				continue
			}
			for _, o := range nodes[i].GetOutput() {
				if need[o] {
					keep[i] = true
				}
			}
			if keep[i] {
				for _, in := range nodes[i].GetInput() {
					need[in] = true
				}
			}
		}
		var out []*onnxpb.NodeProto
		for i, n := range nodes {
			if keep[i] {
				out = append(out, proto.Clone(n).(*onnxpb.NodeProto))
			}
		}
		return out
	}
	f16 := featureIsFloat16(g, at)
	featName := at
	encNodes, decNodes := half(true), half(false)
	if f16 {
		// The runtime only sees float32: cast the features at the cut.
		featName = freshName(g, at+"_f32")
		encNodes = append(encNodes, &onnxpb.NodeProto{OpType: ptr("Cast"), Name: ptr(featName + "_cast"),
			Input: []string{at}, Output: []string{featName}, Attribute: []*onnxpb.AttributeProto{AttrInt("to", int64(onnxpb.TensorProto_FLOAT))}})
		decNodes = append([]*onnxpb.NodeProto{{OpType: ptr("Cast"), Name: ptr(at + "_cast"),
			Input: []string{featName}, Output: []string{at}, Attribute: []*onnxpb.AttributeProto{AttrInt("to", int64(onnxpb.TensorProto_FLOAT16))}}}, decNodes...)
	}
	featDims := []Dim{{Value: -1, Param: "batch"}, {Value: -1, Param: "channels"}, {Value: -1, Param: "feature_height"}, {Value: -1, Param: "feature_width"}}
	featVI := TensorValue(featName, onnxpb.TensorProto_FLOAT, featDims)

	var imgIn *onnxpb.ValueInfoProto
	for _, vi := range g.GetInput() {
		if vi.GetName() == ins[0].Name {
			imgIn = vi
		}
	}
	// Side inputs go to the halves that read them, after the main input.
	sides := func(nodes []*onnxpb.NodeProto) []*onnxpb.ValueInfoProto {
		reads := map[string]bool{}
		for _, n := range nodes {
			for _, in := range n.GetInput() {
				reads[in] = true
			}
		}
		var vs []*onnxpb.ValueInfoProto
		for _, vi := range g.GetInput() {
			if isSide[vi.GetName()] && reads[vi.GetName()] {
				vs = append(vs, vi)
			}
		}
		return vs
	}
	// All graph outputs come from the decoder: one produced before the cut
	// would have been a second live tensor there.
	enc := subModel(m, "encoder", encNodes, append([]*onnxpb.ValueInfoProto{imgIn}, sides(encNodes)...), []*onnxpb.ValueInfoProto{featVI})
	dec := subModel(m, "decoder", decNodes, append([]*onnxpb.ValueInfoProto{featVI}, sides(decNodes)...), g.GetOutput())
	return &Split{Encoder: enc, Decoder: dec, Features: featName,
		At: fmt.Sprintf("%s output %q before %s", nodes[dyn[cut]].GetOpType(), at, nodes[dyn[up]].GetOpType())}, nil
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
