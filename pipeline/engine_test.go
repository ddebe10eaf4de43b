package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func count(n int) Source[int] {
	return func(ctx context.Context, emit func(int) error) error {
		for i := 0; i < n; i++ {
			if err := emit(i); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestRunKeepsOrder(t *testing.T) {
	for _, workers := range []int{1, 2, 7} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			var got []int
			work := func(ctx context.Context, i int) (int, error) {
				time.Sleep(time.Duration(rand.Intn(300)) * time.Microsecond) // finish out of order
				return i * i, nil
			}
			sink := func(ctx context.Context, v int) error { got = append(got, v); return nil }
			if err := Run(context.Background(), Config{Workers: workers}, count(200), work, sink); err != nil {
				t.Fatal(err)
			}
			if len(got) != 200 {
				t.Fatalf("got %d results", len(got))
			}
			for i, v := range got {
				if v != i*i {
					t.Fatalf("result %d = %d, want %d", i, v, i*i)
				}
			}
		})
	}
}

func TestRunBoundsInFlight(t *testing.T) {
	var live, peak atomic.Int64
	work := func(ctx context.Context, i int) (int, error) {
		n := live.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		return i, nil
	}
	src := func(ctx context.Context, emit func(int) error) error {
		for i := 0; i < 500; i++ {
			if err := emit(i); err != nil {
				return err
			}
		}
		return nil
	}
	sink := func(ctx context.Context, v int) error {
		time.Sleep(50 * time.Microsecond) // a slow sink makes items pile up
		live.Add(-1)
		return nil
	}
	if err := Run(context.Background(), Config{Workers: 3, InFlight: 5}, src, work, sink); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 5 {
		t.Errorf("peak items in flight %d, want ≤ 5", p)
	}
}

func TestRunErrorStopsEverything(t *testing.T) {
	boom := errors.New("boom")
	var sunk atomic.Int64
	err := Run(context.Background(), Config{Workers: 2}, count(1_000_000),
		func(ctx context.Context, i int) (int, error) {
			if i == 50 {
				return 0, boom
			}
			return i, nil
		},
		func(ctx context.Context, v int) error { sunk.Add(1); return nil })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if sunk.Load() > 50 {
		t.Errorf("sink saw %d items, want at most the 50 before the failure", sunk.Load())
	}
}

func TestRunSkipPolicy(t *testing.T) {
	var got []int
	var skipped []int
	var mu sync.Mutex
	err := Run(context.Background(), Config{Workers: 3, OnError: func(seq int, err error) error {
		mu.Lock()
		defer mu.Unlock()
		skipped = append(skipped, seq)
		return nil
	}}, count(20),
		func(ctx context.Context, i int) (int, error) {
			if i%5 == 0 {
				return 0, fmt.Errorf("bad item %d", i)
			}
			return i, nil
		},
		func(ctx context.Context, v int) error { got = append(got, v); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 16 || len(skipped) != 4 {
		t.Fatalf("got %d results and %d skips, want 16 and 4", len(got), len(skipped))
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("out of order: %v", got)
		}
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Workers: 2}, count(1<<30),
			func(ctx context.Context, i int) (int, error) { return i, nil },
			func(ctx context.Context, v int) error {
				if v == 1000 {
					cancel()
				}
				return nil
			})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestAtomicFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	a, err := CreateAtomic(p)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(a, "half")
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("target exists before commit")
	}
	a.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("abort left %d files", len(ents))
	}
	if err := WriteFileAtomic(p, func(w io.Writer) error { _, err := fmt.Fprint(w, "whole"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "whole" {
		t.Fatalf("content %q", b)
	}
	if err := WriteFileAtomic(p, func(w io.Writer) error { return errors.New("encode failed") }); err == nil {
		t.Fatal("failed write reported success")
	}
	if b, _ := os.ReadFile(p); string(b) != "whole" {
		t.Fatalf("failed write changed the target: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("failed write left temp files: %d entries", len(ents))
	}
	if _, err := CreateAtomic(filepath.Join(dir, "missing", "x.png")); err == nil {
		t.Fatal("missing folder accepted")
	}
}
