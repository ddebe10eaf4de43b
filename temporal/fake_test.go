package temporal

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/ort"
)

// fakeEngine is a style engine without onnxruntime: the "stylization" of
// call n adds flicker[n % len] to every value, so blending shows as a
// smaller frame-to-frame change.
type fakeEngine struct {
	conv     model.Conventions
	flicker  []float32
	calls    int
	splitErr error
	halves   *fakeHalves
}

func (e *fakeEngine) Name() string                   { return "fake" }
func (e *fakeEngine) Conventions() model.Conventions { return e.conv }
func (e *fakeEngine) WorkSize(w, h int) (int, int)   { return w, h }

func (e *fakeEngine) next() float32 {
	d := e.flicker[e.calls%len(e.flicker)]
	e.calls++
	return d
}

func (e *fakeEngine) StylizePlanes(_ context.Context, p []float32, w, h int) ([]float32, error) {
	d := e.next()
	out := make([]float32, len(p))
	for i, v := range p {
		out[i] = v + d
	}
	return out, nil
}

func (e *fakeEngine) Finish(work []float32, ww, wh int, content []float32, w, h int) []float32 {
	if ww != w || wh != h {
		return model.ResizePlanes(work, ww, wh, w, h)
	}
	return work
}

func (e *fakeEngine) Split(stats bool) (model.Halves, error) {
	if e.splitErr != nil {
		return nil, e.splitErr
	}
	e.halves = &fakeHalves{e: e, stats: stats}
	return e.halves, nil
}

// fakeHalves: the features are the padded picture itself (3 channels,
// stride 1) plus the engine's flicker; the decoder cuts the picture out.
// Measure returns one statistic, the picture's mean; the statistics each
// Encode saw are recorded.
type fakeHalves struct {
	e       *fakeEngine
	stats   bool
	offsets []image.Point
	seen    []float32
	encErr  error
	closed  bool
}

func (h *fakeHalves) pad(w, ht int, at image.Point) (int, int) {
	m, k := h.e.conv.Margin, max(1, h.e.conv.SizeMultiple)
	return (w + at.X + m + k - 1) / k * k, (ht + at.Y + m + k - 1) / k * k
}

func (h *fakeHalves) Measure(_ context.Context, p []float32, w, ht int) (model.Stats, error) {
	var s float64
	for _, v := range p {
		s += float64(v)
	}
	return model.Stats{{Shape: []int64{1, 1, 1, 1}, F32: []float32{float32(s / float64(len(p)))}}}, nil
}

func (h *fakeHalves) Encode(_ context.Context, p []float32, w, ht int, at image.Point, st model.Stats) (ort.Tensor, error) {
	if h.encErr != nil {
		return ort.Tensor{}, h.encErr
	}
	h.offsets = append(h.offsets, at)
	if h.stats {
		h.seen = append(h.seen, st[0].F32[0])
	}
	pw, ph := h.pad(w, ht, at)
	f := model.PadReflect(p, w, ht, at.X, at.Y, pw, ph)
	d := h.e.next()
	for i := range f {
		f[i] += d
	}
	return ort.Tensor{Shape: []int64{1, 3, int64(ph), int64(pw)}, F32: f}, nil
}

func (h *fakeHalves) Decode(_ context.Context, f ort.Tensor, w, ht int, at image.Point, _ model.Stats) ([]float32, error) {
	return model.Crop(f.F32, int(f.Shape[3]), int(f.Shape[2]), at.X, at.Y, w, ht), nil
}

func (h *fakeHalves) Where() string { return "fake cut" }
func (h *fakeHalves) Close() error  { h.closed = true; return nil }

// texture is a w×h picture with structure for the flow, brightness b.
func texture(w, h int, b float64) *pipeline.Frame {
	f := pipeline.NewFrame(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := b + 40*math.Sin(float64(x)/5)*math.Cos(float64(y)/7)
			i := 3 * (y*w + x)
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = uint8(v), uint8(v*0.8), uint8(255-v)
		}
	}
	return f
}

