// Package store reads and writes tile stores: XYZ folders, MBTiles,
// PMTiles and HTTP URL templates, behind the Source and Sink interfaces.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/pipeline/imageio"
)

// ParseFormat accepts png, jpg/jpeg and webp.
func ParseFormat(s string) (imageio.Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "png":
		return imageio.PNG, nil
	case "jpg", "jpeg":
		return imageio.JPEG, nil
	case "webp":
		return imageio.WebP, nil
	}
	return "", fmt.Errorf("tile format %q: want png, jpg or webp", s)
}

// Sniff tells a tile's encoding from its first bytes ("" when unknown).
func Sniff(b []byte) imageio.Format {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return imageio.PNG
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return imageio.JPEG
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return imageio.WebP
	}
	return ""
}

// Metadata describes a tileset (the MBTiles metadata rows, the PMTiles
// header and JSON metadata).
type Metadata struct {
	Name string
	// Version is the tileset's own version (MBTiles "version": the
	// tileset's, not the spec's); "" when unknown.
	Version     string
	Format      imageio.Format
	Attribution string
	Description string
	Bounds      orb.Bound // zero when unknown
	Center      orb.Point
	MinZoom     maptile.Zoom
	MaxZoom     maptile.Zoom
	HasZooms    bool // MinZoom/MaxZoom are known
}

// Source yields encoded tiles by XYZ address (y grows southwards).
type Source interface {
	// Get returns the tile's bytes, or nil and no error when the source has
	// no such tile (empty: nothing to stylize).
	Get(ctx context.Context, t maptile.Tile) ([]byte, error)
	// List returns every tile the source holds in the zoom range, sorted by
	// zoom, y, x; ErrCannotList when it cannot tell (HTTP).
	List(ctx context.Context, zmin, zmax maptile.Zoom) ([]maptile.Tile, error)
	Metadata() Metadata
	Close() error
}

// ErrCannotList means a source cannot enumerate its tiles: give a region.
var ErrCannotList = errors.New("the source cannot list its tiles (give --bbox or --geojson)")

// Sink stores encoded tiles. Writes of one batch are atomic (one file per
// tile, one transaction per batch), so an interrupted run resumes with Has.
type Sink interface {
	Has(t maptile.Tile) (bool, error)
	// Get reads a written tile back (nil when absent), for overviews.
	Get(t maptile.Tile) ([]byte, error)
	Write(batch []Encoded) error
	// State keeps small resumable run state (the measured statistics) until
	// Finish; nil when absent.
	State(key string) ([]byte, error)
	SetState(key string, v []byte) error
	// Finish writes the metadata and turns the store into the final output.
	Finish(meta Metadata) error
	// Close releases the store, keeping what was written for a later resume.
	Close() error
}

// Encoded is one output tile.
type Encoded struct {
	Tile maptile.Tile
	Data []byte
}

// TileString prints z/x/y.
func TileString(t maptile.Tile) string { return fmt.Sprintf("%d/%d/%d", t.Z, t.X, t.Y) }

// FlipY converts between XYZ and TMS rows: y_tms = 2^z − 1 − y.
func FlipY(z maptile.Zoom, y uint32) uint32 { return uint32(1)<<z - 1 - y }

// SortTiles orders tiles as sources list them: by zoom, then y, then x
// (the rows of a map), each tile once.
func SortTiles(ts []maptile.Tile) []maptile.Tile {
	sort.Slice(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if a.Z != b.Z {
			return a.Z < b.Z
		}
		if a.Y != b.Y {
			return a.Y < b.Y
		}
		return a.X < b.X
	})
	out := ts[:0]
	for i, t := range ts {
		if i > 0 && t == ts[i-1] {
			continue
		}
		out = append(out, t)
	}
	return out
}

// SourceOptions configure OpenSource.
type SourceOptions struct {
	TMS  bool        // an XYZ folder with TMS rows (y flipped)
	HTTP HTTPOptions // for {z}/{x}/{y} URL templates
}

// OpenSource opens a tile source by its spelling: an http(s) URL template,
// a .mbtiles or .pmtiles file, or a z/x/y folder.
func OpenSource(ctx context.Context, spec string, o SourceOptions) (Source, error) {
	low := strings.ToLower(spec)
	if strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://") {
		return openHTTP(spec, o.HTTP)
	}
	st, err := os.Stat(spec)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", spec, unwrapPath(err))
	}
	if st.IsDir() {
		return openXYZ(spec, o.TMS)
	}
	switch strings.ToLower(filepath.Ext(spec)) {
	case ".mbtiles":
		return openMBTiles(ctx, spec)
	case ".pmtiles":
		return openPMTiles(spec)
	}
	return nil, fmt.Errorf("open source %s: not a folder, .mbtiles, .pmtiles or http(s) URL template", spec)
}

// OpenSink opens (or resumes) an output by extension: .mbtiles, .pmtiles,
// else a folder.
func OpenSink(path string, f imageio.Format) (Sink, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mbtiles":
		return openMBTilesSink(path, f)
	case ".pmtiles":
		return openPMTilesSink(path, f)
	}
	return openXYZSink(path, f)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
