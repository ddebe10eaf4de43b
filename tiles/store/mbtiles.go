package store

// SQLite through modernc.org/sqlite: pure Go, so `go build` needs no C
// compiler and the binary cross-compiles and links statically; tile I/O is
// not where the time goes (the model is), so the cgo driver's speed is not
// needed.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/stylize/stylize/pipeline/imageio"
)

// ErrNotMBTiles means a file is not a readable MBTiles database.
var ErrNotMBTiles = errors.New("not an MBTiles file")

// mbtilesSource reads an MBTiles 1.x file: a plain tiles table or the
// deduplicated map/images schema behind a tiles view, rows in TMS order.
type mbtilesSource struct {
	path string
	db   *sql.DB
	meta Metadata
}

// openMBTiles opens a file read-only and checks that it is MBTiles.
func openMBTiles(ctx context.Context, path string) (*mbtilesSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", path, unwrapPath(err))
	}
	head := make([]byte, 16)
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || !bytes.Equal(head, []byte("SQLite format 3\x00")) {
		return nil, fmt.Errorf("open source %s: %w (not an SQLite database)", path, ErrNotMBTiles)
	}
	db, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", path, err)
	}
	m := &mbtilesSource{path: path, db: db}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'tiles' AND type IN ('table', 'view')`).Scan(&n); err != nil {
		db.Close()
		return nil, fmt.Errorf("open source %s: %w (%v)", path, ErrNotMBTiles, err)
	}
	if n == 0 {
		db.Close()
		return nil, fmt.Errorf("open source %s: %w (no tiles table)", path, ErrNotMBTiles)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 1)`).Scan(&n); err != nil {
		db.Close()
		return nil, fmt.Errorf("open source %s: %w (tiles table unreadable: %v)", path, ErrNotMBTiles, err)
	}
	m.meta = readMBTilesMetadata(ctx, db)
	if m.meta.Name == "" {
		m.meta.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return m, nil
}

func readMBTilesMetadata(ctx context.Context, db *sql.DB) Metadata {
	var md Metadata
	rows, err := db.QueryContext(ctx, `SELECT name, value FROM metadata`)
	if err != nil {
		return md // metadata is optional for reading
	}
	defer rows.Close()
	var minz, maxz = -1, -1
	for rows.Next() {
		var k, v string
		if rows.Scan(&k, &v) != nil {
			continue
		}
		switch k {
		case "name":
			md.Name = v
		case "version":
			md.Version = v
		case "format":
			md.Format, _ = ParseFormat(v)
		case "attribution":
			md.Attribution = v
		case "description":
			md.Description = v
		case "bounds":
			if f := parseFloats(v); len(f) == 4 {
				md.Bounds = orb.Bound{Min: orb.Point{f[0], f[1]}, Max: orb.Point{f[2], f[3]}}
			}
		case "center":
			if f := parseFloats(v); len(f) >= 2 {
				md.Center = orb.Point{f[0], f[1]}
			}
		case "minzoom":
			minz, _ = strconv.Atoi(strings.TrimSpace(v))
		case "maxzoom":
			maxz, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if minz >= 0 && maxz >= minz && maxz <= 30 {
		md.MinZoom, md.MaxZoom, md.HasZooms = maptile.Zoom(minz), maptile.Zoom(maxz), true
	}
	return md
}

func parseFloats(s string) []float64 {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil
		}
		out = append(out, f)
	}
	return out
}

// Get reads one tile (nil when absent).
func (m *mbtilesSource) Get(ctx context.Context, t maptile.Tile) ([]byte, error) {
	var b []byte
	err := m.db.QueryRowContext(ctx, `SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?`,
		int(t.Z), int(t.X), int(FlipY(t.Z, t.Y))).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tile %s in %s: %w", TileString(t), m.path, err)
	}
	return b, nil
}

// List returns the tiles in the zoom range.
func (m *mbtilesSource) List(ctx context.Context, zmin, zmax maptile.Zoom) ([]maptile.Tile, error) {
	return listSQL(ctx, m.db, m.path, zmin, zmax)
}

