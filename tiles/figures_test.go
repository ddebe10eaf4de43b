package tiles

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/testenv"
	"github.com/stylize/stylize/tiles/store"
)

// TestFigures measures the figures of the tiles note (seam ratios, closeness
// to stylizing the whole region, speed). It takes many CPU minutes, so it
// runs only with STYLIZE_FIGURES=1; STYLIZE_FIGURES_MODELS picks the models
// (default la_muse,udnie) and the lines are also appended to
// $STYLIZE_FIGURES_OUT when set.
//
//	STYLIZE_FIGURES=1 go test ./tiles -run TestFigures -v -timeout 60m
func TestFigures(t *testing.T) {
	if os.Getenv("STYLIZE_FIGURES") == "" {
		t.Skip("set STYLIZE_FIGURES=1 to measure the figures (slow)")
	}
	var out *os.File
	if p := os.Getenv("STYLIZE_FIGURES_OUT"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out = f
	}
	say := func(format string, a ...any) {
		s := fmt.Sprintf(format, a...)
		t.Log(s)
		if out != nil {
			fmt.Fprintln(out, s)
		}
	}
	ctx := context.Background()
	wholeMax := 2_000_000 // px: la_muse needs about 1 KiB per pixel
	if v, err := strconv.Atoi(os.Getenv("STYLIZE_FIGURES_WHOLE_MP")); err == nil {
		wholeMax = v * 1_000_000
	}
	models := []string{"la_muse", "udnie"}
	if m := os.Getenv("STYLIZE_FIGURES_MODELS"); m != "" {
		models = strings.Split(m, ",")
	}
	sets := []struct {
		name   string
		path   string
		z0, z1 maptile.Zoom
	}{
		{"Berlin", "tiles/berlin.mbtiles", 10, 13},
		{"Anholt", "tiles/anholt_osmbright", 12, 14},
	}
	if os.Getenv("STYLIZE_FIGURES_SPEED") != "" {
		speed(t, say)
	}
	for _, mname := range models {
		eng := openEngine(t, testenv.Model(t, mname))
		for _, set := range sets {
			src := testenv.SharedFile(t, set.path)
			run := func(label string, o Options) (string, *Report) {
				o.Source, o.Output, o.MinZoom, o.MaxZoom, o.Overviews, o.Quiet = src, filepath.Join(t.TempDir(), label), set.z0, set.z1, -1, true
				rep, err := Run(ctx, eng, o)
				if err != nil {
					t.Fatal(err)
				}
				return o.Output, rep
			}
			tiled, rep := run("tiled", Options{})
			naive, nrep := run("naive", Options{Metatile: 1, Margin: -1, Stats: StatsWindow})
			window, _ := run("window", Options{Stats: StatsWindow, Blend: -1})
			blended, brep := run("blended", Options{Stats: StatsWindow})
			say("%s %s z%d-%d: tiled (metatile %d, margin %d px, shared stats): %d tiles, %d metatiles, wall %.1f s, Σ inference %.1f s (%d runs, %.1f MP) → wall/inference %.3f; naive per tile: wall %.1f s, Σ inference %.1f s",
				mname, set.name, set.z0, set.z1, rep.Metatile, rep.Margin, rep.TilesWritten, rep.Metatiles, rep.Seconds, rep.InferenceSeconds,
				rep.InferenceRuns, float64(rep.InferencePixels)/1e6, rep.Seconds/rep.InferenceSeconds, nrep.Seconds, nrep.InferenceSeconds)
			srcSrc, _ := store.OpenSource(ctx, src, SourceOptions{})
			tSrc, _ := store.OpenSource(context.Background(), tiled, SourceOptions{})
			nSrc, _ := store.OpenSource(context.Background(), naive, SourceOptions{})
			wSrc, _ := store.OpenSource(context.Background(), window, SourceOptions{})
			bSrc, _ := store.OpenSource(context.Background(), blended, SourceOptions{})
			for z := set.z0; z <= set.z1; z++ {
				ms, _ := Stitch(ctx, srcSrc, z)
				mt, _ := Stitch(ctx, tSrc, z)
				mn, _ := Stitch(ctx, nSrc, z)
				mw, _ := Stitch(ctx, wSrc, z)
				mb, _ := Stitch(ctx, bSrc, z)
				rs, _ := Seams(ms)
				rt, _ := Seams(mt)
				rn, _ := Seams(mn)
				rw0, _ := Seams(mw)
				rb, _ := Seams(mb)
				line := fmt.Sprintf("%s %s z%d (%d×%d tiles): seam ratio tiled %.3f, naive %.3f, margin without shared stats %.3f (blended %d px: %.3f), source %.3f", mname, set.name, z, ms.Cols, ms.Rows, rt.Ratio, rn.Ratio, rw0.Ratio, brep.Blend, rb.Ratio, rs.Ratio)
				if ms.W()*ms.H() <= wholeMax { // the whole region fits in memory at once
					// The whole region in one run, reflect-padded by the same
					// margin as the metatiles (as stylize image pads a picture).
					m, w, h := rep.Margin, ms.W(), ms.H()
					p := model.PadReflect(toPlanes(ms), w, h, m, m, w+2*m, h+2*m)
					st := time.Now()
					whole, err := eng.StylizePlanes(ctx, p, w+2*m, h+2*m)
					if err != nil {
						t.Fatal(err)
					}
					whole = model.Crop(whole, w+2*m, h+2*m, m, m, w, h)
					wm := &Mosaic{Zoom: z, Cols: ms.Cols, Rows: ms.Rows, T: ms.T, Present: ms.Present, RGB: fromPlanes(whole, ms.W(), ms.H())}
					rw, _ := Seams(wm)
					mad, tileDiff := closeness(mt, wm)
					nmad, ntileDiff := closeness(mn, wm)
					line += fmt.Sprintf("; whole region at once (%.1f s): seam %.3f; tiled vs whole: mean |Δpixel| %.2f, per-tile mean colour |Δ| %.2f; naive vs whole: %.2f, %.2f",
						time.Since(st).Seconds(), rw.Ratio, mad, tileDiff, nmad, ntileDiff)
				}
				say("%s", line)
			}
			srcSrc.Close()
		}
	}
}

