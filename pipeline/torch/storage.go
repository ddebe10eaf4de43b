package torch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"path"
	"strings"
)

// maxElems bounds one tensor's element count (a corrupt shape must not
// allocate gigabytes).
const maxElems = 1 << 30

// storage is one typed buffer that tensors view.
type storage struct {
	dtype string // FloatStorage, HalfStorage, …
	key   string
	numel int64
	data  []float32 // nil until read
}

// elemSize is the byte size of a storage type's element (0: unsupported).
func elemSize(dtype string) int {
	switch dtype {
	case "DoubleStorage", "LongStorage":
		return 8
	case "FloatStorage", "IntStorage":
		return 4
	case "HalfStorage", "BFloat16Storage", "ShortStorage":
		return 2
	case "CharStorage", "ByteStorage", "BoolStorage":
		return 1
	}
	return 0
}

// decode converts raw little-endian elements to float32.
func (s *storage) decode(b []byte) {
	n := int(s.numel)
	s.data = make([]float32, n)
	for i := 0; i < n; i++ {
		s.data[i] = decodeElem(s.dtype, b, i)
	}
}

func decodeElem(dtype string, b []byte, i int) float32 {
	le := binary.LittleEndian
	switch dtype {
	case "FloatStorage":
		return math.Float32frombits(le.Uint32(b[4*i:]))
	case "DoubleStorage":
		return float32(math.Float64frombits(le.Uint64(b[8*i:])))
	case "HalfStorage":
		return halfToFloat(le.Uint16(b[2*i:]))
	case "BFloat16Storage":
		return math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
	case "LongStorage":
		return float32(int64(le.Uint64(b[8*i:])))
	case "IntStorage":
		return float32(int32(le.Uint32(b[4*i:])))
	case "ShortStorage":
		return float32(int16(le.Uint16(b[2*i:])))
	case "CharStorage":
		return float32(int8(b[i]))
	}
	return float32(b[i]) // ByteStorage, BoolStorage
}

// halfToFloat converts an IEEE 754 binary16 to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(frac) / 1024 / 16384
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// storageRef parses a persistent id ('storage', type, key, location, numel[, view]).
func storageRef(pid any, storages map[string]*storage) (*storage, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) < 5 {
		return nil, fmt.Errorf("%w: persistent id is a %s, not a storage tuple", errPickle, typeName(pid))
	}
	kind, _ := t[0].(string)
	typ, ok1 := t[1].(pyGlobal)
	key, ok2 := t[2].(string)
	numel, ok3 := t[4].(int64)
	if kind != "storage" || !ok1 || !ok2 || !ok3 || numel < 0 || numel > maxElems {
		return nil, fmt.Errorf("%w: bad storage reference %v", errPickle, []any(t))
	}
	if len(t) > 5 && t[5] != nil {
		return nil, fmt.Errorf("storage %s: views of storages are not supported", key)
	}
	if elemSize(typ.name) == 0 {
		return nil, fmt.Errorf("storage %s: element type %s.%s is not supported", key, typ.module, typ.name)
	}
	if s, ok := storages[key]; ok {
		if s.dtype != typ.name || s.numel != numel {
			return nil, fmt.Errorf("storage %s: referenced as %s×%d and %s×%d", key, s.dtype, s.numel, typ.name, numel)
		}
		return s, nil
	}
	s := &storage{dtype: typ.name, key: key, numel: numel}
	storages[key] = s
	return s, nil
}

// tensorRef is a view of a storage, materialised once the storage is read.
type tensorRef struct {
	st     *storage
	offset int64
	size   []int64
	stride []int64
	dense  *Tensor // once materialised
}

