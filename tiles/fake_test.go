package tiles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/model"
)

// fakeEngine stylizes without onnxruntime: the negative of the picture,
// pixel by pixel, so every tile of the output must be the exact negative
// of its source tile wherever the metatile geometry puts it.
type fakeEngine struct {
	conv   model.Conventions
	radius int
	norm   *fakeNorm // nil: no InstanceNormalization
	mu     sync.Mutex
	sizes  []string // canvas sizes stylized, in call order
}

func (e *fakeEngine) Name() string                          { return "fake" }
func (e *fakeEngine) Device() string                        { return "cpu" }
func (e *fakeEngine) Conventions() model.Conventions        { return e.conv }
func (e *fakeEngine) HasInstanceNorm() bool                 { return e.norm != nil }
func (e *fakeEngine) ReceptiveRadius() int                  { return e.radius }
func (e *fakeEngine) InferenceTime() (time.Duration, int64) { return 0, int64(len(e.sizes)) }

func (e *fakeEngine) StylizePlanes(_ context.Context, p []float32, w, h int) ([]float32, error) {
	e.mu.Lock()
	e.sizes = append(e.sizes, fmt.Sprintf("%dx%d", w, h))
	e.mu.Unlock()
	return negative(p), nil
}

func (e *fakeEngine) SharedStats() (model.Normalizer, error) {
	if e.norm == nil {
		return nil, fmt.Errorf("no normalisation here: %w", model.ErrNoSharedStats)
	}
	return e.norm, nil
}

func negative(p []float32) []float32 {
	out := make([]float32, len(p))
	for i, v := range p {
		out[i] = 255 - v
	}
	return out
}

// fakeNorm: one statistic, the sample's mean; Stylize records the
// statistic it was given.
type fakeNorm struct {
	mu       sync.Mutex
	measured int
	given    []float32
}

func (n *fakeNorm) Measure(_ context.Context, p []float32, w, h int) (model.Stats, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.measured++
	var s float64
	for _, v := range p {
		s += float64(v)
	}
	return model.Stats{{Shape: []int64{1, 1, 1, 1}, F32: []float32{float32(s / float64(len(p)))}}}, nil
}

func (n *fakeNorm) Stylize(_ context.Context, p []float32, w, h int, st model.Stats) ([]float32, error) {
	n.mu.Lock()
	n.given = append(n.given, st[0].F32[0])
	n.mu.Unlock()
	return negative(p), nil
}

func (n *fakeNorm) NumStats() int                         { return 1 }
func (n *fakeNorm) InferenceTime() (time.Duration, int64) { return 0, int64(n.measured + len(n.given)) }
func (n *fakeNorm) Close() error                          { return nil }

// checkNegatives compares every written z5 tile with its source tile.
func checkNegatives(t *testing.T, src, out string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(out, "5", "*", "*.png"))
	for _, p := range files {
		rel, _ := filepath.Rel(out, p)
		a, b := readFrame(t, filepath.Join(src, rel)), readFrame(t, p)
		for i, v := range a.Pix {
			if b.Pix[i] != 255-v {
				t.Fatalf("tile %s, byte %d: %d, want the negative of %d", rel, i, b.Pix[i], v)
			}
		}
	}
	return len(files)
}

func readFrame(t *testing.T, p string) *pipeline.Frame {
	t.Helper()
	img, err := imageio.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.FromImage(img)
}

// Planning: 5×4 tiles in metatiles of 2×2 with a 16 px margin are six
// canvases (the last column one tile wide), each tile cut back from its
// place.
func TestFakePlanning(t *testing.T) {
	src := synthetic(t, 5, 4, nil)
	e := &fakeEngine{conv: model.Conventions{SizeMultiple: 1}, radius: 3}
	out := filepath.Join(t.TempDir(), "out")
	rep, err := Run(context.Background(), e, Options{Source: src, Output: out, MinZoom: 5, MaxZoom: 5, Overviews: -1, Metatile: 2, Margin: 16, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Metatiles != 6 || rep.TilesWritten != 20 || rep.Margin != 16 || rep.Blend != 0 || rep.InferenceRuns != 6 {
		t.Errorf("report %+v", rep)
	}
	sort.Strings(e.sizes)
	if got := fmt.Sprint(e.sizes); got != "[160x160 160x160 160x160 160x160 96x160 96x160]" {
		t.Errorf("canvases %s", got)
	}
	if n := checkNegatives(t, src, out); n != 20 {
		t.Errorf("%d tiles checked, want 20", n)
	}
	if rep.StatsNote != "no normalisation here: shared statistics unavailable" {
		t.Errorf("stats note %q", rep.StatsNote)
	}
}

// The default margin covers the receptive radius (+2), at least 64 px for
// nets with normalisation, rounded up to the size multiple.
func TestFakeDefaultMargin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		e      *fakeEngine
		margin int
	}{
		{"local filter", &fakeEngine{conv: model.Conventions{SizeMultiple: 1}, radius: 15}, 17},
		{"tiny filter", &fakeEngine{conv: model.Conventions{SizeMultiple: 1}, radius: 1}, 8},
		{"style net", &fakeEngine{conv: model.Conventions{SizeMultiple: 4}, radius: 54, norm: &fakeNorm{}}, 64},
		{"wide net", &fakeEngine{conv: model.Conventions{SizeMultiple: 4}, radius: 70}, 72},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := synthetic(t, 2, 2, nil)
			rep, err := Run(context.Background(), tc.e, Options{Source: src, Output: filepath.Join(t.TempDir(), "o"), MinZoom: 5, MaxZoom: 5, Overviews: -1, Quiet: true})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Margin != tc.margin {
				t.Errorf("margin %d, want %d", rep.Margin, tc.margin)
			}
		})
	}
}

