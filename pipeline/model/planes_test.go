package model

import "testing"

func TestBufferPool(t *testing.T) {
	pool.Lock()
	pool.bufs, pool.bytes = nil, 0 // start empty: other tests leave buffers behind
	pool.Unlock()
	a := getF32(1000)
	putF32(a)
	b := getF32(900) // fits: the same buffer comes back
	if &b[0] != &a[0] {
		t.Error("a fitting idle buffer was not reused")
	}
	putF32(b)
	if c := getF32(100); len(c) == 100 && cap(c) >= 1000 {
		t.Error("a buffer ten times too big was handed out")
	}
	// A buffer returned twice is handed out once.
	d := getF32(5000)
	putF32(d)
	putF32(d)
	e, f := getF32(5000), getF32(5000)
	if &e[0] == &f[0] {
		t.Error("a buffer returned twice went to two users")
	}
	// The pool never holds more than maxPooled bytes.
	for i := 0; i < 40; i++ {
		putF32(make([]float32, 4<<20)) // 16 MiB each
	}
	pool.Lock()
	held := pool.bytes
	pool.Unlock()
	if held > maxPooled {
		t.Errorf("pool holds %d bytes, cap %d", held, maxPooled)
	}
}
