package temporal

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/testenv"
)

func openEngine(t testing.TB, name string) *model.Engine {
	t.Helper()
	path := name
	if !onnx.IsBuiltin(name) && !filepath.IsAbs(name) {
		path = testenv.Model(t, name)
	}
	testenv.ORT(t)
	eng, err := model.Open(context.Background(), model.Options{Model: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func newProcessor(t testing.TB, eng *model.Engine, opt Options) *Processor {
	t.Helper()
	p, err := NewProcessor(eng, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// process runs frames through p as the video pipeline does: Parallel, then
// Ordered in frame order.
func process(t testing.TB, p *Processor, frames []*pipeline.Frame) []*pipeline.Frame {
	t.Helper()
	ctx := context.Background()
	out := make([]*pipeline.Frame, len(frames))
	for i, f := range frames {
		part, err := p.Parallel(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = p.Ordered(ctx, f, part); err != nil {
			t.Fatal(err)
		}
		if out[i].W != f.W || out[i].H != f.H {
			t.Fatalf("frame %d: output %dx%d, input %dx%d", i, out[i].W, out[i].H, f.W, f.H)
		}
	}
	return out
}

// clipFigures are what the goals are stated in.
type clipFigures struct {
	ewarp, style, sharp float64
}

func measure(t testing.TB, in, out []*pipeline.Frame, dx, dy float32) clipFigures {
	t.Helper()
	m := WarpMeter{Shift: &[2]float32{dx, dy}}
	var c clipFigures
	for i := range in {
		if err := m.Add(in[i], out[i]); err != nil {
			t.Fatal(err)
		}
		c.style += MeanAbsDiff(out[i], in[i])
		c.sharp += Sharpness(out[i])
	}
	c.ewarp = m.Value()
	c.style /= float64(len(in))
	c.sharp /= float64(len(in))
	return c
}

func TestProcessorPan(t *testing.T) {
	if testing.Short() {
		t.Skip("runs style networks over 14-frame clips")
	}
	src := shrink(photo(t, "stata.jpg"), 2)
	const w, h, n, step = 320, 180, 14, 2
	frames := pan(src, w, h, n, 40, 60, step, 0, 6, 1)
	tests := []struct {
		model string
		opt   Options
		mode  Mode
		// goals: E_warp ratio at most, style and sharpness ratios at least
		maxE, minStyle, minSharp float64
	}{
		{"la_muse", Options{}, ModeFeature, 0.3, 0.9, 0.85},
		{"udnie", Options{}, ModeFeature, 0.3, 0.9, 0.85},
		// The fallback trades flicker for blur (the issue's own figures):
		// it must still halve the flicker and keep most of the sharpness.
		{"la_muse", Options{Mode: ModeOutput}, ModeOutput, 0.5, 0.9, 0.75},
	}
	base := map[string]clipFigures{}
	for _, tc := range tests {
		t.Run(tc.model+"/"+string(tc.mode), func(t *testing.T) {
			eng := openEngine(t, tc.model)
			pf, ok := base[tc.model]
			if !ok {
				pf = measure(t, frames, process(t, newProcessor(t, eng, Options{Mode: ModeOff}), frames), -step, 0)
				base[tc.model] = pf
			}
			p := newProcessor(t, eng, tc.opt)
			if m, why := p.Mode(); m != tc.mode {
				t.Fatalf("mode %s (%s), want %s", m, why, tc.mode)
			}
			tf := measure(t, frames, process(t, p, frames), -step, 0)
			e, s, sh := tf.ewarp/pf.ewarp, tf.style/pf.style, tf.sharp/pf.sharp
			t.Logf("per-frame E_warp %.4f style %.1f sharpness %.1f; %s: E_warp %.4f (%.2f×) style %.2f× sharpness %.2f×; stats %+v",
				pf.ewarp, pf.style, pf.sharp, tc.mode, tf.ewarp, e, s, sh, p.Stats())
			if e > tc.maxE {
				t.Errorf("E_warp %.2f× per-frame, want ≤ %.2f×", e, tc.maxE)
			}
			if s < tc.minStyle {
				t.Errorf("style %.2f× per-frame, want ≥ %.2f×", s, tc.minStyle)
			}
			if sh < tc.minSharp {
				t.Errorf("sharpness %.2f× per-frame, want ≥ %.2f×", sh, tc.minSharp)
			}
			if st := p.Stats(); st.Resets != 1 {
				t.Errorf("%d resets on one shot, want 1 (the first frame)", st.Resets)
			}
		})
	}
}

func TestProcessorCut(t *testing.T) {
	eng := openEngine(t, "la_muse")
	const w, h = 160, 96
	a := pan(shrink(photo(t, "stata.jpg"), 4), w, h, 4, 20, 30, 2, 0, 6, 1)
	b := pan(photo(t, "udnie.jpg"), w, h, 3, 50, 50, 0, 2, 6, 2)
	frames := append(a, b...)
	t.Logf("histogram distance within the first clip %.3f, across the cut %.3f",
		HistogramOf(a[0]).Distance(HistogramOf(a[1])), HistogramOf(a[len(a)-1]).Distance(HistogramOf(b[0])))
	for _, mode := range []Mode{ModeFeature, ModeOutput} {
		t.Run(string(mode), func(t *testing.T) {
			p := newProcessor(t, eng, Options{Mode: mode})
			out := process(t, p, frames)
			want, err := eng.Stylize(context.Background(), frames[len(a)])
			if err != nil {
				t.Fatal(err)
			}
			d := MeanAbsDiff(out[len(a)], want)
			st := p.Stats()
			t.Logf("first frame after the cut differs from per-frame by %.3f; stats %+v", d, st)
			if d > 0.5 {
				t.Errorf("first frame after the cut: mean |temporal − per-frame| = %.3f, want ≤ 0.5 (no ghosting)", d)
			}
			if st.Cuts+st.Failures != 1 || st.Resets != 2 {
				t.Errorf("stats %+v: want one cut and two resets", st)
			}
			// The frame after is blended again (differs from per-frame).
			if next, _ := eng.Stylize(context.Background(), frames[len(a)+1]); MeanAbsDiff(out[len(a)+1], next) < 0.5 {
				t.Errorf("frame after the cut equals per-frame: blending did not restart")
			}
		})
	}
}

func TestProcessorStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a style network over 72 frames")
	}
	eng := openEngine(t, "la_muse")
	const w, h, n = 192, 112, 72
	frames := pan(shrink(photo(t, "stata.jpg"), 4), w, h, n, 30, 30, 0, 0, 6, 3)
	for _, tc := range []struct {
		mode Mode
		// consecutive outputs must differ by at most this share of the
		// per-frame difference (the noise is what is left to flicker)
		maxFlicker float64
	}{{ModeFeature, 0.5}, {ModeOutput, 0.85}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			p := newProcessor(t, eng, Options{Mode: tc.mode})
			out := process(t, p, frames)
			first, last := out[0], out[n-1]
			// Reference: the per-frame stylization of the last frame.
			ref, err := eng.Stylize(context.Background(), frames[n-1])
			if err != nil {
				t.Fatal(err)
			}
			c0, c1, cr := MeanColor(first), MeanColor(last), MeanColor(ref)
			var drift float64
			for i := range c0 {
				drift = math.Max(drift, math.Abs(c1[i]-c0[i]))
			}
			sharp := Sharpness(last) / Sharpness(first)
			t.Logf("mean colour first %.1f last %.1f per-frame %.1f; sharpness last/first %.3f, last/per-frame %.3f; stats %+v",
				c0, c1, cr, sharp, Sharpness(last)/Sharpness(ref), p.Stats())
			if drift > 2 {
				t.Errorf("colour drifted by %.2f grey levels after %d frames, want ≤ 2", drift, n)
			}
			if sharp < 0.9 {
				t.Errorf("sharpness after %d frames is %.2f× the first frame's, want ≥ 0.9 (no blur build-up)", n, sharp)
			}
			d, pd := MeanAbsDiff(last, out[n-2]), MeanAbsDiff(ref, first)
			t.Logf("consecutive frames differ by %.2f, per-frame ones by %.2f", d, pd)
			if d > tc.maxFlicker*pd {
				t.Errorf("consecutive static frames differ by %.2f, per-frame by %.2f: want ≤ %.2f×", d, pd, tc.maxFlicker)
			}
		})
	}
}

// Auto mode picks feature blending for splittable graphs and falls back
// to output blending otherwise; a first frame is always the per-frame
// stylization.
func TestProcessorModes(t *testing.T) {
	frames := pan(shrink(photo(t, "stata.jpg"), 4), 96, 64, 3, 10, 10, 2, 0, 4, 1)
	for _, tc := range []struct {
		model string
		mode  Mode
	}{{"mindgame_dynamic", ModeFeature}, {"builtin:ink", ModeOutput}} {
		t.Run(tc.model, func(t *testing.T) {
			eng := openEngine(t, tc.model)
			p := newProcessor(t, eng, Options{})
			if m, why := p.Mode(); m != tc.mode {
				t.Errorf("mode %s (%s), want %s", m, why, tc.mode)
			}
			out := process(t, p, frames)
			want, err := eng.Stylize(context.Background(), frames[0])
			if err != nil {
				t.Fatal(err)
			}
			if d := MeanAbsDiff(out[0], want); d > 0.5 {
				t.Errorf("first frame differs from per-frame by %.3f", d)
			}
			if tc.mode == ModeOutput {
				if _, err := NewProcessor(eng, Options{Mode: ModeFeature}); err == nil {
					t.Error("feature mode forced on an unsplittable model: want an error")
				}
			}
		})
	}
}

func TestProcessorStatsEMA(t *testing.T) {
	eng := openEngine(t, "la_muse")
	p := newProcessor(t, eng, Options{StatsEMA: 0.8})
	if m, why := p.Mode(); m != ModeFeature || !p.withStats {
		t.Fatalf("mode %s (%s), measuring graph %v: want feature blending with statistics", m, why, p.withStats)
	}
	frames := pan(shrink(photo(t, "stata.jpg"), 4), 96, 64, 4, 20, 20, 2, 0, 6, 1)
	out := process(t, p, frames)
	want, err := eng.Stylize(context.Background(), frames[0])
	if err != nil {
		t.Fatal(err)
	}
	if d := MeanAbsDiff(out[0], want); d > 0.5 {
		t.Errorf("first frame (own statistics) differs from per-frame by %.3f, want ≤ 0.5", d)
	}
	pf := measure(t, frames, process(t, newProcessor(t, eng, Options{Mode: ModeOff}), frames), -2, 0)
	tf := measure(t, frames, out, -2, 0)
	t.Logf("E_warp per-frame %.5f, with statistics EMA %.5f", pf.ewarp, tf.ewarp)
	if tf.ewarp >= pf.ewarp {
		t.Errorf("E_warp %.5f with EMA, per-frame %.5f: want less flicker", tf.ewarp, pf.ewarp)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opt Options
		ok  bool
	}{
		{Options{}, true},
		{Options{Mode: ModeOutput, Weight: 0.5, PreBlend: 0.3, StatsEMA: 0.9}, true},
		{Options{Mode: "sideways"}, false},
		{Options{Weight: 1.5}, false},
		{Options{Weight: -0.1}, false},
		{Options{PreBlend: 2}, false},
		{Options{StatsEMA: 1}, false},
		{Options{CutThreshold: 3}, false},
		{Options{MinCoverage: -1}, false},
		{Options{FlowMaxSide: 8}, false},
	} {
		if err := tc.opt.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", tc.opt, err, tc.ok)
		}
	}
	for _, s := range []string{"", "auto", "feature", "output", "off"} {
		if _, err := ParseMode(s); err != nil {
			t.Errorf("ParseMode(%q): %v", s, err)
		}
	}
	if _, err := ParseMode("on"); err == nil {
		t.Error(`ParseMode("on"): want an error`)
	}
}

// A splittable net whose output is not its input's size (an upsampling
// tail, trimmed borders) gives the same first frame in feature mode as per
// frame: the decoder's output is scaled back or centred, not cropped from
// its corner.
func TestProcessorOutputSizeChanged(t *testing.T) {
	frames := pan(shrink(photo(t, "stata.jpg"), 4), 96, 64, 2, 10, 10, 2, 0, 4, 1)
	base := testenv.Model(t, "la_muse")
	for _, tc := range []struct {
		name string
		tail func(b *onnx.Builder, x string)
	}{
		{"upsampled 2x", func(b *onnx.Builder, x string) {
			b.NodeTo("Resize", []string{x, "", b.Const("scales", []int64{4}, []float32{1, 1, 2, 2})}, []string{"stylized"},
				onnx.AttrString("mode", "nearest"))
		}},
		{"borders trimmed", func(b *onnx.Builder, x string) {
			b.NodeTo("Slice", []string{x, b.Int64s("starts", []int64{4, 4}), b.Int64s("ends", []int64{-4, -4}),
				b.Int64s("axes", []int64{2, 3})}, []string{"stylized"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := onnx.Load(base)
			if err != nil {
				t.Fatal(err)
			}
			out := m.Outputs()[0]
			m.RenameValue(out.Name, "core_out")
			g := m.Proto.Graph
			g.Output = nil
			b := onnx.Edit(g)
			tc.tail(b, "core_out")
			b.Output("stylized", out.ElemType, []onnx.Dim{{Value: 1}, {Value: 3}, {Value: -1}, {Value: -1}})
			bs, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "resized.onnx")
			if err := os.WriteFile(path, bs, 0o644); err != nil {
				t.Fatal(err)
			}
			eng := openEngine(t, path)
			p := newProcessor(t, eng, Options{Mode: ModeFeature})
			got := process(t, p, frames)
			want, err := eng.Stylize(context.Background(), frames[0])
			if err != nil {
				t.Fatal(err)
			}
			if d := MeanAbsDiff(got[0], want); d > 1 {
				t.Errorf("first frame differs from per-frame by %.2f (decoder output misplaced)", d)
			}
		})
	}
}
