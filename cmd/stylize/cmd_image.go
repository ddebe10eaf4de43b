package main

import (
	"context"
	"io"

	"github.com/stylize/stylize/pipeline/imageio"
)

func runImage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("image", "stylize image [-m MODEL] [options] -o OUT.(png|jpg|webp) IN", "", stderr)
	var k imageOpts
	t := bindFlags(fs, &k.model.Conventions, k.table())
	out := fs.String("o", "", "output file, .png, .jpg or .webp (required)")
	pos, err := parseN(fs, args, 1, "exactly one input file")
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("image: -o OUT is required")
	}
	if err := flagErrors("image", t.Validate()); err != nil {
		return err
	}
	if _, err := imageio.FormatOf(*out); err != nil {
		return usageError{err}
	}
	t.ApplyDefaults()
	return k.run(ctx, openEngine, pos[0], *out)
}
