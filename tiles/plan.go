package tiles

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/tiles/store"
)

// Planning: which tiles to stylize, how they group into metatiles, which
// are written already (resume), and the margin and blend around them.

// coverage lists the tiles to stylize per zoom: the region's tiles the
// source has (all of the region for sources that cannot list), or every
// tile of the source.
func (r *runner) coverage(ctx context.Context, zmin, zmax maptile.Zoom) (map[maptile.Zoom][]maptile.Tile, error) {
	md := r.src.Metadata()
	if md.HasZooms && (zmax < md.MinZoom || zmin > md.MaxZoom) {
		return nil, fmt.Errorf("zoom %d-%d is outside the source's zooms %d-%d", zmin, zmax, md.MinZoom, md.MaxZoom)
	}
	have, lerr := r.src.List(ctx, zmin, zmax)
	if lerr != nil && !errors.Is(lerr, store.ErrCannotList) {
		return nil, lerr
	}
	if lerr != nil && r.o.Region.IsZero() {
		return nil, fmt.Errorf("source %s: %w", r.o.Source, lerr)
	}
	haveSet := map[maptile.Tile]bool{}
	for _, t := range have {
		haveSet[t] = true
	}
	out := map[maptile.Zoom][]maptile.Tile{}
	n := 0
	for z := zmin; z <= zmax; z++ {
		if r.o.Region.IsZero() {
			for _, t := range have {
				if t.Z == z {
					out[z] = append(out[z], t)
				}
			}
		} else {
			ts, err := cover(r.o.Region, z)
			if err != nil {
				return nil, err
			}
			for _, t := range ts {
				if lerr != nil || haveSet[t] {
					out[z] = append(out[z], t)
				}
			}
		}
		n += len(out[z])
	}
	if n == 0 {
		return nil, r.noTiles(ctx, zmin, zmax)
	}
	return out, nil
}

// noTiles says that the zooms asked for hold no tiles, and which do.
func (r *runner) noTiles(ctx context.Context, zmin, zmax maptile.Zoom) error {
	what := "the source has no tiles"
	if !r.o.Region.IsZero() {
		what = "the source has no tiles in the region"
	}
	if all, err := r.src.List(ctx, 0, 30); err == nil && len(all) > 0 {
		return fmt.Errorf("zoom %d-%d: %s at these zooms (it has zooms %d-%d)", zmin, zmax, what, all[0].Z, all[len(all)-1].Z)
	}
	return fmt.Errorf("zoom %d-%d: %s at these zooms", zmin, zmax, what)
}

// tileSize finds the size of the tiles of a zoom from the first readable one.
func (r *runner) tileSize(ctx context.Context, ts []maptile.Tile) int {
	for _, t := range ts {
		if r.t > 0 {
			return r.t
		}
		b, err := r.src.Get(ctx, t)
		if err != nil || b == nil {
			continue
		}
		if ras, err := decodeTile(store.TileString(t), b); err == nil && ras.w == ras.h && ras.w > 0 {
			r.t = ras.w
		}
	}
	return r.t
}

func (r *runner) geometry() (n, margin int) {
	n = r.o.Metatile
	if n == 0 {
		n = max(1, (1024+r.t/2)/r.t) // about 1024 px of tiles: 4 × 256, 2 × 512
	}
	switch margin = r.o.Margin; {
	case margin < 0:
		margin = 0
	case margin == 0:
		margin = defaultMargin(r.eng)
	}
	if k := max(1, r.eng.Conventions().SizeMultiple); margin%k != 0 {
		margin += k - margin%k
	}
	return n, margin
}

// defaultMargin covers the model's receptive field, so that with shared
// statistics a metatile's core sees exactly what it would see in the whole
// map: at least 64 px for deep style nets (normalisation or strides; the
// measured figure below which tile seams show), at least 8 px for local
// filters such as builtin:ink, at most 256 px.
func defaultMargin(eng Engine) int {
	m := eng.ReceptiveRadius() + 2
	if eng.HasInstanceNorm() || eng.Conventions().SizeMultiple > 1 {
		m = max(m, 64)
	}
	return min(max(m, 8), 256)
}

// zonePlan is the work of one zoom: its metatiles with tiles still to do.
type zonePlan struct {
	z          maptile.Zoom
	want       []maptile.Tile
	n, margin  int
	maxX, maxY uint32
	plans      []metaPlan
	blend      *blender // nil: metatiles are cut, not blended
}

