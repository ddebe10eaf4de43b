// Package model is the style engine: it opens an ONNX image-to-image model
// (a file or a built-in), works out its conventions, and stylizes frames of
// any size with reflect padding, feathered windows for fixed-size models and
// the user's style options. One core (core.go) serves three variants on the
// engine's session options: the whole model (StylizePlanes), the model cut
// at its feature map (Split, for temporal) and statistics out/in
// (SharedStats, for tiles). onnxruntime stays behind pipeline/ort.
package model

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"github.com/stylize/stylize/pipeline/ort"
)

// DefaultModel is used when no model is given.
const DefaultModel = "builtin:ink"

// Options configure Open. The zero value opens builtin:ink on the CPU with
// full strength, one pass and no working-resolution limit.
type Options struct {
	Model   string // path to an .onnx file or builtin:NAME; "" = DefaultModel
	Device  string // cpu (default), cuda, tensorrt, auto
	Threads int    // intra-op threads; 0 = one per core

	Conventions Overrides // explicit conventions (flags) win over everything

	// ContentMix blends the content back in: 0 = full style (the default),
	// 1 = the content unchanged. The CLI's --strength s sets 1−s.
	ContentMix     float64
	PreserveColors bool  // keep the content's chroma, take luminance from the style
	Passes         int   // feed the output back this many times; 0 = 1
	MaxSide        int   // stylize at most at this longest side, return at full size; 0 = off
	MaxPixels      int64 // refuse larger model inputs; 0 = from available memory

	// Style pictures for a conditioned (arbitrary-style) model such as
	// MicroAST: the style encoder turns them into the transfer net's extra
	// inputs; several pictures mix with StyleWeights (default: equal).
	// Not used yet by plain style nets.
	Style        []string
	StyleWeights []float64
	StyleSize    int // the style picture's working long side in px; 0 = 512
}

// applyDefaults fills unset options with the declared defaults (Table).
func (o *Options) applyDefaults() {
	o.Table().ApplyDefaults()
	if o.Model == "" {
		o.Model = DefaultModel // after prepareStyle, which finds the pair for --style
	}
}

// Validate checks the options without touching files. It returns every
// problem, each an *option.Error naming its key.
func (o Options) Validate() error {
	t := o.Table()
	t.MarkNonZero()
	return errors.Join(t.Validate(), o.Conventions.Validate())
}

// Engine stylizes frames with one model. It is safe for concurrent use:
// the session is created once and shared.
type Engine struct {
	opt   Options
	Model *onnx.Model // the graph as loaded (after float16 casts)
	Conv  Conventions
	net   *Net
	style *StyleInfo         // the baked-in style of a conditioned model; nil for plain nets
	so    ort.SessionOptions // for the variants' sessions (device, threads)
	// inference time and count, summed over every model run
	inferNS atomic.Int64
	runs    atomic.Int64
}

// Open loads the model, resolves its conventions (flags > sidecar >
// metadata_props > probe), and creates the session.
func Open(ctx context.Context, opt Options) (*Engine, error) {
	if err := prepareStyle(&opt); err != nil { // arbitrary style: style.go
		return nil, err
	}
	opt.applyDefaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	m, err := LoadModel(opt.Model)
	if err != nil {
		return nil, err
	}
	style, err := conditionModel(ctx, m, opt) // bakes the encoded style in: conditioned.go
	if err != nil {
		return nil, err
	}
	conv, err := Resolve(m, opt.Model, opt.Conventions)
	if err != nil {
		return nil, err
	}
	if style != nil {
		style.conventions(m, &conv) // the pair's own conventions: conditioned.go
	}
	onlyOutput(m, conv.OutputName)
	dev, _ := ort.ParseDevice(opt.Device)
	so := ort.SessionOptions{Device: dev, Threads: opt.Threads}
	net, err := NewNet(m, conv, so)
	if err != nil {
		return nil, err
	}
	so.Device = net.sess.Device // auto resolved: the variants use the same provider
	e := &Engine{opt: opt, Model: m, Conv: conv, net: net, so: so, style: style}
	if e.Conv.InputRange == "" || e.Conv.OutputRange == "" {
		if err := e.probe(ctx); err != nil {
			net.Close()
			return nil, err
		}
	}
	e.net.conv = e.Conv
	return e, nil
}

