package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/paulmach/orb/maptile"
	"github.com/protomaps/go-pmtiles/pmtiles"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
)

// pmtilesSink stages tiles in an SQLite store (PATH.partial, resumable) and
// writes a clustered PMTiles v3 archive at Finish: tiles in Hilbert id order,
// identical contents stored once (consecutive ones as run-length entries),
// gzip-compressed directories, tile compression none (imageio.PNG/imageio.JPEG/imageio.WebP are
// compressed already).
type pmtilesSink struct {
	*stage
	final  string
	format imageio.Format
}

// openPMTilesSink opens or resumes the staging store.
func openPMTilesSink(path string, f imageio.Format) (*pmtilesSink, error) {
	partial := path + ".partial"
	_, perr := os.Stat(partial)
	_, ferr := os.Stat(path)
	s, err := openStage(partial)
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
	return &pmtilesSink{stage: s, final: path, format: f}, nil
}

func importPMTiles(s *stage, path string) error {
	p, err := openPMTiles(path)
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

func tileType(f imageio.Format) pmtiles.TileType {
	switch f {
	case imageio.JPEG:
		return pmtiles.Jpeg
	case imageio.WebP:
		return pmtiles.Webp
	}
	return pmtiles.Png
}

// Finish writes the archive atomically and removes the staging store.
func (s *pmtilesSink) Finish(md Metadata) error {
	md.Format = s.format
	if err := writePMTiles(s.final, md, s.stage); err != nil {
		return err
	}
	s.stage.Close()
	return os.Remove(s.path)
}

// tileReader is what writePMTiles reads from.
type tileReader interface {
	Get(t maptile.Tile) ([]byte, error)
	each(fn func(t maptile.Tile, data []byte) error) error
}

// writePMTiles writes every tile of src as a clustered archive at path.
func writePMTiles(path string, md Metadata, src tileReader) error {
	ids, err := hilbertOrder(src)
	if err != nil {
		return err
	}
	data, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".data-*")
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	defer os.Remove(data.Name())
	defer data.Close()
	bw := bufio.NewWriterSize(data, 1<<20)
	c, err := writeTileData(bw, path, src, ids)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	root, leaves, _ := pmtiles.BuildDirectories(c.entries, 16384-pmtiles.HeaderV3LenBytes, pmtiles.Gzip)
	metaBytes, err := pmtiles.SerializeMetadata(pmtilesJSON(md), pmtiles.Gzip)
	if err != nil {
		return fmt.Errorf("output %s: metadata: %w", path, err)
	}
	h := pmtilesHeader(md, c)
	h.RootOffset = pmtiles.HeaderV3LenBytes
	h.RootLength = uint64(len(root))
	h.MetadataOffset = h.RootOffset + h.RootLength
	h.MetadataLength = uint64(len(metaBytes))
	h.LeafDirectoryOffset = h.MetadataOffset + h.MetadataLength
	h.LeafDirectoryLength = uint64(len(leaves))
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

type idTile struct {
	id uint64
	t  maptile.Tile
}

// hilbertOrder lists the tiles of src by PMTiles id (the Hilbert order the
// clustered layout wants).
func hilbertOrder(src tileReader) ([]idTile, error) {
	var ids []idTile
	if err := src.each(func(t maptile.Tile, _ []byte) error {
		ids = append(ids, idTile{pmtiles.ZxyToID(uint8(t.Z), t.X, t.Y), t})
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].id < ids[j].id })
	return ids, nil
}

// clustered is the tile data section as written: its entries, its length
// and how many distinct contents it holds.
type clustered struct {
	entries  []pmtiles.EntryV3
	length   uint64
	contents uint64
}

// writeTileData writes each distinct tile content once, in id order: a
// repeat of the previous tile extends its entry's run, a repeat of an
// earlier one points at its bytes.
func writeTileData(w io.Writer, path string, src tileReader, ids []idTile) (clustered, error) {
	var c clustered
	seen := map[[32]byte]pmtiles.EntryV3{}
	var lastHash [32]byte
	for _, it := range ids {
		b, err := src.Get(it.t)
		if err != nil {
			return c, err
		}
		h := sha256.Sum256(b)
		if n := len(c.entries); n > 0 && h == lastHash && c.entries[n-1].TileID+uint64(c.entries[n-1].RunLength) == it.id {
			c.entries[n-1].RunLength++
			continue
		}
		lastHash = h
		if e, ok := seen[h]; ok {
			c.entries = append(c.entries, pmtiles.EntryV3{TileID: it.id, Offset: e.Offset, Length: e.Length, RunLength: 1})
			continue
		}
		if _, err := w.Write(b); err != nil {
			return c, fmt.Errorf("output %s: %w", path, err)
		}
		e := pmtiles.EntryV3{TileID: it.id, Offset: c.length, Length: uint32(len(b)), RunLength: 1}
		seen[h] = e
		c.entries = append(c.entries, e)
		c.length += uint64(len(b))
		c.contents++
	}
	return c, nil
}

// pmtilesJSON is the archive's JSON metadata.
func pmtilesJSON(md Metadata) map[string]any {
	meta := map[string]any{"name": md.Name, "format": string(md.Format), "type": "baselayer", "version": tilesetVersion(md)}
	if md.Attribution != "" {
		meta["attribution"] = md.Attribution
	}
	if md.Description != "" {
		meta["description"] = md.Description
	}
	return meta
}

// pmtilesHeader fills in the header but for the section offsets.
func pmtilesHeader(md Metadata, c clustered) pmtiles.HeaderV3 {
	var addressed uint64
	for _, e := range c.entries {
		addressed += uint64(e.RunLength)
	}
	e7 := func(v float64) int32 { return int32(math.Round(v * 1e7)) }
	center := md.Bounds.Center()
	return pmtiles.HeaderV3{
		SpecVersion:         3,
		TileDataLength:      c.length,
		AddressedTilesCount: addressed,
		TileEntriesCount:    uint64(len(c.entries)),
		TileContentsCount:   c.contents,
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
		CenterLonE7:         e7(center[0]),
		CenterLatE7:         e7(center[1]),
	}
}
