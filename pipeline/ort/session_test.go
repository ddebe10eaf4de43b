package ort_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/pipeline/testenv"
)

// An output that onnxruntime_go cannot convert (a scalar) is an error, not
// a crash while the outputs are released.
func TestRunUnconvertibleOutput(t *testing.T) {
	testenv.ORT(t)
	b := onnx.NewBuilder("scalar")
	x := b.Input("x", onnxpb.TensorProto_FLOAT, []onnx.Dim{{Value: 4}})
	b.NodeTo("Identity", []string{x}, []string{"y"})
	b.NodeTo("ReduceMean", []string{x}, []string{"mean"}, onnx.AttrInt("keepdims", 0))
	b.Output("y", onnxpb.TensorProto_FLOAT, []onnx.Dim{{Value: 4}})
	b.Output("mean", onnxpb.TensorProto_FLOAT, nil)
	bs, err := b.Model("scalar", 13, nil).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession("scalar", bs, []string{"x"}, []string{"y", "mean"}, ort.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Run([]ort.Tensor{{Shape: []int64{4}, F32: []float32{1, 2, 3, 4}}})
	if err == nil || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("err = %v, want an error about the output's shape", err)
	}
}

// A context cancelled before the run fails it at once with the context's
// error; a live one runs.
func TestRunContextCancelled(t *testing.T) {
	testenv.ORT(t)
	b := onnx.NewBuilder("id")
	x := b.Input("x", onnxpb.TensorProto_FLOAT, []onnx.Dim{{Value: 4}})
	b.NodeTo("Identity", []string{x}, []string{"y"})
	b.Output("y", onnxpb.TensorProto_FLOAT, []onnx.Dim{{Value: 4}})
	bs, err := b.Model("id", 13, nil).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession("id", bs, []string{"x"}, []string{"y"}, ort.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := []ort.Tensor{{Shape: []int64{4}, F32: []float32{1, 2, 3, 4}}}
	ctx, cancel := context.WithCancel(context.Background())
	out, err := s.RunContext(ctx, in)
	if err != nil || len(out) != 1 || out[0].F32[3] != 4 {
		t.Fatalf("live context: %v, %v", out, err)
	}
	cancel()
	if _, err := s.RunContext(ctx, in); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v, want context.Canceled", err)
	}
}
