package tiles

import (
	"context"
	"fmt"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/pipeline/model"
)

// Shared statistics: each zoom's normalisation statistics, measured once
// on a sample of the zoom and kept in the sink's run state for a resume.

// maxSamplePixels bounds the sample the statistics are measured on: large
// enough to be representative at full resolution, small enough for memory
// (la_muse needs about 1 KiB per pixel).
const maxSamplePixels = 1792 * 1792

// zoomStats measures (or reloads, on resume) the statistics of a zoom on a
// mosaic of its tiles at full resolution: the whole zoom when it fits,
// else evenly spaced columns and rows of it.
func (r *runner) zoomStats(ctx context.Context, z maptile.Zoom, want []maptile.Tile) (Stats, error) {
	_, margin := r.geometry()
	key := statsKey(fmt.Sprintf("%s|margin %d|tile %d|sample %d", r.eng.Name(), margin, r.t, maxSamplePixels), int(z))
	if b, err := r.sink.State(key); err == nil && b != nil {
		if st, err := unmarshalStats(b, r.sty.numStats()); err == nil {
			return st, nil
		}
	}
	minX, minY, maxX, maxY := want[0].X, want[0].Y, want[0].X, want[0].Y
	for _, t := range want {
		minX, minY = min(minX, t.X), min(minY, t.Y)
		maxX, maxY = max(maxX, t.X), max(maxY, t.Y)
	}
	k := max(1, isqrt(maxSamplePixels)/r.t)
	xs := spread(minX, maxX, k)
	ys := spread(minY, maxY, k)
	g := &grid{cols: len(xs), rows: len(ys), t: r.t}
	g.cells = make([]*raster, g.cols*g.rows)
	for j, y := range ys {
		for i, x := range xs {
			ras, err := r.get(ctx, maptile.New(x, y, z))
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err == nil {
				g.cells[j*g.cols+i] = ras
			}
		}
	}
	p, w, h, ok := g.planes(0)
	if !ok {
		return nil, nil // nothing readable: per-window statistics
	}
	// Measure with the same reflected margin the metatiles carry, so the
	// statistics see borders as the metatiles do.
	if _, m := r.geometry(); m > 0 {
		p = model.PadReflect(p, w, h, m, m, w+2*m, h+2*m)
		w, h = w+2*m, h+2*m
	}
	st, err := r.sty.Measure(ctx, p, w, h)
	if err != nil {
		return nil, err
	}
	b, err := marshalStats(st)
	if err != nil {
		return nil, err
	}
	if err := r.sink.SetState(key, b); err != nil {
		return nil, err
	}
	return st, nil
}

// spread picks at most k evenly spaced values of lo..hi (all when they fit).
func spread(lo, hi uint32, k int) []uint32 {
	n := int(hi-lo) + 1
	if n <= k {
		out := make([]uint32, n)
		for i := range out {
			out[i] = lo + uint32(i)
		}
		return out
	}
	out := make([]uint32, k)
	for i := range out {
		out[i] = lo + uint32((i*(n-1)+(k-1)/2)/(k-1))
	}
	return out
}

func isqrt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}
