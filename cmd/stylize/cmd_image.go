package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/model"
)

func init() {
	register(command{name: "image", order: 10, run: runImage, usage: [][2]string{
		{"stylize image [-m MODEL] -o OUT.(png|jpg|webp) IN", "stylize one picture"},
	}})
}

func runImage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mf := addModelFlags(fs)
	out := fs.String("o", "", "output file, .png, .jpg or .webp (required)")
	quality := fs.Int("quality", 92, "JPEG and WebP quality 1..100")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stylize image [-m MODEL] [options] -o OUT.(png|jpg|webp) IN")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("image: want exactly one input file, got %d (usage: stylize image -o OUT IN)", len(pos))
	}
	if *out == "" {
		return usagef("image: -o OUT is required")
	}
	if *quality < 1 || *quality > 100 {
		return usagef("image: --quality %d: want 1..100", *quality)
	}
	if _, err := imageio.FormatOf(*out); err != nil {
		return usageError{err}
	}
	opt, err := mf.options()
	if err != nil {
		return err
	}
	eng, err := model.Open(ctx, opt)
	if err != nil {
		return err
	}
	defer eng.Close()
	return imageio.StylizeFile(ctx, eng, pos[0], *out, *quality)
}
