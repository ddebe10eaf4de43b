package pipeline

import "sync"

// The house has two buffer pools: bytes (frames, packed pixels for the tile
// encoders) and float32 (planar pictures, model tensors, metatile
// canvases). Unlike a sync.Pool they survive garbage collections, which come
// every few frames when each one allocates megabytes, and hand out the
// smallest idle buffer that fits, whatever order sizes come back in.

// Bounds on the idle bytes each list keeps.
const (
	maxIdleFloats = 256 << 20 // about eight padded 1080p frames as float planes
	maxIdleBytes  = 128 << 20 // about twenty 1080p RGB frames
)

var (
	floatList = freeList[float32]{elem: 4, max: maxIdleFloats}
	byteList  = freeList[byte]{elem: 1, max: maxIdleBytes}
)

// GetFloats returns a buffer of n float32 with undefined contents, recycled
// when an idle one fits.
func GetFloats(n int) []float32 { return floatList.get(n) }

// PutFloats hands a buffer back for reuse; the caller must not use it
// afterwards. Putting the same buffer twice keeps one copy.
func PutFloats(s []float32) { floatList.put(s) }

// GetBytes returns a buffer of n bytes with undefined contents (frame
// pixels, packed RGBA), recycled when an idle one fits.
func GetBytes(n int) []byte { return byteList.get(n) }

// PutBytes hands a byte buffer back for reuse; the caller must not use it
// afterwards.
func PutBytes(s []byte) { byteList.put(s) }

// freeList is a bounded list of idle buffers. It holds at most max bytes,
// evicting the oldest; a buffer more than twice the size asked for is not
// handed out, so small requests do not pin big buffers.
type freeList[T any] struct {
	mu    sync.Mutex
	bufs  [][]T
	bytes int
	elem  int // bytes per element
	max   int
}

func (l *freeList[T]) get(n int) []T {
	if n <= 0 {
		return make([]T, n)
	}
	l.mu.Lock()
	best := -1
	for i, b := range l.bufs {
		if c := cap(b); c >= n && c <= 2*n && (best < 0 || c < cap(l.bufs[best])) {
			best = i
		}
	}
	if best < 0 {
		l.mu.Unlock()
		return make([]T, n)
	}
	b := l.bufs[best]
	last := len(l.bufs) - 1
	l.bufs[best] = l.bufs[last]
	l.bufs[last] = nil
	l.bufs = l.bufs[:last]
	l.bytes -= l.elem * cap(b)
	l.mu.Unlock()
	return b[:n]
}

func (l *freeList[T]) put(s []T) {
	size := l.elem * cap(s)
	if size == 0 || size > l.max {
		return
	}
	s = s[:cap(s)]
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bufs {
		if &b[0] == &s[0] {
			return // returned twice: keep one copy, or two users would share it
		}
	}
	for l.bytes+size > l.max && len(l.bufs) > 0 {
		l.bytes -= l.elem * cap(l.bufs[0])
		l.bufs[0] = nil
		l.bufs = l.bufs[1:]
	}
	l.bufs = append(l.bufs, s)
	l.bytes += size
}
