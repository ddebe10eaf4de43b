package tiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"golang.org/x/sync/errgroup"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/option"
)

// Options configure Run. The zero value of each field means its default,
// but for Overviews (see NewOptions): its zero builds zooms 0..MinZoom−1,
// NoOverviews builds none. The flags and batch keys are declared in Table.
type Options struct {
	Source        string // folder, .mbtiles, .pmtiles or URL template
	SourceOptions SourceOptions
	Output        string // folder, .mbtiles or .pmtiles
	MinZoom       maptile.Zoom
	MaxZoom       maptile.Zoom
	Region        Region // zero: every tile the source has
	// Overviews builds zooms Overviews..MinZoom−1 from the stylized tiles
	// by 2×2 downsampling; NoOverviews (−1) builds none.
	Overviews int
	// PerZoom stylizes the overview zooms from the source instead.
	PerZoom  bool
	Metatile int // tiles per metatile side; 0 = about 1024 px of tiles
	Margin   int // px of neighbour context; 0 = sized to the model, −1 = none
	// Blend is the px by which neighbouring metatiles overlap and are mixed
	// with raised-cosine weights (at most half the margin); 0 = default
	// (half the margin with per-window statistics, none when shared
	// statistics make the metatiles agree already), −1 = none.
	Blend    int
	Stats    StatsMode // "" = shared
	Format   Format    // "" = png
	Quality  int       // JPEG and WebP (lossy) quality; 0 = 90
	Workers  int       // concurrent model runs; 0 = 1 (a session uses every core)
	Quiet    bool
	Progress io.Writer // default stderr
}

// applyDefaults fills the declared defaults (Table: stats, format,
// quality, workers).
func (o *Options) applyDefaults() {
	o.Table().ApplyDefaults()
	if o.Overviews < 0 {
		o.Overviews = NoOverviews
	}
}

// Validate checks the options before any I/O. It returns every problem;
// those of an option are *option.Error naming its key.
func (o Options) Validate() error {
	var errs []error
	if o.Source == "" || o.Output == "" {
		errs = append(errs, errors.New("tiles: a source and an output are required"))
	}
	t := o.Table()
	t.MarkNonZero()
	if o.MinZoom > o.MaxZoom {
		errs = append(errs, &option.Error{Key: "zoom", Err: fmt.Errorf("%d-%d: the first zoom is above the last", o.MinZoom, o.MaxZoom)})
	} else if o.MaxZoom > MaxZoom {
		errs = append(errs, &option.Error{Key: "zoom", Err: fmt.Errorf("%d: want at most %d", o.MaxZoom, MaxZoom)})
	}
	return errors.Join(append(errs, t.Validate())...)
}

// TileError is one tile that could not be read or stylized.
type TileError struct {
	Tile  string `json:"tile"`
	Error string `json:"error"`
}

// Report summarises a run (written as JSON by --report).
type Report struct {
	Source           string      `json:"source"`
	Output           string      `json:"output"`
	Model            string      `json:"model"`
	Device           string      `json:"device"`
	Zooms            string      `json:"zooms"`
	OverviewZooms    string      `json:"overview_zooms,omitempty"`
	TileSize         int         `json:"tile_size"`
	Metatile         int         `json:"metatile"`
	Margin           int         `json:"margin_px"`
	Blend            int         `json:"blend_px"`
	Stats            string      `json:"stats"`
	StatsNote        string      `json:"stats_note,omitempty"`
	Format           string      `json:"format"`
	Metatiles        int         `json:"metatiles"`
	TilesWritten     int         `json:"tiles_written"`
	OverviewTiles    int         `json:"overview_tiles"`
	TilesSkipped     int         `json:"tiles_already_done"`
	TilesEmpty       int         `json:"tiles_empty"`
	TilesFailed      int         `json:"tiles_failed"`
	Failed           []TileError `json:"failed,omitempty"`
	Seconds          float64     `json:"seconds"`
	TilesPerSecond   float64     `json:"tiles_per_second"`
	InferenceSeconds float64     `json:"inference_seconds"`
	InferenceRuns    int64       `json:"inference_runs"`
	InferencePixels  int64       `json:"inference_pixels"`
}