// onlyOutput drops the graph outputs other than the image one: a model's
// further outputs (a mask, a scalar score) are never read, and onnxruntime
// then neither computes nor returns them.
func onlyOutput(m *onnx.Model, name string) {
	g := m.Proto.GetGraph()
	for _, o := range g.GetOutput() {
		if o.GetName() == name {
			g.Output = []*onnxpb.ValueInfoProto{o}
			return
		}
	}
}

// LoadModel loads a model file or generates a built-in one, with float16
// inputs and outputs wrapped in casts.
func LoadModel(name string) (*onnx.Model, error) {
	var m *onnx.Model
	var err error
	if onnx.IsBuiltin(name) {
		m, err = onnx.LoadBuiltin(name)
	} else {
		if st, serr := os.Stat(name); serr == nil && st.IsDir() {
			return nil, fmt.Errorf("model %s: is a folder, want an .onnx file", name)
		}
		m, err = onnx.Load(name)
	}
	if err != nil {
		return nil, err
	}
	m.CastIOToFloat32()
	return m, nil
}

// Resolve works out a model's conventions from the graph, then overlays
// metadata_props, the sidecar file and the explicit overrides, in rising
// priority. Ranges still unset afterwards are left for the probe.
func Resolve(m *onnx.Model, path string, o Overrides) (Conventions, error) {
	c, err := graphConventions(m)
	if err != nil {
		return c, err
	}
	ml, err := metaLayer(m.Metadata())
	if err != nil {
		return c, fmt.Errorf("model %s: %w", m.Name, err)
	}
	if err := c.apply(ml); err != nil {
		return c, fmt.Errorf("model %s: %w", m.Name, err)
	}
	if !onnx.IsBuiltin(path) {
		sc, scPath, err := ReadSidecar(path)
		if err != nil {
			return c, err
		}
		if sc != nil {
			l := layer{name: "sidecar " + scPath, layout: sc.Layout, inRange: sc.InputRange, outRange: sc.OutputRange,
				order: sc.ChannelOrder, multiple: sc.SizeMultiple, margin: sc.Margin}
			if err := c.apply(l); err != nil {
				return c, err
			}
		}
	}
	if err := c.apply(o.layer()); err != nil {
		return c, err
	}
	if c.SizeMultiple < 1 {
		c.SizeMultiple = 1
	}
	return c, nil
}

