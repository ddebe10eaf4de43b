package temporal

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/option"
	"github.com/stylize/stylize/pipeline/ort"
)

// Mode is where the processor blends the past into the present.
type Mode string

// The modes.
const (
	// ModeAuto picks ModeFeature when the model's graph can be split at its
	// feature map, else ModeOutput.
	ModeAuto Mode = "auto"
	// ModeFeature blends the warped previous features into the current
	// ones between the encoder and decoder halves of the network, so the
	// decoder re-synthesises sharp strokes.
	ModeFeature Mode = "feature"
	// ModeOutput blends the warped previous output into the fresh
	// stylization (any model; trades flicker for some blur).
	ModeOutput Mode = "output"
	// ModeOff stylizes every frame on its own.
	ModeOff Mode = "off"
)

// ParseMode reads a mode name ("" = auto).
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeAuto:
		return ModeAuto, nil
	case ModeFeature, ModeOutput, ModeOff:
		return Mode(s), nil
	}
	return "", fmt.Errorf("temporal mode %q: want auto, feature, output or off", s)
}

const (
	// hardCutFactor times CutThreshold is a cut without asking the flow.
	// BBB's fade from black moves the histograms by up to 0.48 per frame,
	// its cuts by 0.37–0.70: colours alone do not separate them.
	hardCutFactor = 4
	// confirmCoverage: below this share of reliable flow a colour change
	// is taken for a cut. On BBB the three cuts leave 0.04–0.08 reliable,
	// the fade from black 0.43 or more, ordinary frames 0.64–1.
	confirmCoverage = 0.3
)

// Default weights, measured on the 320×180 stata pan (see
// BENCHMARKS.md, "Temporal coherence").
const (
	// DefaultFeatureWeight keeps 90 % of the warped past features where the
	// flow is reliable: E_warp about 0.3× per-frame with strokes kept sharp.
	DefaultFeatureWeight = 0.9
	// DefaultOutputWeight is lower: output blending blurs as it removes
	// flicker.
	DefaultOutputWeight = 0.3
)

// Options configure a Processor. The zero value is the default: auto
// mode with the mode's default weight.
type Options struct {
	Mode Mode
	// Weight is how much of the warped past is kept where the flow is
	// reliable, 0..1; 0 = the mode's default. (Per-frame output is Mode
	// off; the CLI maps --temporal-weight 0 to it.)
	Weight float64
	// PreBlend initialises the content from the previous frame: the
	// encoder sees the frame mixed with the warped previous content by this
	// weight where the flow is reliable, so static regions get identical
	// input (feature mode only; 0 = off).
	PreBlend float64
	// CutThreshold is the colour-histogram distance (0..1) between
	// consecutive frames above which a scene cut resets the state, when
	// the flow confirms it (less than 30 % reliable) or the distance is
	// 4 times as large; 0 = 0.2.
	CutThreshold float64
	// MinCoverage is the share of reliable flow below which the flow counts
	// as failed and the state is reset too; 0 = 0.25.
	MinCoverage float64
	// FlowMaxSide halves the frames for flow estimation until their longer
	// side is at most this; 0 = 480.
	FlowMaxSide int
	// NoAlign turns off stride-grid alignment (feature mode): by default
	// the picture is padded with an offset that follows the accumulated
	// global motion, so the content keeps its phase relative to the
	// network's stride-4 grid and the features move by whole feature
	// pixels, which warp without resampling loss. Alignment runs the
	// encoder in Ordered.
	NoAlign bool
	// StatsEMA smooths the InstanceNormalization statistics over time
	// (feature mode): each layer normalises with this share of the
	// previous frames' mean and variance (an exponential moving average,
	// reset at cuts) and the rest from the frame's own. 0 = off. Costs one
	// more model run per frame (the statistics are measured first).
	StatsEMA float64
	// Flow tunes the flow estimator.
	Flow FlowOptions
}

