package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stylize/stylize/pipeline"
)

func runTiles(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tiles", "stylize tiles [-m MODEL] --source SRC -o DST --zoom Z0-Z1 [--bbox W,S,E,N | --geojson FILE] [options]", "", stderr)
	k := newTilesOpts()
	t := bindFlags(fs, &k.model.Conventions, k.table())
	source := fs.String("source", "", "tiles to stylize: z/x/y folder, .mbtiles, .pmtiles (v3) or https://host/{z}/{x}/{y}.png (required)")
	out := fs.String("o", "", "output: folder, .mbtiles or .pmtiles (required)")
	quiet := fs.Bool("quiet", false, "no progress output")
	report := fs.String("report", "", "write a JSON summary of the run to this file")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("tiles: unexpected argument %q (the source is given with --source)", pos[0])
	}
	if *source == "" || *out == "" || !t.IsSet("zoom") {
		return usagef("tiles: --source, -o and --zoom are required")
	}
	if err := flagErrors("tiles", t.Validate()); err != nil {
		return err
	}
	t.ApplyDefaults()
	if err := k.prepare(*source, *out); err != nil {
		return flagErrors("tiles", err)
	}
	k.tiles.Quiet, k.tiles.Progress = *quiet, stderr
	rep, runErr := k.run(ctx, openEngine)
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