// probe runs the model once on a synthetic picture and decides the ranges it
// could not read elsewhere from what comes out: values below −0.1 mean a
// tanh output (−1..1), a maximum under 1.5 means 0..1, else 0..255. An unset
// input range follows the output's convention (a tanh generator takes
// −1..1, a 0..1 net takes 0..1); nets that start with instance
// normalisation are nearly scale-invariant, so the choice matters little.
func (e *Engine) probe(ctx context.Context) error {
	w, h := 64, 64
	if e.Conv.FixedW > 0 {
		w, h = e.Conv.FixedW, e.Conv.FixedH
	}
	in := probeImage(w, h)
	conv := e.Conv
	inGuess := conv.InputRange
	if inGuess == "" {
		inGuess = Range255
	}
	conv.InputRange, conv.OutputRange = inGuess, Range255 // raw output: read the model's numbers as they are
	e.net.conv = conv
	out, _, _, err := e.net.Run(ctx, in, w, h)
	if err != nil {
		return fmt.Errorf("model %s: probe run failed: %w", e.Model.Name, err)
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range out {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	if math.IsNaN(float64(lo)) || math.IsInf(float64(hi), 0) {
		return fmt.Errorf("model %s: probe output is not finite", e.Model.Name)
	}
	var r Range
	switch {
	case hi > 2:
		r = Range255 // values beyond 0..255 occur in unclipped nets; the scale is what counts
	case lo < -0.1:
		r = RangeTanh
	case hi <= 1.5:
		r = Range1
	default:
		r = Range255
	}
	desc := fmt.Sprintf("probe: output values %.3g..%.3g on a %d×%d test image", lo, hi, w, h)
	if e.Conv.OutputRange == "" {
		e.Conv.OutputRange, e.Conv.Why["output_range"] = r, desc
	}
	if e.Conv.InputRange == "" {
		e.Conv.InputRange = e.Conv.OutputRange
		e.Conv.Why["input_range"] = "probe: follows the output range (" + string(e.Conv.OutputRange) + ")"
	}
	return nil
}

// probeImage is a deterministic test picture in 0..255 planar RGB: smooth
// gradients with a few hard edges, like a photograph.
func probeImage(w, h int) []float32 {
	p := make([]float32, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 255 * fx
			g := 255 * fy
			b := 127 + 100*math.Sin(6*fx+4*fy)
			if (x/8+y/8)%2 == 0 {
				r, g = g, r
			}
			p[i], p[w*h+i], p[2*w*h+i] = float32(r), float32(g), float32(b)
		}
	}
	return p
}

// Close releases the session.
func (e *Engine) Close() error { return e.net.Close() }

// Device is the execution provider in use.
func (e *Engine) Device() string { return string(e.net.sess.Device) }

// Name is the model's name as given.
func (e *Engine) Name() string { return e.opt.Model }

// Options returns the options the engine was opened with (defaults filled in).
func (e *Engine) Options() Options { return e.opt }

// Conventions are the model's conventions as resolved.
func (e *Engine) Conventions() Conventions { return e.Conv }

// HasInstanceNorm reports whether the model normalises with
// InstanceNormalization (whose statistics variant (c) can share).
func (e *Engine) HasInstanceNorm() bool { return onnx.HasInstanceNorm(e.Model) }

// ReceptiveRadius is how far, in input pixels, an output pixel sees (see
// onnx.Model.ReceptiveRadius).
func (e *Engine) ReceptiveRadius() int { return e.Model.ReceptiveRadius() }

// InferenceTime is the summed wall time of every model run so far, and their
// count: "pure inference" for benchmarks.
func (e *Engine) InferenceTime() (time.Duration, int64) {
	return time.Duration(e.inferNS.Load()), e.runs.Load()
}

// ErrTooLarge means a frame would not fit in memory at model resolution.
var ErrTooLarge = errors.New("too large for the model in available memory")

// Stylize returns a stylized copy of f, of the same size. f is not changed.
func (e *Engine) Stylize(ctx context.Context, f *pipeline.Frame) (*pipeline.Frame, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	content := toPlanes(f)
	defer putF32(content)
	out, err := e.StylizePlanes(ctx, content, f.W, f.H)
	if err != nil {
		return nil, err
	}
	g := pipeline.NewFrame(f.W, f.H)
	fromPlanes(out, g)
	putF32(out)
	return g, nil
}

// StylizePlanes stylizes planar RGB 0..255 (3·w·h values) with all options
// applied, returning a new planar image of the same size (variant (a): the
// whole model on the frame).
func (e *Engine) StylizePlanes(ctx context.Context, content []float32, w, h int) ([]float32, error) {
	ww, wh := e.WorkSize(w, h)
	work := content
	if ww != w || wh != h {
		work = resizePlanes(content, w, h, ww, wh)
	}
	if err := e.checkSize(ww, wh); err != nil {
		return nil, err
	}
	for p := 0; p < e.opt.Passes; p++ {
		next, err := e.stylizeOnce(ctx, work, ww, wh)
		if &work[0] != &content[0] {
			putF32(work)
		}
		if err != nil {
			return nil, err
		}
		work = next
	}
	return e.Finish(work, ww, wh, content, w, h), nil
}

// bytesPerPixel estimates the memory one model-input pixel costs inside
// onnxruntime: float activations of the widest layer, with input, output and
// a workspace alive at once: 4·max(32, widest)·2 bytes, 1 KiB for la_muse
// (widest 128 channels). Measured peak RSS of stylize image with la_muse:
// 674 MB at 0.90 model megapixels, 2.13 GB at 3.18 (≈ 0.65 KiB per added
// pixel), so the estimate keeps about a third in hand.
func (e *Engine) bytesPerPixel() int64 {
	c := int64(e.Model.MaxChannels())
	if c < 32 {
		c = 32
	}
	return 4 * c * 2
}

func (e *Engine) checkSize(w, h int) error {
	pw, ph := w+2*e.Conv.Margin, h+2*e.Conv.Margin
	if e.Conv.FixedW > 0 {
		pw, ph = e.Conv.FixedW, e.Conv.FixedH // one window at a time
	}
	px := int64(pw) * int64(ph)
	need := px * e.bytesPerPixel()
	limit := e.opt.MaxPixels
	if limit <= 0 {
		avail := availableMemory()
		limit = avail / e.bytesPerPixel()
		if need > avail {
			return fmt.Errorf("%dx%d image: needs about %s at model resolution for %s, only %s available: %w (use --max-side to stylize at a lower working resolution)",
				w, h, humanBytes(need), e.opt.Model, humanBytes(avail), ErrTooLarge)
		}
		return nil
	}
	if px > limit {
		return fmt.Errorf("%dx%d image: %d model pixels exceed the limit of %d: %w (use --max-side)", w, h, px, limit, ErrTooLarge)
	}
	return nil
}

// availableMemory reads MemAvailable from /proc/meminfo (8 GiB if unknown).
func availableMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			var kb int64
			if n, _ := fmt.Sscanf(l, "MemAvailable: %d kB", &kb); n == 1 {
				return kb * 1024
			}
		}
	}
	return 8 << 30
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// stylizeOnce runs the network once over the whole picture: reflect-padded
// by the margin and to the size multiple, or in feathered windows for
// fixed-size models.
func (e *Engine) stylizeOnce(ctx context.Context, in []float32, w, h int) ([]float32, error) {
	m := e.Conv.Margin
	if e.Conv.FixedW > 0 {
		if m == 0 {
			return e.windows(ctx, in, w, h)
		}
		out, err := e.windows(ctx, padReflect(in, w, h, m, m, w+2*m, h+2*m), w+2*m, h+2*m)
		if err != nil {
			return nil, err
		}
		return crop(out, w+2*m, h+2*m, m, m, w, h), nil
	}
	return e.runPadded(ctx, e.net, in, e.Conv.padFor(w, h, image.Pt(m, m), m), nil)
}

