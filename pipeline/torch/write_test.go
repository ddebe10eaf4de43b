package torch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// A minimal writer of what torch.save emits, for round-trip tests and fuzz
// seeds: pickle protocol 2 with the same opcodes and layout as PyTorch.

type pw struct{ bytes.Buffer }

func (p *pw) op(b ...byte) { p.Write(b) }

func (p *pw) str(s string) {
	p.op('X')
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
}

func (p *pw) int(n int64) {
	switch {
	case n >= 0 && n < 256:
		p.op('K', byte(n))
	case n >= 0 && n < 65536:
		p.op('M', byte(n), byte(n>>8))
	default:
		p.op('J')
		binary.Write(p, binary.LittleEndian, int32(n))
	}
}

func (p *pw) global(mod, name string) {
	p.op('c')
	p.WriteString(mod + "\n" + name + "\n")
}

func (p *pw) ints(v []int64) {
	p.op('(')
	for _, n := range v {
		p.int(n)
	}
	p.op('t')
}

// tensorSpec is one entry of a test state dict.
type tensorSpec struct {
	name, dtype, key string
	numel, offset    int64
	size, stride     []int64
}

// stateDictPickle writes an OrderedDict of tensors (with the _metadata
// BUILD torch adds); legacy selects the 6-tuple storage ids of the old format.
// wrap puts the dict under {"model": …, "epoch": 3}.
func stateDictPickle(ts []tensorSpec, legacy, wrap bool) []byte {
	var p pw
	p.op(0x80, 2)
	if wrap {
		p.op('}', 'q', 0, '(')
		p.str("epoch")
		p.int(3)
		p.str("model")
	}
	p.global("collections", "OrderedDict")
	p.op(')', 'R', 'q', 1, '(')
	for _, t := range ts {
		p.str(t.name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op('(', '(')
		p.str("storage")
		p.global("torch", t.dtype)
		p.str(t.key)
		p.str("cpu")
		p.int(t.numel)
		if legacy {
			p.op('N')
		}
		p.op('t', 'Q')
		p.int(t.offset)
		p.ints(t.size)
		p.ints(t.stride)
		p.op(0x89)
		p.global("collections", "OrderedDict")
		p.op(')', 'R', 't', 'R')
	}
	p.op('u', '}', 'b') // SETITEMS, then BUILD with an (empty) _metadata state
	if wrap {
		p.op('u')
	}
	p.op('.')
	return p.Bytes()
}

// legacyCheckpoint is the pre-1.6 stream; storages maps key → raw bytes
// (written in the order of keys).
func legacyCheckpoint(ts []tensorSpec, keys []string, storages map[string][]byte, numel map[string]int64, wrap bool) []byte {
	var p pw
	p.op(0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.')
	p.op(0x80, 2)
	p.int(1001)
	p.op('.', 0x80, 2, '}', '.')
	p.Write(stateDictPickle(ts, true, wrap))
	p.op(0x80, 2, ']', '(')
	for _, k := range keys {
		p.str(k)
	}
	p.op('e', '.')
	for _, k := range keys {
		binary.Write(&p, binary.LittleEndian, numel[k])
		p.Write(storages[k])
	}
	return p.Bytes()
}

func zipCheckpoint(t testing.TB, ts []tensorSpec, storages map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	put("archive/data.pkl", stateDictPickle(ts, false, false))
	put("archive/version", []byte("3\n"))
	for k, b := range storages {
		put("archive/data/"+k, b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// sample is a state dict exercising what real checkpoints hold: a weight, a
// bias sharing the weight's storage at an offset, a transposed
// (non-contiguous) view, a half tensor, a double and a long counter.
func sample() (ts []tensorSpec, keys []string, storages map[string][]byte, numel map[string]int64) {
	half := []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38} // 1, -2, 0.5
	dbl := make([]byte, 16)
	binary.LittleEndian.PutUint64(dbl, math.Float64bits(0.25))
	binary.LittleEndian.PutUint64(dbl[8:], math.Float64bits(-4))
	storages = map[string][]byte{
		"0": f32bytes(1, 2, 3, 4, 5, 6, 7, 8),
		"1": half,
		"2": dbl,
		"3": {7, 0, 0, 0, 0, 0, 0, 0},
	}
	numel = map[string]int64{"0": 8, "1": 3, "2": 2, "3": 1}
	keys = []string{"0", "1", "2", "3"}
	ts = []tensorSpec{
		{"module.conv.weight", "FloatStorage", "0", 8, 0, []int64{2, 3}, []int64{3, 1}},
		{"conv.bias", "FloatStorage", "0", 8, 6, []int64{2}, []int64{1}},
		{"fc.t", "FloatStorage", "0", 8, 0, []int64{3, 2}, []int64{1, 3}},
		{"half", "HalfStorage", "1", 3, 0, []int64{3}, []int64{1}},
		{"double", "DoubleStorage", "2", 2, 0, []int64{2}, []int64{1}},
		{"bn.num_batches_tracked", "LongStorage", "3", 1, 0, []int64{}, []int64{}},
	}
	return ts, keys, storages, numel
}
