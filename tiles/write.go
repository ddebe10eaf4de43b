package tiles

import (
	"context"
	"fmt"
	"runtime"

	"github.com/paulmach/orb/maptile"
	"golang.org/x/sync/errgroup"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/tiles/store"
)

// Writing: the pipeline that runs the metatiles through the model, and its
// sink, which cuts, encodes and writes the tiles and keeps the report.

// stylizeZones runs every zoom's metatiles through one pipeline: reading
// and assembling the next metatiles, and measuring the next zoom's
// statistics, overlap the model's work on the current ones.
func (r *runner) stylizeZones(ctx context.Context, zones []*zonePlan) error {
	source := func(ctx context.Context, emit func(*metaJob) error) error {
		for _, zp := range zones {
			if err := r.emitZone(ctx, zp, emit); err != nil {
				return err
			}
		}
		return nil
	}
	work := func(ctx context.Context, j *metaJob) (*metaJob, error) {
		if j.planes == nil {
			return j, nil // nothing readable: passes on to the blender
		}
		out, err := r.sty.stylizeMeta(ctx, j, r.t)
		pipeline.PutFloats(j.planes) // for the model's own buffers
		if err != nil {
			return nil, fmt.Errorf("metatile z%d at %d/%d: %w", j.z, j.x0, j.y0, err)
		}
		j.tally.pixels = int64(j.w) * int64(j.h)
		j.stylized, j.planes = out, nil
		return j, nil
	}
	return pipeline.Run(ctx, pipeline.Config{Workers: r.o.Workers}, source, work, r.writeMeta)
}

func tileError(t maptile.Tile, err error) TileError {
	return TileError{Tile: store.TileString(t), Error: err.Error()}
}

// record adds a metatile's tally to the report (the sink's goroutine).
func (r *runner) record(k tally) {
	r.rep.Failed = append(r.rep.Failed, k.failed...)
	r.rep.TilesEmpty += k.empty
	r.rep.InferencePixels += k.pixels
	r.prog.Add(int64(len(k.failed) + k.empty))
}

// writeMeta cuts a stylized metatile into tiles, encodes and writes them
// (the pipeline's sink: one goroutine, in plan order).
func (r *runner) writeMeta(ctx context.Context, j *metaJob) error {
	r.record(j.tally)
	if j.tally.only {
		return nil
	}
	done, err := r.cut(j)
	if err != nil {
		return err
	}
	batch, err := r.encode(done)
	if j.stylized != nil {
		pipeline.PutFloats(j.stylized) // the next metatile's canvas
		j.stylized = nil
	}
	if err != nil {
		return err
	}
	if len(batch) > 0 {
		if err := r.sink.Write(batch); err != nil {
			return err
		}
		r.rep.TilesWritten += len(batch)
		r.prog.Add(int64(len(batch)))
	}
	r.rep.Metatiles++
	if afterBatch != nil {
		afterBatch(r.rep.Metatiles)
	}
	return nil
}

// cut lists the tiles a metatile completes: through the blender when the
// zone blends, else each core tile cut from the canvas.
func (r *runner) cut(j *metaJob) ([]blendDone, error) {
	if bl := j.zone.blend; bl != nil {
		return bl.add(j)
	}
	var done []blendDone
	for _, c := range j.core {
		done = append(done, blendDone{c: c, p: j.stylized, w: j.w, h: j.h,
			x0: j.margin + int(c.t.X-j.x0)*r.t, y0: j.margin + int(c.t.Y-j.y0)*r.t})
	}
	return done, nil
}

// encode encodes the finished tiles in parallel: PNG encoding is the
// costliest step after the model, and the model waits for no one here.
func (r *runner) encode(done []blendDone) ([]store.Encoded, error) {
	batch := make([]store.Encoded, len(done))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, d := range done {
		c := d.c
		g.Go(func() error {
			b, err := encodePlanes(r.o.Format, r.o.Quality, d.p, d.w, d.h, d.x0, d.y0, r.t, c.alpha)
			if err != nil {
				return fmt.Errorf("tile %s: %w", store.TileString(c.t), err)
			}
			batch[i] = store.Encoded{Tile: c.t, Data: b}
			return nil
		})
	}
	return batch, g.Wait()
}

// afterBatch, when set by a test, is called after each metatile is written
// (to interrupt a run at a known point).
var afterBatch func(metatiles int)

// overviews builds zooms from-1 down to to from the written tiles.
func (r *runner) overviews(ctx context.Context, base []maptile.Tile, from, to maptile.Zoom) error {
	ts := base
	for z := from; z > to; z-- {
		ts = parents(ts)
		var batch []store.Encoded
		for _, p := range ts {
			if err := ctx.Err(); err != nil {
				return err
			}
			e, err := r.overview(p)
			if err != nil {
				return err
			}
			if e == nil {
				r.prog.Add(1)
				continue
			}
			if batch = append(batch, *e); len(batch) >= 64 {
				if err := r.writeOverviews(batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := r.writeOverviews(batch); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) writeOverviews(batch []store.Encoded) error {
	if len(batch) == 0 {
		return nil
	}
	if err := r.sink.Write(batch); err != nil {
		return err
	}
	r.rep.OverviewTiles += len(batch)
	r.prog.Add(int64(len(batch)))
	return nil
}

// overview downsamples the written children of p into p; nil when p is
// written already (resume) or has no children.
func (r *runner) overview(p maptile.Tile) (*store.Encoded, error) {
	has, err := r.sink.Has(p)
	if err != nil || has {
		if has {
			r.rep.TilesSkipped++
		}
		return nil, err
	}
	var kids [4]*raster
	t := 0
	for _, c := range p.Children() {
		b, err := r.sink.Get(c)
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue
		}
		ras, err := decodeTile(store.TileString(c), b)
		if err != nil {
			return nil, fmt.Errorf("overview %s: %w", store.TileString(p), err)
		}
		slot := int(c.Y-2*p.Y)*2 + int(c.X-2*p.X) // row-major quad
		kids[slot] = ras
		t = ras.w
	}
	if t == 0 {
		return nil, nil
	}
	rgb, alpha := downsample2(kids, t)
	b, err := encodeTile(r.o.Format, r.o.Quality, t, t, rgb, alpha)
	if err != nil {
		return nil, err
	}
	return &store.Encoded{Tile: p, Data: b}, nil
}