// runPadded pads in as p says, runs n on it (with extra inputs) and puts
// the output back: the shared middle of variants (a) and (c).
func (e *Engine) runPadded(ctx context.Context, n *Net, in []float32, p padding, extra []ort.Tensor) ([]float32, error) {
	canvas := p.apply(in)
	out, ow, oh, _, err := e.timed(ctx, n, canvas, p.pw, p.ph, extra)
	p.release(canvas, in)
	if err != nil {
		return nil, err
	}
	return p.place(out, ow, oh), nil
}

func (e *Engine) run(ctx context.Context, in []float32, w, h int) ([]float32, int, int, error) {
	out, ow, oh, _, err := e.timed(ctx, e.net, in, w, h, nil)
	return out, ow, oh, err
}

// timed runs n and adds the time to the engine's inference counters.
func (e *Engine) timed(ctx context.Context, n *Net, in []float32, w, h int, extra []ort.Tensor) ([]float32, int, int, []ort.Tensor, error) {
	t := time.Now()
	out, ow, oh, ex, err := n.RunExtra(ctx, in, w, h, extra)
	e.inferNS.Add(int64(time.Since(t)))
	e.runs.Add(1)
	return out, ow, oh, ex, err
}

// windows runs a fixed-size model over overlapping windows and blends them
// with raised-cosine feathers, so no window grid shows. Pictures smaller
// than a window are reflect-padded up to it.
func (e *Engine) windows(ctx context.Context, in []float32, w, h int) ([]float32, error) {
	fw, fh := e.Conv.FixedW, e.Conv.FixedH
	// Pad to at least one window (reflect), then tile.
	pw, ph := max(w, fw), max(h, fh)
	src := in
	if pw != w || ph != h {
		ox, oy := (pw-w)/2, (ph-h)/2
		src = padReflect(in, w, h, ox, oy, pw, ph)
		out, err := e.windows(ctx, src, pw, ph)
		if err != nil {
			return nil, err
		}
		return crop(out, pw, ph, ox, oy, w, h), nil
	}
	ovx, ovy := fw/4, fh/4 // a quarter window of overlap: wide enough feathers to hide the seams
	xs := windowStarts(w, fw, ovx)
	ys := windowStarts(h, fh, ovy)
	acc := make([]float32, 3*w*h)
	wsum := make([]float32, w*h)
	win := make([]float32, 3*fw*fh)
	for yi, y0 := range ys {
		for xi, x0 := range xs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			for c := 0; c < 3; c++ {
				for y := 0; y < fh; y++ {
					copy(win[c*fw*fh+y*fw:c*fw*fh+(y+1)*fw], in[c*w*h+(y0+y)*w+x0:c*w*h+(y0+y)*w+x0+fw])
				}
			}
			out, ow, oh, err := e.run(ctx, win, fw, fh)
			if err != nil {
				return nil, err
			}
			if ow != fw || oh != fh {
				out = resizePlanes(out, ow, oh, fw, fh)
			}
			wx := feather(fw, ovx, xi > 0, xi < len(xs)-1)
			wy := feather(fh, ovy, yi > 0, yi < len(ys)-1)
			for y := 0; y < fh; y++ {
				for x := 0; x < fw; x++ {
					wt := wx[x] * wy[y]
					i := (y0+y)*w + x0 + x
					wsum[i] += wt
					for c := 0; c < 3; c++ {
						acc[c*w*h+i] += wt * out[c*fw*fh+y*fw+x]
					}
				}
			}
		}
	}
	for i := 0; i < w*h; i++ {
		s := wsum[i]
		if s <= 0 {
			s = 1
		}
		for c := 0; c < 3; c++ {
			acc[c*w*h+i] /= s
		}
	}
	return acc, nil
}

