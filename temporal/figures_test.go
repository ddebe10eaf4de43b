package temporal

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/testenv"
)

var (
	figures     = flag.Bool("figures", false, "measure the full-length figures of BENCHMARKS.md (section Temporal coherence; minutes)")
	figuresOnly = flag.String("figures-only", "", "measure only the pan configurations whose name contains this (and skip BBB)")
)

// TestFigures prints the figures of BENCHMARKS.md, "Temporal coherence":
//
//	go test ./temporal -run TestFigures -figures -v -timeout 60m
func TestFigures(t *testing.T) {
	if !*figures {
		t.Skip("full-length measurements: run with -figures")
	}
	src := shrink(photo(t, "stata.jpg"), 2)
	const w, h, n, step = 320, 180, 40, 2
	frames := pan(src, w, h, n, 20, 60, step, 0, 6, 1)
	in := measure(t, frames, frames, -step, 0)
	fmt.Printf("## Known-motion pan: stata.jpg/2, %dx%d, %d frames, window +%d px/frame, noise σ=6\n\n", w, h, n, step)
	fmt.Printf("Input itself: E_warp %.5f. E_warp with the true shift; ratios against per-frame.\n\n", in.ewarp)
	fmt.Println("| model | mode | E_warp | ×per-frame | style × | sharpness × | Ordered ms/frame | notes |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	type cfg struct {
		name  string
		opt   Options
		shift bool // flow = the true shift instead of the estimate
	}
	cfgs := []cfg{
		{"feature w0.9 (default)", Options{}, false},
		{"feature w0.85", Options{Weight: 0.85}, false},
		{"feature w0.9, true flow", Options{}, true},
		{"feature w0.9, no alignment", Options{NoAlign: true}, false},
		{"feature w0.85, no alignment", Options{NoAlign: true, Weight: 0.85}, false},
		{"alignment only (w≈0)", Options{Weight: 1e-6}, false},
		{"feature w0.9 + pre-blend 0.5", Options{PreBlend: 0.5}, false},
		{"feature w0.9 + pre-blend 0.5, no alignment", Options{PreBlend: 0.5, NoAlign: true}, false},
		{"output w0.2", Options{Mode: ModeOutput, Weight: 0.2}, false},
		{"output w0.3 (fallback default)", Options{Mode: ModeOutput}, false},
		{"output w0.5", Options{Mode: ModeOutput, Weight: 0.5}, false},
		{"feature w0.9 + statistics EMA 0.9", Options{StatsEMA: 0.9}, false},
		{"statistics EMA 0.9 only (w≈0)", Options{StatsEMA: 0.9, Weight: 1e-6}, false},
		{"statistics EMA 0.9 only (w≈0), no alignment", Options{StatsEMA: 0.9, Weight: 1e-6, NoAlign: true}, false},
	}
	for _, name := range []string{"la_muse", "udnie"} {
		eng := openEngine(t, name)
		t0 := time.Now()
		pf := measure(t, frames, process(t, newProcessor(t, eng, Options{Mode: ModeOff}), frames), -step, 0)
		fmt.Printf("| %s | per-frame | %.5f | 1 | 1 (%.1f) | 1 (%.1f) | %.0f (whole model) | |\n", name, pf.ewarp, pf.style, pf.sharp, ms(time.Since(t0), n))
		for _, c := range cfgs {
			if !strings.Contains(c.name, *figuresOnly) {
				continue
			}
			p := newProcessor(t, eng, c.opt)
			if c.shift {
				p.shift = &[2]float32{-step, 0}
			}
			t0 := time.Now()
			out := processTimed(t, p, frames)
			tf := measure(t, frames, out.frames, -step, 0)
			st := p.Stats()
			fmt.Printf("| %s | %s | %.5f | %.3f | %.3f | %.3f | %.0f | flow %.0f ms/frame, coverage %.2f, resets %d, total %.0f ms/frame |\n",
				name, c.name, tf.ewarp, tf.ewarp/pf.ewarp, tf.style/pf.style, tf.sharp/pf.sharp, ms(out.ordered, n),
				ms(st.FlowTime, n-1), st.Coverage, st.Resets, ms(time.Since(t0), n))
		}
	}
	if *figuresOnly == "" {
		bbbFigures(t)
	}
}