// Resume: a run interrupted after two metatiles leaves their tiles; the
// next run skips them, stylizes only the metatiles left and ends
// with the same tiles.
func TestFakeResume(t *testing.T) {
	src := synthetic(t, 5, 4, nil)
	opts := func(out string) Options {
		return Options{Source: src, Output: out, MinZoom: 5, MaxZoom: 5, Overviews: -1, Metatile: 2, Margin: 16, Quiet: true}
	}
	whole := filepath.Join(t.TempDir(), "whole")
	if _, err := Run(context.Background(), &fakeEngine{conv: model.Conventions{SizeMultiple: 1}}, opts(whole)); err != nil {
		t.Fatal(err)
	}
	resumed := filepath.Join(t.TempDir(), "resumed")
	ctx, cancel := context.WithCancel(context.Background())
	afterBatch = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	_, err := Run(ctx, &fakeEngine{conv: model.Conventions{SizeMultiple: 1}}, opts(resumed))
	afterBatch = nil
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v", err)
	}
	e := &fakeEngine{conv: model.Conventions{SizeMultiple: 1}}
	rep, err := Run(context.Background(), e, opts(resumed))
	if err != nil {
		t.Fatal(err)
	}
	// At least the two written metatiles (8 tiles) are skipped; ones in
	// flight at the interruption may have been written too.
	if rep.TilesSkipped < 8 || rep.TilesSkipped+rep.TilesWritten != 20 || len(e.sizes) > 4 || len(e.sizes) < 1 {
		t.Errorf("resume skipped %d, wrote %d in %d model runs; want 8 or more, 20 in all, 1..4 runs", rep.TilesSkipped, rep.TilesWritten, len(e.sizes))
	}
	a, b := readAll(t, whole), readAll(t, resumed)
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			t.Errorf("%s differs after resume", k)
		}
	}
}

// Shared statistics: measured once per zoom, given to every metatile,
// kept in the run state so a resumed run does not measure again; no
// blending by default since the metatiles agree.
func TestFakeSharedStats(t *testing.T) {
	src := synthetic(t, 8, 2, nil)
	out := filepath.Join(t.TempDir(), "out")
	opts := Options{Source: src, Output: out, MinZoom: 5, MaxZoom: 5, Overviews: -1, Metatile: 2, Margin: 16, Quiet: true}
	n := &fakeNorm{}
	e := &fakeEngine{conv: model.Conventions{SizeMultiple: 4}, norm: n}
	ctx, cancel := context.WithCancel(context.Background())
	afterBatch = func(k int) {
		if k == 1 {
			cancel()
		}
	}
	_, err := Run(ctx, e, opts)
	afterBatch = nil
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v", err)
	}
	if n.measured != 1 || len(e.sizes) != 0 {
		t.Fatalf("measured %d times, %d per-window runs: want 1 and 0", n.measured, len(e.sizes))
	}
	n2 := &fakeNorm{}
	rep, err := Run(context.Background(), &fakeEngine{conv: model.Conventions{SizeMultiple: 4}, norm: n2}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n2.measured != 0 || len(n2.given) != 4-rep.TilesSkipped/4 {
		t.Errorf("resumed run measured %d times, stylized %d metatiles after %d tiles done: want 0 and the rest", n2.measured, len(n2.given), rep.TilesSkipped)
	}
	for _, v := range append(n.given, n2.given...) {
		if v != n.given[0] {
			t.Errorf("metatiles stylized with statistics %v, want one shared value", append(n.given, n2.given...))
			break
		}
	}
	if rep.Blend != 0 || rep.StatsNote != "" || rep.TilesSkipped < 4 {
		t.Errorf("report %+v", rep)
	}
	if k := checkNegatives(t, src, out); k != 16 {
		t.Errorf("%d tiles checked, want 16", k)
	}
}
