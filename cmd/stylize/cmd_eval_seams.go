package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/tiles"
	"github.com/stylize/stylize/tiles/store"
)

// runEvalSeams: stylize eval seams DST --zoom Z [--tms] [--report FILE].
func runEvalSeams(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval seams", "stylize eval seams TILES --zoom Z   (TILES: folder, .mbtiles or .pmtiles)",
		"Seam ratio: mean |gradient| across tile borders ÷ the same a quarter tile away; 1.0 = invisible seams.\n", stderr)
	zoom := fs.String("zoom", "", "zoom or zoom range to measure (required)")
	tms := fs.Bool("tms", false, "the folder has TMS rows")
	report := fs.String("report", "", "write the figures as JSON to this file")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *zoom == "" {
		return usagef("eval seams: want one tile set and --zoom Z")
	}
	z0, z1, err := tiles.ParseZoomRange(*zoom)
	if err != nil {
		return usagef("eval seams: --zoom %v", err)
	}
	src, err := store.OpenSource(ctx, pos[0], store.SourceOptions{TMS: *tms})
	if err != nil {
		return err
	}
	defer src.Close()
	var reps []tiles.SeamReport
	for z := z0; z <= z1; z++ {
		m, err := tiles.Stitch(ctx, src, z)
		if err != nil {
			return err
		}
		r, err := tiles.Seams(m)
		if err != nil {
			return fmt.Errorf("zoom %d: %w", z, err)
		}
		reps = append(reps, r)
		fmt.Fprintf(stdout, "z%d: seam ratio %.3f (border %.2f, quarter %.2f; %d tiles, %d borders)\n", z, r.Ratio, r.Border, r.Quarter, r.Tiles, r.Borders)
	}
	if *report != "" {
		return pipeline.WriteJSON(*report, reps)
	}
	return nil
}