// TestFiguresStatic measures drift on a static 30 s clip (720 frames at 24
// fps) of one photo with fresh noise in every frame.
func TestFiguresStatic(t *testing.T) {
	if !*figures {
		t.Skip("full-length measurements: run with -figures")
	}
	const w, h, n = 128, 72, 720
	frames := pan(shrink(photo(t, "stata.jpg"), 4), w, h, n, 40, 40, 0, 0, 6, 5)
	eng := openEngine(t, "la_muse")
	fmt.Printf("\n## Static clip: stata.jpg/4, %dx%d, %d frames (30 s at 24 fps), noise σ=6, la_muse\n\n", w, h, n)
	fmt.Println("| mode | mean colour frame 0 | frame 719 | max channel drift | sharpness 719/0 | mean |out_t − out_t−1| (per-frame) |")
	fmt.Println("|---|---|---|---|---|---|")
	pf := process(t, newProcessor(t, eng, Options{Mode: ModeOff}), frames[n-2:])
	pfd := MeanAbsDiff(pf[0], pf[1])
	for _, c := range []struct {
		name string
		opt  Options
	}{{"feature w0.9 (default)", Options{}}, {"output w0.3", Options{Mode: ModeOutput}}} {
		out := process(t, newProcessor(t, eng, c.opt), frames)
		c0, c1 := MeanColor(out[0]), MeanColor(out[n-1])
		var drift float64
		for i := range c0 {
			drift = max(drift, abs(c1[i]-c0[i]))
		}
		fmt.Printf("| %s | %.1f | %.1f | %.2f | %.3f | %.2f (%.2f) |\n", c.name, c0, c1, drift,
			Sharpness(out[n-1])/Sharpness(out[0]), MeanAbsDiff(out[n-1], out[n-2]), pfd)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func ms(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(max(n, 1)) }

type timed struct {
	frames  []*pipeline.Frame
	ordered time.Duration
}

func processTimed(t testing.TB, p *Processor, frames []*pipeline.Frame) timed {
	ctx := context.Background()
	var r timed
	for _, f := range frames {
		part, err := p.Parallel(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		o, err := p.Ordered(ctx, f, part)
		if err != nil {
			t.Fatal(err)
		}
		r.ordered += time.Since(t0)
		r.frames = append(r.frames, o)
	}
	return r
}

// bbbFrames decodes the BBB clip with ffmpeg, scaled to w×h, from start for
// n frames.
func bbbFrames(t *testing.T, start string, n, w, h int) []*pipeline.Frame {
	testenv.FFmpeg(t)
	path := testenv.SharedFile(t, "media/video/bbb_480p_30s.mp4")
	cmd := exec.Command("ffmpeg", "-v", "error", "-ss", start, "-i", path, "-frames:v", fmt.Sprint(n),
		"-vf", fmt.Sprintf("scale=%d:%d", w, h), "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	var fs []*pipeline.Frame
	for {
		f := pipeline.NewFrame(w, h)
		if _, err := io.ReadFull(r, f.Pix); err != nil {
			break
		}
		fs = append(fs, f)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return fs
}

func bbbFigures(t *testing.T) {
	const w, h = 428, 240
	// Whole clip: how many resets (cuts, flow failures) the detector makes.
	all := bbbFrames(t, "0", 720, w, h)
	eng := openEngine(t, "builtin:identity")
	p := newProcessor(t, eng, Options{Mode: ModeOutput})
	var cutsAt []int
	ctx := context.Background()
	prev := 0
	for i, f := range all {
		part, err := p.Parallel(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Ordered(ctx, f, part); err != nil {
			t.Fatal(err)
		}
		if r := p.Stats().Resets; r != prev {
			cutsAt = append(cutsAt, i)
			prev = r
		}
	}
	st := p.Stats()
	fmt.Printf("\n## BBB (bbb_480p_30s.mp4 at %dx%d)\n\nWhole clip, %d frames: resets at frames %v (cuts %d, flow failures %d), mean coverage %.2f, flow %.1f ms/frame.\n\n",
		w, h, len(all), cutsAt, st.Cuts, st.Failures, st.Coverage, ms(st.FlowTime, len(all)))
	// 3 s from 00:20 through la_muse and udnie, measured with the estimated flow.
	clip := bbbFrames(t, "20", 72, w, h)
	fmt.Println("| model | mode | E_warp (estimated flow) | ×per-frame | style × | sharpness × |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, name := range []string{"la_muse", "udnie"} {
		eng := openEngine(t, name)
		var base clipFigures
		for _, c := range []struct {
			name string
			opt  Options
		}{{"per-frame", Options{Mode: ModeOff}}, {"feature w0.9 (default)", Options{}}, {"feature w0.9, no alignment", Options{NoAlign: true}}, {"output w0.3", Options{Mode: ModeOutput}}} {
			out := process(t, newProcessor(t, eng, c.opt), clip)
			m := WarpMeter{}
			var f clipFigures
			for i := range clip {
				if err := m.Add(clip[i], out[i]); err != nil {
					t.Fatal(err)
				}
				f.style += MeanAbsDiff(out[i], clip[i])
				f.sharp += Sharpness(out[i])
			}
			f.ewarp = m.Value()
			if c.opt.Mode == ModeOff {
				base = f
			}
			fmt.Printf("| %s | %s | %.5f | %.3f | %.3f | %.3f |\n", name, c.name, f.ewarp, f.ewarp/base.ewarp, f.style/base.style, f.sharp/base.sharp)
		}
	}
	fmt.Fprintln(os.Stdout)
}
