package tiles

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"github.com/stylize/stylize/tiles/store"
)

// maxLat is the Web Mercator latitude limit.
const maxLat = 85.0511287798

// maxCoverTiles bounds a coverage so a typo in a bbox or zoom does not try
// to enumerate the planet at z18.
const maxCoverTiles = 4_000_000

// Region is the area to stylize: bounding boxes (already split at the
// antimeridian) or a GeoJSON geometry.
type Region struct {
	Boxes    []orb.Bound
	Geometry orb.Geometry
}

// IsZero reports an unset region (every tile of the source).
func (r Region) IsZero() bool { return len(r.Boxes) == 0 && r.Geometry == nil }

// Bound is the region's overall bounding box (−180..180 when it wraps).
func (r Region) Bound() orb.Bound {
	if r.Geometry != nil {
		return r.Geometry.Bound()
	}
	b := r.Boxes[0]
	for _, x := range r.Boxes[1:] {
		b = b.Union(x)
	}
	return b
}

// maxZoom is the deepest zoom stylize accepts.
const maxZoom = 24

// ParseZoomRange reads "Z" or "Z0-Z1" (0..maxZoom, Z0 <= Z1). Errors quote
// the value without naming the option, so callers prefix what fits.
func ParseZoomRange(s string) (maptile.Zoom, maptile.Zoom, error) {
	t := strings.TrimSpace(s)
	a, b, ok := strings.Cut(t, "-")
	if !ok {
		b = a
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || !digits(a) || !digits(b) {
		return 0, 0, fmt.Errorf("%q: want Z or Z0-Z1, e.g. 12-16", s)
	}
	if lo > maxZoom || hi > maxZoom {
		return 0, 0, fmt.Errorf("%q: zooms go from 0 to %d", s, maxZoom)
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("%q min > max", s)
	}
	return maptile.Zoom(lo), maptile.Zoom(hi), nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ParseBBox reads W,S,E,N in degrees. Longitudes are wrapped into
// −180..180; a box with W > E after wrapping crosses the antimeridian and is
// split in two; S > N is refused.
func ParseBBox(s string) (Region, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return Region{}, fmt.Errorf("bbox %q: want W,S,E,N (4 numbers)", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Region{}, fmt.Errorf("bbox %q: %q is not a number", s, p)
		}
		v[i] = f
	}
	w, south, e, n := v[0], v[1], v[2], v[3]
	if south > n {
		return Region{}, fmt.Errorf("bbox %q: south %g is above north %g (order is W,S,E,N)", s, south, n)
	}
	if south < -90 || n > 90 {
		return Region{}, fmt.Errorf("bbox %q: latitudes must be within −90..90", s)
	}
	if e-w >= 360 {
		w, e = -180, 180
	} else {
		w, e = wrapLon(w), wrapLon(e)
		if e == -180 && w != -180 {
			e = 180
		}
	}
	south, n = math.Max(south, -maxLat), math.Min(n, maxLat)
	if w <= e {
		return Region{Boxes: []orb.Bound{{Min: orb.Point{w, south}, Max: orb.Point{e, n}}}}, nil
	}
	return Region{Boxes: []orb.Bound{
		{Min: orb.Point{w, south}, Max: orb.Point{180, n}},
		{Min: orb.Point{-180, south}, Max: orb.Point{e, n}},
	}}, nil
}

// wrapLon maps a longitude into −180..180 (180 stays 180).
func wrapLon(l float64) float64 {
	if l >= -180 && l <= 180 {
		return l
	}
	l = math.Mod(l+180, 360)
	if l < 0 {
		l += 360
	}
	return l - 180
}

// ReadGeoJSON reads a Geometry, Feature or FeatureCollection (polygons).
func ReadGeoJSON(path string) (Region, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if pe, ok := err.(*os.PathError); ok {
			err = pe.Err // the path is in the message already
		}
		return Region{}, fmt.Errorf("geojson %s: %w", path, err)
	}
	var coll orb.Collection
	if fc, err := geojson.UnmarshalFeatureCollection(b); err == nil && fc.Type == "FeatureCollection" {
		for _, f := range fc.Features {
			if f.Geometry != nil {
				coll = append(coll, f.Geometry)
			}
		}
	} else if f, err := geojson.UnmarshalFeature(b); err == nil && f.Type == "Feature" && f.Geometry != nil {
		coll = append(coll, f.Geometry)
	} else if g, err := geojson.UnmarshalGeometry(b); err == nil && g.Geometry() != nil {
		coll = append(coll, g.Geometry())
	} else {
		return Region{}, fmt.Errorf("geojson %s: not a GeoJSON geometry, feature or feature collection", path)
	}
	if len(coll) == 0 {
		return Region{}, fmt.Errorf("geojson %s: no geometry", path)
	}
	return Region{Geometry: coll}, nil
}

