package tiles

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/tiles/internal/tiletest"
	"github.com/stylize/stylize/tiles/store"
)

// Two metatiles side by side whose outputs disagree (constant 0 and 200):
// the tiles along their border mix them with a raised-cosine ramp, the
// others keep their own metatile's colour.
func TestBlenderRamp(t *testing.T) {
	const tsz, n, b, margin = 16, 2, 6, 8
	want := tiletest.Block(3, 0, 0, 4, 1) // 4×1 tiles: metatiles (0,0) and (1,0)
	zp := &zonePlan{z: 3, want: want, n: n, margin: margin, maxX: 3, maxY: 0}
	todo := map[maptile.Tile]bool{}
	for _, tt := range want {
		todo[tt] = true
	}
	bl := newBlender(zp, tsz, b, 0, 0, todo)
	bl.jobsLeft = 2
	job := func(x0 uint32, v float32) *metaJob {
		w, h := n*tsz+2*margin, tsz+2*margin
		p := make([]float32, 3*w*h)
		for i := range p {
			p[i] = v
		}
		j := &metaJob{z: 3, x0: x0, y0: 0, cols: n, rows: 1, margin: margin, w: w, h: h, stylized: p, zone: zp}
		for x := x0; x < x0+n; x++ {
			j.core = append(j.core, coreTile{t: maptile.New(x, 0, 3)})
		}
		return j
	}
	got := map[uint32][]float32{} // tile x → its first row (R)
	collect := func(ds []blendDone, err error) {
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			row := make([]float32, tsz)
			for x := range row {
				row[x] = d.p[(d.y0)*d.w+d.x0+x]
			}
			got[d.c.t.X] = row
		}
	}
	collect(bl.add(job(0, 0)))
	if len(got) != 1 || got[0] == nil {
		t.Fatalf("after the first metatile: tiles %v done, want only 0 (tile 1 waits for its neighbour)", got)
	}
	collect(bl.add(job(2, 200)))
	if len(got) != 4 || len(bl.pending) != 0 {
		t.Fatalf("after both: %d tiles done, %d pending", len(got), len(bl.pending))
	}
	// Zone px 32 is the border: ramp over 26..37.
	line := append(append(append(append([]float32{}, got[0]...), got[1]...), got[2]...), got[3]...)
	for x, v := range line {
		switch {
		case x < 32-b && v != 0, x >= 32+b && v != 200:
			t.Errorf("px %d = %.2f, outside the band", x, v)
		case x > 0 && v < line[x-1]:
			t.Errorf("px %d = %.2f < px %d = %.2f: not monotonic", x, v, x-1, line[x-1])
		}
	}
	if d := line[31] + line[32] - 200; d < -0.01 || d > 0.01 {
		t.Errorf("border pixels %.2f and %.2f are not symmetric about 100", line[31], line[32])
	}
}

// Blending the outputs of a model that agrees across metatiles changes
// nothing: identity gives back the source pixels exactly.
func TestBlendIdentityExact(t *testing.T) {
	eng := openEngine(t, "builtin:identity")
	src := synthetic(t, 5, 4, nil)
	out := filepath.Join(t.TempDir(), "o")
	rep, err := Run(context.Background(), eng, Options{Source: src, Output: out, MinZoom: 5, MaxZoom: 5, Overviews: -1, Metatile: 2, Margin: 16, Blend: 8, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blend != 8 || rep.TilesWritten != 20 {
		t.Fatalf("blend %d px, %d tiles written", rep.Blend, rep.TilesWritten)
	}
	s, _ := store.OpenSource(context.Background(), src, SourceOptions{})
	o, _ := store.OpenSource(context.Background(), out, SourceOptions{})
	for _, tt := range tiletest.Block(5, 10, 11, 5, 4) {
		a, _ := s.Get(context.Background(), tt)
		b, _ := o.Get(context.Background(), tt)
		ra, err := decodeTile("src", a)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := decodeTile("out", b)
		if err != nil {
			t.Fatalf("tile %s: %v", store.TileString(tt), err)
		}
		if !bytes.Equal(ra.rgb, rb.rgb) {
			t.Errorf("tile %s differs from its source", store.TileString(tt))
		}
	}
}

// A blended run interrupted and resumed writes the same bytes as an
// uninterrupted one (metatiles already written run again for their bands).
func TestBlendResumeIdentical(t *testing.T) {
	eng := openEngine(t, "builtin:ink")
	src := synthetic(t, 5, 4, nil)
	for _, name := range []string{"xyz", "out.mbtiles", "out.pmtiles"} {
		t.Run(name, func(t *testing.T) {
			opts := func(out string) Options {
				return Options{Source: src, Output: out, MinZoom: 5, MaxZoom: 5, Overviews: -1, Metatile: 2, Margin: 16, Blend: 8, Quiet: true}
			}
			whole := filepath.Join(t.TempDir(), name)
			if _, err := Run(context.Background(), eng, opts(whole)); err != nil {
				t.Fatal(err)
			}
			for _, stop := range []int{1, 4} {
				resumed := filepath.Join(t.TempDir(), name)
				ctx, cancel := context.WithCancel(context.Background())
				afterBatch = func(n int) {
					if n == stop {
						cancel()
					}
				}
				_, err := Run(ctx, eng, opts(resumed))
				afterBatch = nil
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted run: err = %v", err)
				}
				rep, err := Run(context.Background(), eng, opts(resumed))
				if err != nil {
					t.Fatal(err)
				}
				if rep.TilesWritten+rep.TilesSkipped != 20 {
					t.Errorf("resume after %d metatiles: wrote %d, skipped %d", stop, rep.TilesWritten, rep.TilesSkipped)
				}
				a, b := readAll(t, whole), readAll(t, resumed)
				if len(a) != len(b) || len(a) == 0 {
					t.Fatalf("%d files vs %d", len(a), len(b))
				}
				for k, v := range a {
					if !bytes.Equal(v, b[k]) {
						t.Errorf("stop after %d: %s differs after resume", stop, k)
					}
				}
			}
		})
	}
}
