package torch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
)

// A small pickle virtual machine for the subset torch.save writes (protocols
// 2 to 5): containers, numbers, strings, globals, REDUCE/BUILD/NEWOBJ and
// persistent ids. Nothing is ever executed: a global is a name, and calling
// one records the call, except for the few torch rebuild functions the
// checkpoint layer interprets. Every length is checked against the bytes
// left, so a corrupt file fails with an error rather than a huge allocation.

// errPickle marks a malformed pickle stream.
var errPickle = errors.New("malformed pickle")

type (
	pyTuple  []any
	pyList   struct{ items []any }
	pyGlobal struct{ module, name string }
	pyMark   struct{}
	// pyDict keeps insertion order (state dicts are OrderedDicts).
	pyDict struct {
		keys []any
		vals []any
	}
	// pyCall is a call of a global that is not interpreted (kept opaque).
	pyCall struct {
		fn   pyGlobal
		args pyTuple
	}
)

func (d *pyDict) set(k, v any) {
	for i, have := range d.keys {
		if have == k {
			d.vals[i] = v
			return
		}
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

func (d *pyDict) get(k string) (any, bool) {
	for i, have := range d.keys {
		if s, ok := have.(string); ok && s == k {
			return d.vals[i], true
		}
	}
	return nil, false
}

// unpickler runs one pickle stream from buf[pos:].
type unpickler struct {
	buf   []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint64]any
	// persistent resolves a BINPERSID id (torch's storage references).
	persistent func(pid any) (any, error)
	// call interprets REDUCE of a global; nil result means "keep opaque".
	call func(fn pyGlobal, args pyTuple) (any, bool, error)
}

func (u *unpickler) fail(format string, a ...any) error {
	return fmt.Errorf("%w at byte %d: %s", errPickle, u.pos, fmt.Sprintf(format, a...))
}

func (u *unpickler) take(n uint64) ([]byte, error) {
	if n > uint64(len(u.buf)-u.pos) {
		return nil, u.fail("length %d runs past the end", n)
	}
	b := u.buf[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return b, nil
}

func (u *unpickler) uint(n int) (uint64, error) {
	b, err := u.take(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// counted reads a size-byte little-endian length and that many bytes.
func (u *unpickler) counted(size int) ([]byte, error) {
	n, err := u.uint(size)
	if err != nil {
		return nil, err
	}
	return u.take(n)
}

func (u *unpickler) line() (string, error) {
	i := bytes.IndexByte(u.buf[u.pos:], '\n')
	if i < 0 {
		return "", u.fail("unterminated line")
	}
	s := string(u.buf[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, u.fail("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	v, err := u.pop()
	if err == nil {
		u.push(v)
	}
	return v, err
}

// popMark returns the items above the last MARK and removes them and it.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.fail("no mark")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) popN(n int) ([]any, error) {
	items := make([]any, n)
	for i := n - 1; i >= 0; i-- {
		v, err := u.pop()
		if err != nil {
			return nil, err
		}
		items[i] = v
	}
	return items, nil
}

// load runs the stream up to STOP and returns the object on top.
func (u *unpickler) load() (any, error) {
	if u.memo == nil {
		u.memo = map[uint64]any{}
	}
	for {
		if u.pos >= len(u.buf) {
			return nil, u.fail("no STOP opcode")
		}
		op := u.buf[u.pos]
		u.pos++
		if op == '.' {
			if len(u.marks) > 0 {
				return nil, u.fail("STOP inside a mark")
			}
			return u.pop()
		}
		if err := u.step(op); err != nil {
			return nil, err
		}
	}
}

func (u *unpickler) step(op byte) error {
	if ok, err := u.stepValue(op); ok || err != nil {
		return err
	}
	if ok, err := u.stepContainer(op); ok || err != nil {
		return err
	}
	if ok, err := u.stepMemo(op); ok || err != nil {
		return err
	}
	return u.stepObject(op)
}

// stepValue handles opcodes that push one scalar.
func (u *unpickler) stepValue(op byte) (bool, error) {
	var v any
	var err error
	switch op {
	case 0x80: // PROTO
		_, err = u.take(1)
		return true, err
	case 0x95: // FRAME: framing is only a hint; the data follows inline
		_, err = u.take(8)
		return true, err
	case 'N':
		v = nil
	case 0x88:
		v = true
	case 0x89:
		v = false
	case 'K':
		var n uint64
		n, err = u.uint(1)
		v = int64(n)
	case 'M':
		var n uint64
		n, err = u.uint(2)
		v = int64(n)
	case 'J':
		var n uint64
		n, err = u.uint(4)
		v = int64(int32(uint32(n)))
	case 0x8a, 0x8b: // LONG1, LONG4
		v, err = u.long(op)
	case 'G':
		var n uint64
		if n, err = u.uint(8); err == nil {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], n)
			v = math.Float64frombits(binary.BigEndian.Uint64(b[:]))
		}
	case 'X', 0x8c, 0x8d, 'T', 'U', 'B', 'C', 0x8e:
		v, err = u.str(op)
	default:
		return false, nil
	}
	if err == nil {
		u.push(v)
	}
	return true, err
}

// long reads LONG1/LONG4: little-endian two's complement of n bytes; small
// values become int64, bigger ones *big.Int (torch's magic number).
func (u *unpickler) long(op byte) (any, error) {
	size := 1
	if op == 0x8b {
		size = 4
	}
	b, err := u.counted(size)
	if err != nil {
		return nil, err
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if len(b) > 0 && len(b) < 8 && b[len(b)-1]&0x80 != 0 {
			v |= ^uint64(0) << (8 * len(b)) // sign-extend
		}
		return int64(v), nil
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	x := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return x, nil
}

// str reads the string and bytes opcodes.
func (u *unpickler) str(op byte) (any, error) {
	size := map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8, 'T': 4, 'U': 1, 'B': 4, 'C': 1, 0x8e: 8}[op]
	b, err := u.counted(size)
	if err != nil {
		return nil, err
	}
	if op == 'B' || op == 'C' || op == 0x8e {
		return append([]byte(nil), b...), nil
	}
	return string(b), nil
}

// stepContainer handles tuples, lists, dicts and marks.
func (u *unpickler) stepContainer(op byte) (bool, error) {
	switch op {
	case '(':
		u.marks = append(u.marks, len(u.stack))
	case ')':
		u.push(pyTuple{})
	case ']':
		u.push(&pyList{})
	case '}':
		u.push(&pyDict{})
	case 't':
		items, err := u.popMark()
		if err != nil {
			return true, err
		}
		u.push(pyTuple(items))
	case 0x85, 0x86, 0x87:
		items, err := u.popN(int(op-0x85) + 1)
		if err != nil {
			return true, err
		}
		u.push(pyTuple(items))
	case 'l':
		items, err := u.popMark()
		if err != nil {
			return true, err
		}
		u.push(&pyList{items: items})
	case 'a', 'e':
		return true, u.appends(op)
	case 's', 'u', 'd':
		return true, u.setItems(op)
	default:
		return false, nil
	}
	return true, nil
}

// popItems pops n items, or all the items above the last MARK when n is 0.
func (u *unpickler) popItems(n int) ([]any, error) {
	if n == 0 {
		return u.popMark()
	}
	return u.popN(n)
}

func (u *unpickler) appends(op byte) error {
	items, err := u.popItems(map[byte]int{'a': 1}[op])
	if err != nil {
		return err
	}
	t, err := u.top()
	if err != nil {
		return err
	}
	l, ok := t.(*pyList)
	if !ok {
		return u.fail("append to a %T", t)
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setItems(op byte) error {
	items, err := u.popItems(map[byte]int{'s': 2}[op])
	if err != nil {
		return err
	}
	if len(items)%2 != 0 {
		return u.fail("odd number of dict items")
	}
	var d *pyDict
	if op == 'd' {
		d = &pyDict{}
		u.push(d)
	} else {
		t, err := u.top()
		if err != nil {
			return err
		}
		var ok bool
		if d, ok = t.(*pyDict); !ok {
			return u.fail("set item on a %T", t)
		}
	}
	for i := 0; i < len(items); i += 2 {
		if !hashable(items[i]) {
			return u.fail("unhashable dict key %T", items[i])
		}
		d.set(items[i], items[i+1])
	}
	return nil
}

func hashable(k any) bool {
	switch k.(type) {
	case nil, bool, int64, float64, string, pyGlobal:
		return true
	}
	return false
}

// stepMemo handles the memo opcodes.
func (u *unpickler) stepMemo(op byte) (bool, error) {
	var idx uint64
	var err error
	switch op {
	case 'q', 'h':
		idx, err = u.uint(1)
	case 'r', 'j':
		idx, err = u.uint(4)
	case 0x94:
		idx = uint64(len(u.memo))
	default:
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if op == 'h' || op == 'j' {
		v, ok := u.memo[idx]
		if !ok {
			return true, u.fail("memo %d not set", idx)
		}
		u.push(v)
		return true, nil
	}
	v, err := u.top()
	if err != nil {
		return true, err
	}
	u.memo[idx] = v
	return true, nil
}

// stepObject handles globals, calls, BUILD and persistent ids.
func (u *unpickler) stepObject(op byte) error {
	switch op {
	case 'c':
		mod, err := u.line()
		if err != nil {
			return err
		}
		name, err := u.line()
		if err != nil {
			return err
		}
		u.push(pyGlobal{mod, name})
	case 0x93: // STACK_GLOBAL
		items, err := u.popN(2)
		if err != nil {
			return err
		}
		mod, ok1 := items[0].(string)
		name, ok2 := items[1].(string)
		if !ok1 || !ok2 {
			return u.fail("STACK_GLOBAL needs two strings")
		}
		u.push(pyGlobal{mod, name})
	case 'R', 0x81: // REDUCE, NEWOBJ
		return u.reduce()
	case 'b': // BUILD: object state is not needed (OrderedDict _metadata)
		if _, err := u.pop(); err != nil {
			return err
		}
		_, err := u.top()
		return err
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return err
		}
		if u.persistent == nil {
			return u.fail("persistent id without a resolver")
		}
		v, err := u.persistent(pid)
		if err != nil {
			return err
		}
		u.push(v)
	default:
		return u.fail("unsupported opcode 0x%02x", op)
	}
	return nil
}

func (u *unpickler) reduce() error {
	items, err := u.popN(2)
	if err != nil {
		return err
	}
	fn, ok := items[0].(pyGlobal)
	if !ok {
		return u.fail("call of a %T", items[0])
	}
	args, ok := items[1].(pyTuple)
	if !ok {
		return u.fail("call arguments are a %T", items[1])
	}
	if fn.module == "collections" && fn.name == "OrderedDict" {
		u.push(&pyDict{})
		return nil
	}
	if u.call != nil {
		v, done, err := u.call(fn, args)
		if err != nil {
			return err
		}
		if done {
			u.push(v)
			return nil
		}
	}
	u.push(&pyCall{fn: fn, args: args})
	return nil
}
