package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/stylize/stylize/configs"
	"github.com/stylize/stylize/paint"
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/option"
	"github.com/stylize/stylize/temporal"
	"github.com/stylize/stylize/tiles"
	"github.com/stylize/stylize/video"
)

// The job kinds. Each kind's options are the declarations of its domain
// packages, joined: the same table makes the command's flags (with the
// model conventions, which a batch file gives under models:) and the
// batch job's keys, so a flag and its key cannot drift apart.

// imageOpts are the options of stylize image and image jobs.
type imageOpts struct {
	model   model.Options
	picture imageio.Options
}

func (k *imageOpts) table() *option.Table { return option.Join(k.model.Table(), k.picture.Table()) }

// videoOpts are the options of stylize video and video jobs.
type videoOpts struct {
	model    model.Options
	video    video.Options
	temporal temporal.Options
	method   string             // model (default) or paint
	paint    paint.VideoOptions // the paint method's options (its style, threads and passes are the model's keys)
}

// The video methods.
const (
	methodModel = "model"
	methodPaint = "paint"
)

// methodTable declares --method (batch key method): model, or paint with
// the style pictures of --style; help says what paint does for the kind.
func methodTable(method *string, style *[]string, help string) *option.Table {
	m := option.New(option.StringVar(method, "method", "how it is stylized: model (the style model) or paint ("+help+"; slow)").
		Default(methodModel).OneOf(methodModel, methodPaint))
	return m.Also(func(*option.Table) error {
		if *method == methodPaint && len(*style) == 0 {
			return &option.Error{Key: "style", Err: errors.New("a style picture is required with method paint")}
		}
		return nil
	})
}

func (k *videoOpts) table() *option.Table {
	m := methodTable(&k.method, &k.model.Style, "Gatys optimisation of each frame from the warped previous one, with a temporal loss")
	return option.Join(k.model.Table(), k.video.Table(), k.temporal.Table(), m, k.paint.Table())
}

// tilesOpts are the options of stylize tiles and tiles jobs.
type tilesOpts struct {
	model  model.Options
	tiles  tiles.Options
	method string        // model (default) or paint
	paint  paint.Options // the paint method's (its style, threads and passes are the model's keys)
}

func newTilesOpts() *tilesOpts { return &tilesOpts{tiles: tiles.NewOptions()} }

func (k *tilesOpts) table() *option.Table {
	m := methodTable(&k.method, &k.model.Style, "Gatys optimisation of each metatile, one style target for every zoom, "+
		"started from and held to the painted neighbours in its margin")
	// Canvases are painted at their own size, in one level, from their content.
	p := option.New(k.paint.Table().Without("size", "init", "scales", "seed")...)
	return option.Join(k.model.Table(), k.tiles.Table(), m, p)
}

// schemas are the batch schemas of the kinds (configs.LoadOptions).
func schemas() map[configs.Kind]configs.Schema {
	return map[configs.Kind]configs.Schema{
		configs.KindImage: func() *option.Table { return (&imageOpts{}).table() },
		configs.KindVideo: func() *option.Table { return (&videoOpts{}).table() },
		configs.KindTiles: func() *option.Table { return newTilesOpts().table() },
	}
}

// bindFlags defines on fs the flags of a kind's table and of the model
// conventions (which a batch file gives under models:) and returns the
// table they set; the kind's keys win (the tiles' --margin is the
// metatile margin).
func bindFlags(fs *flag.FlagSet, conv *model.Overrides, kind *option.Table) *option.Table {
	t := option.Join(conv.Table(), kind)
	t.AddFlags(fs)
	return t
}

// engineFunc opens (or shares) the engine for model options; release
// when done.
type engineFunc func(ctx context.Context, o model.Options) (*model.Engine, func(), error)

