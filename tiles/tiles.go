// Package tiles stylizes slippy-map tile pyramids: coverage, seamless
// metatiles with shared normalisation statistics, overviews, and the seam
// metric; the tile stores themselves are in tiles/store.
package tiles

import (
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/tiles/store"
)

// Format is a tile image encoding: the same formats stylize writes
// pictures in (imageio), named by their extension.
type Format = imageio.Format

// The tile encodings.
const (
	PNG  = imageio.PNG
	JPEG = imageio.JPEG
	WebP = imageio.WebP
)

// ParseFormat accepts png, jpg/jpeg and webp (store.ParseFormat).
func ParseFormat(s string) (Format, error) { return store.ParseFormat(s) }

// SourceOptions configure how Run opens its source (store.OpenSource).
type SourceOptions = store.SourceOptions
