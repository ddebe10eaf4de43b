package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/tiles"
	"github.com/stylize/stylize/tiles/store"
)

func init() {
	register(command{name: "tiles", order: 40, run: runTiles, usage: [][2]string{
		{"stylize tiles [-m MODEL] --source SRC -o DST --zoom Z0-Z1", "stylize a slippy-map tile pyramid seamlessly (XYZ, MBTiles, PMTiles, HTTP)"},
	}})
}

func runTiles(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tiles", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mf := addModelFlags(fs)
	// --margin is shared with the model flags: for tiles it is the neighbour
	// context of each metatile (the model itself then pads nothing).
	fs.Lookup("margin").Usage = "px of neighbour context around each metatile; 0 = none (default -1: the model's receptive field, at least 64 px for style nets)"
	source := fs.String("source", "", "tiles to stylize: z/x/y folder, .mbtiles, .pmtiles (v3) or https://host/{z}/{x}/{y}.png (required)")
	out := fs.String("o", "", "output: folder, .mbtiles or .pmtiles (required)")
	zoom := fs.String("zoom", "", "zoom or zoom range to stylize, Z or Z0-Z1 (required)")
	bbox := fs.String("bbox", "", "region W,S,E,N in degrees (may cross the antimeridian)")
	geo := fs.String("geojson", "", "region as a GeoJSON file of polygons")
	tms := fs.Bool("tms", false, "the source folder has TMS rows (y counted from the south)")
	overviews := fs.Int("overviews", -1, "build zooms down to this one below Z0 by 2×2 downsampling of the stylized tiles")
	perZoom := fs.Bool("per-zoom", false, "with --overviews: stylize those zooms from the source instead of downsampling")
	metatile := fs.Int("metatile", 0, "tiles per metatile side (default: about 1024 px)")
	blend := fs.Int("blend", -1, "px by which neighbouring metatiles overlap and are feathered together (at most half the margin); 0 = none (default -1: half the margin with --stats window, none with shared statistics, which make metatiles agree)")
	stats := fs.String("stats", "shared", "normalisation statistics: shared (one set per zoom, seamless) or window (per metatile)")
	format := fs.String("format", "png", "tile format png, jpg or webp (lossy, alpha kept)")
	quality := fs.Int("quality", 90, "JPEG and WebP quality 1..100")
	workers := fs.Int("workers", 1, "concurrent model runs (one uses every core)")
	quiet := fs.Bool("quiet", false, "no progress output")
	report := fs.String("report", "", "write a JSON summary of the run to this file")
	userAgent := fs.String("user-agent", "", "HTTP sources: extra contact to append to the User-Agent (e.g. an e-mail)")
	rate := fs.Float64("rate", 0, "HTTP sources: requests per second (default 4)")
	conc := fs.Int("http-concurrency", 0, "HTTP sources: parallel requests (default 2)")
	cache := fs.String("cache", "", "HTTP sources: on-disk cache folder (default DST.cache)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stylize tiles [-m MODEL] --source SRC -o DST --zoom Z0-Z1 [--bbox W,S,E,N | --geojson FILE] [options]")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("tiles: unexpected argument %q (the source is given with --source)", pos[0])
	}
	if *source == "" || *out == "" || *zoom == "" {
		return usagef("tiles: --source, -o and --zoom are required")
	}
	z0, z1, err := parseZoomRange(*zoom)
	if err != nil {
		return usageError{err}
	}
	o := tiles.Options{
		Source: *source, Output: *out, MinZoom: z0, MaxZoom: z1,
		SourceOptions: tiles.SourceOptions{TMS: *tms, HTTP: store.HTTPOptions{Contact: *userAgent, Rate: *rate, Concurrency: *conc, CacheDir: *cache}},
		Overviews:     *overviews, PerZoom: *perZoom, Metatile: *metatile, Margin: tileMargin(mf.margin), Blend: tileMargin(*blend),
		Stats: tiles.StatsMode(*stats), Quality: *quality, Workers: *workers, Quiet: *quiet, Progress: stderr,
	}
	if o.SourceOptions.HTTP.CacheDir == "" {
		o.SourceOptions.HTTP.CacheDir = strings.TrimSuffix(*out, "/") + ".cache"
	}
	if o.Format, err = tiles.ParseFormat(*format); err != nil {
		return usageError{err}
	}
	switch {
	case *bbox != "" && *geo != "":
		return usagef("tiles: give --bbox or --geojson, not both")
	case *bbox != "":
		if o.Region, err = tiles.ParseBBox(*bbox); err != nil {
			return usageError{err}
		}
	case *geo != "":
		if o.Region, err = tiles.ReadGeoJSON(*geo); err != nil {
			return usageError{err}
		}
	}
	if err := o.Validate(); err != nil {
		return usageError{err}
	}
	if mf.maxSide > 0 {
		return usagef("tiles: --max-side is not supported (tiles keep their resolution; pick the zoom instead)")
	}
	opt, err := mf.options()
	if err != nil {
		return err
	}
	// The metatile margin is the context; the model pads only to its size multiple.
	opt.Conventions.Margin, opt.Conventions.MarginSet = 0, true
	eng, err := model.Open(ctx, opt)
	if err != nil {
		return err
	}
	defer eng.Close()
	rep, runErr := tiles.Run(ctx, eng, o)
	if *report != "" && rep != nil {
		if err := pipeline.WriteJSON(*report, rep); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if !*quiet {
		fmt.Fprintf(stderr, "%d tiles written (%d overview, %d already done, %d empty), %.1f s, %.2f tiles/s\n",
			rep.TilesWritten+rep.OverviewTiles, rep.OverviewTiles, rep.TilesSkipped, rep.TilesEmpty, rep.Seconds, rep.TilesPerSecond)
	}
	return nil
}

// parseZoomRange reads --zoom: Z or Z0-Z1.
func parseZoomRange(s string) (maptile.Zoom, maptile.Zoom, error) {
	z0, z1, err := tiles.ParseZoomRange(s)
	if err != nil {
		return 0, 0, fmt.Errorf("zoom %w", err)
	}
	return z0, z1, nil
}

// tileMargin maps the --margin and --blend flags (−1 unset, 0 none) onto
// tiles.Options.Margin and Blend (0 default, −1 none).
func tileMargin(flag int) int {
	switch {
	case flag < 0:
		return 0
	case flag == 0:
		return -1
	}
	return flag
}