// openEngine opens an engine of its own (the commands).
func openEngine(ctx context.Context, o model.Options) (*model.Engine, func(), error) {
	eng, err := model.Open(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	return eng, func() { eng.Close() }, nil
}

// run stylizes one picture.
func (k *imageOpts) run(ctx context.Context, open engineFunc, in, out string) error {
	eng, release, err := open(ctx, k.model)
	if err != nil {
		return err
	}
	defer release()
	return imageio.StylizeFile(ctx, eng, in, out, k.picture.Quality)
}

// newTemporal opens the processor of a temporal mode (a test swaps it).
var newTemporal = func(eng *model.Engine, o temporal.Options) (video.Processor, error) {
	return temporal.NewProcessor(eng, o)
}

// perFrame says whether the temporal options ask for per-frame output:
// mode off, or a weight of 0 given explicitly.
func (k *videoOpts) perFrame(t *option.Table) bool {
	return k.temporal.Mode == temporal.ModeOff || t.IsSet("temporal_weight") && k.temporal.Weight == 0
}

// run stylizes one video; t is the table the options were set through.
func (k *videoOpts) run(ctx context.Context, open engineFunc, t *option.Table, in, out string) (*video.Report, error) {
	if k.method == methodPaint {
		return k.runPaint(ctx, in, out)
	}
	eng, release, err := open(ctx, k.model)
	if err != nil {
		return nil, err
	}
	defer release()
	vo := k.video
	vo.Engine = eng
	if !k.perFrame(t) {
		if vo.Processor, err = newTemporal(eng, k.temporal); err != nil {
			return nil, err
		}
		if c, ok := vo.Processor.(io.Closer); ok {
			defer c.Close()
		}
	}
	return video.Stylize(ctx, in, out, vo)
}

// prepare fills what a tiles run takes from elsewhere: the source and
// output, the HTTP cache beside the output, and the model's margin (the
// metatile margin is the context: the model pads only to its size
// multiple).
func (k *tilesOpts) prepare(source, output string) error {
	k.tiles.Source, k.tiles.Output = source, output
	if k.tiles.SourceOptions.HTTP.CacheDir == "" {
		k.tiles.SourceOptions.HTTP.CacheDir = strings.TrimSuffix(output, "/") + ".cache"
	}
	if k.model.MaxSide > 0 {
		return &option.Error{Key: "max_side", Value: fmt.Sprint(k.model.MaxSide),
			Err: errors.New("not supported for tiles (tiles keep their resolution; pick the zoom instead)")}
	}
	if k.method == methodPaint && k.tiles.Workers > 1 {
		return &option.Error{Key: "workers", Value: fmt.Sprint(k.tiles.Workers),
			Err: errors.New("the paint method paints one metatile at a time, after its neighbours")}
	}
	k.model.Conventions.Margin = new(int) // the metatile margin is the context; the model pads only to its size multiple
	return k.tiles.Validate()
}

// run stylizes a tile set (prepare first).
func (k *tilesOpts) run(ctx context.Context, open engineFunc) (*tiles.Report, error) {
	if k.method == methodPaint {
		return k.runPaint(ctx)
	}
	eng, release, err := open(ctx, k.model)
	if err != nil {
		return nil, err
	}
	defer release()
	return tiles.Run(ctx, eng, k.tiles)
}

// runPaint stylizes one video with the paint method (no style model).
func (k *videoOpts) runPaint(ctx context.Context, in, out string) (*video.Report, error) {
	po := k.paint
	n, err := preparePaint(&po.Options, k.model)
	if err != nil {
		return nil, err
	}
	vo := k.video
	if vo.Processor, err = paint.NewVideoProcessor(n, po); err != nil {
		return nil, err
	}
	return video.Stylize(ctx, in, out, vo)
}

// runPaint stylizes a tile set with the paint method: metatiles one at a
// time in row order, so each starts from its painted neighbours.
func (k *tilesOpts) runPaint(ctx context.Context) (*tiles.Report, error) {
	po := k.paint
	n, err := preparePaint(&po, k.model)
	if err != nil {
		return nil, err
	}
	eng, err := paint.NewTileEngine(n, po)
	if err != nil {
		return nil, err
	}
	eng.Label = "paint " + strings.TrimSuffix(filepath.Base(k.model.Style[0]), filepath.Ext(k.model.Style[0]))
	return tiles.Run(ctx, eng, k.tiles)
}