// ErrTooManyTiles means a coverage exceeds maxCoverTiles.
var ErrTooManyTiles = errors.New("too many tiles")

// cover lists the tiles of zoom z that the region touches, sorted.
func cover(r Region, z maptile.Zoom) ([]maptile.Tile, error) {
	if z > 30 {
		return nil, fmt.Errorf("zoom %d: want 0..30", z)
	}
	var set maptile.Set
	if r.Geometry != nil {
		if n := estimate(r.Geometry.Bound(), z); n > maxCoverTiles {
			return nil, fmt.Errorf("geojson at z%d: about %d tiles: %w (limit %d)", z, n, ErrTooManyTiles, maxCoverTiles)
		}
		s, err := tilecover.Geometry(r.Geometry, z)
		if err != nil {
			return nil, fmt.Errorf("geojson at z%d: %w", z, err)
		}
		set = s
	} else {
		set = maptile.Set{}
		for _, b := range r.Boxes {
			if n := estimate(b, z); n > maxCoverTiles {
				return nil, fmt.Errorf("bbox at z%d: about %d tiles: %w (limit %d)", z, n, ErrTooManyTiles, maxCoverTiles)
			}
			lo, hi := tileRange(b, z)
			for y := lo.Y; y <= hi.Y; y++ {
				for x := lo.X; x <= hi.X; x++ {
					set[maptile.New(x, y, z)] = true
				}
			}
		}
	}
	ts := make([]maptile.Tile, 0, len(set))
	for t := range set {
		if t.Valid() {
			ts = append(ts, t)
		}
	}
	ts = store.SortTiles(ts)
	return ts, nil
}

// tileRange is the inclusive tile rectangle of a box (no wrap: W ≤ E). A box
// edge lying exactly on a tile edge does not pull in the next tile.
func tileRange(b orb.Bound, z maptile.Zoom) (lo, hi maptile.Tile) {
	n := float64(uint32(1) << z)
	fx := func(lon float64) float64 { return (lon + 180) / 360 * n }
	fy := func(lat float64) float64 {
		lat = math.Max(-maxLat, math.Min(maxLat, lat)) * math.Pi / 180
		return (1 - math.Log(math.Tan(lat)+1/math.Cos(lat))/math.Pi) / 2 * n
	}
	clamp := func(v float64) uint32 { return uint32(math.Max(0, math.Min(n-1, v))) }
	x0, x1 := fx(b.Min[0]), fx(b.Max[0])
	y0, y1 := fy(b.Max[1]), fy(b.Min[1])
	lo = maptile.New(clamp(math.Floor(x0)), clamp(math.Floor(y0)), z)
	hi = maptile.New(clamp(math.Ceil(x1)-1), clamp(math.Ceil(y1)-1), z)
	if x1 <= x0 { // a zero-width box still covers its tile
		hi.X = lo.X
	}
	if y1 <= y0 {
		hi.Y = lo.Y
	}
	return lo, hi
}

func estimate(b orb.Bound, z maptile.Zoom) int64 {
	lo, hi := tileRange(b, z)
	return (int64(hi.X) - int64(lo.X) + 1) * (int64(hi.Y) - int64(lo.Y) + 1)
}
