package paint

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/stylize/stylize/pipeline/ort"
)

// history is the number of L-BFGS curvature pairs kept (10 × 2 × 522k
// float64 values at 512×340: 84 MB).
const history = 10

// painter is one Paint call's state.
type painter struct {
	net     *Net
	ex      *Extractor
	o       Options
	content Picture
	grams   map[string][]float32 // fixed Gram targets (nil: from the style pictures)
	total   int
	done    int
}

// Paint optimises a picture so that it has content's features at relu4_2
// and the style pictures' Gram matrices at relu1_1 … relu5_1 of net,
// returning it at Options.Size long side (planar RGB 0..1). With Scales
// above 1 it first optimises at half size (quarter, …), upsamples and
// continues; with Passes N it runs the full-size optimisation N times,
// each from the previous run's result with a fresh L-BFGS memory.
func Paint(ctx context.Context, net *Net, content Picture, o Options) (Picture, error) {
	return paintWith(ctx, net, content, o, nil)
}

// paintWith is Paint with the Gram targets given (nil: computed from the
// style pictures at every level).
func paintWith(ctx context.Context, net *Net, content Picture, o Options, grams map[string][]float32) (Picture, error) {
	o.applyDefaults()
	if err := o.validate(content); err != nil {
		return Picture{}, err
	}
	w, h := Fit(content.W, content.H, o.Size)
	if s := min(w, h) >> (o.Scales - 1); s < MinSide {
		return Picture{}, fmt.Errorf("paint: content %d×%d at %d px long side with %d scales: the short side %d is under %d px",
			content.W, content.H, o.Size, o.Scales, s, MinSide)
	}
	ex, err := net.NewExtractor(o.Pool, ort.SessionOptions{Threads: o.Threads})
	if err != nil {
		return Picture{}, err
	}
	defer ex.Close()
	p := &painter{net: net, ex: ex, o: o, content: content, grams: grams, total: o.Iterations * (o.Scales + o.Passes - 1)}
	var x Picture
	for level := o.Scales - 1; level >= 0; level-- {
		lw, lh := w>>level, h>>level
		if level == o.Scales-1 {
			x = p.start(lw, lh)
		} else {
			x = Resize(x, lw, lh)
		}
		if x, err = p.level(ctx, level, x); err != nil {
			return Picture{}, err
		}
	}
	return x, nil
}

func (p *painter) start(w, h int) Picture {
	switch p.o.Init {
	case InitNoise:
		r := rand.New(rand.NewPCG(p.o.Seed, 0x9e3779b97f4a7c15))
		x := Picture{W: w, H: h, Pix: make([]float32, 3*w*h)}
		for i := range x.Pix {
			x.Pix[i] = r.Float32()
		}
		return x
	case InitPicture:
		return Resize(*p.o.Start, w, h)
	}
	return Resize(p.content, w, h)
}

// targets computes the Gram targets (the style pictures shrunk to this
// level's long side when larger, averaged) and the content features at w×h.
func (p *painter) targets(w, h int) (Targets, error) {
	t := Targets{Grams: p.grams}
	if t.Grams == nil {
		var err error
		if t.Grams, err = p.styleGrams(max(w, h)); err != nil {
			return t, err
		}
	}
	f, err := p.ex.Features(Resize(p.content, w, h))
	t.Content = f
	return t, err
}

// styleGrams averages the style pictures' Gram matrices, each picture
// shrunk to Size long side at full size and in proportion at a level of
// long px.
func (p *painter) styleGrams(long int) (map[string][]float32, error) {
	grams := map[string][]float32{}
	for i, s := range p.o.Style {
		// Shrunk to Size at full size, and in proportion at coarser levels.
		// (but not below MinSide: a small style keeps what the net needs).
		fw, fh := FitDown(s.W, s.H, p.o.Size)
		if min(fw, fh) < MinSide {
			return nil, fmt.Errorf("paint: style picture %d (%d×%d) is %d×%d at %d px: %w (short side under %d px)",
				i+1, s.W, s.H, fw, fh, p.o.Size, ErrBadPicture, MinSide)
		}
		sw, sh := FitDown(fw, fh, max(fw, fh)*long/p.o.Size)
		if min(sw, sh) < MinSide {
			sw, sh = FitDown(fw, fh, (max(fw, fh)*MinSide+min(fw, fh)-1)/min(fw, fh))
		}
		f, err := p.ex.Features(Resize(s, sw, sh))
		if err != nil {
			return nil, err
		}
		for _, l := range StyleLayers {
			g := Gram(f[l])
			if acc := grams[l]; acc != nil {
				for k := range acc {
					acc[k] += g[k]
				}
			} else {
				grams[l] = g
			}
		}
	}
	for _, g := range grams {
		for k := range g {
			g[k] /= float32(len(p.o.Style))
		}
	}
	return grams, nil
}

// level runs the optimisation at one level (all passes at full size).
func (p *painter) level(ctx context.Context, level int, x Picture) (Picture, error) {
	spec := Spec{W: x.W, H: x.H, Style: StyleLayers, Pool: p.o.Pool}
	cw := []float32{}
	if p.o.ContentWeight > 0 {
		spec.Content, cw = ContentLayers, []float32{float32(p.o.ContentWeight)}
	}
	if p.o.TVWeight > 0 {
		spec.Terms = append(spec.Terms, TV{Weight: p.o.TVWeight})
	}
	passes := 1
	if level == 0 {
		spec.Terms = append(spec.Terms, p.o.Terms...)
		passes = p.o.Passes
	}
	t, err := p.targets(x.W, x.H)
	if err != nil {
		return x, err
	}
	e, err := p.net.NewEvaluator(spec, ort.SessionOptions{Threads: p.o.Threads})
	if err != nil {
		return x, err
	}
	defer e.Close()
	sw := make([]float32, len(StyleLayers))
	for i := range sw {
		sw[i] = float32(p.o.StyleWeight)
	}
	if err := e.SetTargets(t, sw, cw); err != nil {
		return x, err
	}
	for name, v := range p.o.Feeds {
		e.Feed(name, v)
	}
	for pass := 0; pass < passes; pass++ {
		if err := p.optimise(ctx, e, x, level, pass); err != nil {
			return x, err
		}
	}
	return x, nil
}

// optimise runs Iterations L-BFGS steps on x in place.
func (p *painter) optimise(ctx context.Context, e *Evaluator, x Picture, level, pass int) error {
	x64 := make([]float64, len(x.Pix))
	for i, v := range x.Pix {
		x64[i] = float64(min(1, max(0, v)))
	}
	x32, g32 := make([]float32, len(x.Pix)), make([]float32, len(x.Pix))
	f := func(x, g []float64) (float64, error) {
		for i, v := range x {
			x32[i] = float32(v)
		}
		l, err := e.Eval(x32, g32)
		for i, v := range g32 {
			g[i] = float64(v)
		}
		return l, err
	}
	opt := newLBFGS(history)
	step := func(it int, loss float64) {
		p.done++
		if p.o.Progress != nil {
			p.o.Progress(Step{Done: p.done, Total: p.total, Scale: level, Pass: pass, W: x.W, H: x.H, Loss: loss, Evals: opt.evals})
		}
	}
	if _, err := opt.run(ctx, x64, f, p.o.Iterations, step); err != nil {
		return fmt.Errorf("paint: at %d×%d: %w", x.W, x.H, err)
	}
	for i, v := range x64 {
		x.Pix[i] = float32(v)
	}
	return nil
}
