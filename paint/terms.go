package paint

import (
	"math"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// TV is a total-variation loss on the picture: Weight times the mean over
// the 3·H·W pixels of the squared differences to the right and lower
// neighbours.
type TV struct{ Weight float64 }

// Inputs implements Term (TV needs none).
func (TV) Inputs() []string { return nil }

// Add implements Term.
func (t TV) Add(b *onnx.Builder, x string, h, w int) (loss, grad string) {
	k := float32(t.Weight / float64(3*h*w))
	var losses, grads []string
	for _, axis := range []int64{2, 3} {
		ax := b.Int64s("axis", []int64{axis})
		hi := b.Node("Slice", []string{x, b.Int64s("start", []int64{1}), b.Int64s("end", []int64{math.MaxInt64}), ax})
		lo := b.Node("Slice", []string{x, b.Int64s("start", []int64{0}), b.Int64s("end", []int64{-1}), ax})
		d := b.Node("Sub", []string{hi, lo})
		losses = append(losses, b.Node("ReduceSum", []string{b.Node("Mul", []string{d, d})}, onnx.AttrInt("keepdims", 0)))
		before, after := make([]int64, 8), make([]int64, 8)
		before[axis], after[axis+4] = 1, 1
		// dΣd²/dx: +2d at the higher index, −2d at the lower one.
		up := b.Node("Pad", []string{d, b.Int64s("pads", before)})
		down := b.Node("Pad", []string{d, b.Int64s("pads", after)})
		grads = append(grads, b.Node("Sub", []string{up, down}))
	}
	loss = b.Node("Mul", []string{b.Node("Add", losses), b.Scalar(k)})
	grad = b.Node("Mul", []string{b.Node("Add", grads), b.Scalar(2 * k)})
	return loss, grad
}

// MaskedMSE is Weight times the mean over the 3·H·W pixels of
// mask·(x − target)², with the target picture [1,3,H,W] and the mask
// [1,1,H,W] (0..1) fed as graph inputs of the given names: the temporal
// loss of Ruder et al. (target: the previous stylized frame warped by the
// optical flow; mask: where the flow is reliable).
type MaskedMSE struct {
	Weight       float64
	Target, Mask string
}

// Inputs implements Term.
func (m MaskedMSE) Inputs() []string { return []string{m.Target, m.Mask} }

// Add implements Term.
func (m MaskedMSE) Add(b *onnx.Builder, x string, h, w int) (loss, grad string) {
	f := onnxpb.TensorProto_FLOAT
	b.Input(m.Target, f, dims(1, 3, int64(h), int64(w)))
	b.Input(m.Mask, f, dims(1, 1, int64(h), int64(w)))
	k := float32(m.Weight / float64(3*h*w))
	d := b.Node("Sub", []string{x, m.Target})
	md := b.Node("Mul", []string{d, m.Mask})
	loss = b.Node("Mul", []string{b.Node("ReduceSum", []string{b.Node("Mul", []string{md, d})}, onnx.AttrInt("keepdims", 0)), b.Scalar(k)})
	grad = b.Node("Mul", []string{md, b.Scalar(2 * k)})
	return loss, grad
}
