package tiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/option"
	"github.com/stylize/stylize/tiles/store"
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
	} else if o.MaxZoom > maxZoom {
		errs = append(errs, &option.Error{Key: "zoom", Err: fmt.Errorf("%d: want at most %d", o.MaxZoom, maxZoom)})
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
func Run(ctx context.Context, eng Engine, o Options) (*Report, error) {
	o.applyDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if a, b := absPath(o.Source), absPath(o.Output); a == b {
		return nil, fmt.Errorf("output %s is the source: write the stylized tiles elsewhere", o.Output)
	}
	start := time.Now()
	src, err := store.OpenSource(ctx, o.Source, o.SourceOptions)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	r := newRunner(o, eng, src)
	wanted, err := r.coverage(ctx, r.stylized, o.MaxZoom)
	if err != nil {
		return nil, err
	}
	sink, err := store.OpenSink(o.Output, o.Format)
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	r.sink = sink
	if r.sty, err = newStylizer(eng, o.Stats); err != nil {
		return nil, err
	}
	defer r.sty.Close()
	if o.Stats == StatsShared && !r.sty.shared() {
		r.rep.StatsNote = r.sty.note
	}
	if err := r.stylizeAll(ctx, wanted); err != nil {
		return r.rep, err
	}
	if err := sink.Finish(r.metadata(wanted)); err != nil {
		return r.rep, err
	}
	return r.rep, r.summarise(time.Since(start))
}

// runner is one run. Its report is written by one goroutine at a time:
// Run's before and after the pipeline, the pipeline's sink (writeMeta)
// while it runs; the source and the workers hand what they learn about
// tiles to the sink with each metatile (metaJob.tally).
type runner struct {
	o        Options
	eng      Engine
	src      store.Source
	sink     store.Sink
	sty      *stylizer
	prog     *pipeline.Progress
	cache    *tileCache
	rep      *Report
	t        int          // tile size in px
	stylized maptile.Zoom // first zoom stylized from the source
	lowest   maptile.Zoom // first zoom written (overviews below stylized)
}

func newRunner(o Options, eng Engine, src store.Source) *runner {
	r := &runner{o: o, eng: eng, src: src, cache: newTileCache(1024), stylized: o.MinZoom, lowest: o.MinZoom}
	r.rep = &Report{Source: o.Source, Output: o.Output, Model: eng.Name(), Device: eng.Device(),
		Stats: string(o.Stats), Format: string(o.Format)}
	if o.Overviews >= 0 {
		if o.PerZoom {
			r.stylized = maptile.Zoom(o.Overviews)
		}
		r.lowest = maptile.Zoom(o.Overviews)
	}
	r.rep.Zooms = fmt.Sprintf("%d-%d", r.stylized, o.MaxZoom)
	if r.lowest < r.stylized {
		r.rep.OverviewZooms = fmt.Sprintf("%d-%d", r.lowest, r.stylized-1)
	}
	return r
}

// stylizeAll plans every zoom, runs the metatiles and builds the overviews.
func (r *runner) stylizeAll(ctx context.Context, wanted map[maptile.Zoom][]maptile.Tile) error {
	total := 0
	for _, ts := range wanted {
		total += len(ts)
	}
	if r.lowest < r.stylized {
		ps := wanted[r.stylized]
		for z := r.stylized; z > r.lowest; z-- {
			ps = parents(ps)
			total += len(ps)
		}
	}
	r.prog = pipeline.NewProgress(pipeline.ProgressOptions{Label: "stylize tiles " + r.o.Output, Unit: "tiles",
		Total: int64(total), Quiet: r.o.Quiet, W: r.o.Progress})
	defer r.prog.Finish()
	var zones []*zonePlan
	for z := r.stylized; z <= r.o.MaxZoom; z++ {
		zp, err := r.plan(ctx, z, wanted[z])
		if err != nil {
			return err
		}
		if zp != nil {
			zones = append(zones, zp)
		}
	}
	if err := r.stylizeZones(ctx, zones); err != nil {
		return err
	}
	if r.lowest < r.stylized {
		return r.overviews(ctx, wanted[r.stylized], r.stylized, r.lowest)
	}
	return nil
}

// metadata describes the output: the source's tileset (its version kept)
// under the output's name, with the zooms and bounds written.
func (r *runner) metadata(wanted map[maptile.Zoom][]maptile.Tile) store.Metadata {
	md := r.src.Metadata()
	md.Description = stylizedDescription(md, r.eng.Name())
	md.Name = outputName(r.o.Output)
	md.MinZoom, md.MaxZoom, md.HasZooms = r.lowest, r.o.MaxZoom, true
	switch {
	case !r.o.Region.IsZero():
		md.Bounds = r.o.Region.Bound()
	case md.Bounds.IsZero() || md.Bounds.Min == md.Bounds.Max:
		md.Bounds = tilesBound(wanted[r.o.MaxZoom])
	}
	return md
}

// outputName names a tileset after its output: the file or folder name
// without its extension.
func outputName(output string) string {
	base := filepath.Base(filepath.Clean(output))
	if ext := filepath.Ext(base); ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

// stylizedDescription says what the output is: the source's description
// (or name) and the model's file name (never its path).
func stylizedDescription(src store.Metadata, model string) string {
	style := strings.TrimSuffix(filepath.Base(model), filepath.Ext(model))
	if src.Description != "" {
		return src.Description + " (stylized with " + style + ")"
	}
	return src.Name + " stylized with " + style
}

// summarise fills in the run's totals; ErrTilesFailed when tiles failed.
func (r *runner) summarise(elapsed time.Duration) error {
	infer, runs := r.sty.inference()
	r.rep.Seconds = elapsed.Seconds()
	r.rep.InferenceSeconds, r.rep.InferenceRuns = infer.Seconds(), runs
	if r.rep.Seconds > 0 {
		r.rep.TilesPerSecond = float64(r.rep.TilesWritten+r.rep.OverviewTiles) / r.rep.Seconds
	}
	r.rep.TilesFailed = len(r.rep.Failed)
	if n := r.rep.TilesFailed; n > 0 {
		return fmt.Errorf("%d %w (first: %s: %s); the others were written", n, ErrTilesFailed, r.rep.Failed[0].Tile, r.rep.Failed[0].Error)
	}
	return nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return filepath.Clean(a)
	}
	return filepath.Clean(p)
}