// rebuild interprets torch's tensor rebuild functions.
func rebuild(fn pyGlobal, args pyTuple) (any, bool, error) {
	if fn.module != "torch._utils" {
		return nil, false, nil
	}
	switch fn.name {
	case "_rebuild_tensor_v2", "_rebuild_tensor":
		if len(args) < 4 {
			return nil, true, fmt.Errorf("%w: %s with %d arguments", errPickle, fn.name, len(args))
		}
		st, ok := args[0].(*storage)
		off, ok2 := args[1].(int64)
		size, err := int64s(args[2])
		stride, err2 := int64s(args[3])
		if !ok || !ok2 || err != nil || err2 != nil || len(size) != len(stride) {
			return nil, true, fmt.Errorf("%w: bad %s arguments", errPickle, fn.name)
		}
		return &tensorRef{st: st, offset: off, size: size, stride: stride}, true, nil
	case "_rebuild_parameter", "_rebuild_parameter_with_state":
		if len(args) < 1 {
			return nil, true, fmt.Errorf("%w: %s without a tensor", errPickle, fn.name)
		}
		if _, ok := args[0].(*tensorRef); !ok {
			return nil, true, fmt.Errorf("%w: %s of a %s", errPickle, fn.name, typeName(args[0]))
		}
		return args[0], true, nil
	}
	return nil, false, nil
}

func int64s(v any) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, errPickle
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, errPickle
		}
		out[i] = n
	}
	return out, nil
}

// materialise gathers the view into a dense Tensor, charging its size to
// budget (the bound on all tensors' values: a few bytes of pickle must not
// expand one storage many times over).
func (r *tensorRef) materialise(budget *int64) (*Tensor, error) {
	if r.dense != nil {
		return r.dense, nil
	}
	n := int64(1)
	last := r.offset
	for i, s := range r.size {
		if s < 0 || r.stride[i] < 0 {
			return nil, fmt.Errorf("storage %s: negative size or stride %v/%v", r.st.key, r.size, r.stride)
		}
		if s == 0 {
			n = 0
			break
		}
		if n > maxElems/s {
			return nil, fmt.Errorf("storage %s: shape %v is too large", r.st.key, r.size)
		}
		n *= s
		last += (s - 1) * r.stride[i]
	}
	if n > 0 && (r.offset < 0 || last >= r.st.numel || last < r.offset) {
		return nil, fmt.Errorf("storage %s: view %v at offset %d runs past its %d elements", r.st.key, r.size, r.offset, r.st.numel)
	}
	if n > r.st.numel || n > *budget {
		return nil, fmt.Errorf("storage %s: view %v has more values than the storages hold", r.st.key, r.size)
	}
	*budget -= n
	t := &Tensor{Shape: make([]int, len(r.size)), Data: make([]float32, n)}
	for i, s := range r.size {
		t.Shape[i] = int(s)
	}
	idx := make([]int64, len(r.size))
	for k := int64(0); k < n; k++ {
		p := r.offset
		for d := range idx {
			p += idx[d] * r.stride[d]
		}
		t.Data[k] = r.st.data[p]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < r.size[d] {
				break
			}
			idx[d] = 0
		}
	}
	r.dense = t
	return t, nil
}

// resolveAll materialises the tensors of obj, with a budget of twice the
// storages' elements (tied weights share a storage; no real checkpoint
// expands one further).
func resolveAll(obj any, storages map[string]*storage) (any, error) {
	budget := int64(1 << 16)
	for _, s := range storages {
		budget += 2 * s.numel
	}
	return resolve(obj, &budget, map[*pyDict]bool{})
}

// resolve replaces tensor references inside dicts with tensors (seen
// guards against a dict that contains itself through the memo).
func resolve(v any, budget *int64, seen map[*pyDict]bool) (any, error) {
	switch x := v.(type) {
	case *tensorRef:
		return x.materialise(budget)
	case *pyDict:
		if seen[x] {
			return x, nil
		}
		seen[x] = true
		for i := range x.vals {
			r, err := resolve(x.vals[i], budget, seen)
			if err != nil {
				return nil, err
			}
			x.vals[i] = r
		}
	}
	return v, nil
}

