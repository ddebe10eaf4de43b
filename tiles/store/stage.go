package store

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/paulmach/orb/maptile"
)

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

// isTemp matches the temporary files of pipeline.CreateAtomic and of the
// archive writers (".NAME.tmp-*", ".NAME.data-*").
func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && (strings.Contains(name, ".tmp-") || strings.Contains(name, ".data-"))
}

// removeTemps deletes leftovers of an interrupted finish next to path.
func removeTemps(path string) {
	ms, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".*-*"))
	for _, m := range ms {
		if isTemp(filepath.Base(m)) {
			os.Remove(m)
		}
	}
}

// stage is the resumable staging database of the MBTiles and PMTiles sinks:
// MBTiles-shaped (TMS rows), keyed by tile without rowids, so its logical
// content does not depend on the order the tiles came in.
type stage struct {
	path string
	db   *sql.DB
}

func openStage(path string) (*stage, error) {
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
	return &stage{path: path, db: db}, nil
}

func (s *stage) Has(t maptile.Tile) (bool, error) {
	var n int
	err := s.db.QueryRow(`SELECT count(*) FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?`,
		int(t.Z), int(t.X), int(FlipY(t.Z, t.Y))).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("output %s: %w", s.path, err)
	}
	return n > 0, nil
}

func (s *stage) Get(t maptile.Tile) ([]byte, error) {
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
func (s *stage) Write(batch []Encoded) error {
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

func (s *stage) State(key string) ([]byte, error) {
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

func (s *stage) SetState(key string, v []byte) error {
	if _, err := s.db.Exec(`INSERT OR REPLACE INTO stylize_state (key, value) VALUES (?, ?)`, key, v); err != nil {
		return fmt.Errorf("output %s: %w", s.path, err)
	}
	return nil
}

func (s *stage) Close() error { return s.db.Close() }

// each calls fn for every stored tile (XYZ addresses), in key order.
func (s *stage) each(fn func(t maptile.Tile, data []byte) error) error {
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
