package tiles

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/testenv"
)

// TestTrimmedOutputPlaced: a model that trims its borders (unpadded
// convolutions) gives the same tiles as the same model without the trim,
// since the margin holds the lost rim: its output is centred, not stretched.
func TestTrimmedOutputPlaced(t *testing.T) {
	base := testenv.Model(t, "la_muse")
	src := testenv.SharedFile(t, "tiles/berlin_stamen_toner_xyz")
	m, err := onnx.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	out := m.Outputs()[0].Name
	m.RenameValue(out, "untrimmed") // renames the graph output too: point it back below
	m.Proto.Graph.Output[0].Name = &out
	b := onnx.Edit(m.Proto.Graph)
	b.NodeTo("Slice", []string{"untrimmed", b.Int64s("starts", []int64{4, 4}), b.Int64s("ends", []int64{-4, -4}), b.Int64s("axes", []int64{2, 3})}, []string{out})
	bs, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	trimmed := filepath.Join(dir, "trimmed.onnx")
	if err := os.WriteFile(trimmed, bs, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name, label string) string {
		o := Options{Source: src, Output: filepath.Join(dir, label), MinZoom: 10, MaxZoom: 10, Overviews: -1, Quiet: true}
		if _, err := Run(context.Background(), openEngine(t, name), o); err != nil {
			t.Fatal(err)
		}
		return o.Output
	}
	a, c := run(base, "plain"), run(trimmed, "trimmed")
	tiles, _ := filepath.Glob(filepath.Join(a, "10", "*", "*.png"))
	if len(tiles) == 0 {
		t.Fatal("no tiles written")
	}
	for _, p := range tiles {
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(c, rel))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("tile %s differs between the trimmed and the plain model (%v)", rel, err)
		}
	}
}
