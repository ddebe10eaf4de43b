package tiles

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/tiles/internal/tiletest"
	"github.com/stylize/stylize/tiles/store"
)

// TestOutputMetadata: the output is named after itself (not the model
// path) and keeps the source tileset's version, 1.0.0 when it has none.
func TestOutputMetadata(t *testing.T) {
	eng := openEngine(t, "builtin:identity")
	dir := t.TempDir()
	versioned := filepath.Join(dir, "berlin.mbtiles")
	sink, err := store.OpenSink(versioned, PNG)
	if err != nil {
		t.Fatal(err)
	}
	var batch []store.Encoded
	for _, tt := range tiletest.Block(5, 10, 11, 2, 2) {
		batch = append(batch, store.Encoded{Tile: tt, Data: tiletest.PNGTile(tt, 64, false)})
	}
	if err := sink.Write(batch); err != nil {
		t.Fatal(err)
	}
	if err := sink.Finish(store.Metadata{Name: "Berlin", Version: "3.2.1", MinZoom: 5, MaxZoom: 5}); err != nil {
		t.Fatal(err)
	}
	sink.Close()
	cases := []struct {
		src, out, version string
	}{
		{versioned, "toner-ink.mbtiles", "3.2.1"},
		{versioned, "toner-ink.pmtiles", "3.2.1"},
		{synthetic(t, 2, 2, nil), "plain.mbtiles", "1.0.0"}, // a folder has no version
	}
	for _, tc := range cases {
		t.Run(tc.out, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), tc.out)
			if _, err := Run(context.Background(), eng, Options{Source: tc.src, Output: out, MinZoom: 5, MaxZoom: 5, Overviews: -1, Quiet: true}); err != nil {
				t.Fatal(err)
			}
			src, err := store.OpenSource(context.Background(), out, store.SourceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			md := src.Metadata()
			if want := strings.TrimSuffix(tc.out, filepath.Ext(tc.out)); md.Name != want {
				t.Errorf("name %q, want %q", md.Name, want)
			}
			if md.Version != tc.version {
				t.Errorf("version %q, want %q", md.Version, tc.version)
			}
			if !strings.Contains(md.Description, "stylized with builtin:identity") {
				t.Errorf("description %q", md.Description)
			}
			if md.MinZoom != maptile.Zoom(5) || md.MaxZoom != 5 {
				t.Errorf("zooms %d-%d", md.MinZoom, md.MaxZoom)
			}
		})
	}
}

func TestStylizedDescription(t *testing.T) {
	for _, tc := range []struct {
		src   store.Metadata
		model string
		want  string
	}{
		{store.Metadata{Name: "berlin"}, "/home/me/models/la_muse.onnx", "berlin stylized with la_muse"},
		{store.Metadata{Name: "b", Description: "Central Berlin"}, "../shared/models/wave.onnx", "Central Berlin (stylized with wave)"},
		{store.Metadata{Name: "b"}, "builtin:ink", "b stylized with builtin:ink"},
	} {
		if got := stylizedDescription(tc.src, tc.model); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.model, got, tc.want)
		}
	}
	for in, want := range map[string]string{"out/berlin.mbtiles": "berlin", "/x/tiles/": "tiles", "a.b.pmtiles": "a.b"} {
		if got := outputName(in); got != want {
			t.Errorf("outputName(%q) = %q, want %q", in, got, want)
		}
	}
}