func toPlanes(m *Mosaic) []float32 {
	hw := m.W() * m.H()
	p := make([]float32, 3*hw)
	for i := 0; i < hw; i++ {
		p[i], p[hw+i], p[2*hw+i] = float32(m.RGB[3*i]), float32(m.RGB[3*i+1]), float32(m.RGB[3*i+2])
	}
	return p
}

func fromPlanes(p []float32, w, h int) []byte {
	hw := w * h
	b := make([]byte, 3*hw)
	for i := 0; i < hw; i++ {
		b[3*i], b[3*i+1], b[3*i+2] = clamp8(p[i]), clamp8(p[hw+i]), clamp8(p[2*hw+i])
	}
	return b
}

// closeness is the mean absolute pixel difference (0..255, over channels)
// and the mean over tiles of the per-channel mean-colour difference.
func closeness(a, b *Mosaic) (float64, float64) {
	var sum float64
	for i := range a.RGB {
		sum += math.Abs(float64(a.RGB[i]) - float64(b.RGB[i]))
	}
	var td float64
	n := 0
	w := a.W()
	for r := 0; r < a.Rows; r++ {
		for c := 0; c < a.Cols; c++ {
			if !a.Present[r][c] {
				continue
			}
			var ma, mb [3]float64
			for y := r * a.T; y < (r+1)*a.T; y++ {
				for x := c * a.T; x < (c+1)*a.T; x++ {
					for k := 0; k < 3; k++ {
						ma[k] += float64(a.RGB[3*(y*w+x)+k])
						mb[k] += float64(b.RGB[3*(y*w+x)+k])
					}
				}
			}
			for k := 0; k < 3; k++ {
				td += math.Abs(ma[k]-mb[k]) / float64(a.T*a.T) / 3
			}
			n++
		}
	}
	return sum / float64(len(a.RGB)), td / float64(n)
}