// ErrTilesFailed is returned (wrapped) when some tiles failed but the run
// finished; the report lists them.
var ErrTilesFailed = errors.New("tiles failed")

// Run stylizes the tiles of o.Source into o.Output with eng.
func Run(ctx context.Context, eng *model.Engine, o Options) (*Report, error) {
	o.applyDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if a, b := absPath(o.Source), absPath(o.Output); a == b {
		return nil, fmt.Errorf("output %s is the source: write the stylized tiles elsewhere", o.Output)
	}
	start := time.Now()
	src, err := OpenSource(ctx, o.Source, o.SourceOptions)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	r := &runner{o: o, eng: eng, src: src, cache: newTileCache(1024)}
	r.rep = &Report{Source: o.Source, Output: o.Output, Model: eng.Name(), Device: eng.Device(),
		Stats: string(o.Stats), Format: string(o.Format)}

	stylized, overviews := o.MinZoom, o.MinZoom
	if o.Overviews >= 0 {
		if o.PerZoom {
			stylized = maptile.Zoom(o.Overviews)
		}
		overviews = maptile.Zoom(o.Overviews)
	}
	r.rep.Zooms = fmt.Sprintf("%d-%d", stylized, o.MaxZoom)
	if overviews < stylized {
		r.rep.OverviewZooms = fmt.Sprintf("%d-%d", overviews, stylized-1)
	}
	wanted, err := r.coverage(ctx, stylized, o.MaxZoom)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, ts := range wanted {
		total += len(ts)
	}
	estOverviews := 0
	if overviews < stylized {
		ps := wanted[stylized]
		for z := stylized; z > overviews; z-- {
			ps = parents(ps)
			estOverviews += len(ps)
		}
	}

	sink, err := OpenSink(o.Output, o.Format)
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	r.sink = sink
	r.sty, err = newStylizer(eng, o.Stats)
	if err != nil {
		return nil, err
	}
	defer r.sty.Close()
	if o.Stats == StatsShared && !r.sty.shared() {
		r.rep.StatsNote = r.sty.note
	}

	r.prog = pipeline.NewProgress(pipeline.ProgressOptions{Label: "stylize tiles " + o.Output, Unit: "tiles",
		Total: int64(total + estOverviews), Quiet: o.Quiet, W: o.Progress})
	var zones []*zonePlan
	for z := stylized; z <= o.MaxZoom; z++ {
		zp, err := r.plan(ctx, z, wanted[z])
		if err != nil {
			r.prog.Finish()
			return r.rep, err
		}
		if zp != nil {
			zones = append(zones, zp)
		}
	}
	if err := r.stylizeZones(ctx, zones); err != nil {
		r.prog.Finish()
		return r.rep, err
	}
	if overviews < stylized {
		if err := r.overviews(ctx, wanted[stylized], stylized, overviews); err != nil {
			r.prog.Finish()
			return r.rep, err
		}
	}
	r.prog.Finish()

	md := src.Metadata()
	md.Name = md.Name + " (stylized, " + eng.Name() + ")"
	md.MinZoom, md.MaxZoom, md.HasZooms = overviews, o.MaxZoom, true
	switch {
	case !o.Region.IsZero():
		md.Bounds = o.Region.Bound()
	case md.Bounds.IsZero() || md.Bounds.Min == md.Bounds.Max:
		md.Bounds = tilesBound(wanted[o.MaxZoom])
	}
	if err := sink.Finish(md); err != nil {
		return r.rep, err
	}
	infer, runs := r.sty.inference()
	r.rep.Seconds = time.Since(start).Seconds()
	r.rep.InferenceSeconds, r.rep.InferenceRuns = infer.Seconds(), runs
	if r.rep.Seconds > 0 {
		r.rep.TilesPerSecond = float64(r.rep.TilesWritten+r.rep.OverviewTiles) / r.rep.Seconds
	}
	r.rep.TilesFailed = len(r.rep.Failed)
	if n := r.rep.TilesFailed; n > 0 {
		return r.rep, fmt.Errorf("%d %w (first: %s: %s); the others were written", n, ErrTilesFailed, r.rep.Failed[0].Tile, r.rep.Failed[0].Error)
	}
	return r.rep, nil
}