func (o *Options) applyDefaults() {
	if o.Mode == "" {
		o.Mode = ModeAuto
	}
	if o.CutThreshold <= 0 {
		// Within a shot, motion and noise move the 16-bin histograms by
		// < 0.05 (0.014 on the stata pan); a cut from a photo to a
		// painting measured 0.25. Cuts between similar colours are left
		// to the flow-failure test.
		o.CutThreshold = 0.2
	}
	if o.MinCoverage <= 0 {
		// Below a quarter of reliable pixels the flow has lost the scene
		// (a cut with similar colours, a flash, a whip pan).
		o.MinCoverage = 0.25
	}
	if o.FlowMaxSide <= 0 {
		// The features live at ¼ resolution: flow at ≤ 480 px (half of
		// 640×360 frames) is precise enough and 4× cheaper than full size.
		o.FlowMaxSide = 480
	}
}

// Table declares the temporal options a video job exposes (--temporal,
// --temporal-weight; batch keys temporal, temporal_weight).
func (o *Options) Table() *option.Table {
	modes := []string{string(ModeOff), string(ModeAuto), string(ModeFeature), string(ModeOutput)}
	return option.New(
		option.Func(option.String, "temporal", "temporal coherence between frames: "+strings.Join(modes, ", "),
			func() any { return string(o.Mode) },
			func(v any) error { o.Mode = Mode(v.(string)); return nil },
			func() bool { return o.Mode == "" }).Default(string(ModeAuto)).
			Check(func(v any) error {
				if _, err := ParseMode(v.(string)); err != nil {
					return errors.New("want one of " + strings.Join(modes, ", "))
				}
				return nil
			}),
		option.FloatVar(&o.Weight, "temporal_weight", "how much flicker to remove, 0..1: the share of the warped past kept where the motion is reliable (0 = per-frame, like --temporal off)").
			DefaultText(fmt.Sprintf("the mode's, %g feature / %g output", DefaultFeatureWeight, DefaultOutputWeight)).Range(0, 1, ""),
	)
}

// Validate checks the options without touching the model. It returns
// every problem; those of Mode and Weight are *option.Error.
func (o Options) Validate() error {
	t := o.Table()
	t.MarkNonZero()
	errs := []error{t.Validate()}
	if o.PreBlend < 0 || o.PreBlend > 1 || math.IsNaN(o.PreBlend) {
		errs = append(errs, fmt.Errorf("temporal pre-blend %g: want 0..1", o.PreBlend))
	}
	if o.CutThreshold < 0 || o.CutThreshold > 1 {
		errs = append(errs, fmt.Errorf("temporal cut threshold %g: want 0..1", o.CutThreshold))
	}
	if o.MinCoverage < 0 || o.MinCoverage > 1 {
		errs = append(errs, fmt.Errorf("temporal min coverage %g: want 0..1", o.MinCoverage))
	}
	if o.StatsEMA < 0 || o.StatsEMA >= 1 || math.IsNaN(o.StatsEMA) {
		errs = append(errs, fmt.Errorf("temporal statistics EMA %g: want 0 (off) up to below 1", o.StatsEMA))
	}
	if o.FlowMaxSide < 0 || (o.FlowMaxSide > 0 && o.FlowMaxSide < 32) {
		errs = append(errs, fmt.Errorf("temporal flow max side %d: want 0 (default) or at least 32", o.FlowMaxSide))
	}
	return errors.Join(errs...)
}

// Engine is what the processor needs of the style engine: the whole model
// per frame (output mode, off), the model cut at its feature map (feature
// mode) and the shared finishing step. *model.Engine has it; tests use
// fakes.
type Engine interface {
	Name() string
	Conventions() model.Conventions
	// WorkSize is the size the model runs at (the engine's MaxSide).
	WorkSize(w, h int) (int, int)
	StylizePlanes(ctx context.Context, planes []float32, w, h int) ([]float32, error)
	// Finish brings a working-size result back to the frame's size and
	// applies the colour and strength options.
	Finish(work []float32, ww, wh int, content []float32, w, h int) []float32
	// Split opens the encoder and decoder halves (with the statistics
	// rewrite when stats is set); errors wrapping model.ErrCannotSplit, or
	// any other, mean the graph cannot be cut.
	Split(stats bool) (model.Halves, error)
}