func runFrames(t *testing.T, p *Processor, frames []*pipeline.Frame) []*pipeline.Frame {
	t.Helper()
	ctx := context.Background()
	var out []*pipeline.Frame
	for i, f := range frames {
		part, err := p.Parallel(ctx, f)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		o, err := p.Ordered(ctx, f, part)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		out = append(out, o)
	}
	return out
}

// centre is the red value of the centre pixel.
func centre(f *pipeline.Frame) float64 { return float64(f.Pix[3*(f.H/2*f.W+f.W/2)]) }

func TestFakeModes(t *testing.T) {
	conv := model.Conventions{Margin: 4, SizeMultiple: 4}
	t.Run("auto falls back to output blending", func(t *testing.T) {
		e := &fakeEngine{conv: conv, flicker: []float32{0}, splitErr: fmt.Errorf("fixed-size model: %w", model.ErrCannotSplit)}
		p, err := NewProcessor(e, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if m, why := p.Mode(); m != ModeOutput || !strings.Contains(why, "fixed-size model") || p.Weight() != float64(float32(DefaultOutputWeight)) {
			t.Errorf("mode %s (%s), weight %g: want output blending naming the reason", m, why, p.Weight())
		}
	})
	t.Run("feature mode that cannot split fails", func(t *testing.T) {
		e := &fakeEngine{conv: conv, flicker: []float32{0}, splitErr: errors.New("no feature map")}
		if _, err := NewProcessor(e, Options{Mode: ModeFeature}); err == nil || !strings.Contains(err.Error(), "no feature map") {
			t.Errorf("err = %v, want the split's reason", err)
		}
	})
	t.Run("auto splits", func(t *testing.T) {
		e := &fakeEngine{conv: conv, flicker: []float32{0}}
		p, err := NewProcessor(e, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if m, why := p.Mode(); m != ModeFeature || why != "feature blending at fake cut" || p.Weight() != float64(float32(DefaultFeatureWeight)) {
			t.Errorf("mode %s (%s), weight %g", m, why, p.Weight())
		}
		p.Close()
		if !e.halves.closed {
			t.Error("Close left the halves open")
		}
	})
}

// Output and feature blending keep the weight's share of the warped past:
// with a static scene (known zero shift) and flicker +10/−10, frame 1 is
// fresh + w·(past − fresh).
func TestFakeBlending(t *testing.T) {
	conv := model.Conventions{Margin: 4, SizeMultiple: 4}
	frames := []*pipeline.Frame{texture(64, 48, 100), texture(64, 48, 100), texture(64, 48, 100)}
	c := centre(frames[0])
	for _, tc := range []struct {
		mode Mode
		want [3]float64 // centre value minus the content's
	}{
		{ModeOff, [3]float64{10, -10, 10}},
		{ModeOutput, [3]float64{10, -10 + 0.3*20, 10 - 0.3*(10-(-4))}},
		{ModeFeature, [3]float64{10, -10 + 0.9*20, 10 - 0.9*(10-8)}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			e := &fakeEngine{conv: conv, flicker: []float32{10, -10}}
			p, err := NewProcessor(e, Options{Mode: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			p.shift = &[2]float32{0, 0}
			out := runFrames(t, p, frames)
			for i, o := range out {
				if got := centre(o) - c; math.Abs(got-tc.want[i]) > 1.01 {
					t.Errorf("frame %d: centre %+.1f, want %+.1f", i, got, tc.want[i])
				}
			}
			if s := p.Stats(); s.Frames != 3 || (tc.mode != ModeOff && s.Resets != 1) {
				t.Errorf("stats %+v: want 3 frames, 1 reset", s)
			}
		})
	}
}

// A cut (colours far apart) and a size change reset the state: the frame
// after them is the fresh stylization, not a blend.
func TestFakeResets(t *testing.T) {
	conv := model.Conventions{Margin: 4, SizeMultiple: 4}
	frames := []*pipeline.Frame{texture(64, 48, 60), texture(64, 48, 60), texture(64, 48, 200), texture(80, 48, 200)}
	e := &fakeEngine{conv: conv, flicker: []float32{10, -10}}
	p, err := NewProcessor(e, Options{Mode: ModeOutput})
	if err != nil {
		t.Fatal(err)
	}
	out := runFrames(t, p, frames)
	s := p.Stats()
	if s.Frames != 4 || s.Resets != 3 || s.Cuts != 1 {
		t.Errorf("stats %+v: want 4 frames, 3 resets (first, cut, size), 1 cut", s)
	}
	for _, i := range []int{2, 3} {
		want := centre(frames[i]) + float64(e.flicker[i%2])
		if got := centre(out[i]); math.Abs(got-want) > 1.01 {
			t.Errorf("frame %d after a reset: centre %.0f, want the fresh %.0f", i, got, want)
		}
	}
}

// Statistics EMA: each frame is encoded with a·past + (1−a)·own
// statistics, reset at cuts.
func TestFakeStatsEMA(t *testing.T) {
	conv := model.Conventions{Margin: 4, SizeMultiple: 4}
	frames := []*pipeline.Frame{texture(64, 48, 60), texture(64, 48, 70), texture(64, 48, 220)}
	e := &fakeEngine{conv: conv, flicker: []float32{0}}
	p, err := NewProcessor(e, Options{Mode: ModeFeature, StatsEMA: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	p.shift = &[2]float32{0, 0}
	runFrames(t, p, frames)
	var own []float32
	for _, f := range frames {
		st, _ := e.halves.Measure(context.Background(), model.ToPlanes(f), f.W, f.H)
		own = append(own, st[0].F32[0])
	}
	want := []float32{own[0], 0.5*own[0] + 0.5*own[1], own[2]} // frame 2 is a cut
	for i, v := range e.halves.seen {
		if math.Abs(float64(v-want[i])) > 1e-3 {
			t.Errorf("frame %d encoded with statistic %.3f, want %.3f", i, v, want[i])
		}
	}
	if len(e.halves.seen) != 3 {
		t.Errorf("%d encodes, want 3", len(e.halves.seen))
	}
}

// Alignment follows the motion: a pan by 2 px per frame moves the padding
// offset by 2 px modulo the size multiple (4), so the content keeps its
// phase on the stride grid; NoAlign keeps the engine's offset.
func TestFakeAlignment(t *testing.T) {
	conv := model.Conventions{Margin: 4, SizeMultiple: 4}
	src := texture(200, 60, 100)
	var frames []*pipeline.Frame
	for i := 0; i < 4; i++ {
		f := pipeline.NewFrame(64, 48)
		for y := 0; y < 48; y++ {
			copy(f.Pix[3*y*64:3*(y+1)*64], src.Pix[3*(y*200+2*i):3*(y*200+2*i+64)])
		}
		frames = append(frames, f)
	}
	for _, noAlign := range []bool{false, true} {
		e := &fakeEngine{conv: conv, flicker: []float32{0}}
		p, err := NewProcessor(e, Options{Mode: ModeFeature, NoAlign: noAlign})
		if err != nil {
			t.Fatal(err)
		}
		p.shift = &[2]float32{-2, 0} // content moves left by 2 px per frame
		runFrames(t, p, frames)
		var xs []int
		for _, o := range e.halves.offsets {
			xs = append(xs, o.X)
		}
		want := []int{4, 6, 4, 6} // margin + (−2·n mod 4)
		if noAlign {
			want = []int{4, 4, 4, 4}
		}
		if fmt.Sprint(xs) != fmt.Sprint(want) {
			t.Errorf("noAlign %v: offsets %v, want %v", noAlign, xs, want)
		}
	}
}

// A failing half is an error naming the processor, not a crash.
func TestFakeEncodeError(t *testing.T) {
	e := &fakeEngine{conv: model.Conventions{Margin: 4, SizeMultiple: 4}, flicker: []float32{0}}
	p, err := NewProcessor(e, Options{Mode: ModeFeature})
	if err != nil {
		t.Fatal(err)
	}
	e.halves.encErr = errors.New("boom")
	f := texture(32, 32, 100)
	part, err := p.Parallel(context.Background(), f)
	if err == nil {
		_, err = p.Ordered(context.Background(), f, part)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "temporal: ") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err = %v, want a temporal error with the cause", err)
	}
}
