package tiles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/ort"
)

// StatsMode says where InstanceNormalization takes its statistics from.
type StatsMode string

// The statistics modes.
const (
	// StatsShared measures once per zoom on a full-resolution sample of the
	// region and normalises every metatile with it: colours agree across
	// metatiles, so their cuts do not show.
	StatsShared StatsMode = "shared"
	// StatsWindow lets every metatile normalise by its own statistics (the
	// model as trained).
	StatsWindow StatsMode = "window"
)

// Stats are the measured per-layer means and variances, in the apply
// graph's extra-input order.
type Stats = model.Stats

// Engine is what a tiles run needs of the style engine: the model on a
// metatile canvas, and the shared-statistics variant. *model.Engine has
// it; tests use fakes.
type Engine interface {
	Name() string
	Device() string
	Conventions() model.Conventions
	// HasInstanceNorm and ReceptiveRadius size the default margin.
	HasInstanceNorm() bool
	ReceptiveRadius() int
	InferenceTime() (time.Duration, int64)
	StylizePlanes(ctx context.Context, planes []float32, w, h int) ([]float32, error)
	// SharedStats opens the statistics variant; an error wrapping
	// model.ErrNoSharedStats says why the model cannot share.
	SharedStats() (model.Normalizer, error)
}

// Placer is an Engine that wants to know where each canvas lies on the map
// (paint.TileEngine: it starts a canvas from the pixels earlier metatiles
// painted in its margin). The runner calls StylizeAt instead of
// StylizePlanes when statistics are not shared; z is the zoom and (x, y)
// the canvas's top-left in global pixels of that zoom (the core's top-left
// tile times the tile size, minus margin; negative at the world's edge),
// with margin px of context around the core. Metatiles come in plan order
// (row-major per zoom, zooms ascending); with more than one worker a
// neighbour may still be running when its metatile starts.
type Placer interface {
	StylizeAt(ctx context.Context, z, x, y, margin int, planes []float32, w, h int) ([]float32, error)
}

// Blender is an Engine whose metatiles disagree where they overlap even
// with the margin (paint.TileEngine: each canvas is an optimisation of its
// own): with Blends true the default blend is half the margin, as with
// per-window statistics.
type Blender interface {
	Blends() bool
}

// stylizer runs the model on metatile canvases, with shared statistics
// when the model has InstanceNormalization and they were asked for.
type stylizer struct {
	eng  Engine
	norm model.Normalizer // nil: per-window statistics
	note string           // why shared statistics are off, when they are
	// the engine's own counters when the run started (it may be shared
	// between runs)
	engNS   time.Duration
	engRuns int64
}

func newStylizer(eng Engine, mode StatsMode) (*stylizer, error) {
	s := &stylizer{eng: eng}
	s.engNS, s.engRuns = eng.InferenceTime()
	if mode != StatsShared {
		return s, nil
	}
	n, err := eng.SharedStats()
	switch {
	case errors.Is(err, model.ErrNoSharedStats):
		s.note = err.Error()
	case err != nil:
		return nil, err
	}
	s.norm = n
	return s, nil
}

func (s *stylizer) shared() bool { return s.norm != nil }

func (s *stylizer) Close() {
	if s.norm != nil {
		s.norm.Close()
	}
}

// numStats is the number of statistics tensors of the shared variant.
func (s *stylizer) numStats() int {
	if s.norm == nil {
		return 0
	}
	return s.norm.NumStats()
}

// inference is Σ model run time and count of this run, statistics runs
// included.
func (s *stylizer) inference() (time.Duration, int64) {
	d, n := s.eng.InferenceTime()
	d, n = d-s.engNS, n-s.engRuns
	if s.norm != nil {
		sd, sn := s.norm.InferenceTime()
		d, n = d+sd, n+sn
	}
	return d, n
}

// Measure runs the measure variant on a sample picture.
func (s *stylizer) Measure(ctx context.Context, p []float32, w, h int) (Stats, error) {
	return s.norm.Measure(ctx, p, w, h)
}

// Stylize stylizes a canvas, with the given statistics when shared (nil:
// the model's own per-window statistics).
func (s *stylizer) Stylize(ctx context.Context, p []float32, w, h int, st Stats) ([]float32, error) {
	if st == nil || !s.shared() {
		return s.eng.StylizePlanes(ctx, p, w, h)
	}
	return s.norm.Stylize(ctx, p, w, h, st)
}

// stylizeMeta stylizes a metatile's canvas: through Placer when the engine
// has it and no statistics are shared.
func (s *stylizer) stylizeMeta(ctx context.Context, j *metaJob, t int) ([]float32, error) {
	if pl, ok := s.eng.(Placer); ok && (j.stats == nil || !s.shared()) {
		x, y := int(j.x0)*t-j.margin, int(j.y0)*t-j.margin
		return pl.StylizeAt(ctx, int(j.z), x, y, j.margin, j.planes, j.w, j.h)
	}
	return s.Stylize(ctx, j.planes, j.w, j.h, j.stats)
}

// statsKey names a zoom's statistics in the sink's run state; what
// identifies the measurement (model, margin, sample) is hashed into it.
func statsKey(what string, z int) string {
	h := fnv.New32a()
	h.Write([]byte(what))
	return fmt.Sprintf("stats-%08x-z%d.json", h.Sum32(), z)
}

type statsJSON struct {
	Shape [][]int64   `json:"shape"`
	Data  [][]float32 `json:"data"`
}

func marshalStats(st Stats) ([]byte, error) {
	var j statsJSON
	for _, t := range st {
		j.Shape = append(j.Shape, t.Shape)
		j.Data = append(j.Data, t.F32)
	}
	return json.Marshal(j)
}

func unmarshalStats(b []byte, want int) (Stats, error) {
	var j statsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	if len(j.Shape) != want || len(j.Data) != want {
		return nil, errors.New("statistics of another model")
	}
	st := make(Stats, want)
	for i := range st {
		st[i] = ort.Tensor{Shape: j.Shape[i], F32: j.Data[i]}
	}
	return st, nil
}
