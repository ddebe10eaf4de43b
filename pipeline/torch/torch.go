// Package torch reads PyTorch checkpoints (the files torch.save writes: the
// zip format of PyTorch 1.6+ and the older pickle stream) into float32
// tensors, so upstream weights can be turned into ONNX graphs in Go.
package torch

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// ErrNotCheckpoint means a file is not a PyTorch checkpoint this package reads.
var ErrNotCheckpoint = errors.New("not a PyTorch checkpoint")

// maxFile bounds the checkpoints read (they are read whole into memory).
const maxFile = 4 << 30

// Tensor is a dense float32 tensor in row-major (C) order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Checkpoint is a state dict: parameter name → tensor.
type Checkpoint struct {
	Name    string // file path, for messages
	Keys    []string
	Tensors map[string]Tensor
}

// Load reads a checkpoint file.
func Load(path string) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, unwrapPath(err))
	}
	if st.IsDir() {
		return nil, fmt.Errorf("checkpoint %s: is a folder, not a file", path)
	}
	if st.Size() > maxFile {
		return nil, fmt.Errorf("checkpoint %s: %d bytes is more than this reader takes (%d)", path, st.Size(), int64(maxFile))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, unwrapPath(err))
	}
	return Parse(path, b)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse reads checkpoint bytes; name is used in messages.
func Parse(name string, b []byte) (*Checkpoint, error) {
	obj, err := parseObject(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	c, err := stateDict(obj)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	c.Name = name
	return c, nil
}

// parseObject decodes the top-level object with its tensors materialised.
func parseObject(b []byte) (any, error) {
	switch {
	case len(b) >= 4 && string(b[:4]) == "PK\x03\x04":
		return parseZip(b)
	case len(b) > 262 && string(b[257:262]) == "ustar":
		return nil, fmt.Errorf("%w (a tar archive: the format of PyTorch before 0.1.10 is not supported)", ErrNotCheckpoint)
	case len(b) >= 2 && b[0] == 0x80:
		return parseLegacy(b)
	}
	return nil, fmt.Errorf("%w (neither a zip archive nor a pickle stream)", ErrNotCheckpoint)
}

// stateDict finds the parameters: the top-level dict when it holds tensors,
// else a dict under one of the usual keys ({"model": …, "epoch": 20}).
func stateDict(obj any) (*Checkpoint, error) {
	d, ok := obj.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("%w (holds a %s, not a state dict)", ErrNotCheckpoint, typeName(obj))
	}
	if c := tensorsOf(d); len(c.Keys) > 0 {
		return c, nil
	}
	for _, k := range []string{"state_dict", "model", "net", "model_state_dict", "params"} {
		if v, ok := d.get(k); ok {
			if sub, ok := v.(*pyDict); ok {
				if c := tensorsOf(sub); len(c.Keys) > 0 {
					return c, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%w (a dict without tensors)", ErrNotCheckpoint)
}

// tensorsOf collects a dict's string-keyed tensors, dropping the "module."
// prefix nn.DataParallel adds.
func tensorsOf(d *pyDict) *Checkpoint {
	c := &Checkpoint{Tensors: map[string]Tensor{}}
	for i, k := range d.keys {
		s, ok := k.(string)
		t, ok2 := d.vals[i].(*Tensor)
		if !ok || !ok2 {
			continue
		}
		s = strings.TrimPrefix(s, "module.")
		if _, dup := c.Tensors[s]; !dup {
			c.Keys = append(c.Keys, s)
		}
		c.Tensors[s] = *t
	}
	return c
}

func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyCall:
		return x.fn.module + "." + x.fn.name
	case pyGlobal:
		return x.module + "." + x.name
	case *Tensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}

// Tensor returns the named tensor, checking its shape when shape is given.
func (c *Checkpoint) Tensor(key string, shape ...int) (Tensor, error) {
	t, ok := c.Tensors[key]
	if !ok {
		return Tensor{}, fmt.Errorf("checkpoint %s: missing key %q", c.Name, key)
	}
	if len(shape) > 0 && !slices.Equal(t.Shape, shape) {
		return Tensor{}, fmt.Errorf("checkpoint %s: %s has shape %v, want %v", c.Name, key, t.Shape, shape)
	}
	return t, nil
}

// Dims is the shape as int64s (ONNX initializer dims).
func (t Tensor) Dims() []int64 {
	d := make([]int64, len(t.Shape))
	for i, v := range t.Shape {
		d[i] = int64(v)
	}
	return d
}
