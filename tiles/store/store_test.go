package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/testenv"
	"github.com/stylize/stylize/tiles/internal/tiletest"
)

func TestSinkRoundTrip(t *testing.T) {
	ts := append(tiletest.Block(3, 2, 1, 3, 2), tiletest.Block(4, 4, 2, 4, 3)...)
	ts = append(ts, maptile.New(0, 0, 0))
	same := tiletest.PNGTile(maptile.New(0, 0, 1), 16, false)
	data := map[maptile.Tile][]byte{}
	for i, tt := range ts {
		if i%3 == 0 {
			data[tt] = same // duplicates: run-length and shared entries
		} else {
			data[tt] = tiletest.PNGTile(tt, 16, i%2 == 0)
		}
	}
	for _, name := range []string{"out", "out.mbtiles", "out.pmtiles"} {
		t.Run(name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), name)
			s, err := OpenSink(dst, imageio.PNG)
			if err != nil {
				t.Fatal(err)
			}
			var batch []Encoded
			for _, tt := range ts {
				batch = append(batch, Encoded{tt, data[tt]})
			}
			if err := s.Write(batch[:5]); err != nil {
				t.Fatal(err)
			}
			if err := s.Write(batch[5:]); err != nil {
				t.Fatal(err)
			}
			if has, err := s.Has(ts[7]); err != nil || !has {
				t.Fatalf("Has(%v) = %v, %v", ts[7], has, err)
			}
			if err := s.SetState("k", []byte("v")); err != nil {
				t.Fatal(err)
			}
			if v, err := s.State("k"); err != nil || string(v) != "v" {
				t.Fatalf("state = %q, %v", v, err)
			}
			md := Metadata{Name: "test", Version: "2.4.0", Attribution: "© test", MinZoom: 0, MaxZoom: 4, Bounds: ts[0].Bound().Union(ts[len(ts)-2].Bound())}
			if err := s.Finish(md); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if _, err := os.Stat(dst + ".partial"); err == nil {
				t.Error("staging file left behind")
			}
			src, err := OpenSource(context.Background(), dst, SourceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			got, err := src.List(context.Background(), 0, 30)
			if err != nil {
				t.Fatal(err)
			}
			want := append([]maptile.Tile(nil), ts...)
			want = SortTiles(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("listed %v\nwant %v", got, want)
			}
			for _, tt := range ts {
				b, err := src.Get(context.Background(), tt)
				if err != nil || !bytes.Equal(b, data[tt]) {
					t.Fatalf("tile %v: %d bytes (%v), want %d", tt, len(b), err, len(data[tt]))
				}
			}
			if b, err := src.Get(context.Background(), maptile.New(0, 0, 5)); b != nil || err != nil {
				t.Errorf("absent tile: %d bytes, %v", len(b), err)
			}
			if name != "out" {
				if m := src.Metadata(); m.Attribution != "© test" || m.Format != imageio.PNG || m.Version != "2.4.0" {
					t.Errorf("metadata %+v", m)
				}
			}
		})
	}
}

