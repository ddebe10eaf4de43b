package pipeline

import "testing"

func TestFreeList(t *testing.T) {
	l := &freeList[float32]{elem: 4, max: 64 << 20} // a list of its own: other tests share the global ones
	a := l.get(1000)
	l.put(a)
	b := l.get(900) // fits: the same buffer comes back
	if &b[0] != &a[0] {
		t.Error("a fitting idle buffer was not reused")
	}
	l.put(b)
	if c := l.get(100); len(c) == 100 && cap(c) >= 1000 {
		t.Error("a buffer ten times too big was handed out")
	}
	// A buffer returned twice is handed out once.
	d := l.get(5000)
	l.put(d)
	l.put(d)
	e, f := l.get(5000), l.get(5000)
	if &e[0] == &f[0] {
		t.Error("a buffer returned twice went to two users")
	}
	// The list never holds more than its bound.
	for i := 0; i < 40; i++ {
		l.put(make([]float32, 4<<20)) // 16 MiB each
	}
	l.mu.Lock()
	held := l.bytes
	l.mu.Unlock()
	if held > l.max {
		t.Errorf("list holds %d bytes, cap %d", held, l.max)
	}
}

// Frames come from the byte pool: a frame put back is reused by the next
// Get of any pool whose frames it fits.
func TestFramePoolReuses(t *testing.T) {
	p := NewFramePool(64, 48)
	f := p.Get()
	if f.W != 64 || f.H != 48 || len(f.Pix) != 3*64*48 {
		t.Fatalf("got %dx%d with %d bytes", f.W, f.H, len(f.Pix))
	}
	p.Put(f)
	g := NewFramePool(60, 48).Get() // a little smaller: the same buffer fits
	if &g.Pix[0] != &f.Pix[0] || len(g.Pix) != 3*60*48 {
		t.Error("an idle frame buffer was not reused")
	}
	if allocs := testing.AllocsPerRun(100, func() { p.Put(p.Get()) }); allocs > 1 {
		t.Errorf("%.0f allocations per Get/Put, want at most the Frame header", allocs)
	}
}
