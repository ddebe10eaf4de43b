package tiles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
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
type Stats []ort.Tensor

// stylizer runs the model on metatile canvases, with shared statistics
// when the model has InstanceNormalization and they were asked for.
type stylizer struct {
	eng            *model.Engine
	apply, measure *model.Net
	note           string // why shared statistics are off, when they are
	inferNS, runs  atomic.Int64
	// the engine's own counters when the run started (it may be shared
	// between runs)
	engNS   time.Duration
	engRuns int64
}

func newStylizer(eng *model.Engine, mode StatsMode) (*stylizer, error) {
	s := &stylizer{eng: eng}
	s.engNS, s.engRuns = eng.InferenceTime()
	if mode != StatsShared {
		return s, nil
	}
	c := eng.Conv
	opt := eng.Options()
	switch {
	case !onnx.HasInstanceNorm(eng.Model):
		s.note = "model has no InstanceNormalization: nothing to share"
		return s, nil
	case c.Float16:
		s.note = "float16 model: statistics rewrite supports float32 graphs only, using per-window statistics"
		return s, nil
	case c.FixedW > 0:
		s.note = "fixed-size model: using per-window statistics"
		return s, nil
	case opt.Passes > 1 || opt.MaxSide > 0:
		s.note = "--passes/--max-side: using per-window statistics"
		return s, nil
	}
	apply, measure, _, err := onnx.SplitInstanceNorm(eng.Model)
	if err != nil {
		return nil, err
	}
	dev, _ := ort.ParseDevice(eng.Device())
	so := ort.SessionOptions{Device: dev, Threads: opt.Threads}
	if s.apply, err = model.NewNet(apply, c, so); err != nil {
		return nil, err
	}
	if s.measure, err = model.NewNet(measure, c, so); err != nil {
		s.apply.Close()
		return nil, err
	}
	if fmt.Sprint(s.apply.ExtraInputs) != fmt.Sprint(s.measure.ExtraOutputs) {
		s.Close()
		return nil, fmt.Errorf("model %s: statistics rewrite: inputs %v do not match outputs %v", eng.Name(), s.apply.ExtraInputs, s.measure.ExtraOutputs)
	}
	return s, nil
}

func (s *stylizer) shared() bool { return s.apply != nil }

func (s *stylizer) Close() {
	if s.apply != nil {
		s.apply.Close()
	}
	if s.measure != nil {
		s.measure.Close()
	}
}

// inference is Σ model run time and count of this run, statistics runs
// included.
func (s *stylizer) inference() (time.Duration, int64) {
	d, n := s.eng.InferenceTime()
	return d - s.engNS + time.Duration(s.inferNS.Load()), n - s.engRuns + s.runs.Load()
}

// padded pads planes by reflection to the model's size multiple.
func (s *stylizer) padded(p []float32, w, h int) ([]float32, int, int) {
	k := max(1, s.eng.Conv.SizeMultiple)
	pw, ph := (w+k-1)/k*k, (h+k-1)/k*k
	if pw == w && ph == h {
		return p, w, h
	}
	return model.PadReflect(p, w, h, 0, 0, pw, ph), pw, ph
}

func (s *stylizer) timed(ctx context.Context, n *model.Net, p []float32, w, h int, extra []ort.Tensor) ([]float32, int, int, []ort.Tensor, error) {
	t := time.Now()
	out, ow, oh, ex, err := n.RunExtra(ctx, p, w, h, extra)
	s.inferNS.Add(int64(time.Since(t)))
	s.runs.Add(1)
	return out, ow, oh, ex, err
}

// Measure runs the measure variant on a sample picture.
func (s *stylizer) Measure(ctx context.Context, p []float32, w, h int) (Stats, error) {
	pp, pw, ph := s.padded(p, w, h)
	_, _, _, st, err := s.timed(ctx, s.measure, pp, pw, ph, nil)
	if err != nil {
		return nil, fmt.Errorf("measure statistics: %w", err)
	}
	return Stats(st), nil
}

// Stylize stylizes a canvas, with the given statistics when shared (nil:
// the model's own per-window statistics).
func (s *stylizer) Stylize(ctx context.Context, p []float32, w, h int, st Stats) ([]float32, error) {
	opt := s.eng.Options()
	net := s.apply
	if st == nil || !s.shared() {
		if opt.Passes > 1 || opt.MaxSide > 0 || s.eng.Conv.FixedW > 0 || s.eng.Conv.Margin > 0 {
			return s.eng.StylizePlanes(ctx, p, w, h)
		}
		net, st = s.eng.Net(), nil // one pass over the canvas: no copies beyond the size multiple
	}
	pp, pw, ph := s.padded(p, w, h)
	out, ow, oh, _, err := s.timed(ctx, net, pp, pw, ph, st)
	if err != nil {
		return nil, err
	}
	switch tx, ty := pw-ow, ph-oh; {
	case tx == 0 && ty == 0:
	case tx > 0 && ty > 0 && tx <= pw/4 && ty <= ph/4:
		// Borders trimmed (unpadded convolutions): the output is centred
		// on the input, as the engine places it; the lost rim is reflected
		// (it lies in the metatile's margin, which is cut away).
		out = model.PadReflect(out, ow, oh, tx/2, ty/2, pw, ph)
	default:
		// The model changed the scale (an upsampling net).
		out = model.ResizePlanes(out, ow, oh, pw, ph)
	}
	if pw != w || ph != h {
		out = model.Crop(out, pw, ph, 0, 0, w, h)
	}
	hw := w * h
	if opt.PreserveColors {
		for i := 0; i < hw; i++ {
			ys := 0.299*out[i] + 0.587*out[hw+i] + 0.114*out[2*hw+i]
			yc := 0.299*p[i] + 0.587*p[hw+i] + 0.114*p[2*hw+i]
			for c := 0; c < 3; c++ {
				out[c*hw+i] = p[c*hw+i] + ys - yc
			}
		}
	}
	if m := float32(opt.ContentMix); m > 0 {
		for i := range out {
			out[i] = (1-m)*out[i] + m*p[i]
		}
	}
	return out, nil
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