// Processor stylizes a video's frames with temporal coherence. Its two
// methods match video.Processor: Parallel (any order, concurrently) does
// the per-frame work — the encoder half, the flow pyramid, the colour
// histogram — and Ordered (one frame at a time, in order) estimates the
// flow to the previous frame, blends and runs the decoder half. The state
// is bounded: the previous frame's pyramid, histogram, blended features (or
// output) and content, nothing older.
type Processor struct {
	eng    Engine
	opt    Options
	mode   Mode
	why    string
	weight float32
	conv   model.Conventions

	halves    model.Halves // feature mode
	withStats bool         // statistics EMA: the halves measure and take statistics

	// shift, when set (tests), replaces the estimated flow by a known
	// translation of the content per frame.
	shift *[2]float32

	prev *state // owned by Ordered
	st   Stats
	mu   sync.Mutex // guards st for Stats() from other goroutines
}

// Stats describe a run so far.
type Stats struct {
	Frames   int           // frames through Ordered
	Resets   int           // state resets: the first frame, cuts, flow failures, size changes
	Cuts     int           // resets from the histogram test
	Failures int           // resets from too little reliable flow
	Coverage float64       // mean share of reliable flow over blended frames
	FlowTime time.Duration // time spent estimating flow in Ordered
	// ModelTime is the time spent in the split halves and the statistics
	// graph (whole-model runs in output mode count in the engine's
	// InferenceTime instead).
	ModelTime time.Duration
	blended   int
}

type state struct {
	w, h    int
	pyr     *Pyramid
	hist    Histogram
	feat    []float32 // blended features [C, fh, fw] (feature mode)
	fshape  []int64
	out     []float32   // blended output planes (output mode)
	content []float32   // the content the encoder saw (pre-blend)
	stats   model.Stats // smoothed normalisation statistics (EMA)
	phase   [2]float64  // accumulated global motion in working px (alignment)
	off     [2]int      // padding offset the features were computed with
}

// partial is what Parallel hands to Ordered.
type partial struct {
	w, h   int
	full   []float32 // content at full size
	planes []float32 // content at working size
	ww, wh int       // working size (MaxSide)
	pyr    *Pyramid
	hist   Histogram
	feat   *ort.Tensor // encoder output (feature mode without pre-blend)
	fresh  []float32   // per-frame stylization at full size (output/off modes)
	stats  model.Stats // measured normalisation statistics (EMA)
}

// NewProcessor prepares temporal processing with eng's model. In auto
// mode it splits the graph for feature blending and falls back to output
// blending when it cannot (Mode tells which, and why).
func NewProcessor(eng Engine, opt Options) (*Processor, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt.applyDefaults()
	mode, _ := ParseMode(string(opt.Mode))
	p := &Processor{eng: eng, opt: opt, conv: eng.Conventions()}
	switch mode {
	case ModeOff:
		p.mode, p.why = ModeOff, "per-frame (temporal off)"
	case ModeOutput:
		p.mode, p.why = ModeOutput, "output blending (asked for)"
	default:
		hv, err := eng.Split(opt.StatsEMA > 0)
		switch {
		case err == nil:
			p.halves, p.withStats = hv, opt.StatsEMA > 0
			p.mode, p.why = ModeFeature, "feature blending at "+hv.Where()
		case mode == ModeFeature:
			return nil, fmt.Errorf("temporal feature mode with %s: %w", eng.Name(), err)
		default:
			p.mode, p.why = ModeOutput, "output blending: "+err.Error()
		}
	}
	p.weight = float32(opt.Weight)
	if p.weight == 0 {
		p.weight = DefaultOutputWeight
		if p.mode == ModeFeature {
			p.weight = DefaultFeatureWeight
		}
	}
	return p, nil
}

