package tiles

import (
	"context"
	"fmt"
	"sync"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/tiles/store"
)

// Assembly: reading a metatile's tiles and their neighbours (through a
// cache) into one canvas with its margin, on the pipeline's source side.

// metaJob is one metatile on its way through the pipeline.
type metaJob struct {
	z        maptile.Zoom
	x0, y0   uint32 // top-left core tile
	cols     int    // core tiles across and down
	rows     int
	planes   []float32
	w, h     int
	margin   int
	zone     *zonePlan
	core     []coreTile
	stats    Stats
	stylized []float32
	tally    tally
}

// tally is what the source and the workers learnt about a metatile's
// tiles, for the report: the sink adds it up (it owns the report).
type tally struct {
	failed []TileError
	empty  int   // tiles still to do that the source does not have
	pixels int64 // canvas pixels run through the model
	only   bool  // the job carries nothing but its tally (no metatile)
}

type coreTile struct {
	t     maptile.Tile
	alpha []byte
}

// emitZone measures a zoom's statistics (shared mode) and emits its
// metatiles, each assembled with its margin.
func (r *runner) emitZone(ctx context.Context, zp *zonePlan, emit func(*metaJob) error) error {
	var stats Stats
	if r.sty.shared() {
		var err error
		if stats, err = r.zoomStats(ctx, zp.z, zp.want); err != nil {
			return err
		}
	}
	for _, p := range zp.plans {
		job, err := r.assemble(ctx, zp, p)
		if err != nil {
			return err
		}
		if job == nil {
			continue
		}
		job.stats = stats
		if err := emit(job); err != nil {
			return err
		}
	}
	return nil
}

// assemble reads a metatile's tiles and the ring of neighbours its margin
// reaches into a canvas; nil when there is nothing to pass on.
func (r *runner) assemble(ctx context.Context, zp *zonePlan, p metaPlan) (*metaJob, error) {
	z, n, margin := zp.z, zp.n, zp.margin
	ring := (margin + r.t - 1) / r.t
	cols := int(min(uint32(n), zp.maxX-p.x0+1))
	rows := int(min(uint32(n), zp.maxY-p.y0+1))
	g := &grid{cols: cols + 2*ring, rows: rows + 2*ring, t: r.t}
	g.cells = make([]*raster, g.cols*g.rows)
	todo := map[maptile.Tile]bool{}
	for _, t := range p.todo {
		todo[t] = true
	}
	job := &metaJob{z: z, x0: p.x0, y0: p.y0, cols: cols, rows: rows, margin: margin, zone: zp}
	for gy := 0; gy < g.rows; gy++ {
		for gx := 0; gx < g.cols; gx++ {
			x := int64(p.x0) + int64(gx-ring)
			y := int64(p.y0) + int64(gy-ring)
			if y < 0 || y >= 1<<z {
				continue
			}
			x = (x%(1<<z) + 1<<z) % (1 << z)
			t := maptile.New(uint32(x), uint32(y), z)
			ras, err := r.get(ctx, t)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			core := gx >= ring && gx < ring+cols && gy >= ring && gy < ring+rows && todo[t]
			switch {
			case err != nil && core:
				job.tally.failed = append(job.tally.failed, tileError(t, err))
			case err != nil:
			case core && ras == nil:
				job.tally.empty++
			case core:
				job.core = append(job.core, coreTile{t: t, alpha: ras.alpha})
			}
			if err == nil && !ras.blank() {
				// Fully transparent tiles carry no content: the canvas
				// mirrors their neighbours instead.
				g.cells[gy*g.cols+gx] = ras
			}
		}
	}
	if zp.blend == nil && len(job.core) == 0 {
		return job.onlyTally(), nil
	}
	var ok bool
	job.planes, job.w, job.h, ok = g.planes(ring*r.t - margin)
	if !ok && zp.blend == nil {
		return job.onlyTally(), nil
	}
	return job, nil
}

// onlyTally turns a metatile with nothing to stylize into a job that
// carries its tally to the sink alone; nil when there is nothing to tell.
func (j *metaJob) onlyTally() *metaJob {
	if len(j.tally.failed) == 0 && j.tally.empty == 0 {
		return nil
	}
	j.planes, j.core, j.tally.only = nil, nil, true
	return j
}

// get reads and decodes one tile through the cache; nil when empty.
func (r *runner) get(ctx context.Context, t maptile.Tile) (*raster, error) {
	n := uint32(1) << t.Z
	t.X %= n // the world wraps east–west
	if e, ok := r.cache.get(t); ok {
		return e.r, e.err
	}
	b, err := r.src.Get(ctx, t)
	var ras *raster
	if err == nil && b != nil {
		ras, err = decodeTile(store.TileString(t), b)
		if err == nil && r.t > 0 && (ras.w != r.t || ras.h != r.t) {
			ras, err = nil, fmt.Errorf("tile is %dx%d, the others %dx%d", ras.w, ras.h, r.t, r.t)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	r.cache.put(t, cacheEntry{ras, err})
	return ras, err
}

// tileCache keeps recently decoded tiles: each tile is a neighbour of up to
// eight metatiles, read once.
type tileCache struct {
	mu    sync.Mutex
	max   int
	m     map[maptile.Tile]cacheEntry
	order []maptile.Tile
}

type cacheEntry struct {
	r   *raster
	err error
}

func newTileCache(n int) *tileCache {
	return &tileCache{max: n, m: map[maptile.Tile]cacheEntry{}}
}

func (c *tileCache) get(t maptile.Tile) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[t]
	return e, ok
}

// put adds an entry, evicting the oldest (FIFO: metatiles advance in rows,
// so the oldest tiles are the ones no longer needed).
func (c *tileCache) put(t maptile.Tile, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[t]; ok {
		return
	}
	c.m[t] = e
	c.order = append(c.order, t)
	for len(c.order) > c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
}
