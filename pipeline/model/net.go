package model

import (
	"context"
	"fmt"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/ort"
)

// Net is one onnxruntime session with the conventions to feed it: it maps
// planar RGB 0..255 to the model's layout, channel order and range and back.
// It pads and crops nothing. Safe for concurrent use.
type Net struct {
	sess *ort.Session
	conv Conventions
	// Extra names further inputs and outputs of rewritten graphs (statistics,
	// features); they are passed through Run's extra arguments in this order.
	ExtraInputs, ExtraOutputs []string
}

// NewNet creates the session for m. Extra inputs/outputs are those of m
// beyond the image input and output (for rewritten graphs).
func NewNet(m *onnx.Model, c Conventions, so ort.SessionOptions) (*Net, error) {
	return newNet(m, c, so, c.InputName, c.OutputName)
}

// newNet creates the session for m with main input in and main output out
// (the image, or the features of a split half) first, then the rest.
func newNet(m *onnx.Model, c Conventions, so ort.SessionOptions, in, out string) (*Net, error) {
	b, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	n := &Net{conv: c}
	for _, v := range m.Inputs() {
		if v.Name != in {
			n.ExtraInputs = append(n.ExtraInputs, v.Name)
		}
	}
	for _, v := range m.Outputs() {
		if v.Name != out {
			n.ExtraOutputs = append(n.ExtraOutputs, v.Name)
		}
	}
	ins := append([]string{in}, n.ExtraInputs...)
	outs := append([]string{out}, n.ExtraOutputs...)
	s, err := ort.NewSession(m.Name, b, ins, outs, so)
	if err != nil {
		return nil, err
	}
	n.sess = s
	return n, nil
}

// Conventions returns the conventions the net uses.
func (n *Net) Conventions() Conventions { return n.conv }

// Close releases the session.
func (n *Net) Close() error {
	if n == nil {
		return nil
	}
	return n.sess.Close()
}

// Run feeds planar RGB 0..255 (3·w·h) and returns the image output as planar
// RGB 0..255 with its size. Cancelling ctx terminates a run in progress.
func (n *Net) Run(ctx context.Context, planes []float32, w, h int) ([]float32, int, int, error) {
	out, ow, oh, _, err := n.RunExtra(ctx, planes, w, h, nil)
	return out, ow, oh, err
}

// RunExtra is Run with extra input tensors (in ExtraInputs order) and
// returns the extra outputs (in ExtraOutputs order).
func (n *Net) RunExtra(ctx context.Context, planes []float32, w, h int, extra []ort.Tensor) ([]float32, int, int, []ort.Tensor, error) {
	in := n.toTensor(planes, w, h)
	defer putF32(in.F32)
	var out []float32
	var ow, oh int
	var rest []ort.Tensor
	err := n.run(ctx, in, extra, func(res []ort.Tensor) error {
		var err error
		out, ow, oh, err = n.fromTensor(res[0])
		rest = copyTensors(res[1:]) // extra outputs are small (statistics)
		return err
	})
	if err != nil {
		return nil, 0, 0, nil, fmt.Errorf("model run on %dx%d: %w", w, h, err)
	}
	return out, ow, oh, rest, nil
}

// run feeds the main input and the extra ones and hands the outputs to use
// (valid only until it returns).
func (n *Net) run(ctx context.Context, main ort.Tensor, extra []ort.Tensor, use func([]ort.Tensor) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(extra) != len(n.ExtraInputs) {
		return fmt.Errorf("model: %d extra inputs given, graph has %d", len(extra), len(n.ExtraInputs))
	}
	return n.sess.RunWithContext(ctx, append([]ort.Tensor{main}, extra...), use)
}

// copyTensors copies tensors out of onnxruntime's memory.
func copyTensors(ts []ort.Tensor) []ort.Tensor {
	var out []ort.Tensor
	for _, t := range ts {
		c := make([]float32, len(t.F32))
		copy(c, t.F32)
		out = append(out, ort.Tensor{Shape: t.Shape, F32: c})
	}
	return out
}

func (n *Net) toTensor(p []float32, w, h int) ort.Tensor {
	mul, add := n.conv.InputRange.scale()
	d := getF32(3 * w * h)
	hw := w * h
	for c := 0; c < 3; c++ {
		src := c
		if n.conv.BGR {
			src = 2 - c
		}
		sp := p[src*hw : (src+1)*hw]
		switch dp := d[c*hw : (c+1)*hw]; {
		case n.conv.Layout == NHWC:
			for i, v := range sp {
				d[3*i+c] = v*mul + add
			}
		case mul == 1 && add == 0: // the model takes 0..255: a plain copy
			copy(dp, sp)
		default:
			for i, v := range sp {
				dp[i] = v*mul + add
			}
		}
	}
	shape := []int64{1, 3, int64(h), int64(w)}
	if n.conv.Layout == NHWC {
		shape = []int64{1, int64(h), int64(w), 3}
	}
	return ort.Tensor{Shape: shape, F32: d}
}

func (n *Net) fromTensor(t ort.Tensor) ([]float32, int, int, error) {
	if len(t.Shape) != 4 || t.Shape[0] != 1 {
		return nil, 0, 0, fmt.Errorf("model output has shape %v, want a 4-D image with batch 1", t.Shape)
	}
	var h, w, c int
	if n.conv.Layout == NHWC {
		h, w, c = int(t.Shape[1]), int(t.Shape[2]), int(t.Shape[3])
	} else {
		c, h, w = int(t.Shape[1]), int(t.Shape[2]), int(t.Shape[3])
	}
	if c != 3 || w <= 0 || h <= 0 {
		return nil, 0, 0, fmt.Errorf("model output has shape %v, want 3 channels (%s)", t.Shape, n.conv.Layout)
	}
	mul, add := n.conv.OutputRange.scale()
	inv, off := 1/mul, -add/mul
	hw := w * h
	out := getF32(3 * hw)
	for ch := 0; ch < 3; ch++ {
		dst := ch
		if n.conv.BGR {
			dst = 2 - ch
		}
		dp := out[dst*hw : (dst+1)*hw]
		switch {
		case n.conv.Layout == NHWC:
			for i := range dp {
				dp[i] = t.F32[3*i+ch]*inv + off
			}
		case inv == 1 && off == 0: // the model gives 0..255: a plain copy
			copy(dp, t.F32[ch*hw:(ch+1)*hw])
		default:
			for i, v := range t.F32[ch*hw : (ch+1)*hw] {
				dp[i] = v*inv + off
			}
		}
	}
	return out, w, h, nil
}
