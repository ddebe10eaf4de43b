package tiles

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
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// ErrNotMBTiles means a file is not a readable MBTiles database.
var ErrNotMBTiles = errors.New("not an MBTiles file")

// MBTiles reads an MBTiles 1.x file: a plain tiles table or the
// deduplicated map/images schema behind a tiles view, rows in TMS order.
type MBTiles struct {
	path string
	db   *sql.DB
	meta Metadata
}

func sqliteDSN(path string, readOnly bool) string {
	u := url.URL{Scheme: "file", Opaque: path}
	q := url.Values{}
	if readOnly {
		q.Set("mode", "ro")
	}
	q.Add("_pragma", "busy_timeout(10000)")
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenMBTiles opens a file read-only and checks that it is MBTiles.
func OpenMBTiles(ctx context.Context, path string) (*MBTiles, error) {
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
	m := &MBTiles{path: path, db: db}
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
func (m *MBTiles) Get(ctx context.Context, t maptile.Tile) ([]byte, error) {
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
func (m *MBTiles) List(ctx context.Context, zmin, zmax maptile.Zoom) ([]maptile.Tile, error) {
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
	sortTiles(ts)
	return dedupTiles(ts), nil
}

// Metadata from the metadata table.
func (m *MBTiles) Metadata() Metadata { return m.meta }

// Close closes the database.
func (m *MBTiles) Close() error { return m.db.Close() }

// store is the resumable staging database of the MBTiles and PMTiles sinks:
// MBTiles-shaped (TMS rows), keyed by tile without rowids, so its logical
// content does not depend on the order the tiles came in.
type store struct {
	path string
	db   *sql.DB
}

func openStore(path string) (*store, error) {
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("output %s: folder %s does not exist", path, filepath.Dir(path))
	}
	removeTemps(strings.TrimSuffix(path, ".partial"))
	removeTemps(path)
	db, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; Has and Write come from different goroutines
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS metadata (name TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS tiles (zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, tile_data BLOB,
			PRIMARY KEY (zoom_level, tile_column, tile_row)) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS stylize_state (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID`,
	} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			return nil, fmt.Errorf("output %s: %w", path, err)
		}
	}
	return &store{path: path, db: db}, nil
}

func (s *store) Has(t maptile.Tile) (bool, error) {
	var n int
	err := s.db.QueryRow(`SELECT count(*) FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?`,
		int(t.Z), int(t.X), int(FlipY(t.Z, t.Y))).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("output %s: %w", s.path, err)
	}
	return n > 0, nil
}

func (s *store) Get(t maptile.Tile) ([]byte, error) {
	var b []byte
	err := s.db.QueryRow(`SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?`,
		int(t.Z), int(t.X), int(FlipY(t.Z, t.Y))).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", s.path, err)
	}
	return b, nil
}

// Write stores a batch in one transaction.
func (s *store) Write(batch []Encoded) error {
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("output %s: %w", s.path, err)
	}
	defer tx.Rollback()
	for _, e := range batch {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?, ?, ?, ?)`,
			int(e.Tile.Z), int(e.Tile.X), int(FlipY(e.Tile.Z, e.Tile.Y)), e.Data); err != nil {
			return fmt.Errorf("output %s: tile %s: %w", s.path, TileString(e.Tile), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("output %s: %w", s.path, err)
	}
	return nil
}

func (s *store) State(key string) ([]byte, error) {
	var b []byte
	err := s.db.QueryRow(`SELECT value FROM stylize_state WHERE key = ?`, key).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", s.path, err)
	}
	return b, nil
}

func (s *store) SetState(key string, v []byte) error {
	if _, err := s.db.Exec(`INSERT OR REPLACE INTO stylize_state (key, value) VALUES (?, ?)`, key, v); err != nil {
		return fmt.Errorf("output %s: %w", s.path, err)
	}
	return nil
}

func (s *store) Close() error { return s.db.Close() }

// each calls fn for every stored tile (XYZ addresses), in key order.
func (s *store) each(fn func(t maptile.Tile, data []byte) error) error {
	rows, err := s.db.Query(`SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles ORDER BY zoom_level, tile_column, tile_row`)
	if err != nil {
		return fmt.Errorf("output %s: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var z, x, y int64
		var b []byte
		if err := rows.Scan(&z, &x, &y, &b); err != nil {
			return fmt.Errorf("output %s: %w", s.path, err)
		}
		zz := maptile.Zoom(z)
		if err := fn(maptile.New(uint32(x), FlipY(zz, uint32(y)), zz), b); err != nil {
			return err
		}
	}
	return rows.Err()
}

// MBTilesSink writes an MBTiles 1.3 file. Tiles go to a staging database
// (PATH.partial) one transaction per batch; Finish adds the metadata and
// writes the final file with VACUUM INTO, so its bytes depend only on its
// content (a resumed run gives the same file as an uninterrupted one).
type MBTilesSink struct {
	*store
	final  string
	format Format
}

// OpenMBTilesSink opens or resumes PATH.partial.
func OpenMBTilesSink(path string, f Format) (*MBTilesSink, error) {
	if err := resumeFrom(path, path+".partial"); err != nil {
		return nil, err
	}
	s, err := openStore(path + ".partial")
	if err != nil {
		return nil, err
	}
	return &MBTilesSink{store: s, final: path, format: f}, nil
}

// mbtilesMeta are the metadata rows in a fixed order.
func mbtilesMeta(md Metadata) [][2]string {
	b := md.Bounds
	c := b.Center()
	kv := [][2]string{
		{"name", md.Name},
		{"format", string(md.Format)},
		{"type", "baselayer"},
		{"version", "1.3"},
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

// Finish writes the metadata and the final file.
func (s *MBTilesSink) Finish(md Metadata) error {
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
	s.store.Close()
	return os.Remove(s.path)
}

// resumeFrom copies a finished output back into its staging file so that a
// re-run finds every tile written (and writes the same output again).
func resumeFrom(final, partial string) error {
	if _, err := os.Stat(partial); err == nil {
		return nil
	}
	if _, err := os.Stat(final); err != nil {
		return nil
	}
	in, err := os.Open(final)
	if err != nil {
		return fmt.Errorf("output %s: %w", final, unwrapPath(err))
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(partial), "."+filepath.Base(partial)+".tmp-*")
	if err != nil {
		return fmt.Errorf("output %s: %w", partial, err)
	}
	defer os.Remove(out.Name())
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("output %s: %w", partial, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("output %s: %w", partial, err)
	}
	return os.Rename(out.Name(), partial)
}
