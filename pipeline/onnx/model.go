// Package onnx reads, inspects, builds and rewrites ONNX graphs on the
// protobuf types of package onnxpb: model inspection, the built-in style
// graphs, and graph rewrites (float16 casts, normalisation statistics, splits).
package onnx

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// Model is a parsed ONNX model.
type Model struct {
	Name  string // file path or builtin:NAME, for messages
	Proto *onnxpb.ModelProto
	// Float16IO is set by CastIOToFloat32 when it wrapped float16 I/O.
	Float16IO bool
}

// ErrNotONNX means a file is not an ONNX model.
var ErrNotONNX = errors.New("not an ONNX model")

// Load reads and parses an ONNX file.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, unwrapPathError(err))
	}
	m, err := Parse(path, b)
	if err != nil {
		return nil, err
	}
	if err := inlineExternalData(m, filepath.Dir(path)); err != nil {
		return nil, err
	}
	return m, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse parses serialized ONNX bytes; name is used in messages.
func Parse(name string, b []byte) (*Model, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("model %s: empty file, %w", name, ErrNotONNX)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("model %s: %w (protobuf: %v)", name, ErrNotONNX, err)
	}
	if m.GetGraph() == nil || len(m.GetGraph().GetNode()) == 0 {
		return nil, fmt.Errorf("model %s: %w (no graph)", name, ErrNotONNX)
	}
	if m.GetIrVersion() == 0 {
		return nil, fmt.Errorf("model %s: %w (no IR version)", name, ErrNotONNX)
	}
	return &Model{Name: name, Proto: m}, nil
}

// Marshal serializes the model.
func (m *Model) Marshal() ([]byte, error) {
	b, err := proto.Marshal(m.Proto)
	if err != nil {
		return nil, fmt.Errorf("model %s: serialize: %w", m.Name, err)
	}
	return b, nil
}

// Clone returns a deep copy (rewrites work on copies).
func (m *Model) Clone() *Model {
	return &Model{Name: m.Name, Proto: proto.Clone(m.Proto).(*onnxpb.ModelProto)}
}

// Metadata returns the model's metadata_props.
func (m *Model) Metadata() map[string]string {
	md := map[string]string{}
	for _, p := range m.Proto.GetMetadataProps() {
		md[p.GetKey()] = p.GetValue()
	}
	return md
}

// Dim is one tensor dimension: a fixed size, or -1 with an optional name.
type Dim struct {
	Value int64 // -1 when dynamic
	Param string
}

func (d Dim) String() string {
	if d.Value >= 0 {
		return fmt.Sprint(d.Value)
	}
	if d.Param != "" {
		return d.Param
	}
	return "?"
}

// Value describes a graph input or output.
type Value struct {
	Name     string
	ElemType onnxpb.TensorProto_DataType
	Dims     []Dim
}

// ElemName is the element type's ONNX name (FLOAT, FLOAT16, …).
func (v Value) ElemName() string { return v.ElemType.String() }

func valueOf(vi *onnxpb.ValueInfoProto) Value {
	v := Value{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return v
	}
	v.ElemType = onnxpb.TensorProto_DataType(tt.GetElemType())
	if tt.GetShape() == nil {
		return v
	}
	for _, d := range tt.GetShape().GetDim() {
		switch x := d.GetValue().(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			v.Dims = append(v.Dims, Dim{Value: x.DimValue})
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			v.Dims = append(v.Dims, Dim{Value: -1, Param: x.DimParam})
		default:
			v.Dims = append(v.Dims, Dim{Value: -1})
		}
	}
	return v
}

// Inputs are the graph's real inputs (initializers listed as inputs by old
// exporters are left out).
func (m *Model) Inputs() []Value {
	inits := map[string]bool{}
	for _, t := range m.Proto.GetGraph().GetInitializer() {
		inits[t.GetName()] = true
	}
	var vs []Value
	for _, vi := range m.Proto.GetGraph().GetInput() {
		if !inits[vi.GetName()] {
			vs = append(vs, valueOf(vi))
		}
	}
	return vs
}

// Outputs are the graph's outputs.
func (m *Model) Outputs() []Value {
	var vs []Value
	for _, vi := range m.Proto.GetGraph().GetOutput() {
		vs = append(vs, valueOf(vi))
	}
	return vs
}

// OpsetVersion is the default-domain opset the model imports.
func (m *Model) OpsetVersion() int64 {
	for _, o := range m.Proto.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			return o.GetVersion()
		}
	}
	return 0
}

// OpCounts counts nodes by operator type.
func (m *Model) OpCounts() map[string]int {
	c := map[string]int{}
	for _, n := range m.Proto.GetGraph().GetNode() {
		c[n.GetOpType()]++
	}
	return c
}

