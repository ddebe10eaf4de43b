package model

import (
	"errors"
	"fmt"

	"github.com/stylize/stylize/pipeline/option"
	"github.com/stylize/stylize/pipeline/ort"
)

// Table declares the model options every stylizing job shares: their
// flags (--strength) and batch keys (strength) are made from it.
func (o *Options) Table() *option.Table {
	t := option.New(
		option.StringVar(&o.Model, "model", "model: path to an .onnx file or builtin:NAME").Alias("m").DefaultText(DefaultModel+"; with --style: the MicroAST pair from the model folders"),
		option.StringVar(&o.Device, "device", "execution provider: cpu, cuda, tensorrt, or auto (best available, reported)").
			Default("cpu").Check(func(v any) error { _, err := ort.ParseDevice(v.(string)); return option.Bare(err) }),
		option.IntVar(&o.Threads, "threads", "onnxruntime intra-op threads (0 = one per core)").
			Check(between(0, 1024, "want 0 (one per core) or 1..1024")),
		option.Func(option.Float, "strength", "style strength 0..1 (blend with the content)",
			func() any { return 1 - o.ContentMix },
			func(v any) error { o.ContentMix = 1 - v.(float64); return nil },
			func() bool { return o.ContentMix == 0 }).Default(1.0).Range(0, 1, ""),
		option.BoolVar(&o.PreserveColors, "preserve_colors", "keep the content's colours, take only luminance from the style"),
		option.IntVar(&o.Passes, "passes", "run the model N times, feeding the output back").Default(1).Range(1, 100, ""),
		option.IntVar(&o.MaxSide, "max_side", "stylize at most at this longest side in px and scale back (sets the style's scale; 0 = full size)").
			Check(func(v any) error {
				if n := v.(int); n < 0 || (n > 0 && n < 16) {
					return errors.New("want 0 (off) or at least 16 px")
				}
				return nil
			}),
		option.StringsVar(&o.Style, "style", "style picture for a conditioned model (repeat to mix several)").AsPath(),
		option.FloatsVar(&o.StyleWeights, "style_weights", "weights of the style pictures, comma-separated, each ≥ 0 (default: equal)").
			Check(func(v any) error {
				for _, w := range v.([]float64) {
					if !(w >= 0) {
						return errors.New("want weights of 0 or more")
					}
				}
				return nil
			}),
		option.IntVar(&o.StyleSize, "style_size", "the style picture's working long side in px (0 = 512)").
			Check(func(v any) error {
				if n := v.(int); n != 0 && (n < 64 || n > 4096) {
					return errors.New("want 64..4096 px, or 0 for the default")
				}
				return nil
			}),
	)
	return t.Also(func(t *option.Table) error {
		if len(o.StyleWeights) > 0 && len(o.StyleWeights) != len(o.Style) {
			return &option.Error{Key: "style_weights", Value: fmt.Sprint(len(o.StyleWeights)),
				Err: fmt.Errorf("want one weight per style picture (%d)", len(o.Style))}
		}
		return nil
	})
}

// Table declares the model conventions: flags of every stylizing command,
// and keys of a named model under models: in a batch file.
func (c *Overrides) Table() *option.Table {
	parse := func(fn func(string) error) func(any) error {
		return func(v any) error { return option.Bare(fn(v.(string))) }
	}
	return option.New(
		option.StringVar(&c.Layout, "layout", "model tensor layout NCHW or NHWC (default: from the model)").
			Check(parse(func(s string) error { _, err := ParseLayout(s); return err })),
		option.StringVar(&c.InputRange, "input_range", "model input range 0..255, 0..1 or -1..1 (default: sidecar, metadata, probe)").
			Check(parse(func(s string) error { _, err := ParseRange(s); return err })),
		option.StringVar(&c.OutputRange, "output_range", "model output range 0..255, 0..1 or -1..1 (default: sidecar, metadata, probe)").
			Check(parse(func(s string) error { _, err := ParseRange(s); return err })),
		option.StringVar(&c.ChannelOrder, "channel_order", "rgb or bgr (default rgb)").OneOf("rgb", "bgr"),
		option.IntVar(&c.SizeMultiple, "size_multiple", "pad input sizes to a multiple of this (default: from the graph's strides)").Range(1, 1024, ""),
		option.Func(option.Int, "margin", "reflect-padding margin in px against border artefacts; 0 = none (default: sized to the model)",
			func() any {
				if c.Margin == nil {
					return 0
				}
				return *c.Margin
			},
			func(v any) error { m := v.(int); c.Margin = &m; return nil },
			func() bool { return c.Margin == nil }).Range(0, 4096, " px"),
	)
}

// Validate checks the conventions (all problems, each an *option.Error).
func (c Overrides) Validate() error {
	t := c.Table()
	t.MarkNonZero()
	return t.Validate()
}

func between(lo, hi int, msg string) func(any) error {
	return func(v any) error {
		if n := v.(int); n < lo || n > hi {
			return errors.New(msg)
		}
		return nil
	}
}