type runner struct {
	o     Options
	eng   *model.Engine
	src   Source
	sink  Sink
	sty   *stylizer
	prog  *pipeline.Progress
	cache *tileCache
	mu    sync.Mutex // guards rep.Failed (source goroutine and sink)
	rep   *Report
	t     int // tile size in px
}

func (r *runner) fail(t maptile.Tile, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Failed = append(r.rep.Failed, TileError{Tile: TileString(t), Error: err.Error()})
}

// coverage lists the tiles to stylize per zoom: the region's tiles the
// source has (all of the region for sources that cannot list), or every
// tile of the source.
func (r *runner) coverage(ctx context.Context, zmin, zmax maptile.Zoom) (map[maptile.Zoom][]maptile.Tile, error) {
	md := r.src.Metadata()
	if md.HasZooms && (zmax < md.MinZoom || zmin > md.MaxZoom) {
		return nil, fmt.Errorf("zoom %d-%d is outside the source's zooms %d-%d", zmin, zmax, md.MinZoom, md.MaxZoom)
	}
	have, lerr := r.src.List(ctx, zmin, zmax)
	if lerr != nil && !errors.Is(lerr, ErrCannotList) {
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
			ts, err := Cover(r.o.Region, z)
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
		what := "the source has no tiles"
		if !r.o.Region.IsZero() {
			what = "the source has no tiles in the region"
		}
		if all, err := r.src.List(ctx, 0, 30); err == nil && len(all) > 0 {
			return nil, fmt.Errorf("zoom %d-%d: %s at these zooms (it has zooms %d-%d)", zmin, zmax, what, all[0].Z, all[len(all)-1].Z)
		}
		return nil, fmt.Errorf("zoom %d-%d: %s at these zooms", zmin, zmax, what)
	}
	return out, nil
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
		ras, err = decodeTile(TileString(t), b)
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
		if ras, err := decodeTile(TileString(t), b); err == nil && ras.w == ras.h && ras.w > 0 {
			r.t = ras.w
		}
	}
	return r.t
}

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
}

type coreTile struct {
	t     maptile.Tile
	alpha []byte
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
	if k := max(1, r.eng.Conv.SizeMultiple); margin%k != 0 {
		margin += k - margin%k
	}
	return n, margin
}

