package onnx

import (
	"fmt"
	"math"

	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// Builder appends nodes, constants and values to a graph. It is used to
// generate the built-in styles and to rewrite loaded models.
type Builder struct {
	G    *onnxpb.GraphProto
	next int
}

// NewBuilder starts an empty graph.
func NewBuilder(name string) *Builder {
	return &Builder{G: &onnxpb.GraphProto{Name: ptr(name)}}
}

// Edit returns a builder that appends to an existing graph.
func Edit(g *onnxpb.GraphProto) *Builder { return &Builder{G: g} }

func ptr[T any](v T) *T { return &v }

// Fresh returns a value name not used so far, built from prefix.
func (b *Builder) Fresh(prefix string) string {
	used := b.names()
	for {
		b.next++
		n := fmt.Sprintf("%s_%d", prefix, b.next)
		if !used[n] {
			return n
		}
	}
}

func (b *Builder) names() map[string]bool {
	u := map[string]bool{}
	for _, n := range b.G.GetNode() {
		u[n.GetName()] = true
		for _, o := range n.GetOutput() {
			u[o] = true
		}
		for _, i := range n.GetInput() {
			u[i] = true
		}
	}
	for _, t := range b.G.GetInitializer() {
		u[t.GetName()] = true
	}
	for _, v := range b.G.GetInput() {
		u[v.GetName()] = true
	}
	for _, v := range b.G.GetOutput() {
		u[v.GetName()] = true
	}
	return u
}

// TensorValue builds a ValueInfo for a tensor with the given dims
// (-1 with a name in params for dynamic dims).
func TensorValue(name string, elem onnxpb.TensorProto_DataType, dims []Dim) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		if d.Value >= 0 {
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}})
		} else {
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}})
		}
	}
	return &onnxpb.ValueInfoProto{
		Name: ptr(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: ptr(int32(elem)),
			Shape:    shape,
		}}},
	}
}

// ImageDims are the dims of a dynamic NCHW RGB image tensor.
func ImageDims() []Dim {
	return []Dim{{Value: 1}, {Value: 3}, {Value: -1, Param: "height"}, {Value: -1, Param: "width"}}
}

// Input declares a graph input.
func (b *Builder) Input(name string, elem onnxpb.TensorProto_DataType, dims []Dim) string {
	b.G.Input = append(b.G.Input, TensorValue(name, elem, dims))
	return name
}

// Output declares a graph output.
func (b *Builder) Output(name string, elem onnxpb.TensorProto_DataType, dims []Dim) {
	b.G.Output = append(b.G.Output, TensorValue(name, elem, dims))
}

// Const adds a float32 initializer and returns its name.
func (b *Builder) Const(prefix string, dims []int64, data []float32) string {
	n := b.Fresh(prefix)
	b.G.Initializer = append(b.G.Initializer, &onnxpb.TensorProto{
		Name: ptr(n), Dims: dims, DataType: ptr(int32(onnxpb.TensorProto_FLOAT)), FloatData: data,
	})
	return n
}

// Scalar adds a float32 scalar initializer.
func (b *Builder) Scalar(v float32) string { return b.Const("c", nil, []float32{v}) }

// Int64s adds an int64 initializer (shapes, pads, axes).
func (b *Builder) Int64s(prefix string, data []int64) string {
	n := b.Fresh(prefix)
	b.G.Initializer = append(b.G.Initializer, &onnxpb.TensorProto{
		Name: ptr(n), Dims: []int64{int64(len(data))}, DataType: ptr(int32(onnxpb.TensorProto_INT64)), Int64Data: data,
	})
	return n
}

// Node appends a node with one output and returns the output's name.
func (b *Builder) Node(op string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	out := b.Fresh(op)
	b.NodeTo(op, inputs, []string{out}, attrs...)
	return out
}

// NodeTo appends a node with the given outputs.
func (b *Builder) NodeTo(op string, inputs, outputs []string, attrs ...*onnxpb.AttributeProto) {
	b.G.Node = append(b.G.Node, &onnxpb.NodeProto{
		OpType: ptr(op), Name: ptr(b.Fresh("n_" + op)), Input: inputs, Output: outputs, Attribute: attrs,
	})
}

// AttrInts is an INTS attribute.
func AttrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: ptr(name), Type: ptr(onnxpb.AttributeProto_INTS), Ints: v}
}

// AttrInt is an INT attribute.
func AttrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: ptr(name), Type: ptr(onnxpb.AttributeProto_INT), I: ptr(v)}
}

// AttrFloat is a FLOAT attribute.
func AttrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: ptr(name), Type: ptr(onnxpb.AttributeProto_FLOAT), F: ptr(v)}
}

// AttrString is a STRING attribute.
func AttrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: ptr(name), Type: ptr(onnxpb.AttributeProto_STRING), S: []byte(v)}
}

// Model wraps the graph in a model importing the given default opset.
func (b *Builder) Model(name string, opset int64, metadata map[string]string) *Model {
	m := &onnxpb.ModelProto{
		IrVersion:    ptr(int64(7)),
		ProducerName: ptr("stylize"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: ptr(""), Version: ptr(opset)}},
		Graph:        b.G,
	}
	for _, k := range sortedKeys(metadata) {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: ptr(k), Value: ptr(metadata[k])})
	}
	return &Model{Name: name, Proto: m}
}

// Gaussian1D returns a normalised Gaussian kernel of the given sigma with
// radius ⌈3σ⌉.
func Gaussian1D(sigma float64) []float32 {
	r := int(math.Ceil(3 * sigma))
	if r < 1 {
		r = 1
	}
	k := make([]float32, 2*r+1)
	sum := 0.0
	for i := -r; i <= r; i++ {
		v := math.Exp(-float64(i*i) / (2 * sigma * sigma))
		k[i+r] = float32(v)
		sum += v
	}
	for i := range k {
		k[i] /= float32(sum)
	}
	return k
}

// Blur adds a separable Gaussian blur of an NCHW tensor with c channels,
// with reflect padding so the border is not darkened.
func (b *Builder) Blur(x string, c int, sigma float64) string {
	k := Gaussian1D(sigma)
	r := int64(len(k) / 2)
	pads := b.Int64s("pads", []int64{0, 0, r, r, 0, 0, r, r})
	x = b.Node("Pad", []string{x, pads}, AttrString("mode", "reflect"))
	wv := make([]float32, 0, c*len(k))
	for i := 0; i < c; i++ {
		wv = append(wv, k...)
	}
	wh := b.Const("gauss_v", []int64{int64(c), 1, int64(len(k)), 1}, wv)
	ww := b.Const("gauss_h", []int64{int64(c), 1, 1, int64(len(k))}, wv)
	x = b.Node("Conv", []string{x, wh}, AttrInt("group", int64(c)))
	return b.Node("Conv", []string{x, ww}, AttrInt("group", int64(c)))
}

// Luma adds a 1×1 convolution from RGB to Rec.601 luma (one channel).
func (b *Builder) Luma(x string) string {
	w := b.Const("luma", []int64{1, 3, 1, 1}, []float32{0.299, 0.587, 0.114})
	return b.Node("Conv", []string{x, w})
}