// TestMBTilesMetadataRows: "version" is the tileset's (1.0.0 when the
// source had none), never the spec's 1.3.
func TestMBTilesMetadataRows(t *testing.T) {
	for _, tc := range []struct{ version, want string }{{"", "1.0.0"}, {"7.1", "7.1"}} {
		t.Run(tc.want, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "out.mbtiles")
			s, err := OpenSink(p, imageio.JPEG)
			if err != nil {
				t.Fatal(err)
			}
			tt := maptile.New(0, 0, 0)
			if err := s.Write([]Encoded{{Tile: tt, Data: tiletest.PNGTile(tt, 16, false)}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Finish(Metadata{Name: "out", Version: tc.version}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := sql.Open("sqlite", sqliteDSN(p, true))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rows := map[string]string{}
			q, err := db.Query(`SELECT name, value FROM metadata`)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			for q.Next() {
				var k, v string
				if err := q.Scan(&k, &v); err != nil {
					t.Fatal(err)
				}
				rows[k] = v
			}
			if rows["version"] != tc.want || rows["name"] != "out" || rows["format"] != "jpg" {
				t.Errorf("metadata rows %v", rows)
			}
		})
	}
}

func TestSharedSources(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		path      string
		z0, z1    maptile.Zoom
		n, size   int
		format    imageio.Format
		wantError error
	}{
		{"tiles/berlin_stamen_toner_xyz", 10, 13, 4 + 6 + 12 + 28, 256, imageio.PNG, nil},
		{"tiles/berlin.mbtiles", 10, 13, 50, 256, imageio.PNG, nil},
		{"tiles/anholt_osmbright", 12, 14, 20 + 70 + 266, 256, imageio.PNG, nil},
		{"tiles/geography-class-png.mbtiles", 0, 1, 5, 256, imageio.PNG, nil},
		{"tiles/stamen_toner_z3.pmtiles", 0, 3, 85, 256, imageio.PNG, nil},
		{"tiles/ne2sr_z0-1.pmtiles", 0, 1, 5, 0, imageio.PNG, nil},
		{"tiles/usgs-mt-whitney-8-15-webp-512.pmtiles", 8, 15, 50, 512, imageio.WebP, nil},
		{"tiles/osm_carto_v1.pmtiles", 0, 4, 0, 0, "", ErrNotPMTiles},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			p := testenv.SharedFile(t, tc.path)
			src, err := OpenSource(ctx, p, SourceOptions{})
			if tc.wantError != nil {
				if !errors.Is(err, tc.wantError) {
					t.Fatalf("err = %v, want %v", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			ts, err := src.List(ctx, tc.z0, tc.z1)
			if err != nil {
				t.Fatal(err)
			}
			if tc.n > 0 && len(ts) != tc.n {
				t.Errorf("%d tiles, want %d", len(ts), tc.n)
			}
			b, err := src.Get(ctx, ts[len(ts)-1])
			if err != nil || b == nil {
				t.Fatalf("get %v: %v", ts[len(ts)-1], err)
			}
			if Sniff(b) != tc.format {
				t.Errorf("format %q, want %q", Sniff(b), tc.format)
			}
			img, err := imageio.Decode("x", b)
			if err != nil {
				t.Fatal(err)
			}
			if w := img.Bounds().Dx(); tc.size > 0 && w != tc.size {
				t.Errorf("tile size %d, want %d", w, tc.size)
			}
		})
	}
	// The folder was unpacked from the MBTiles (TMS → XYZ): same tiles, same bytes.
	dir := testenv.SharedFile(t, "tiles/berlin_stamen_toner_xyz")
	mb := testenv.SharedFile(t, "tiles/berlin.mbtiles")
	a, _ := OpenSource(ctx, dir, SourceOptions{})
	b, _ := OpenSource(ctx, mb, SourceOptions{})
	defer a.Close()
	defer b.Close()
	la, _ := a.List(ctx, 10, 13)
	lb, _ := b.List(ctx, 10, 13)
	if fmt.Sprint(la) != fmt.Sprint(lb) {
		t.Fatalf("folder and MBTiles list different tiles")
	}
	for _, tt := range la {
		x, _ := a.Get(ctx, tt)
		y, _ := b.Get(ctx, tt)
		if !bytes.Equal(x, y) {
			t.Fatalf("tile %v differs between folder and MBTiles (TMS flip?)", tt)
		}
	}
}

func TestBadArchives(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	junk := bytes.Repeat([]byte("not a database at all "), 200)
	sqliteHead := append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xff}, 4000)...)
	pm := make([]byte, 200)
	copy(pm, "PMTilez\x03")
	pmShort := []byte("PMTiles\x03")
	badDir := make([]byte, 400)
	copy(badDir, "PMTiles\x03")
	badDir[8] = 127 // root at 127, 100 bytes of garbage gzip
	badDir[16] = 100
	badDir[97] = 2 // gzip
	badDir[99] = 2 // png
	for i := 127; i < 227; i++ {
		badDir[i] = byte(i * 7)
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"junk.mbtiles", junk, ErrNotMBTiles},
		{"corrupt.mbtiles", sqliteHead, ErrNotMBTiles},
		{"magic.pmtiles", pm, ErrNotPMTiles},
		{"short.pmtiles", pmShort, ErrNotPMTiles},
		{"baddir.pmtiles", badDir, ErrNotPMTiles},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := write(tc.name, tc.data)
			_, err := OpenSource(context.Background(), p, SourceOptions{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("mbtiles without tiles table", func(t *testing.T) {
		s, err := openStage(filepath.Join(dir, "empty.db"))
		if err != nil {
			t.Fatal(err)
		}
		s.db.Exec(`DROP TABLE tiles`)
		s.Close()
		p := filepath.Join(dir, "empty.mbtiles")
		os.Rename(filepath.Join(dir, "empty.db"), p)
		if _, err := OpenSource(context.Background(), p, SourceOptions{}); !errors.Is(err, ErrNotMBTiles) {
			t.Fatalf("err = %v", err)
		}
	})
}

func FuzzDecodeEntries(f *testing.F) {
	f.Add([]byte{1, 5, 1, 10, 1})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := decodeEntries(b)
		if err == nil && len(es) > len(b) {
			t.Fatalf("%d entries from %d bytes", len(es), len(b))
		}
	})
}
