package store

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/protomaps/go-pmtiles/pmtiles"

	"github.com/stylize/stylize/pipeline/imageio"
)

// ErrNotPMTiles means a file is not a readable PMTiles v3 archive.
var ErrNotPMTiles = errors.New("not a PMTiles v3 archive")

// pmtilesSource reads a PMTiles v3 archive. The directories are read once into
// memory (tile archives for stylizing are small next to their images).
type pmtilesSource struct {
	path    string
	f       *os.File
	h       pmtiles.HeaderV3
	entries []pmtiles.EntryV3 // tile entries (run length ≥ 1), sorted by id
	meta    Metadata
}

// openPMTiles opens and checks an archive; v1/v2 archives are refused with
// a message saying how to convert them.
func openPMTiles(path string) (*pmtilesSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", path, unwrapPath(err))
	}
	p := &pmtilesSource{path: path, f: f}
	if err := p.load(); err != nil {
		f.Close()
		return nil, fmt.Errorf("open source %s: %w", path, err)
	}
	return p, nil
}

func (p *pmtilesSource) load() error {
	head := make([]byte, pmtiles.HeaderV3LenBytes)
	n, err := io.ReadFull(p.f, head)
	if n >= 4 && head[0] == 'P' && head[1] == 'M' && string(head[:7]) != "PMTiles" {
		v := binary.LittleEndian.Uint16(head[2:4])
		return fmt.Errorf("%w: this is a PMTiles version %d archive; convert it to v3 first (`pmtiles convert OLD.pmtiles NEW.pmtiles`)", ErrNotPMTiles, v)
	}
	if err != nil {
		return fmt.Errorf("%w: file shorter than the 127-byte header", ErrNotPMTiles)
	}
	if string(head[:7]) != "PMTiles" {
		return fmt.Errorf("%w: wrong magic %q", ErrNotPMTiles, head[:7])
	}
	if head[7] != 3 {
		return fmt.Errorf("%w: spec version %d, only 3 is supported", ErrNotPMTiles, head[7])
	}
	h, err := pmtiles.DeserializeHeader(head)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotPMTiles, err)
	}
	p.h = h
	switch h.InternalCompression {
	case pmtiles.NoCompression, pmtiles.Gzip:
	default:
		return fmt.Errorf("%w: directory compression %d is not supported (only none and gzip)", ErrNotPMTiles, h.InternalCompression)
	}
	switch h.TileCompression {
	case pmtiles.NoCompression, pmtiles.UnknownCompression, pmtiles.Gzip:
	default:
		return fmt.Errorf("%w: tile compression %d is not supported", ErrNotPMTiles, h.TileCompression)
	}
	switch h.TileType {
	case pmtiles.Png, pmtiles.Jpeg, pmtiles.Webp:
	default:
		return fmt.Errorf("tile type %d is not a raster image type (png, jpeg, webp): vector tiles cannot be stylized", h.TileType)
	}
	if err := p.readDir(h.RootOffset, h.RootLength, 0); err != nil {
		return err
	}
	sort.Slice(p.entries, func(i, j int) bool { return p.entries[i].TileID < p.entries[j].TileID })
	p.meta = Metadata{
		Name:     strings.TrimSuffix(filepath.Base(p.path), filepath.Ext(p.path)),
		MinZoom:  maptile.Zoom(h.MinZoom),
		MaxZoom:  maptile.Zoom(h.MaxZoom),
		HasZooms: h.MaxZoom >= h.MinZoom,
		Bounds: orb.Bound{Min: orb.Point{float64(h.MinLonE7) / 1e7, float64(h.MinLatE7) / 1e7},
			Max: orb.Point{float64(h.MaxLonE7) / 1e7, float64(h.MaxLatE7) / 1e7}},
		Center: orb.Point{float64(h.CenterLonE7) / 1e7, float64(h.CenterLatE7) / 1e7},
	}
	switch h.TileType {
	case pmtiles.Png:
		p.meta.Format = imageio.PNG
	case pmtiles.Jpeg:
		p.meta.Format = imageio.JPEG
	case pmtiles.Webp:
		p.meta.Format = imageio.WebP
	}
	if h.MetadataLength > 0 && h.MetadataLength < 64<<20 {
		if b, err := p.readSection(h.MetadataOffset, h.MetadataLength, h.InternalCompression); err == nil {
			var md map[string]any
			if json.Unmarshal(b, &md) == nil {
				str := func(k string) string { s, _ := md[k].(string); return s }
				if s := str("name"); s != "" {
					p.meta.Name = s
				}
				p.meta.Attribution, p.meta.Description = str("attribution"), str("description")
				p.meta.Version = str("version")
			}
		}
	}
	return nil
}

// readSection reads and decompresses a directory or the metadata.
func (p *pmtilesSource) readSection(off, n uint64, c pmtiles.Compression) ([]byte, error) {
	if n > 256<<20 {
		return nil, fmt.Errorf("%w: section of %d bytes is implausibly large", ErrNotPMTiles, n)
	}
	b := make([]byte, n)
	if _, err := p.f.ReadAt(b, int64(off)); err != nil {
		return nil, fmt.Errorf("%w: section at %d+%d: %v", ErrNotPMTiles, off, n, err)
	}
	if c != pmtiles.Gzip {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: directory at %d: %v", ErrNotPMTiles, off, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, 512<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: directory at %d: %v", ErrNotPMTiles, off, err)
	}
	return out, nil
}