func listSQL(ctx context.Context, db *sql.DB, name string, zmin, zmax maptile.Zoom) ([]maptile.Tile, error) {
	rows, err := db.QueryContext(ctx, `SELECT zoom_level, tile_column, tile_row FROM tiles WHERE zoom_level BETWEEN ? AND ?`, int(zmin), int(zmax))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", name, err)
	}
	defer rows.Close()
	var ts []maptile.Tile
	for rows.Next() {
		var z, x, y int64
		if err := rows.Scan(&z, &x, &y); err != nil {
			return nil, fmt.Errorf("list %s: %w", name, err)
		}
		if z < 0 || z > 30 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
			continue
		}
		zz := maptile.Zoom(z)
		ts = append(ts, maptile.New(uint32(x), FlipY(zz, uint32(y)), zz))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", name, err)
	}
	return SortTiles(ts), nil
}

// Metadata from the metadata table.
func (m *mbtilesSource) Metadata() Metadata { return m.meta }

// Close closes the database.
func (m *mbtilesSource) Close() error { return m.db.Close() }

// mbtilesSink writes an MBTiles 1.3 file. Tiles go to a staging database
// (PATH.partial) one transaction per batch; Finish adds the metadata and
// writes the final file with VACUUM INTO, so its bytes depend only on its
// content (a resumed run gives the same file as an uninterrupted one).
type mbtilesSink struct {
	*stage
	final  string
	format imageio.Format
}

// openMBTilesSink opens or resumes PATH.partial.
func openMBTilesSink(path string, f imageio.Format) (*mbtilesSink, error) {
	if err := resumeFrom(path, path+".partial"); err != nil {
		return nil, err
	}
	s, err := openStage(path + ".partial")
	if err != nil {
		return nil, err
	}
	return &mbtilesSink{stage: s, final: path, format: f}, nil
}

// mbtilesMeta are the metadata rows in a fixed order.
func mbtilesMeta(md Metadata) [][2]string {
	b := md.Bounds
	c := b.Center()
	kv := [][2]string{
		{"name", md.Name},
		{"format", string(md.Format)},
		{"type", "baselayer"},
		{"version", tilesetVersion(md)},
		{"bounds", fmt.Sprintf("%.6f,%.6f,%.6f,%.6f", b.Min[0], b.Min[1], b.Max[0], b.Max[1])},
		{"center", fmt.Sprintf("%.6f,%.6f,%d", c[0], c[1], md.MinZoom)},
		{"minzoom", strconv.Itoa(int(md.MinZoom))},
		{"maxzoom", strconv.Itoa(int(md.MaxZoom))},
	}
	if md.Attribution != "" {
		kv = append(kv, [2]string{"attribution", md.Attribution})
	}
	if md.Description != "" {
		kv = append(kv, [2]string{"description", md.Description})
	}
	return kv
}

// tilesetVersion is the version the metadata gives the tileset: the
// source's when it has one, else 1.0.0. (MBTiles 1.3 and PMTiles mean the
// version of the tileset itself, not of the spec.)
func tilesetVersion(md Metadata) string {
	if md.Version != "" {
		return md.Version
	}
	return "1.0.0"
}

// Finish writes the metadata and the final file.
func (s *mbtilesSink) Finish(md Metadata) error {
	md.Format = s.format
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("output %s: %w", s.path, err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`DELETE FROM metadata`); err != nil {
		return fmt.Errorf("output %s: %w", s.path, err)
	}
	for _, kv := range mbtilesMeta(md) {
		if _, err := tx.Exec(`INSERT INTO metadata (name, value) VALUES (?, ?)`, kv[0], kv[1]); err != nil {
			return fmt.Errorf("output %s: %w", s.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("output %s: %w", s.path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.final), "."+filepath.Base(s.final)+".tmp-*")
	if err != nil {
		return fmt.Errorf("output %s: %w", s.final, err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	os.Remove(tmpName) // VACUUM INTO wants a new file
	defer os.Remove(tmpName)
	// Copy everything but the run state: a fresh database of the content.
	if _, err := s.db.Exec(`DROP TABLE IF EXISTS stylize_state`); err != nil {
		return fmt.Errorf("output %s: %w", s.path, err)
	}
	// VACUUM INTO copies the schema cookie, which counts the schema changes
	// of this file's history (a resumed or re-run output has more): pin it.
	if _, err := s.db.Exec(`PRAGMA schema_version = 1`); err != nil {
		return fmt.Errorf("output %s: %w", s.path, err)
	}
	if _, err := s.db.Exec(`VACUUM INTO ?`, tmpName); err != nil {
		return fmt.Errorf("output %s: %w", s.final, err)
	}
	if err := os.Rename(tmpName, s.final); err != nil {
		return fmt.Errorf("output %s: %w", s.final, err)
	}
	s.stage.Close()
	return os.Remove(s.path)
}