// magic is torch's legacy magic number, 0x1950a86a20f9469cfc6c.
var magic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// parseLegacy reads the pre-1.6 stream: magic, protocol version, system
// info, the object, the list of storage keys, then each storage as an int64
// element count and its raw bytes.
func parseLegacy(b []byte) (any, error) {
	u := &unpickler{buf: b}
	m, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotCheckpoint, err)
	}
	if x, ok := m.(*big.Int); !ok || x.Cmp(magic) != 0 {
		return nil, fmt.Errorf("%w (a pickle without torch's magic number)", ErrNotCheckpoint)
	}
	for _, what := range []string{"protocol version", "system info"} {
		u = &unpickler{buf: b, pos: u.pos}
		if _, err := u.load(); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	storages := map[string]*storage{}
	u = &unpickler{buf: b, pos: u.pos, call: rebuild,
		persistent: func(pid any) (any, error) { return storageRef(pid, storages) }}
	obj, err := u.load()
	if err != nil {
		return nil, err
	}
	u = &unpickler{buf: b, pos: u.pos}
	keys, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("storage keys: %w", err)
	}
	if err := readLegacyStorages(b, u.pos, keys, storages); err != nil {
		return nil, err
	}
	return resolveAll(obj, storages)
}

func readLegacyStorages(b []byte, pos int, keys any, storages map[string]*storage) error {
	l, ok := keys.(*pyList)
	if !ok {
		return fmt.Errorf("%w: storage keys are a %s, not a list", errPickle, typeName(keys))
	}
	for _, k := range l.items {
		key, ok := k.(string)
		s := storages[key]
		if !ok || s == nil {
			return fmt.Errorf("storage %v: listed but never referenced", k)
		}
		if len(b)-pos < 8 {
			return fmt.Errorf("storage %s: %w", key, io.ErrUnexpectedEOF)
		}
		n := int64(binary.LittleEndian.Uint64(b[pos:]))
		pos += 8
		if n != s.numel {
			return fmt.Errorf("storage %s: holds %d elements, the tensors say %d", key, n, s.numel)
		}
		size := int(n) * elemSize(s.dtype)
		if len(b)-pos < size {
			return fmt.Errorf("storage %s: %w (%d bytes short)", key, io.ErrUnexpectedEOF, size-(len(b)-pos))
		}
		s.decode(b[pos : pos+size])
		pos += size
	}
	for key, s := range storages {
		if s.data == nil {
			return fmt.Errorf("storage %s: referenced but not in the file", key)
		}
	}
	return nil
}

// parseZip reads the 1.6+ format: ARCHIVE/data.pkl with storages in
// ARCHIVE/data/KEY.
func parseZip(b []byte) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%w (zip: %v)", ErrNotCheckpoint, err)
	}
	files := map[string]*zip.File{}
	var pkl *zip.File
	for _, f := range zr.File {
		files[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") == 1 {
			pkl = f
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("%w (a zip archive without data.pkl)", ErrNotCheckpoint)
	}
	prefix := path.Dir(pkl.Name) + "/data/"
	code, err := readEntry(pkl, pkl.UncompressedSize64, len(b))
	if err != nil {
		return nil, err
	}
	storages := map[string]*storage{}
	u := &unpickler{buf: code, call: rebuild, persistent: func(pid any) (any, error) {
		s, err := storageRef(pid, storages)
		if err != nil || s.data != nil {
			return s, err
		}
		f := files[prefix+s.key]
		if f == nil {
			return nil, fmt.Errorf("storage %s: no %s%s in the archive", s.key, prefix, s.key)
		}
		raw, err := readEntry(f, uint64(s.numel)*uint64(elemSize(s.dtype)), len(b))
		if err != nil {
			return nil, err
		}
		s.decode(raw)
		return s, nil
	}}
	obj, err := u.load()
	if err != nil {
		return nil, err
	}
	return resolveAll(obj, storages)
}

// readEntry reads a zip entry that must hold exactly want bytes (the
// header's size is checked first, so a lying header cannot force a huge
// read, and a small deflated entry cannot claim gigabytes).
func readEntry(f *zip.File, want uint64, archive int) ([]byte, error) {
	packed := min(f.CompressedSize64, uint64(archive))
	if f.UncompressedSize64 != want || want > maxFile || want > 16*packed+1024 {
		return nil, fmt.Errorf("%s: %d bytes, want %d", f.Name, f.UncompressedSize64, want)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(want)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	if uint64(len(b)) != want {
		return nil, fmt.Errorf("%s: %d bytes, want %d", f.Name, len(b), want)
	}
	return b, nil
}