// Close releases the split sessions (the engine stays open).
func (p *Processor) Close() error {
	if p.halves != nil {
		return p.halves.Close()
	}
	return nil
}

// Mode is the mode in use and why (for the log and the report).
func (p *Processor) Mode() (Mode, string) { return p.mode, p.why }

// Weight is the blending weight in use.
func (p *Processor) Weight() float64 { return float64(p.weight) }

// InferenceTime is the model time spent outside the engine (split halves,
// statistics graph), for run reports.
func (p *Processor) InferenceTime() time.Duration { return p.Stats().ModelTime }

// Summary says in one line what the processor did, for run reports.
func (p *Processor) Summary() string {
	s := p.Stats()
	return fmt.Sprintf("%s weight %.2g (%s); %d frames, %d resets (%d cuts, %d flow failures), reliable flow %.0f%%, flow %.0f ms/frame",
		p.mode, p.weight, p.why, s.Frames, s.Resets, s.Cuts, s.Failures, 100*s.Coverage,
		float64(s.FlowTime.Milliseconds())/float64(max(1, s.Frames)))
}

// Stats returns the counters so far.
func (p *Processor) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.st
	if s.blended > 0 {
		s.Coverage /= float64(s.blended)
	}
	return s
}

// flowGray is the frame's luma halved until its longer side fits
// FlowMaxSide.
func (p *Processor) flowGray(in *pipeline.Frame) *Gray {
	g := GrayOf(in)
	for max(g.W, g.H) > p.opt.FlowMaxSide && min(g.W, g.H) >= 64 {
		g = g.Resize(g.W/2, g.H/2)
	}
	return g
}