// defaultMargin covers the model's receptive field, so that with shared
// statistics a metatile's core sees exactly what it would see in the whole
// map: at least 64 px for deep style nets (normalisation or strides; the
// measured figure below which tile seams show), at least 8 px for local
// filters such as builtin:ink, at most 256 px.
func defaultMargin(eng *model.Engine) int {
	m := receptiveRadius(eng.Model) + 2
	if onnx.HasInstanceNorm(eng.Model) || eng.Conv.SizeMultiple > 1 {
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
		if r.sty.shared() || !onnx.HasInstanceNorm(r.eng.Model) {
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
			r.fail(t, errors.New("no readable tile at this zoom"))
		}
		r.prog.Add(int64(len(want)))
		return nil, nil
	}
	n, margin := r.geometry()
	r.rep.TileSize, r.rep.Metatile, r.rep.Margin = r.t, n, margin
	minX, minY := want[0].X, want[0].Y
	for _, t := range want {
		minX, minY = min(minX, t.X), min(minY, t.Y)
	}
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
	var plans []metaPlan
	todoSet := map[maptile.Tile]bool{}
	for _, k := range order {
		var todo []maptile.Tile
		for _, t := range groups[k] {
			has, err := r.sink.Has(t)
			if err != nil {
				return nil, err
			}
			if has {
				r.rep.TilesSkipped++
				continue
			}
			todo = append(todo, t)
			todoSet[t] = true
		}
		r.prog.Add(int64(len(groups[k]) - len(todo)))
		plans = append(plans, metaPlan{minX + k.mx*uint32(n), minY + k.my*uint32(n), todo})
	}
	if len(todoSet) == 0 {
		return nil, nil
	}
	zp := &zonePlan{z: z, want: want, n: n, margin: margin, maxX: minX, maxY: minY}
	for _, t := range want {
		zp.maxX, zp.maxY = max(zp.maxX, t.X), max(zp.maxY, t.Y)
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
		out, err := r.sty.Stylize(ctx, j.planes, j.w, j.h, j.stats)
		model.PutPlanes(j.planes) // for the model's own buffers
		if err != nil {
			return nil, fmt.Errorf("metatile z%d at %d/%d: %w", j.z, j.x0, j.y0, err)
		}
		r.mu.Lock()
		r.rep.InferencePixels += int64(j.w) * int64(j.h)
		r.mu.Unlock()
		j.stylized, j.planes = out, nil
		return j, nil
	}
	return pipeline.Run(ctx, pipeline.Config{Workers: r.o.Workers}, source, work, r.writeMeta)
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
	z, n, margin, maxX, maxY := zp.z, zp.n, zp.margin, zp.maxX, zp.maxY
	ring := (margin + r.t - 1) / r.t
	for _, p := range zp.plans {
		cols := int(min(uint32(n), maxX-p.x0+1))
		rows := int(min(uint32(n), maxY-p.y0+1))
		g := &grid{cols: cols + 2*ring, rows: rows + 2*ring, t: r.t}
		g.cells = make([]*raster, g.cols*g.rows)
		todo := map[maptile.Tile]bool{}
		for _, t := range p.todo {
			todo[t] = true
		}
		job := &metaJob{z: z, x0: p.x0, y0: p.y0, cols: cols, rows: rows, margin: margin, stats: stats, zone: zp}
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
					return ctx.Err()
				}
				core := gx >= ring && gx < ring+cols && gy >= ring && gy < ring+rows
				if err != nil {
					if core && todo[t] {
						r.fail(t, err)
						r.prog.Add(1)
					}
					continue
				}
				if !ras.blank() {
					// Fully transparent tiles carry no content: the
					// canvas mirrors their neighbours instead.
					g.cells[gy*g.cols+gx] = ras
				}
				if core && todo[t] {
					if ras == nil {
						r.rep.TilesEmpty++
						r.prog.Add(1)
						continue
					}
					job.core = append(job.core, coreTile{t: t, alpha: ras.alpha})
				}
			}
		}
		if len(job.core) == 0 && zp.blend == nil {
			continue
		}
		var ok bool
		job.planes, job.w, job.h, ok = g.planes(ring*r.t - margin)
		if !ok {
			if zp.blend == nil {
				continue
			}
			job.planes = nil
		}
		if err := emit(job); err != nil {
			return err
		}
	}
	return nil
}

// writeMeta cuts a stylized metatile into tiles, encodes and writes them
// (the pipeline's sink: one goroutine, in plan order).
func (r *runner) writeMeta(ctx context.Context, j *metaJob) error {
	// Cut and encode the tiles in parallel: PNG encoding is the costliest
	// step after the model, and the model waits for no one here.
	var done []blendDone
	if bl := j.zone.blend; bl != nil {
		var err error
		if done, err = bl.add(j); err != nil {
			return err
		}
	} else {
		for _, c := range j.core {
			done = append(done, blendDone{c: c, p: j.stylized, w: j.w, h: j.h,
				x0: j.margin + int(c.t.X-j.x0)*r.t, y0: j.margin + int(c.t.Y-j.y0)*r.t})
		}
	}
	batch := make([]Encoded, len(done))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, d := range done {
		c := d.c
		g.Go(func() error {
			b, err := encodePlanes(r.o.Format, r.o.Quality, d.p, d.w, d.h, d.x0, d.y0, r.t, c.alpha)
			if err != nil {
				return fmt.Errorf("tile %s: %w", TileString(c.t), err)
			}
			batch[i] = Encoded{Tile: c.t, Data: b}
			return nil
		})
	}
	err := g.Wait()
	if j.stylized != nil {
		canvasBufs.put(j.stylized) // the next metatile's canvas
		j.stylized = nil
	}
	if err != nil {
		return err
	}
	if len(batch) == 0 {
		r.rep.Metatiles++
		if afterBatch != nil {
			afterBatch(r.rep.Metatiles)
		}
		return nil
	}
	if err := r.sink.Write(batch); err != nil {
		return err
	}
	r.rep.Metatiles++
	r.rep.TilesWritten += len(batch)
	r.prog.Add(int64(len(batch)))
	if afterBatch != nil {
		afterBatch(r.rep.Metatiles)
	}
	return nil
}

