package tiles

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
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

	"github.com/stylize/stylize/pipeline"
)

// ErrNotPMTiles means a file is not a readable PMTiles v3 archive.
var ErrNotPMTiles = errors.New("not a PMTiles v3 archive")

// PMTiles reads a PMTiles v3 archive. The directories are read once into
// memory (tile archives for stylizing are small next to their images).
type PMTiles struct {
	path    string
	f       *os.File
	h       pmtiles.HeaderV3
	entries []pmtiles.EntryV3 // tile entries (run length ≥ 1), sorted by id
	meta    Metadata
}

// OpenPMTiles opens and checks an archive; v1/v2 archives are refused with
// a message saying how to convert them.
func OpenPMTiles(path string) (*PMTiles, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", path, unwrapPath(err))
	}
	p := &PMTiles{path: path, f: f}
	if err := p.load(); err != nil {
		f.Close()
		return nil, fmt.Errorf("open source %s: %w", path, err)
	}
	return p, nil
}

func (p *PMTiles) load() error {
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
		p.meta.Format = PNG
	case pmtiles.Jpeg:
		p.meta.Format = JPEG
	case pmtiles.Webp:
		p.meta.Format = WebP
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
			}
		}
	}
	return nil
}

// readSection reads and decompresses a directory or the metadata.
func (p *PMTiles) readSection(off, n uint64, c pmtiles.Compression) ([]byte, error) {
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
func (p *PMTiles) readDir(off, n uint64, depth int) error {
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

func (p *PMTiles) find(id uint64) (pmtiles.EntryV3, bool) {
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
func (p *PMTiles) Get(_ context.Context, t maptile.Tile) ([]byte, error) {
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
func (p *PMTiles) List(_ context.Context, zmin, zmax maptile.Zoom) ([]maptile.Tile, error) {
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
	sortTiles(ts)
	return dedupTiles(ts), nil
}

// Metadata from the header and the JSON metadata.
func (p *PMTiles) Metadata() Metadata { return p.meta }

// Close closes the file.
func (p *PMTiles) Close() error { return p.f.Close() }

// PMTilesSink stages tiles in an SQLite store (PATH.partial, resumable) and
// writes a clustered PMTiles v3 archive at Finish: tiles in Hilbert id order,
// identical contents stored once (consecutive ones as run-length entries),
// gzip-compressed directories, tile compression none (PNG/JPEG/WebP are
// compressed already).
type PMTilesSink struct {
	*store
	final  string
	format Format
}

// OpenPMTilesSink opens or resumes the staging store.
func OpenPMTilesSink(path string, f Format) (*PMTilesSink, error) {
	partial := path + ".partial"
	_, perr := os.Stat(partial)
	_, ferr := os.Stat(path)
	s, err := openStore(partial)
	if err != nil {
		return nil, err
	}
	if perr != nil && ferr == nil { // finished before: stage its tiles again
		if err := importPMTiles(s, path); err != nil {
			s.Close()
			os.Remove(partial)
			return nil, err
		}
	}
	return &PMTilesSink{store: s, final: path, format: f}, nil
}

func importPMTiles(s *store, path string) error {
	p, err := OpenPMTiles(path)
	if err != nil {
		return fmt.Errorf("output %s exists and is not readable to resume: %w", path, err)
	}
	defer p.Close()
	ts, err := p.List(context.Background(), 0, 31)
	if err != nil {
		return err
	}
	var batch []Encoded
	for _, t := range ts {
		b, err := p.Get(context.Background(), t)
		if err != nil {
			return err
		}
		batch = append(batch, Encoded{Tile: t, Data: b})
		if len(batch) == 256 {
			if err := s.Write(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return s.Write(batch)
}

func tileType(f Format) pmtiles.TileType {
	switch f {
	case JPEG:
		return pmtiles.Jpeg
	case WebP:
		return pmtiles.Webp
	}
	return pmtiles.Png
}

// Finish writes the archive atomically and removes the staging store.
func (s *PMTilesSink) Finish(md Metadata) error {
	md.Format = s.format
	if err := WritePMTiles(s.final, md, s.store); err != nil {
		return err
	}
	s.store.Close()
	return os.Remove(s.path)
}

// tileGetter is what WritePMTiles reads from.
type tileGetter interface {
	Get(t maptile.Tile) ([]byte, error)
	each(fn func(t maptile.Tile, data []byte) error) error
}

// WritePMTiles writes every tile of src as a clustered archive at path.
func WritePMTiles(path string, md Metadata, src tileGetter) error {
	type idTile struct {
		id uint64
		t  maptile.Tile
	}
	var ids []idTile
	if err := src.each(func(t maptile.Tile, _ []byte) error {
		ids = append(ids, idTile{pmtiles.ZxyToID(uint8(t.Z), t.X, t.Y), t})
		return nil
	}); err != nil {
		return err
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].id < ids[j].id })

	data, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".data-*")
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	defer os.Remove(data.Name())
	defer data.Close()
	bw := bufio.NewWriterSize(data, 1<<20)
	var entries []pmtiles.EntryV3
	seen := map[[32]byte]pmtiles.EntryV3{}
	var off uint64
	var lastHash [32]byte
	contents := uint64(0)
	for _, it := range ids {
		b, err := src.Get(it.t)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		if n := len(entries); n > 0 && h == lastHash && entries[n-1].TileID+uint64(entries[n-1].RunLength) == it.id {
			entries[n-1].RunLength++
			continue
		}
		lastHash = h
		if e, ok := seen[h]; ok {
			entries = append(entries, pmtiles.EntryV3{TileID: it.id, Offset: e.Offset, Length: e.Length, RunLength: 1})
			continue
		}
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("output %s: %w", path, err)
		}
		e := pmtiles.EntryV3{TileID: it.id, Offset: off, Length: uint32(len(b)), RunLength: 1}
		seen[h] = e
		entries = append(entries, e)
		off += uint64(len(b))
		contents++
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}

	root, leaves, _ := pmtiles.BuildDirectories(entries, 16384-pmtiles.HeaderV3LenBytes, pmtiles.Gzip)
	meta := map[string]any{"name": md.Name, "format": string(md.Format), "type": "baselayer"}
	if md.Attribution != "" {
		meta["attribution"] = md.Attribution
	}
	if md.Description != "" {
		meta["description"] = md.Description
	}
	metaBytes, err := pmtiles.SerializeMetadata(meta, pmtiles.Gzip)
	if err != nil {
		return fmt.Errorf("output %s: metadata: %w", path, err)
	}
	var addressed uint64
	for _, e := range entries {
		addressed += uint64(e.RunLength)
	}
	e7 := func(v float64) int32 { return int32(math.Round(v * 1e7)) }
	c := md.Bounds.Center()
	h := pmtiles.HeaderV3{
		SpecVersion:         3,
		RootOffset:          pmtiles.HeaderV3LenBytes,
		RootLength:          uint64(len(root)),
		MetadataOffset:      pmtiles.HeaderV3LenBytes + uint64(len(root)),
		MetadataLength:      uint64(len(metaBytes)),
		LeafDirectoryOffset: pmtiles.HeaderV3LenBytes + uint64(len(root)) + uint64(len(metaBytes)),
		LeafDirectoryLength: uint64(len(leaves)),
		TileDataLength:      off,
		AddressedTilesCount: addressed,
		TileEntriesCount:    uint64(len(entries)),
		TileContentsCount:   contents,
		Clustered:           true,
		InternalCompression: pmtiles.Gzip,
		TileCompression:     pmtiles.NoCompression,
		TileType:            tileType(md.Format),
		MinZoom:             uint8(md.MinZoom),
		MaxZoom:             uint8(md.MaxZoom),
		MinLonE7:            e7(md.Bounds.Min[0]),
		MinLatE7:            e7(md.Bounds.Min[1]),
		MaxLonE7:            e7(md.Bounds.Max[0]),
		MaxLatE7:            e7(md.Bounds.Max[1]),
		CenterZoom:          uint8(md.MinZoom),
		CenterLonE7:         e7(c[0]),
		CenterLatE7:         e7(c[1]),
	}
	h.TileDataOffset = h.LeafDirectoryOffset + h.LeafDirectoryLength
	if _, err := data.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	return pipeline.WriteFileAtomic(path, func(w io.Writer) error {
		for _, part := range [][]byte{pmtiles.SerializeHeader(h), root, metaBytes, leaves} {
			if _, err := w.Write(part); err != nil {
				return err
			}
		}
		_, err := io.Copy(w, data)
		return err
	})
}