// blendWidth is the overlap of neighbouring metatiles in px (0: none).
func (r *runner) blendWidth(margin int) int {
	b := r.o.Blend
	switch {
	case b < 0:
		return 0
	case b == 0:
		if bl, ok := r.eng.(Blender); (!ok || !bl.Blends()) && (r.sty.shared() || !r.eng.HasInstanceNorm()) {
			// Shared statistics (or none to share) and a margin covering
			// the receptive field: the metatiles agree, nothing to hide.
			return 0
		}
		b = margin / 2
	}
	return min(b, margin/2, r.t/2)
}

type metaPlan struct {
	x0, y0 uint32
	todo   []maptile.Tile
}

// plan groups a zoom's tiles into metatiles, leaving out tiles already
// written (resume); nil when nothing is left to do.
func (r *runner) plan(ctx context.Context, z maptile.Zoom, want []maptile.Tile) (*zonePlan, error) {
	if len(want) == 0 {
		return nil, nil
	}
	if r.tileSize(ctx, want) == 0 {
		for _, t := range want {
			r.rep.Failed = append(r.rep.Failed, tileError(t, errors.New("no readable tile at this zoom")))
		}
		r.prog.Add(int64(len(want)))
		return nil, nil
	}
	n, margin := r.geometry()
	r.rep.TileSize, r.rep.Metatile, r.rep.Margin = r.t, n, margin
	zp := &zonePlan{z: z, want: want, n: n, margin: margin, maxX: want[0].X, maxY: want[0].Y}
	minX, minY := want[0].X, want[0].Y
	for _, t := range want {
		minX, minY = min(minX, t.X), min(minY, t.Y)
		zp.maxX, zp.maxY = max(zp.maxX, t.X), max(zp.maxY, t.Y)
	}
	plans, todoSet, err := r.resume(group(want, n, minX, minY))
	if err != nil || len(todoSet) == 0 {
		return nil, err
	}
	b := r.blendWidth(margin)
	r.rep.Blend = b
	if b > 0 {
		// Blended: a done metatile runs again when a neighbour's tiles
		// need its band.
		zp.blend = newBlender(zp, r.t, b, minX, minY, todoSet)
		need := zp.blend.needed()
		for _, p := range plans {
			if need[[2]int{int(p.x0-minX) / n, int(p.y0-minY) / n}] {
				zp.plans = append(zp.plans, p)
			}
		}
		zp.blend.jobsLeft = len(zp.plans)
		return zp, nil
	}
	for _, p := range plans {
		if len(p.todo) > 0 {
			zp.plans = append(zp.plans, p)
		}
	}
	return zp, nil
}

// group puts tiles into n×n metatiles counted from (minX, minY), in
// row-major order; each plan's todo is every tile of the metatile.
func group(want []maptile.Tile, n int, minX, minY uint32) []metaPlan {
	type key struct{ mx, my uint32 }
	groups := map[key][]maptile.Tile{}
	var order []key
	for _, t := range want {
		k := key{(t.X - minX) / uint32(n), (t.Y - minY) / uint32(n)}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], t)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].my != order[j].my {
			return order[i].my < order[j].my
		}
		return order[i].mx < order[j].mx
	})
	plans := make([]metaPlan, len(order))
	for i, k := range order {
		plans[i] = metaPlan{minX + k.mx*uint32(n), minY + k.my*uint32(n), groups[k]}
	}
	return plans
}

// resume leaves out of each plan the tiles the sink has already, counting
// them as done; it returns the plans and the set of tiles left to do.
func (r *runner) resume(plans []metaPlan) ([]metaPlan, map[maptile.Tile]bool, error) {
	todoSet := map[maptile.Tile]bool{}
	for i, p := range plans {
		var todo []maptile.Tile
		for _, t := range p.todo {
			has, err := r.sink.Has(t)
			if err != nil {
				return nil, nil, err
			}
			if has {
				r.rep.TilesSkipped++
				continue
			}
			todo = append(todo, t)
			todoSet[t] = true
		}
		r.prog.Add(int64(len(p.todo) - len(todo)))
		plans[i].todo = todo
	}
	return plans, todoSet, nil
}

// parents returns the sorted unique parents of tiles.
func parents(ts []maptile.Tile) []maptile.Tile {
	var out []maptile.Tile
	for _, t := range ts {
		if t.Z > 0 {
			out = append(out, t.Parent())
		}
	}
	return store.SortTiles(out)
}

// tilesBound is the union of the tiles' bounds.
func tilesBound(ts []maptile.Tile) orb.Bound {
	if len(ts) == 0 {
		return orb.Bound{Min: orb.Point{-180, -maxLat}, Max: orb.Point{180, maxLat}}
	}
	b := ts[0].Bound()
	for _, t := range ts[1:] {
		b = b.Union(t.Bound())
	}
	return b
}
