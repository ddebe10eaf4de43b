package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stylize/stylize/paint"
	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/option"
)

const paintHelp = `Losses on the cd16x perceptual net (F: a layer's features as C×N, N = h·w):
Gram G = F·Fᵀ/N; style = style-weight · Σ over relu1_1…relu5_1 of the mean over C×C of (G − G_style)²;
content = content-weight · mean over C×N of (F − F_content)² at relu4_2; tv = tv-weight · mean of the
squared neighbour differences. L-BFGS (10 pairs, unit steps, halved while the loss rises), projected
on 0..1 (pixels are clipped after each step). Each scale and each pass runs --iterations iterations.
`

// paintOpts are the options of stylize paint: paint's table and, from the
// model table, the keys it shares (style, threads, passes).
type paintOpts struct {
	model model.Options
	paint paint.Options
}

func (k *paintOpts) table() *option.Table {
	m := k.model.Table()
	return option.Join(option.New(m.Lookup("style"), m.Lookup("threads"), m.Lookup("passes")), k.paint.Table())
}

func runPaint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("paint", "stylize paint --style STYLE [options] -o OUT.(png|jpg|webp) IN", paintHelp, stderr)
	var k paintOpts
	var pic imageio.Options
	t := option.Join(k.table(), pic.Table())
	t.AddFlags(fs)
	out := fs.String("o", "", "output file, .png, .jpg or .webp (required)")
	quiet := fs.Bool("quiet", false, "no progress output")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkPaintArgs(pos, k.model.Style, *out); err != nil {
		return err
	}
	if err := flagErrors("paint", t.Validate()); err != nil {
		return err
	}
	t.ApplyDefaults()
	o := k.paint
	n, err := preparePaint(&o, k.model)
	if err != nil {
		return err
	}
	if o.Init == paint.InitPicture {
		start, err := paint.ReadPicture(o.StartFile)
		if err != nil {
			return fmt.Errorf("paint: --init: %w", err)
		}
		o.Start = &start
	}
	content, err := paint.ReadPicture(pos[0])
	if err != nil {
		return fmt.Errorf("paint: content: %w", err)
	}
	prog := pipeline.NewProgress(pipeline.ProgressOptions{Label: "paint " + filepath.Base(pos[0]), Unit: "iterations",
		Total: int64(o.Iterations * (o.Scales + o.Passes - 1)), Quiet: *quiet, W: stderr})
	o.Progress = func(s paint.Step) {
		prog.SetLabel(fmt.Sprintf("paint %d×%d loss %.4g", s.W, s.H, s.Loss))
		prog.Add(1)
	}
	res, err := paint.Paint(ctx, n, content, o)
	if err != nil {
		return err // paint's errors name the picture (content, style picture N)
	}
	prog.Finish()
	return imageio.Write(*out, res.Frame(), nil, pic.Quality)
}

// preparePaint fills what paint's options take from the model's keys
// (threads, passes, the --style pictures, read here) and loads the
// perceptual net (--net, else found in the model folders): what the paint
// command and the paint method of video and tiles share.
func preparePaint(o *paint.Options, m model.Options) (*paint.Net, error) {
	o.Threads, o.Passes = m.Threads, m.Passes
	o.Style = nil
	for _, s := range m.Style {
		p, err := paint.ReadPicture(s)
		if err != nil {
			return nil, fmt.Errorf("paint: style: %w", err)
		}
		o.Style = append(o.Style, p)
	}
	p, err := o.NetPath()
	if err == nil {
		var n *paint.Net
		if n, err = paint.LoadNet(p); err == nil {
			return n, nil
		}
	}
	return nil, fmt.Errorf("paint: perceptual net (--net): %w", err)
}

// checkPaintArgs checks what the option table does not: the content
// picture, a style and the output, before any file is read.
func checkPaintArgs(pos []string, styles []string, out string) error {
	switch {
	case len(pos) != 1:
		return usagef("paint: want exactly one content picture, got %d (usage: stylize paint --style STYLE -o OUT IN)", len(pos))
	case len(styles) == 0:
		return usagef("paint: --style STYLE is required")
	case out == "":
		return usagef("paint: -o OUT is required")
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