// afterBatch, when set by a test, is called after each metatile is written
// (to interrupt a run at a known point).
var afterBatch func(metatiles int)

// MaxSamplePixels bounds the sample the statistics are measured on: large
// enough to be representative at full resolution, small enough for memory
// (la_muse needs about 1 KiB per pixel).
const MaxSamplePixels = 1792 * 1792

// zoomStats measures (or reloads, on resume) the statistics of a zoom on a
// mosaic of its tiles at full resolution: the whole zoom when it fits,
// else evenly spaced columns and rows of it.
func (r *runner) zoomStats(ctx context.Context, z maptile.Zoom, want []maptile.Tile) (Stats, error) {
	_, margin := r.geometry()
	key := statsKey(fmt.Sprintf("%s|margin %d|tile %d|sample %d", r.eng.Name(), margin, r.t, MaxSamplePixels), int(z))
	if b, err := r.sink.State(key); err == nil && b != nil {
		if st, err := unmarshalStats(b, len(r.sty.apply.ExtraInputs)); err == nil {
			return st, nil
		}
	}
	minX, minY, maxX, maxY := want[0].X, want[0].Y, want[0].X, want[0].Y
	for _, t := range want {
		minX, minY = min(minX, t.X), min(minY, t.Y)
		maxX, maxY = max(maxX, t.X), max(maxY, t.Y)
	}
	k := max(1, isqrt(MaxSamplePixels)/r.t)
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

// parents returns the sorted unique parents of tiles.
func parents(ts []maptile.Tile) []maptile.Tile {
	set := map[maptile.Tile]bool{}
	var out []maptile.Tile
	for _, t := range ts {
		if t.Z == 0 {
			continue
		}
		p := t.Parent()
		if !set[p] {
			set[p] = true
			out = append(out, p)
		}
	}
	sortTiles(out)
	return out
}

// overviews builds zooms from-1 down to to from the written tiles.
func (r *runner) overviews(ctx context.Context, base []maptile.Tile, from, to maptile.Zoom) error {
	ts := base
	for z := from; z > to; z-- {
		ts = parents(ts)
		var batch []Encoded
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			if err := r.sink.Write(batch); err != nil {
				return err
			}
			r.rep.OverviewTiles += len(batch)
			r.prog.Add(int64(len(batch)))
			batch = batch[:0]
			return nil
		}
		for _, p := range ts {
			if err := ctx.Err(); err != nil {
				return err
			}
			has, err := r.sink.Has(p)
			if err != nil {
				return err
			}
			if has {
				r.rep.TilesSkipped++
				r.prog.Add(1)
				continue
			}
			var kids [4]*raster
			t := 0
			for _, c := range p.Children() {
				b, err := r.sink.Get(c)
				if err != nil {
					return err
				}
				if b == nil {
					continue
				}
				ras, err := decodeTile(TileString(c), b)
				if err != nil {
					return fmt.Errorf("overview %s: %w", TileString(p), err)
				}
				slot := int(c.Y-2*p.Y)*2 + int(c.X-2*p.X) // row-major quad
				kids[slot] = ras
				t = ras.w
			}
			if t == 0 {
				r.prog.Add(1)
				continue
			}
			rgb, alpha := downsample2(kids, t)
			b, err := encodeTile(r.o.Format, r.o.Quality, t, t, rgb, alpha)
			if err != nil {
				return err
			}
			batch = append(batch, Encoded{Tile: p, Data: b})
			if len(batch) >= 64 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
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

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return filepath.Clean(a)
	}
	return filepath.Clean(p)
}
