package tiles

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb/maptile"
	"github.com/protomaps/go-pmtiles/pmtiles"
	xwebp "golang.org/x/image/webp"

	"github.com/stylize/stylize/pipeline/testenv"
	"github.com/stylize/stylize/tiles/internal/tiletest"
	"github.com/stylize/stylize/tiles/store"
)

// TestWebPOutput runs tiles with --format webp into each sink, interrupted
// and resumed: the output is byte-identical to an uninterrupted run, every
// tile is WebP that golang.org/x/image/webp decodes, transparency is kept,
// the colours are close to the (identity-stylized) source, and the
// archives say webp (MBTiles format row, PMTiles tile type, no compression).
func TestWebPOutput(t *testing.T) {
	eng := openEngine(t, "builtin:identity")
	blank := maptile.New(11, 12, 5)
	src := synthetic(t, 3, 2, func(tt maptile.Tile) []byte {
		if tt == blank {
			return tiletest.PNGTile(tt, 64, true)
		}
		return tiletest.PNGTile(tt, 64, false)
	})
	in, err := store.OpenSource(context.Background(), src, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for _, name := range []string{"xyz", "out.mbtiles", "out.pmtiles"} {
		t.Run(name, func(t *testing.T) {
			opts := func(out string) Options {
				return Options{Source: src, Output: out, MinZoom: 5, MaxZoom: 5, Metatile: 2, Margin: 16,
					Format: WebP, Quality: 90, Quiet: true}
			}
			whole := filepath.Join(t.TempDir(), name)
			if _, err := Run(context.Background(), eng, opts(whole)); err != nil {
				t.Fatal(err)
			}
			resumed := filepath.Join(t.TempDir(), name)
			ctx, cancel := context.WithCancel(context.Background())
			afterBatch = func(n int) {
				if n == 1 {
					cancel()
				}
			}
			_, err := Run(ctx, eng, opts(resumed))
			afterBatch = nil
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: err = %v", err)
			}
			rep, err := Run(context.Background(), eng, opts(resumed))
			if err != nil {
				t.Fatal(err)
			}
			if rep.TilesSkipped == 0 {
				t.Errorf("resume skipped no tiles: %+v", rep)
			}
			a, b := readAll(t, whole), readAll(t, resumed)
			if len(a) != len(b) || len(a) == 0 {
				t.Fatalf("%d files vs %d", len(a), len(b))
			}
			for k, v := range a {
				if !bytes.Equal(v, b[k]) {
					t.Errorf("%s differs after resume", k)
				}
			}

			out, err := store.OpenSource(context.Background(), whole, SourceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			ts, err := out.List(context.Background(), 5, 5)
			if err != nil || len(ts) != 6 {
				t.Fatalf("listed %v, %v; want 6 tiles", ts, err)
			}
			for _, tt := range ts {
				w, err := out.Get(context.Background(), tt)
				if err != nil {
					t.Fatal(err)
				}
				if store.Sniff(w) != WebP {
					t.Fatalf("tile %v is not WebP: % x", tt, w[:min(len(w), 12)])
				}
				if _, err := xwebp.Decode(bytes.NewReader(w)); err != nil {
					t.Fatalf("tile %v: x/image/webp: %v", tt, err)
				}
				got, err := decodeTile("out", w)
				if err != nil {
					t.Fatal(err)
				}
				p, _ := in.Get(context.Background(), tt)
				want, _ := decodeTile("in", p)
				if (got.alpha == nil) != (want.alpha == nil) {
					t.Fatalf("tile %v: transparent %v, source transparent %v", tt, got.alpha != nil, want.alpha != nil)
				}
				if want.alpha != nil {
					if !bytes.Equal(got.alpha, want.alpha) {
						t.Errorf("tile %v: alpha not kept exactly", tt)
					}
					continue
				}
				var sum float64
				for i := range got.rgb {
					d := float64(got.rgb[i]) - float64(want.rgb[i])
					sum += max(d, -d)
				}
				if mad := sum / float64(len(got.rgb)); mad > 6 {
					t.Errorf("tile %v: mean absolute difference %.2f from the source, want ≤ 6", tt, mad)
				}
			}
			switch name {
			case "out.mbtiles":
				if f := out.Metadata().Format; f != WebP {
					t.Errorf("MBTiles format row %q, want webp", f)
				}
			case "out.pmtiles":
				f, err := os.Open(whole)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				head := make([]byte, pmtiles.HeaderV3LenBytes)
				if _, err := f.ReadAt(head, 0); err != nil {
					t.Fatal(err)
				}
				h, err := pmtiles.DeserializeHeader(head)
				if err != nil {
					t.Fatal(err)
				}
				if h.TileType != pmtiles.Webp || h.TileCompression != pmtiles.NoCompression {
					t.Errorf("PMTiles tile type %d, compression %d; want webp (%d), none (%d)",
						h.TileType, h.TileCompression, pmtiles.Webp, pmtiles.NoCompression)
				}
			}
		})
	}
}

// BenchmarkEncodeTile encodes 256 px tiles as each output format at
// quality 90: a real map tile (Anholt z13, OSM Bright: flat colours) and a
// photo crop standing in for a stylized tile (texture everywhere). Reports
// bytes per tile.
//
//	go test ./tiles/ -run '^$' -bench EncodeTile -benchtime 100x
func BenchmarkEncodeTile(b *testing.B) {
	for _, in := range []struct{ name, file string }{
		{"map", "tiles/anholt_osmbright/13/4359/2521.png"},
		{"photo", "media/images/stata.jpg"},
	} {
		p := testenv.SharedFile(b, in.file)
		raw, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		r, err := decodeTile(p, raw)
		if err != nil {
			b.Fatal(err)
		}
		const t = 256
		rgb := make([]byte, 3*t*t)
		for y := range t {
			copy(rgb[3*t*y:3*t*(y+1)], r.rgb[3*r.w*y:3*r.w*y+3*t])
		}
		for _, f := range []Format{PNG, JPEG, WebP} {
			b.Run(in.name+"/"+string(f), func(b *testing.B) {
				var n int
				for b.Loop() {
					out, err := encodeTile(f, 90, t, t, rgb, nil)
					if err != nil {
						b.Fatal(err)
					}
					n = len(out)
				}
				b.ReportMetric(float64(n), "bytes/tile")
			})
		}
	}
}
