package model

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync/atomic"
	"time"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/ort"
)

// Stats are a picture's InstanceNormalization statistics (each layer's
// mean and variance, [1, C, 1, 1]) in the order of the statistics rewrite
// (onnx.SplitInstanceNorm): measured on one picture, fed to another.
type Stats []ort.Tensor

// Halves is variant (b): the model cut at its feature map
// (onnx.SplitFeatures), optionally with statistics in and out. A picture
// placed at `at` is padded as the engine pads it (at = (Margin, Margin)
// is exactly the engine's padding).
type Halves interface {
	// Measure runs the whole model on the picture as the engine pads it and
	// returns its statistics (only when opened with statistics).
	Measure(ctx context.Context, planes []float32, w, h int) (Stats, error)
	// Encode runs the encoder half, with st when opened with statistics.
	Encode(ctx context.Context, planes []float32, w, h int, at image.Point, st Stats) (ort.Tensor, error)
	// Decode runs the decoder half on features and cuts the w×h picture
	// out (working size; Engine.Finish does the rest).
	Decode(ctx context.Context, feat ort.Tensor, w, h int, at image.Point, st Stats) ([]float32, error)
	// Where describes the cut, for messages.
	Where() string
	Close() error
}

// Normalizer is variant (c): statistics out (measure) and statistics in
// (stylize), so many windows of one picture share one normalisation.
// Pictures are padded only to the size multiple: the caller's windows
// carry their own margin.
type Normalizer interface {
	Measure(ctx context.Context, planes []float32, w, h int) (Stats, error)
	// Stylize runs the model normalised by st and applies the options'
	// colours and content mix (Finish).
	Stylize(ctx context.Context, planes []float32, w, h int, st Stats) ([]float32, error)
	// NumStats is the number of statistics tensors.
	NumStats() int
	// InferenceTime is the summed time and count of this variant's runs.
	InferenceTime() (time.Duration, int64)
	Close() error
}

// ErrNoSharedStats is wrapped by SharedStats' errors that mean "use the
// model as it is" rather than a failure.
var ErrNoSharedStats = errors.New("shared statistics unavailable")

// noStats is a reason for ErrNoSharedStats; its message is the reason only.
type noStats string

func (n noStats) Error() string        { return string(n) }
func (n noStats) Is(target error) bool { return target == ErrNoSharedStats }

// normalizer implements Normalizer.
type normalizer struct {
	e              *Engine
	apply, measure *Net
	inferNS, runs  atomic.Int64
}

// SharedStats opens variant (c) on the engine's session options. Models
// it cannot serve fail with an error wrapping ErrNoSharedStats that says
// why.
func (e *Engine) SharedStats() (Normalizer, error) {
	switch {
	case !e.HasInstanceNorm():
		return nil, noStats("model has no InstanceNormalization: nothing to share")
	case e.Conv.Float16:
		return nil, noStats("float16 model: statistics rewrite supports float32 graphs only, using per-window statistics")
	case e.Conv.FixedW > 0:
		return nil, noStats("fixed-size model: using per-window statistics")
	case e.opt.Passes > 1 || e.opt.MaxSide > 0:
		return nil, noStats("--passes/--max-side: using per-window statistics")
	}
	apply, measure, _, err := onnx.SplitInstanceNorm(e.Model)
	if err != nil {
		return nil, err
	}
	n := &normalizer{e: e}
	if n.apply, err = NewNet(apply, e.Conv, e.so); err != nil {
		return nil, err
	}
	if n.measure, err = NewNet(measure, e.Conv, e.so); err != nil {
		n.apply.Close()
		return nil, err
	}
	if fmt.Sprint(n.apply.ExtraInputs) != fmt.Sprint(n.measure.ExtraOutputs) {
		n.Close()
		return nil, fmt.Errorf("model %s: statistics rewrite: inputs %v do not match outputs %v", e.Name(), n.apply.ExtraInputs, n.measure.ExtraOutputs)
	}
	return n, nil
}

func (n *normalizer) NumStats() int { return len(n.apply.ExtraInputs) }

func (n *normalizer) InferenceTime() (time.Duration, int64) {
	return time.Duration(n.inferNS.Load()), n.runs.Load()
}

func (n *normalizer) Close() error { return errors.Join(n.apply.Close(), n.measure.Close()) }

// run pads planes to the size multiple and runs net (with st), timed.
func (n *normalizer) run(ctx context.Context, net *Net, planes []float32, w, h int, st Stats) ([]float32, int, int, Stats, padding, error) {
	p := n.e.Conv.padFor(w, h, image.Point{}, 0)
	canvas := p.apply(planes)
	t0 := time.Now()
	out, ow, oh, ex, err := net.RunExtra(ctx, canvas, p.pw, p.ph, st)
	n.inferNS.Add(int64(time.Since(t0)))
	n.runs.Add(1)
	p.release(canvas, planes)
	return out, ow, oh, Stats(ex), p, err
}

func (n *normalizer) Measure(ctx context.Context, planes []float32, w, h int) (Stats, error) {
	out, _, _, st, _, err := n.run(ctx, n.measure, planes, w, h, nil)
	if err != nil {
		return nil, fmt.Errorf("measure statistics: %w", err)
	}
	putF32(out)
	return st, nil
}

func (n *normalizer) Stylize(ctx context.Context, planes []float32, w, h int, st Stats) ([]float32, error) {
	out, ow, oh, _, p, err := n.run(ctx, n.apply, planes, w, h, st)
	if err != nil {
		return nil, err
	}
	return n.e.Finish(p.place(out, ow, oh), w, h, planes, w, h), nil
}

