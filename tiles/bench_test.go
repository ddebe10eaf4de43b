package tiles

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/pipeline/testenv"
	"github.com/stylize/stylize/tiles/store"
)

// BenchmarkIdentityRun is the pipeline overhead: Anholt z12–14 with the
// identity model (compare with TestFigures' plain read-decode-encode-write).
func BenchmarkIdentityRun(b *testing.B) {
	src := testenv.SharedFile(b, "tiles/anholt_osmbright")
	eng := openEngine(b, "builtin:identity")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Run(context.Background(), eng, Options{Source: src, Output: filepath.Join(b.TempDir(), "id"), MinZoom: 12, MaxZoom: 14, Overviews: -1, Quiet: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlainRun is the baseline of BenchmarkIdentityRun: read, decode,
// encode (same PNG settings) and write the same tiles, one after another.
func BenchmarkPlainRun(b *testing.B) {
	src := testenv.SharedFile(b, "tiles/anholt_osmbright")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		plainCopy(b, src, filepath.Join(b.TempDir(), "plain"), 12, 14)
	}
}

// plainCopy reads, decodes, re-encodes and writes every tile of the zooms,
// the way a plain tile copier would; it returns the number of tiles.
func plainCopy(tb testing.TB, src, dst string, z0, z1 maptile.Zoom) int {
	ctx := context.Background()
	s, err := store.OpenSource(ctx, src, SourceOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	sink, err := store.OpenSink(dst, PNG)
	if err != nil {
		tb.Fatal(err)
	}
	ts, err := s.List(ctx, z0, z1)
	if err != nil {
		tb.Fatal(err)
	}
	for _, tt := range ts {
		b, err := s.Get(ctx, tt)
		if err != nil {
			tb.Fatal(err)
		}
		r, err := decodeTile(store.TileString(tt), b)
		if err != nil {
			tb.Fatal(err)
		}
		enc, err := encodeTile(PNG, 90, r.w, r.h, r.rgb, r.alpha)
		if err != nil {
			tb.Fatal(err)
		}
		if err := sink.Write([]store.Encoded{{Tile: tt, Data: enc}}); err != nil {
			tb.Fatal(err)
		}
	}
	return len(ts)
}
