package onnx_test

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/pipeline/testenv"
)

// externalModel writes dir/ext.onnx computing x*w with w (4 floats) stored
// at offset 16 of dir/ext.onnx.data, the way PyTorch's exporter saves weights.
func externalModel(t *testing.T, dir string, w []float32) string {
	t.Helper()
	b := onnx.NewBuilder("ext")
	dims := []onnx.Dim{{Value: 4}}
	x := b.Input("x", onnxpb.TensorProto_FLOAT, dims)
	c := b.Const("w", []int64{4}, w)
	b.NodeTo("Mul", []string{x, c}, []string{"y"})
	b.Output("y", onnxpb.TensorProto_FLOAT, dims)
	m := b.Model("ext", 13, nil)
	raw := make([]byte, 16+4*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint32(raw[16+4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(filepath.Join(dir, "ext.onnx.data"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	init := m.Proto.Graph.Initializer[0]
	init.FloatData = nil
	kv := func(k, v string) *onnxpb.StringStringEntryProto {
		return &onnxpb.StringStringEntryProto{Key: &k, Value: &v}
	}
	init.ExternalData = []*onnxpb.StringStringEntryProto{kv("location", "ext.onnx.data"), kv("offset", "16"), kv("length", "16")}
	loc := onnxpb.TensorProto_EXTERNAL
	init.DataLocation = &loc
	bs, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ext.onnx")
	if err := os.WriteFile(p, bs, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadExternalData(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	w := []float32{1, -2, 0.5, 3}
	p := externalModel(t, dir, w)
	// Load from another working directory: locations are relative to the
	// model's folder, not to the process.
	t.Chdir(t.TempDir())
	m, err := onnx.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Proto.Graph.Initializer[0].GetDataLocation(); got != onnxpb.TensorProto_DEFAULT {
		t.Fatalf("initializer still %v after Load", got)
	}
	s := session(t, m)
	outs, err := s.Run([]ort.Tensor{{Shape: []int64{4}, F32: []float32{2, 2, 2, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range outs[0].F32 {
		if v != 2*w[i] {
			t.Fatalf("output %d = %v, want %v (external weights not read)", i, v, 2*w[i])
		}
	}

	if err := os.Remove(filepath.Join(dir, "ext.onnx.data")); err != nil {
		t.Fatal(err)
	}
	_, err = onnx.Load(p)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "ext.onnx.data") {
		t.Fatalf("missing data file: got %v, want a not-exist error naming ext.onnx.data", err)
	}
}