// ErrCannotSplit wraps the reasons a model cannot be cut into halves.
var ErrCannotSplit = errors.New("cannot blend in feature space")

// halves implements Halves.
type halves struct {
	e                *Engine
	enc, dec         *Net
	measure          *Net // nil without statistics
	where            string
	encSide, decSide []int // the halves' statistics inputs, as indices into Stats
}

// Split opens variant (b) on the engine's session options, with the
// statistics rewrite first when stats is set.
func (e *Engine) Split(stats bool) (Halves, error) {
	if e.Conv.FixedW > 0 {
		return nil, fmt.Errorf("fixed-size model (%dx%d windows): %w", e.Conv.FixedW, e.Conv.FixedH, ErrCannotSplit)
	}
	if e.opt.Passes > 1 {
		return nil, fmt.Errorf("%d passes: %w", e.opt.Passes, ErrCannotSplit)
	}
	base := e.Model
	var measure *onnx.Model
	if stats {
		apply, meas, _, err := onnx.SplitInstanceNorm(base)
		if err != nil {
			return nil, err
		}
		base, measure = apply, meas
	}
	sp, err := onnx.SplitFeatures(base)
	if err != nil {
		return nil, err
	}
	hv := &halves{e: e, where: sp.At}
	if hv.enc, err = newNet(sp.Encoder, e.Conv, e.so, e.Conv.InputName, sp.Features); err != nil {
		return nil, err
	}
	if hv.dec, err = newNet(sp.Decoder, e.Conv, e.so, sp.Features, e.Conv.OutputName); err != nil {
		hv.Close()
		return nil, err
	}
	if measure != nil {
		if hv.measure, err = NewNet(measure, e.Conv, e.so); err != nil {
			hv.Close()
			return nil, err
		}
		if hv.encSide, err = indices(hv.enc.ExtraInputs, hv.measure.ExtraOutputs); err == nil {
			hv.decSide, err = indices(hv.dec.ExtraInputs, hv.measure.ExtraOutputs)
		}
		if err != nil {
			hv.Close()
			return nil, fmt.Errorf("model %s: %w", e.Name(), err)
		}
	}
	return hv, nil
}

// indices finds each name among all.
func indices(names, all []string) ([]int, error) {
	idx := make([]int, len(names))
	for i, n := range names {
		idx[i] = -1
		for j, a := range all {
			if a == n {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			return nil, fmt.Errorf("split: no statistics for %s", n)
		}
	}
	return idx, nil
}

// side picks a half's statistics inputs.
func side(idx []int, st Stats) ([]ort.Tensor, error) {
	ts := make([]ort.Tensor, len(idx))
	for i, j := range idx {
		if j >= len(st) {
			return nil, fmt.Errorf("split: %d statistics given, want %d or more", len(st), j+1)
		}
		ts[i] = st[j]
	}
	return ts, nil
}

func (hv *halves) Where() string { return hv.where }

func (hv *halves) Close() error {
	return errors.Join(hv.enc.Close(), hv.dec.Close(), hv.measure.Close())
}

// pad is the engine's padding of a w×h picture placed at at.
func (hv *halves) pad(w, h int, at image.Point) padding {
	return hv.e.Conv.padFor(w, h, at, hv.e.Conv.Margin)
}

func (hv *halves) Measure(ctx context.Context, planes []float32, w, h int) (Stats, error) {
	if hv.measure == nil {
		return nil, errors.New("split: opened without statistics")
	}
	m := hv.e.Conv.Margin
	p := hv.pad(w, h, image.Pt(m, m))
	canvas := p.apply(planes)
	out, _, _, st, err := hv.measure.RunExtra(ctx, canvas, p.pw, p.ph, nil)
	p.release(canvas, planes)
	if err != nil {
		return nil, fmt.Errorf("statistics %w", err)
	}
	putF32(out)
	return Stats(st), nil
}

func (hv *halves) Encode(ctx context.Context, planes []float32, w, h int, at image.Point, st Stats) (ort.Tensor, error) {
	extra, err := side(hv.encSide, st)
	if err != nil {
		return ort.Tensor{}, err
	}
	p := hv.pad(w, h, at)
	canvas := p.apply(planes)
	in := hv.enc.toTensor(canvas, p.pw, p.ph)
	p.release(canvas, planes)
	defer putF32(in.F32)
	var f ort.Tensor
	err = hv.enc.run(ctx, in, extra, func(res []ort.Tensor) error {
		f = copyTensors(res[:1])[0]
		return nil
	})
	if err != nil {
		return ort.Tensor{}, fmt.Errorf("encoder run on %dx%d: %w", p.pw, p.ph, err)
	}
	if len(f.Shape) != 4 || f.Shape[0] != 1 || f.Shape[2] < 1 || f.Shape[3] < 1 {
		return ort.Tensor{}, fmt.Errorf("encoder features have shape %v, want [1 C h w]", f.Shape)
	}
	return f, nil
}

func (hv *halves) Decode(ctx context.Context, feat ort.Tensor, w, h int, at image.Point, st Stats) ([]float32, error) {
	extra, err := side(hv.decSide, st)
	if err != nil {
		return nil, err
	}
	var out []float32
	var ow, oh int
	err = hv.dec.run(ctx, feat, extra, func(res []ort.Tensor) error {
		var err error
		out, ow, oh, err = hv.dec.fromTensor(res[0])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("decoder run on %v features: %w", feat.Shape, err)
	}
	return hv.pad(w, h, at).place(out, ow, oh), nil
}
