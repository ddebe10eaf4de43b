package tiles

import (
	"errors"
	"fmt"

	"github.com/stylize/stylize/pipeline/option"
)

// NoOverviews is Options.Overviews for no overview zooms.
const NoOverviews = -1

// NewOptions are the options before any is set: every field zero but
// Overviews, which is NoOverviews (its zero builds zooms 0..MinZoom−1).
func NewOptions() Options { return Options{Overviews: NoOverviews} }

// Table declares the tile options (stylize tiles flags, tiles job keys).
// Margin and blend are given as the user writes them (0 = none, unset =
// default) and stored in Options' form (−1 = none, 0 = default).
func (o *Options) Table() *option.Table {
	var bbox string
	t := option.New(
		option.Func(option.String, "zoom", "zoom or zoom range to stylize, Z or Z0-Z1 (required)",
			func() any { return fmt.Sprintf("%d-%d", o.MinZoom, o.MaxZoom) },
			func(v any) (err error) { o.MinZoom, o.MaxZoom, err = ParseZoomRange(v.(string)); return err },
			func() bool { return o.MinZoom == 0 && o.MaxZoom == 0 }),
		option.Func(option.String, "bbox", "region W,S,E,N in degrees (may cross the antimeridian)",
			func() any { return bbox },
			func(v any) (err error) { bbox = v.(string); o.Region, err = ParseBBox(bbox); return err },
			func() bool { return true }), // a Region set by a program is not a flag's

		option.Func(option.String, "geojson", "region as a GeoJSON file of polygons",
			func() any { return "" },
			func(v any) (err error) { o.Region, err = ReadGeoJSON(v.(string)); return err },
			func() bool { return true }).AsPath(),
		option.BoolVar(&o.SourceOptions.TMS, "tms", "the source folder has TMS rows (y counted from the south)"),
		option.Func(option.Int, "overviews", "build zooms down to this one below Z0 by 2×2 downsampling of the stylized tiles (default: none)",
			func() any { return o.Overviews },
			func(v any) error { o.Overviews = v.(int); return nil },
			func() bool { return o.Overviews < 0 }).Range(0, maxZoom, ""),
		option.BoolVar(&o.PerZoom, "per_zoom", "with --overviews: stylize those zooms from the source instead of downsampling"),
		option.IntVar(&o.Metatile, "metatile", "tiles per metatile side").DefaultText("about 1024 px").Range(1, 16, " tiles"),
		noneIsMinus1(&o.Margin, "margin", "px of neighbour context around each metatile; 0 = none (default: the model's receptive field, at least 64 px for style nets)").Range(0, 1024, " px"),
		noneIsMinus1(&o.Blend, "blend", "px by which neighbouring metatiles overlap and are feathered together (at most half the margin); 0 = none (default: half the margin with --stats window, none with shared statistics, which make metatiles agree)").Range(0, 512, " px"),
		option.Func(option.String, "stats", "normalisation statistics: shared (one set per zoom, seamless) or window (per metatile)",
			func() any { return string(o.Stats) },
			func(v any) error { o.Stats = StatsMode(v.(string)); return nil },
			func() bool { return o.Stats == "" }).Default(string(StatsShared)).OneOf(string(StatsShared), string(StatsWindow)),
		option.Func(option.String, "format", "tile format png, jpg or webp (lossy, alpha kept)",
			func() any { return string(o.Format) },
			func(v any) (err error) { o.Format, err = ParseFormat(v.(string)); return err },
			func() bool { return o.Format == "" }).Default(string(PNG)).OneOf("png", "jpg", "jpeg", "webp"),
		// 90: map tiles show little loss, at half the size of 95.
		option.IntVar(&o.Quality, "quality", "JPEG and WebP quality 1..100").Default(90).Range(1, 100, ""),
		// One worker: a session already uses every core.
		option.IntVar(&o.Workers, "workers", "concurrent model runs (one uses every core)").Default(1).Range(1, 64, ""),
		option.StringVar(&o.SourceOptions.HTTP.Contact, "user_agent", "HTTP sources: extra contact to append to the User-Agent (e.g. an e-mail)"),
		option.FloatVar(&o.SourceOptions.HTTP.Rate, "rate", "HTTP sources: requests per second").DefaultText("4").Range(0, 1000, " per second"),
		option.IntVar(&o.SourceOptions.HTTP.Concurrency, "http_concurrency", "HTTP sources: parallel requests").DefaultText("2").Range(0, 64, ""),
		option.StringVar(&o.SourceOptions.HTTP.CacheDir, "cache", "HTTP sources: on-disk cache folder (default DST.cache)").AsPath(),
	)
	return t.Also(func(t *option.Table) error {
		if t.IsSet("bbox") && t.IsSet("geojson") {
			return &option.Error{Key: "geojson", Err: errors.New("give bbox or geojson, not both")}
		}
		return nil
	}).Also(func(t *option.Table) error {
		if !t.Stored("overviews") || !t.Stored("zoom") {
			return nil // no zoom to compare with (a batch job without one is refused for that)
		}
		if o.Overviews >= int(o.MinZoom) && (o.Overviews > 0 || t.IsSet("overviews")) {
			return &option.Error{Key: "overviews", Value: fmt.Sprint(o.Overviews),
				Err: fmt.Errorf("want a zoom below the first stylized zoom %d", o.MinZoom)}
		}
		return nil
	})
}

// noneIsMinus1 declares a px option whose 0 (none) is stored as −1, and
// unset as 0 (the default).
func noneIsMinus1(p *int, key, help string) *option.Decl {
	return option.Func(option.Int, key, help,
		func() any {
			if *p == -1 {
				return 0
			}
			return *p
		},
		func(v any) error {
			if *p = v.(int); *p == 0 {
				*p = -1
			}
			return nil
		},
		func() bool { return *p == 0 })
}