// Parallel does the per-frame work that needs no other frame.
func (p *Processor) Parallel(ctx context.Context, in *pipeline.Frame) (any, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	r := &partial{w: in.W, h: in.H}
	planes := model.ToPlanes(in)
	if p.mode == ModeOff {
		out, err := p.eng.StylizePlanes(ctx, planes, in.W, in.H)
		r.fresh = out
		return r, err
	}
	r.hist = HistogramOf(in)
	r.pyr = NewPyramid(p.flowGray(in), p.opt.Flow)
	if p.mode == ModeOutput {
		out, err := p.eng.StylizePlanes(ctx, planes, in.W, in.H)
		r.fresh = out
		return r, err
	}
	r.ww, r.wh = p.eng.WorkSize(in.W, in.H)
	r.full, r.planes = planes, planes
	if r.ww != in.W || r.wh != in.H {
		r.planes = model.ResizePlanes(planes, in.W, in.H, r.ww, r.wh)
	}
	if p.withStats {
		t0 := time.Now()
		st, err := p.halves.Measure(ctx, r.planes, r.ww, r.wh)
		p.addModelTime(t0)
		if err != nil {
			return nil, fmt.Errorf("temporal: %w", err)
		}
		r.stats = st
	}
	if !p.encodeInOrder() {
		f, err := p.encode(ctx, r.planes, r.ww, r.wh, [2]int{p.conv.Margin, p.conv.Margin}, nil)
		if err != nil {
			return nil, err
		}
		r.feat = &f
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// encodeInOrder reports whether the encoder must wait for the previous
// frame (pre-blended content, or the grid offset from the motion).
func (p *Processor) encodeInOrder() bool {
	return p.opt.PreBlend > 0 || !p.opt.NoAlign || p.withStats
}

// padded is the model input size of a w×h picture placed at offset off:
// reflect-padded by at least the margin on each side and up to the size
// multiple. At the offset (margin, margin) it is exactly the engine's
// padding, so a frame after a reset equals the per-frame stylization.
func (p *Processor) padded(w, h int, off [2]int) (int, int) {
	m := p.conv.Margin
	k := max(1, p.conv.SizeMultiple)
	return (w + off[0] + m + k - 1) / k * k, (h + off[1] + m + k - 1) / k * k
}

// offset is the padding offset for an accumulated motion phase.
func (p *Processor) offset(phase [2]float64) [2]int {
	m := p.conv.Margin
	k := max(1, p.conv.SizeMultiple)
	if p.opt.NoAlign || k == 1 {
		return [2]int{m, m}
	}
	var o [2]int
	for i, v := range phase {
		r := int(math.Round(v)) % k
		if r < 0 {
			r += k
		}
		o[i] = m + r
	}
	return o
}

func (p *Processor) encode(ctx context.Context, planes []float32, w, h int, off [2]int, st model.Stats) (ort.Tensor, error) {
	t0 := time.Now()
	f, err := p.halves.Encode(ctx, planes, w, h, image.Pt(off[0], off[1]), st)
	p.addModelTime(t0)
	if err != nil {
		return ort.Tensor{}, fmt.Errorf("temporal: %w", err)
	}
	return f, nil
}

func (p *Processor) decode(ctx context.Context, feat ort.Tensor, w, h int, off [2]int, st model.Stats) ([]float32, error) {
	t0 := time.Now()
	out, err := p.halves.Decode(ctx, feat, w, h, image.Pt(off[0], off[1]), st)
	p.addModelTime(t0)
	if err != nil {
		return nil, fmt.Errorf("temporal: %w", err)
	}
	return out, nil
}

// link is how the current frame relates to the previous one: reset (no
// usable past), or the backward flow with its reliability mask.
type link struct {
	reset bool
	bwd   *Flow
	mask  []float32
}

// Ordered blends the frame with the warped past and returns the output.
func (p *Processor) Ordered(ctx context.Context, in *pipeline.Frame, part any) (*pipeline.Frame, error) {
	r, ok := part.(*partial)
	if !ok || r == nil {
		return nil, fmt.Errorf("temporal: processor got %T from Parallel, want its own result", part)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := pipeline.NewFrame(r.w, r.h)
	if p.mode == ModeOff {
		model.FromPlanes(r.fresh, out)
		p.count(func(s *Stats) { s.Frames++ })
		return out, nil
	}
	prev := p.prev
	l, err := p.track(prev, r)
	if err != nil {
		return nil, err
	}
	next := &state{w: r.w, h: r.h, pyr: r.pyr, hist: r.hist}
	var res []float32
	if p.mode == ModeOutput {
		res = r.fresh
		if !l.reset {
			f := l.bwd.Resize(r.w, r.h)
			m := resizeMask(l.mask, l.bwd.W, l.bwd.H, r.w, r.h)
			res = blend(r.fresh, WarpPlanes(prev.out, 3, f), m, p.weight, 3)
		}
		next.out = res
	} else {
		work, err := p.featureFrame(ctx, r, prev, next, l)
		if err != nil {
			return nil, err
		}
		res = p.eng.Finish(work, r.ww, r.wh, r.full, r.w, r.h)
	}
	model.FromPlanes(res, out)
	p.prev = next
	return out, nil
}

// track decides whether the frame continues the previous one: a size
// change, a cut (colours far apart, or apart with a flow that does not
// explain the frame) or a flow failure resets the state. It counts the
// outcome in the stats.
func (p *Processor) track(prev *state, r *partial) (link, error) {
	l := link{reset: prev == nil || prev.w != r.w || prev.h != r.h}
	cut := false
	dist := 0.0
	if !l.reset {
		dist = prev.hist.Distance(r.hist)
		// Far apart colours are a cut whatever the flow says.
		if dist > hardCutFactor*p.opt.CutThreshold {
			l.reset, cut = true, true
		}
	}
	if !l.reset {
		t := time.Now()
		var fwd *Flow
		var err error
		if l.bwd, fwd, err = p.flows(prev, r); err != nil {
			return l, err
		}
		l.mask = Reliable(l.bwd, fwd)
		cov := Coverage(l.mask)
		ft := time.Since(t)
		switch {
		case dist > p.opt.CutThreshold && cov < confirmCoverage:
			// Colours changed and the flow does not explain the frame:
			// a cut. (A fade changes the colours too, but the flow still
			// maps the scene onto itself.)
			l.reset, cut = true, true
			p.count(func(s *Stats) { s.FlowTime += ft })
		case cov < p.opt.MinCoverage:
			l.reset = true
			p.count(func(s *Stats) { s.Failures++; s.FlowTime += ft })
		default:
			p.count(func(s *Stats) { s.Coverage += cov; s.blended++; s.FlowTime += ft })
		}
	}
	p.count(func(s *Stats) {
		s.Frames++
		if l.reset {
			s.Resets++
		}
		if cut {
			s.Cuts++
		}
	})
	return l, nil
}

// flows estimates the backward (current → previous) and forward flow, or
// makes them from the known shift in tests.
func (p *Processor) flows(prev *state, r *partial) (bwd, fwd *Flow, err error) {
	if p.shift != nil {
		return ShiftFlow(r.pyr.W, r.pyr.H, -p.shift[0], -p.shift[1]), ShiftFlow(r.pyr.W, r.pyr.H, p.shift[0], p.shift[1]), nil
	}
	if bwd, err = EstimateFlow(r.pyr, prev.pyr); err != nil {
		return nil, nil, err
	}
	if fwd, err = EstimateFlow(prev.pyr, r.pyr); err != nil {
		return nil, nil, err
	}
	return bwd, fwd, nil
}

// featureFrame is feature mode's part of Ordered: the grid offset from the
// motion, the statistics EMA, the encoder when it runs in order, the blend
// of the warped past features and the decoder. It fills next and returns
// the picture at working size.
func (p *Processor) featureFrame(ctx context.Context, r *partial, prev, next *state, l link) ([]float32, error) {
	off := [2]int{p.conv.Margin, p.conv.Margin}
	if !l.reset {
		next.phase = prev.phase
		if !p.opt.NoAlign {
			g := globalMotion(l.bwd, l.mask)
			next.phase[0] += g[0] * float64(r.ww) / float64(l.bwd.W)
			next.phase[1] += g[1] * float64(r.wh) / float64(l.bwd.H)
			off = p.offset(next.phase)
		}
	}
	next.off = off
	if p.withStats {
		next.stats = r.stats
		if !l.reset && prev.stats != nil {
			next.stats = emaStats(prev.stats, r.stats, float32(p.opt.StatsEMA))
		}
	}
	if p.encodeInOrder() {
		content := r.planes
		if p.opt.PreBlend > 0 {
			if !l.reset && prev.content != nil {
				f := l.bwd.Resize(r.ww, r.wh)
				m := resizeMask(l.mask, l.bwd.W, l.bwd.H, r.ww, r.wh)
				content = blend(r.planes, WarpPlanes(prev.content, 3, f), m, float32(p.opt.PreBlend), 3)
			}
			next.content = content
		}
		f, err := p.encode(ctx, content, r.ww, r.wh, off, next.stats)
		if err != nil {
			return nil, err
		}
		r.feat = &f
	}
	feat := r.feat.F32
	shape := r.feat.Shape
	c, fh, fw := int(shape[1]), int(shape[2]), int(shape[3])
	if !l.reset && len(prev.fshape) == 4 && prev.fshape[1] == shape[1] {
		ff, fm := p.featureFlow(l.bwd, l.mask, r.ww, r.wh, fw, fh, off, prev.off)
		feat = blend(feat, warpCubic(prev.feat, c, int(prev.fshape[3]), int(prev.fshape[2]), ff), fm, p.weight, c)
	}
	next.feat, next.fshape = feat, shape
	return p.decode(ctx, ort.Tensor{Shape: shape, F32: feat}, r.ww, r.wh, off, next.stats)
}

func (p *Processor) addModelTime(t0 time.Time) {
	d := time.Since(t0)
	p.count(func(s *Stats) { s.ModelTime += d })
}

func (p *Processor) count(f func(*Stats)) {
	p.mu.Lock()
	f(&p.st)
	p.mu.Unlock()
}

// blend returns cur + wt·mask·(past − cur) over c planes of len(mask).
func blend(cur, past, mask []float32, wt float32, c int) []float32 {
	n := len(mask)
	out := make([]float32, len(cur))
	for ch := 0; ch < c; ch++ {
		cp, pp, op := cur[ch*n:(ch+1)*n], past[ch*n:(ch+1)*n], out[ch*n:(ch+1)*n]
		for i, m := range mask {
			op[i] = cp[i] + wt*m*(pp[i]-cp[i])
		}
	}
	return out
}

// resizeMask scales a mask from w×h to nw×nh (bilinear or box).
func resizeMask(mask []float32, w, h, nw, nh int) []float32 {
	if w == nw && h == nh {
		return mask
	}
	return (&Gray{W: w, H: h, Pix: mask}).Resize(nw, nh).Pix
}

// featureFlow maps the flow (current → previous, on the flow grid) and its
// mask onto the feature grid: the features cover the reflect-padded
// working picture at fw×fh, so feature pixel (i, j) sits at picture
// coordinate ((j+½)·sx − ½ − margin, …); vectors are divided by the
// feature stride sx, sy (4 for Johnson-type nets), read off the tensor
// shape rather than assumed.
func (p *Processor) featureFlow(bwd *Flow, mask []float32, ww, wh, fw, fh int, off, prevOff [2]int) (*Flow, []float32) {
	pw, ph := p.padded(ww, wh, off)
	sx, sy := float32(pw)/float32(fw), float32(ph)/float32(fh)
	// working picture px → flow grid px
	kx, ky := float32(bwd.W)/float32(ww), float32(bwd.H)/float32(wh)
	f := NewFlow(fw, fh)
	fm := make([]float32, fw*fh)
	// The padding offsets differ between the frames: a feature pixel's
	// picture position is padded position − offset in each.
	dox, doy := float32(off[0]-prevOff[0])/sx, float32(off[1]-prevOff[1])/sy
	for y := 0; y < fh; y++ {
		py := (float32(y)+0.5)*sy - 0.5 - float32(off[1])
		gy := (py+0.5)*ky - 0.5
		for x := 0; x < fw; x++ {
			px := (float32(x)+0.5)*sx - 0.5 - float32(off[0])
			gx := (px+0.5)*kx - 0.5
			i := y*fw + x
			f.U[i] = bilinear(bwd.U, bwd.W, bwd.H, gx, gy)/kx/sx - dox
			f.V[i] = bilinear(bwd.V, bwd.W, bwd.H, gx, gy)/ky/sy - doy
			fm[i] = bilinear(mask, bwd.W, bwd.H, gx, gy)
		}
	}
	return f, fm
}

// globalMotion is the median flow over the reliable pixels (every second
// row and column): the camera's motion, which alignment follows.
func globalMotion(f *Flow, mask []float32) [2]float64 {
	var us, vs []float32
	for y := 0; y < f.H; y += 2 {
		for x := 0; x < f.W; x += 2 {
			if i := y*f.W + x; mask[i] > 0.5 {
				us = append(us, f.U[i])
				vs = append(vs, f.V[i])
			}
		}
	}
	if len(us) == 0 {
		return [2]float64{}
	}
	slices.Sort(us)
	slices.Sort(vs)
	return [2]float64{float64(us[len(us)/2]), float64(vs[len(vs)/2])}
}

// emaStats is a·prev + (1−a)·cur for every statistics tensor.
func emaStats(prev, cur model.Stats, a float32) model.Stats {
	out := make(model.Stats, len(cur))
	for k, c := range cur {
		if k >= len(prev) || len(prev[k].F32) != len(c.F32) {
			out[k] = c
			continue
		}
		pv := prev[k]
		v := make([]float32, len(c.F32))
		for i := range v {
			v[i] = a*pv.F32[i] + (1-a)*c.F32[i]
		}
		out[k] = ort.Tensor{Shape: c.Shape, F32: v}
	}
	return out
}
