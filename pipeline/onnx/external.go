package onnx

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// inlineExternalData reads the tensors a model keeps outside its file (the
// MODEL.onnx.data that PyTorch's exporter writes by default) into the model,
// so that the graph can be inspected, rewritten and handed to onnxruntime as
// bytes. Locations are relative to dir, the model file's folder.
func inlineExternalData(m *Model, dir string) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var tensors []*onnxpb.TensorProto
	var walk func(g *onnxpb.GraphProto)
	walk = func(g *onnxpb.GraphProto) {
		tensors = append(tensors, g.GetInitializer()...)
		for _, n := range g.GetNode() {
			for _, a := range n.GetAttribute() {
				if a.GetT() != nil {
					tensors = append(tensors, a.GetT())
				}
				tensors = append(tensors, a.GetTensors()...)
				if a.GetG() != nil {
					walk(a.GetG())
				}
				for _, sg := range a.GetGraphs() {
					walk(sg)
				}
			}
		}
	}
	walk(m.Proto.GetGraph())
	for _, t := range tensors {
		if t.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			continue
		}
		b, err := readExternal(t, dir, files)
		if err != nil {
			return fmt.Errorf("model %s: tensor %s: %w", m.Name, t.GetName(), err)
		}
		t.RawData = b
		t.ExternalData = nil
		t.DataLocation = nil
	}
	return nil
}

// readExternal reads one tensor's bytes (keys location, offset, length).
func readExternal(t *onnxpb.TensorProto, dir string, files map[string]*os.File) ([]byte, error) {
	var loc string
	var off, n int64 = 0, -1
	for _, kv := range t.GetExternalData() {
		var err error
		switch kv.GetKey() {
		case "location":
			loc = kv.GetValue()
		case "offset":
			off, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			n, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		}
		if err != nil || off < 0 {
			return nil, fmt.Errorf("external data %s=%q is not a valid number", kv.GetKey(), kv.GetValue())
		}
	}
	if loc == "" {
		return nil, fmt.Errorf("external data without a location")
	}
	if filepath.IsAbs(loc) || strings.HasPrefix(filepath.Clean(loc), "..") {
		return nil, fmt.Errorf("external data location %q is outside the model's folder", loc)
	}
	path := filepath.Join(dir, loc)
	f := files[path]
	if f == nil {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("external data: %w (it must lie beside the model)", err)
		}
		files[path] = f
	}
	if n < 0 {
		st, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("external data: %w", err)
		}
		n = st.Size() - off
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("external data %s: %d bytes at offset %d run past its end", path, n, off)
		}
		return nil, fmt.Errorf("external data: %w", err)
	}
	return b, nil
}
