// Package importer builds the ONNX graphs of upstream PyTorch models
// (MicroAST, Collaborative Distillation's pruned VGG-19) from the checkpoints
// their authors publish, with pipeline/onnx's graph builder.
package importer

import (
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"github.com/stylize/stylize/pipeline/torch"
)

// opset is the ONNX opset of the imported graphs (as the shared files).
const opset = 17

// net appends layers whose weights come from a checkpoint. The first error
// (a missing key, a wrong shape) is kept and every later call is a no-op,
// so a builder reads as the layer list it is.
type net struct {
	b   *onnx.Builder
	ck  *torch.Checkpoint
	err error
}

func newNet(name string, ck *torch.Checkpoint) *net {
	return &net{b: onnx.NewBuilder(name), ck: ck}
}

// weight adds the checkpoint tensor key (which must have shape) as a constant.
func (n *net) weight(key string, shape ...int) string {
	if n.err != nil {
		return ""
	}
	t, err := n.ck.Tensor(key, shape...)
	if err != nil {
		n.err = err
		return ""
	}
	return n.b.Const(key, t.Dims(), t.Data)
}

// conv adds an unpadded convolution with the weights prefix.weight and
// prefix.bias: out channels, in channels, k×k kernel, stride, groups.
func (n *net) conv(x, prefix string, out, in, k, stride, groups int) string {
	w := n.weight(prefix+".weight", out, in/groups, k, k)
	bias := n.weight(prefix+".bias", out)
	if n.err != nil {
		return ""
	}
	return n.b.Node("Conv", []string{x, w, bias},
		onnx.AttrInt("group", int64(groups)),
		onnx.AttrInts("kernel_shape", int64(k), int64(k)),
		onnx.AttrInts("pads", 0, 0, 0, 0),
		onnx.AttrInts("strides", int64(stride), int64(stride)))
}

// padConv is a reflect pad of k/2 followed by conv (MicroAST's ConvLayer,
// WCT's ReflectionPad2d + Conv2d).
func (n *net) padConv(x, prefix string, out, in, k, stride, groups int) string {
	return n.conv(n.reflect(x, k/2), prefix, out, in, k, stride, groups)
}

// reflect pads the spatial dims by p on every side, mirroring (no-op for 0).
func (n *net) reflect(x string, p int) string {
	if p == 0 || n.err != nil {
		return x
	}
	q := int64(p)
	pads := n.b.Int64s("pads", []int64{0, 0, q, q, 0, 0, q, q})
	return n.b.Node("Pad", []string{x, pads}, onnx.AttrString("mode", "reflect"))
}

func (n *net) op(op string, in ...string) string {
	if n.err != nil {
		return ""
	}
	return n.b.Node(op, in)
}

func (n *net) relu(x string) string { return n.op("Relu", x) }

// rename gives value x the graph-visible name: an Identity when x is
// already an internal value.
func (n *net) rename(x, name string) {
	if n.err != nil {
		return
	}
	n.b.NodeTo("Identity", []string{x}, []string{name})
}

// mean is the per-channel spatial mean, keeping dims ([1,C,1,1]).
func (n *net) mean(x string) string {
	if n.err != nil {
		return ""
	}
	return n.b.Node("ReduceMean", []string{x}, onnx.AttrInts("axes", 2, 3), onnx.AttrInt("keepdims", 1))
}

// stats returns x's per-channel mean, x − mean and std =
// sqrt(Σ(x − mean)² / (H·W − 1) + 1e-5), torch's unbiased variance as
// MicroAST's calc_mean_std computes it.
func (n *net) stats(x string) (mean, centred, std string) {
	if n.err != nil {
		return "", "", ""
	}
	b := n.b
	mean = n.mean(x)
	centred = b.Node("Sub", []string{x, mean})
	sq := b.Node("Mul", []string{centred, centred})
	sum := b.Node("ReduceSum", []string{sq, b.Int64s("axes", []int64{2, 3})}, onnx.AttrInt("keepdims", 1))
	shape := b.Node("Shape", []string{x})
	hw := b.Node("ReduceProd", []string{b.Node("Slice", []string{shape, b.Int64s("start", []int64{2}), b.Int64s("end", []int64{4})})},
		onnx.AttrInt("keepdims", 0))
	count := b.Node("Cast", []string{b.Node("Sub", []string{hw, b.Int64s("one", []int64{1})})},
		onnx.AttrInt("to", int64(onnxpb.TensorProto_FLOAT)))
	v := b.Node("Add", []string{b.Node("Div", []string{sum, count}), b.Scalar(1e-5)})
	return mean, centred, b.Node("Sqrt", []string{v})
}

// model finishes the graph (IR 8, the version that goes with opset 17).
func (n *net) model(name string) (*onnx.Model, error) {
	if n.err != nil {
		return nil, n.err
	}
	m := n.b.Model(name, opset, nil)
	ir := int64(8)
	m.Proto.IrVersion = &ir
	return m, nil
}

// featureDims are [1, c, h, w] with named dynamic spatial dims.
func featureDims(c int64, h, w string) []onnx.Dim {
	return []onnx.Dim{{Value: 1}, {Value: c}, {Value: -1, Param: h}, {Value: -1, Param: w}}
}

func float32Out(n *net, name string, dims []onnx.Dim) {
	if n.err == nil {
		n.b.Output(name, onnxpb.TensorProto_FLOAT, dims)
	}
}
