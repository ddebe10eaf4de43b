package tiles

import (
	"context"
	"math"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stylize/stylize/pipeline/model"
)

// fakePlacer is fakeEngine with StylizeAt: it records where each canvas
// lies and the canvas's first core pixel.
type fakePlacer struct {
	fakeEngine
	mu     sync.Mutex
	places [][4]int   // z, x, y, margin
	first  [][3]uint8 // RGB at (margin, margin)
}

func (e *fakePlacer) Blends() bool { return true }

func (e *fakePlacer) StylizeAt(ctx context.Context, z, x, y, margin int, p []float32, w, h int) ([]float32, error) {
	e.mu.Lock()
	i := margin*w + margin
	e.places = append(e.places, [4]int{z, x, y, margin})
	e.first = append(e.first, [3]uint8{clamp8(p[i]), clamp8(p[w*h+i]), clamp8(p[2*w*h+i])})
	e.mu.Unlock()
	return e.StylizePlanes(ctx, p, w, h)
}

// TestPlacer: an engine with StylizeAt gets every metatile's place, row
// by row, and the place is where the canvas's core starts on the map (the
// synthetic map's colour at that global pixel); one that Blends gets half
// the margin as its default blend.
func TestPlacer(t *testing.T) {
	src := synthetic(t, 3, 2, nil)
	eng := &fakePlacer{fakeEngine: fakeEngine{conv: model.Conventions{SizeMultiple: 1}, radius: 4}}
	o := NewOptions()
	o.Source, o.Output, o.MinZoom, o.MaxZoom, o.Quiet = src, filepath.Join(t.TempDir(), "o"), 5, 5, true
	o.Metatile, o.Margin = 1, 16
	rep, err := Run(context.Background(), eng, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blend != 8 {
		t.Errorf("blend %d px: want half the margin (the engine blends)", rep.Blend)
	}
	if rep.TilesWritten != 6 || len(eng.places) != 6 || len(eng.sizes) != 6 {
		t.Fatalf("%d tiles written, %d placed canvases, %d stylized: want 6 each", rep.TilesWritten, len(eng.places), len(eng.sizes))
	}
	for i, p := range eng.places {
		tx, ty := 10+i%3, 11+i/3 // row-major from the block's corner
		if p != [4]int{5, tx*64 - 16, ty*64 - 16, 16} {
			t.Errorf("canvas %d: placed at %v, want z5 at (%d, %d) margin 16", i, p, tx*64-16, ty*64-16)
		}
		// The synthetic map's colour at global pixel (gx, gy) (tiletest.PNGTile).
		gx, gy := float64(p[1]+p[3]), float64(p[2]+p[3])
		want := [3]uint8{uint8(128 + 100*math.Sin(gx/37)), uint8(128 + 100*math.Cos(gy/53)), uint8(128 + 60*math.Sin((gx+gy)/71))}
		if int(gx)%97 < 3 || int(gy)%89 < 3 {
			want = [3]uint8{20, 20, 20}
		}
		if eng.first[i] != want {
			t.Errorf("canvas %d: core starts with %v, the map has %v at (%v, %v)", i, eng.first[i], want, gx, gy)
		}
	}
}
