package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
)

// xyzDir is a z/x/y.ext folder of tiles.
type xyzDir struct {
	dir string
	tms bool
	ext []string // extensions tried, the first found wins
}

// openXYZ opens a tile folder; tms flips y.
func openXYZ(dir string, tms bool) (*xyzDir, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", dir, unwrapPath(err))
	}
	zooms := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			zooms++
		}
	}
	if zooms == 0 {
		return nil, fmt.Errorf("open source %s: not a tile folder (no zoom folders z/x/y.png)", dir)
	}
	return &xyzDir{dir: dir, tms: tms, ext: []string{".png", ".jpg", ".jpeg", ".webp"}}, nil
}

func (s *xyzDir) row(t maptile.Tile) uint32 {
	if s.tms {
		return FlipY(t.Z, t.Y)
	}
	return t.Y
}

// Get reads one tile (nil when the file does not exist).
func (s *xyzDir) Get(_ context.Context, t maptile.Tile) ([]byte, error) {
	base := filepath.Join(s.dir, strconv.Itoa(int(t.Z)), strconv.Itoa(int(t.X)), strconv.Itoa(int(s.row(t))))
	for _, e := range s.ext {
		b, err := os.ReadFile(base + e)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("tile %s: %w", base+e, unwrapPath(err))
		}
	}
	return nil, nil
}

// List walks the zoom folders.
func (s *xyzDir) List(_ context.Context, zmin, zmax maptile.Zoom) ([]maptile.Tile, error) {
	var ts []maptile.Tile
	for z := zmin; z <= zmax; z++ {
		zd := filepath.Join(s.dir, strconv.Itoa(int(z)))
		xs, err := os.ReadDir(zd)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", zd, unwrapPath(err))
		}
		for _, xe := range xs {
			x, err := strconv.Atoi(xe.Name())
			if err != nil || !xe.IsDir() || x < 0 || x >= 1<<z {
				continue
			}
			ys, err := os.ReadDir(filepath.Join(zd, xe.Name()))
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", filepath.Join(zd, xe.Name()), unwrapPath(err))
			}
			for _, ye := range ys {
				name := ye.Name()
				ext := filepath.Ext(name)
				if !s.known(ext) {
					continue
				}
				y, err := strconv.Atoi(strings.TrimSuffix(name, ext))
				if err != nil || y < 0 || y >= 1<<z {
					continue
				}
				t := maptile.New(uint32(x), uint32(y), z)
				t.Y = s.row(t)
				ts = append(ts, t)
			}
		}
	}
	return SortTiles(ts), nil
}

func (s *xyzDir) known(ext string) bool {
	for _, e := range s.ext {
		if strings.EqualFold(e, ext) {
			return true
		}
	}
	return false
}

// Metadata of a folder is unknown beyond its zooms.
func (s *xyzDir) Metadata() Metadata {
	return Metadata{Name: filepath.Base(filepath.Clean(s.dir))}
}

// Close does nothing.
func (s *xyzDir) Close() error { return nil }

// xyzSink writes z/x/y.ext files, each atomically (temp + rename).
type xyzSink struct {
	dir    string
	format imageio.Format
}

// openXYZSink creates the folder when missing (its parent must exist).
func openXYZSink(dir string, f imageio.Format) (*xyzSink, error) {
	if st, err := os.Stat(filepath.Dir(filepath.Clean(dir))); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("output %s: folder %s does not exist", dir, filepath.Dir(filepath.Clean(dir)))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, unwrapPath(err))
	}
	// A killed run may have left temporary files of unfinished tiles.
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isTemp(d.Name()) {
			os.Remove(p)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, unwrapPath(err))
	}
	return &xyzSink{dir: dir, format: f}, nil
}

func (s *xyzSink) path(t maptile.Tile) string {
	return filepath.Join(s.dir, strconv.Itoa(int(t.Z)), strconv.Itoa(int(t.X)), strconv.Itoa(int(t.Y))+"."+string(s.format))
}

// Has reports whether the tile file exists.
func (s *xyzSink) Has(t maptile.Tile) (bool, error) {
	_, err := os.Stat(s.path(t))
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("output %s: %w", s.path(t), unwrapPath(err))
}

// Get reads a written tile.
func (s *xyzSink) Get(t maptile.Tile) ([]byte, error) {
	b, err := os.ReadFile(s.path(t))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", s.path(t), unwrapPath(err))
	}
	return b, nil
}

// Write writes each tile atomically.
func (s *xyzSink) Write(batch []Encoded) error {
	for _, e := range batch {
		p := s.path(e.Tile)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("output %s: %w", p, unwrapPath(err))
		}
		data := e.Data
		if err := pipeline.WriteFileAtomic(p, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return err
		}
	}
	return nil
}

const stateDir = ".stylize-state"

// State reads run state kept in a hidden folder of the output.
func (s *xyzSink) State(key string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, stateDir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// SetState stores run state atomically.
func (s *xyzSink) SetState(key string, v []byte) error {
	d := filepath.Join(s.dir, stateDir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("output %s: %w", d, unwrapPath(err))
	}
	return pipeline.WriteFileAtomic(filepath.Join(d, key), func(w io.Writer) error { _, err := w.Write(v); return err })
}

// Finish removes the run state; a folder has no metadata file.
func (s *xyzSink) Finish(Metadata) error {
	if err := os.RemoveAll(filepath.Join(s.dir, stateDir)); err != nil {
		return fmt.Errorf("output %s: %w", s.dir, err)
	}
	return nil
}

// Close does nothing.
func (s *xyzSink) Close() error { return nil }