// windowStarts places windows of size n with at least ov overlap over a
// length of l ≥ n, the last one flush with the end.
func windowStarts(l, n, ov int) []int {
	if l <= n {
		return []int{0}
	}
	step := n - ov
	if step < 1 {
		step = 1
	}
	cnt := (l-n+step-1)/step + 1
	s := make([]int, cnt)
	for i := range s {
		s[i] = int(math.Round(float64(i) * float64(l-n) / float64(cnt-1)))
	}
	return s
}

// feather is a per-position weight: a raised-cosine ramp over ov pixels on
// the sides that overlap a neighbour, 1 elsewhere (never 0, so every pixel
// has weight).
func feather(n, ov int, rampStart, rampEnd bool) []float32 {
	f := make([]float32, n)
	for i := range f {
		v := 1.0
		if rampStart && i < ov {
			v = math.Min(v, 0.5-0.5*math.Cos(math.Pi*(float64(i)+0.5)/float64(ov)))
		}
		if rampEnd && n-1-i < ov {
			v = math.Min(v, 0.5-0.5*math.Cos(math.Pi*(float64(n-1-i)+0.5)/float64(ov)))
		}
		f[i] = float32(math.Max(v, 1e-3))
	}
	return f
}

func roundUp(v, k int) int {
	if k <= 1 {
		return v
	}
	return (v + k - 1) / k * k
}