// speed compares Run with builtin:identity against a plain
// read-decode-encode-write loop over the same tiles (Anholt z12–14).
func speed(t *testing.T, say func(string, ...any)) {
	ctx := context.Background()
	src := testenv.SharedFile(t, "tiles/anholt_osmbright")
	eng := openEngine(t, "builtin:identity")
	var n int
	plainRun := func() (time.Duration, time.Duration) {
		st, cpu := time.Now(), cpuTime()
		n = plainCopy(t, src, filepath.Join(t.TempDir(), "plain"), 12, 14)
		return time.Since(st), cpuTime() - cpu
	}
	var rep *Report
	identRun := func() (time.Duration, time.Duration) {
		st, cpu := time.Now(), cpuTime()
		var err error
		rep, err = Run(ctx, eng, Options{Source: src, Output: filepath.Join(t.TempDir(), "id"), MinZoom: 12, MaxZoom: 14, Overviews: -1, Quiet: true})
		if err != nil {
			t.Fatal(err)
		}
		return time.Since(st), cpuTime() - cpu
	}
	// Interleaved, best of 3 each: the machine is shared, so its load drifts.
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("STYLIZE_FIGURES_SPEED_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	plain, ident := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	plainCPU, identCPU := plain, ident
	for i := 0; i < rounds; i++ {
		w, c := plainRun()
		plain, plainCPU = min(plain, w), min(plainCPU, c)
		w, c = identRun()
		ident, identCPU = min(ident, w), min(identCPU, c)
	}
	say("speed Anholt z12-14 (%d tiles), best of %d interleaved: plain read-decode-encode-write %.2f s = %.1f tiles/s (CPU %.2f s); stylize tiles builtin:identity (metatile %d, margin %d) %.2f s = %.1f tiles/s (CPU %.2f s) → %.2f× plain (CPU %.2f×)",
		n, rounds, plain.Seconds(), float64(n)/plain.Seconds(), plainCPU.Seconds(), rep.Metatile, rep.Margin, ident.Seconds(), float64(n)/ident.Seconds(), identCPU.Seconds(),
		plain.Seconds()/ident.Seconds(), plainCPU.Seconds()/identCPU.Seconds())
}

// TestBlendFigures measures the seam ratio with and without feathered
// metatile blending, with shared and per-window statistics:
//
//	STYLIZE_FIGURES_BLEND=1 [STYLIZE_FIGURES_MODELS=la_muse,udnie] \
//	[STYLIZE_FIGURES_SETS=berlin:13-13,anholt:12-13] go test ./tiles -run TestBlendFigures -v -timeout 60m
func TestBlendFigures(t *testing.T) {
	if os.Getenv("STYLIZE_FIGURES_BLEND") == "" {
		t.Skip("set STYLIZE_FIGURES_BLEND=1 to measure blending (slow)")
	}
	ctx := context.Background()
	models := []string{"la_muse", "udnie"}
	if m := os.Getenv("STYLIZE_FIGURES_MODELS"); m != "" {
		models = strings.Split(m, ",")
	}
	paths := map[string]string{"berlin": "tiles/berlin.mbtiles", "anholt": "tiles/anholt_osmbright"}
	sets := "berlin:13-13,anholt:12-13"
	if s := os.Getenv("STYLIZE_FIGURES_SETS"); s != "" {
		sets = s
	}
	for _, mname := range models {
		eng := openEngine(t, testenv.Model(t, mname))
		for _, set := range strings.Split(sets, ",") {
			name, zr, _ := strings.Cut(set, ":")
			z0, z1, err := ParseZoomRange(zr)
			if err != nil {
				t.Fatal(err)
			}
			src := testenv.SharedFile(t, paths[name])
			for _, stats := range []StatsMode{StatsWindow, StatsShared} {
				line := fmt.Sprintf("%s %s z%d-%d stats %s:", mname, name, z0, z1, stats)
				for _, blend := range []int{-1, 32} {
					out := filepath.Join(t.TempDir(), "o")
					st := time.Now()
					rep, err := Run(ctx, eng, Options{Source: src, Output: out, MinZoom: z0, MaxZoom: z1, Overviews: -1, Stats: stats, Blend: blend, Quiet: true})
					if err != nil {
						t.Fatal(err)
					}
					o, _ := store.OpenSource(context.Background(), out, SourceOptions{})
					line += fmt.Sprintf(" | blend %d px (%.0f s):", rep.Blend, time.Since(st).Seconds())
					for z := z0; z <= z1; z++ {
						m, err := Stitch(ctx, o, z)
						if err != nil {
							t.Fatal(err)
						}
						r, _ := Seams(m)
						line += fmt.Sprintf(" z%d %.3f", z, r.Ratio)
					}
				}
				t.Log(line)
			}
		}
	}
}
