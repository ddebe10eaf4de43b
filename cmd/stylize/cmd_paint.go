package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stylize/stylize/paint"
	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// netRel is where the perceptual net lies in the shared data folder.
var netRel = filepath.Join("models", "perceptual", "cd16x_vgg_features.onnx")

// defaultNet looks for the net in $STYLIZE_SHARED, else in a shared/
// folder beside the working directory or the binary or above them.
func defaultNet() string {
	if d := os.Getenv("STYLIZE_SHARED"); d != "" {
		return filepath.Join(d, netRel)
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, s := range starts {
		for d := s; ; d = filepath.Dir(d) {
			if p := filepath.Join(d, "shared", netRel); fileExists(p) {
				return p
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return filepath.Join("..", "shared", netRel)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

const paintHelp = `Losses on the cd16x perceptual net (F: a layer's features as C×N, N = h·w):
Gram G = F·Fᵀ/N; style = style-weight · Σ over relu1_1…relu5_1 of the mean over C×C of (G − G_style)²;
content = content-weight · mean over C×N of (F − F_content)² at relu4_2; tv = tv-weight · mean of the
squared neighbour differences. L-BFGS (10 pairs, unit steps, halved while the loss rises), projected
on 0..1 (pixels are clipped after each step). Each scale and each pass runs --iterations iterations.
`

func runPaint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("paint", "stylize paint --style STYLE [options] -o OUT.(png|jpg|webp) IN", paintHelp, stderr)
	var styles stringList
	fs.Var(&styles, "style", "style picture (required; repeat to average several styles)")
	out := fs.String("o", "", "output file, .png, .jpg or .webp (required)")
	iters := fs.Int("iterations", 300, "L-BFGS iterations per scale and pass")
	sw := fs.Float64("style-weight", 5, "weight of each style layer's Gram loss")
	cw := fs.Float64("content-weight", 1, "weight of the relu4_2 content loss (0: none)")
	tv := fs.Float64("tv-weight", 0, "total-variation weight (0: none)")
	size := fs.Int("size", 512, "long side of the output in px")
	initFrom := fs.String("init", "content", "start from: content, noise, or a picture's PATH")
	scales := fs.Int("scales", 1, "coarse-to-fine levels (2: half size first, then full size)")
	passes := fs.Int("passes", 1, "chained runs at full size, each from the last one's result")
	pool := fs.String("pool", "max", "pooling in the perceptual net: max or avg")
	threads := fs.Int("threads", 0, "onnxruntime threads (0: one per core)")
	quiet := fs.Bool("quiet", false, "no progress output")
	seed := fs.Uint64("seed", 1, "seed for --init noise")
	quality := fs.Int("quality", 92, "JPEG and WebP quality 1..100")
	net := fs.String("net", defaultNet(), "the perceptual net (cd16x_vgg_features.onnx)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	o := paint.Options{Iterations: *iters, StyleWeight: *sw, ContentWeight: *cw, TVWeight: *tv, Size: *size,
		Scales: *scales, Passes: *passes, Pool: paint.Pool(*pool), Threads: *threads, Seed: *seed}
	if err := checkPaintArgs(pos, styles, *out, *quality, &o); err != nil {
		return err
	}
	switch *initFrom {
	case "content", "noise":
		o.Init = paint.Init(*initFrom)
	default:
		start, err := paint.ReadPicture(*initFrom)
		if err != nil {
			return fmt.Errorf("paint: --init: %w", err)
		}
		o.Init, o.Start = paint.InitPicture, &start
	}
	for _, s := range styles {
		p, err := paint.ReadPicture(s)
		if err != nil {
			return fmt.Errorf("paint: style: %w", err)
		}
		o.Style = append(o.Style, p)
	}
	content, err := paint.ReadPicture(pos[0])
	if err != nil {
		return fmt.Errorf("paint: content: %w", err)
	}
	n, err := paint.LoadNet(*net)
	if err != nil {
		return fmt.Errorf("paint: perceptual net (--net): %w", err)
	}
	prog := pipeline.NewProgress(pipeline.ProgressOptions{Label: "paint " + filepath.Base(pos[0]), Unit: "iterations",
		Total: int64(*iters * (*scales + *passes - 1)), Quiet: *quiet, W: stderr})
	o.Progress = func(s paint.Step) {
		prog.SetLabel(fmt.Sprintf("paint %d×%d loss %.4g", s.W, s.H, s.Loss))
		prog.Add(1)
	}
	res, err := paint.Paint(ctx, n, content, o)
	if err != nil {
		return err // paint's errors name the picture (content, style picture N)
	}
	prog.Finish()
	return imageio.Write(*out, res.Frame(), nil, *quality)
}

// checkPaintArgs validates the command line before any file is read.
func checkPaintArgs(pos []string, styles []string, out string, quality int, o *paint.Options) error {
	switch {
	case len(pos) != 1:
		return usagef("paint: want exactly one content picture, got %d (usage: stylize paint --style STYLE -o OUT IN)", len(pos))
	case len(styles) == 0:
		return usagef("paint: --style STYLE is required")
	case out == "":
		return usagef("paint: -o OUT is required")
	case quality < 1 || quality > 100:
		return usagef("paint: --quality %d: want 1..100", quality)
	case o.Iterations < 1:
		return usagef("paint: --iterations %d: want at least 1", o.Iterations)
	case !(o.StyleWeight > 0):
		return usagef("paint: --style-weight %v: want a positive number", o.StyleWeight)
	case !(o.ContentWeight >= 0) || !(o.TVWeight >= 0):
		return usagef("paint: --content-weight %v, --tv-weight %v: want 0 or more", o.ContentWeight, o.TVWeight)
	case o.Size < paint.MinSide:
		return usagef("paint: --size %d: want at least %d", o.Size, paint.MinSide)
	case o.Scales < 1 || o.Passes < 1:
		return usagef("paint: --scales %d, --passes %d: want at least 1", o.Scales, o.Passes)
	case o.Pool != paint.MaxPool && o.Pool != paint.AvgPool:
		return usagef("paint: --pool %q: want max or avg", o.Pool)
	case o.Threads < 0:
		return usagef("paint: --threads %d: want 0 or more", o.Threads)
	}
	if o.ContentWeight == 0 {
		o.ContentWeight = -1 // none (the package's zero means its default)
	}
	if _, err := imageio.FormatOf(out); err != nil {
		return usageError{err}
	}
	if d := filepath.Dir(out); d != "" {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return usagef("paint: output %s: folder %s does not exist", out, d)
		}
	}
	return nil
}