// OpSummary lists op counts as "Conv×14 InstanceNormalization×16 …", most first.
func (m *Model) OpSummary() string {
	c := m.OpCounts()
	type kv struct {
		k string
		v int
	}
	var l []kv
	for k, v := range c {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].v != l[j].v {
			return l[i].v > l[j].v
		}
		return l[i].k < l[j].k
	})
	s := ""
	for i, e := range l {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s×%d", e.k, e.v)
	}
	return s
}

func attrInts(n *onnxpb.NodeProto, name string) []int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetInts()
		}
	}
	return nil
}

// Downsampling is the product of the strides of the graph's strided
// convolutions and pools: the size multiple the model needs for its output to
// line up with its input (4 for Johnson/Engstrom nets). It is 1 for graphs
// without strides and is capped at 64.
func (m *Model) Downsampling() int {
	f := int64(1)
	for _, n := range m.Proto.GetGraph().GetNode() {
		switch n.GetOpType() {
		case "Conv", "MaxPool", "AveragePool", "LpPool":
			s := attrInts(n, "strides")
			mx := int64(1)
			for _, v := range s {
				if v > mx {
					mx = v
				}
			}
			f *= mx
		case "SpaceToDepth":
			for _, a := range n.GetAttribute() {
				if a.GetName() == "blocksize" && a.GetI() > 1 {
					f *= a.GetI()
				}
			}
		}
		if f > 64 {
			return 64
		}
	}
	return int(f)
}

// initializerDims maps initializer names to their shapes.
func (m *Model) initializerDims() map[string][]int64 {
	d := map[string][]int64{}
	for _, t := range m.Proto.GetGraph().GetInitializer() {
		d[t.GetName()] = t.GetDims()
	}
	return d
}

// MaxChannels is the largest output channel count of any convolution whose
// weights are initializers (0 when unknown). It feeds the memory estimate.
func (m *Model) MaxChannels() int {
	dims := m.initializerDims()
	mx := 0
	for _, n := range m.Proto.GetGraph().GetNode() {
		if (n.GetOpType() == "Conv" || n.GetOpType() == "ConvTranspose") && len(n.GetInput()) > 1 {
			w := dims[n.GetInput()[1]]
			if len(w) == 4 {
				c := int(w[0])
				if n.GetOpType() == "ConvTranspose" {
					c = int(w[1])
				}
				if c > mx {
					mx = c
				}
			}
		}
	}
	return mx
}

func attrInt(n *onnxpb.NodeProto, name string, def int64) int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetI()
		}
	}
	return def
}

// ReceptiveRadius estimates, in input pixels, how far a pixel's output
// depends on its neighbours: the sum of every convolution's kernel radius
// times the stride the graph runs at there (strided convs and pools raise it
// after their kernel, transposed convs, DepthToSpace and Resize lower it
// before theirs), walking the nodes in order, per axis (a k×1 then 1×k
// separable blur reaches k/2, not k), the larger axis returned. It is the
// theoretical receptive field of a chain network (parallel branches are
// counted in series, which only errs on the safe side); the effective one
// is smaller. 54 px for the Johnson/Engstrom nets (la_muse: 9×9, two
// stride-2 3×3, ten 3×3 at stride 4, two ×2 transposed 3×3, 9×9), 0 for
// graphs without spatial kernels.
func (m *Model) ReceptiveRadius() int {
	dims := m.initializerDims()
	scale := 1.0 // input pixels per feature-map pixel at the current depth
	var ry, rx float64
	for _, n := range m.Proto.GetGraph().GetNode() {
		op := n.GetOpType()
		switch op {
		case "Conv", "ConvTranspose", "MaxPool", "AveragePool":
			k := attrInts(n, "kernel_shape")
			if len(k) == 0 && len(n.GetInput()) > 1 {
				if w := dims[n.GetInput()[1]]; len(w) == 4 {
					k = w[2:]
				}
			}
			kh, kw := int64(1), int64(1)
			if len(k) == 2 {
				kh, kw = k[0], k[1]
			}
			dil := int64(1)
			for _, v := range attrInts(n, "dilations") {
				dil = max(dil, v)
			}
			s := int64(1)
			for _, v := range attrInts(n, "strides") {
				s = max(s, v)
			}
			if op == "ConvTranspose" {
				scale = max(scale/float64(s), 1)
			}
			ry += float64((kh-1)/2*dil) * scale
			rx += float64((kw-1)/2*dil) * scale
			if op != "ConvTranspose" {
				scale *= float64(s)
			}
		case "DepthToSpace":
			scale /= float64(max(1, attrInt(n, "blocksize", 1)))
		case "SpaceToDepth":
			scale *= float64(max(1, attrInt(n, "blocksize", 1)))
		case "Resize", "Upsample":
			scale /= 2 // the usual ×2 upsampling; exact scales live in tensors
		}
		if scale < 1 {
			scale = 1
		}
	}
	return int(math.Ceil(max(ry, rx)))
}