// readDir reads a directory and its leaves (depth-limited: the spec uses at
// most root + leaves, some writers nest one more level).
func (p *pmtilesSource) readDir(off, n uint64, depth int) error {
	if depth > 3 {
		return fmt.Errorf("%w: leaf directories nested too deep", ErrNotPMTiles)
	}
	b, err := p.readSection(off, n, p.h.InternalCompression)
	if err != nil {
		return err
	}
	es, err := decodeEntries(b)
	if err != nil {
		return fmt.Errorf("%w: directory at %d: %v", ErrNotPMTiles, off, err)
	}
	for _, e := range es {
		if e.RunLength == 0 {
			if err := p.readDir(p.h.LeafDirectoryOffset+e.Offset, uint64(e.Length), depth+1); err != nil {
				return err
			}
			continue
		}
		p.entries = append(p.entries, e)
	}
	return nil
}

// decodeEntries parses a varint directory, checking every count against
// the data so corrupt input fails instead of allocating or panicking.
func decodeEntries(b []byte) ([]pmtiles.EntryV3, error) {
	r := bufio.NewReader(bytes.NewReader(b))
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(b)) { // every entry takes at least 4 bytes
		return nil, fmt.Errorf("%d entries in %d bytes", n, len(b))
	}
	es := make([]pmtiles.EntryV3, n)
	var last uint64
	for i := range es {
		d, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		last += d
		es[i].TileID = last
	}
	for i := range es {
		v, err := binary.ReadUvarint(r)
		if err != nil || v > math.MaxUint32 {
			return nil, fmt.Errorf("bad run length")
		}
		es[i].RunLength = uint32(v)
	}
	for i := range es {
		v, err := binary.ReadUvarint(r)
		if err != nil || v > math.MaxUint32 {
			return nil, fmt.Errorf("bad length")
		}
		es[i].Length = uint32(v)
	}
	for i := range es {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if v == 0 && i > 0 {
			es[i].Offset = es[i-1].Offset + uint64(es[i-1].Length)
		} else if v == 0 {
			return nil, fmt.Errorf("first offset is 0")
		} else {
			es[i].Offset = v - 1
		}
	}
	return es, nil
}

func (p *pmtilesSource) find(id uint64) (pmtiles.EntryV3, bool) {
	i := sort.Search(len(p.entries), func(i int) bool { return p.entries[i].TileID > id }) - 1
	if i < 0 {
		return pmtiles.EntryV3{}, false
	}
	e := p.entries[i]
	if id-e.TileID < uint64(e.RunLength) {
		return e, true
	}
	return pmtiles.EntryV3{}, false
}

// Get reads one tile (nil when absent).
func (p *pmtilesSource) Get(_ context.Context, t maptile.Tile) ([]byte, error) {
	if t.Z > 31 {
		return nil, nil
	}
	e, ok := p.find(pmtiles.ZxyToID(uint8(t.Z), t.X, t.Y))
	if !ok {
		return nil, nil
	}
	if e.Length > 64<<20 {
		return nil, fmt.Errorf("tile %s in %s: %d bytes is implausibly large", TileString(t), p.path, e.Length)
	}
	b := make([]byte, e.Length)
	if _, err := p.f.ReadAt(b, int64(p.h.TileDataOffset+e.Offset)); err != nil {
		return nil, fmt.Errorf("tile %s in %s: %w", TileString(t), p.path, err)
	}
	if p.h.TileCompression == pmtiles.Gzip && len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("tile %s in %s: %w", TileString(t), p.path, err)
		}
		if b, err = io.ReadAll(io.LimitReader(zr, 64<<20)); err != nil {
			return nil, fmt.Errorf("tile %s in %s: %w", TileString(t), p.path, err)
		}
	}
	return b, nil
}

// List expands the run-length entries in the zoom range.
func (p *pmtilesSource) List(_ context.Context, zmin, zmax maptile.Zoom) ([]maptile.Tile, error) {
	var ts []maptile.Tile
	lo := pmtiles.ZxyToID(uint8(zmin), 0, 0)
	hi := uint64(math.MaxUint64)
	if zmax < 31 {
		hi = pmtiles.ZxyToID(uint8(zmax+1), 0, 0)
	}
	for _, e := range p.entries {
		for k := uint64(0); k < uint64(e.RunLength); k++ {
			id := e.TileID + k
			if id < lo || id >= hi {
				continue
			}
			z, x, y := pmtiles.IDToZxy(id)
			ts = append(ts, maptile.New(x, y, maptile.Zoom(z)))
		}
	}
	return SortTiles(ts), nil
}

// Metadata from the header and the JSON metadata.
func (p *pmtilesSource) Metadata() Metadata { return p.meta }

// Close closes the file.
func (p *pmtilesSource) Close() error { return p.f.Close() }
