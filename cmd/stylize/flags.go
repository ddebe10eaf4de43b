package main

import (
	"flag"

	"github.com/stylize/stylize/pipeline/model"
)

// modelFlags are the model options every stylizing command shares.
type modelFlags struct {
	model, device             string
	threads, passes, maxSide  int
	strength                  float64
	preserveColors            bool
	layout, inRange, outRange string
	channelOrder              string
	sizeMultiple, margin      int
}

func addModelFlags(fs *flag.FlagSet) *modelFlags {
	f := &modelFlags{}
	fs.StringVar(&f.model, "m", "", "model: path to an .onnx file or builtin:NAME (default builtin:ink)")
	fs.StringVar(&f.model, "model", "", "same as -m")
	fs.StringVar(&f.device, "device", "cpu", "execution provider: cpu, cuda, tensorrt, or auto (best available, reported)")
	fs.IntVar(&f.threads, "threads", 0, "onnxruntime intra-op threads (0 = one per core)")
	fs.Float64Var(&f.strength, "strength", 1, "style strength 0..1 (blend with the content)")
	fs.BoolVar(&f.preserveColors, "preserve-colors", false, "keep the content's colours, take only luminance from the style")
	fs.IntVar(&f.passes, "passes", 1, "run the model N times, feeding the output back")
	fs.IntVar(&f.maxSide, "max-side", 0, "stylize at most at this longest side in px and scale back (sets the style's scale; 0 = full size)")
	fs.StringVar(&f.layout, "layout", "", "model tensor layout NCHW or NHWC (default: from the model)")
	fs.StringVar(&f.inRange, "input-range", "", "model input range 0..255, 0..1 or -1..1 (default: sidecar, metadata, probe)")
	fs.StringVar(&f.outRange, "output-range", "", "model output range 0..255, 0..1 or -1..1 (default: sidecar, metadata, probe)")
	fs.StringVar(&f.channelOrder, "channel-order", "", "rgb or bgr (default rgb)")
	fs.IntVar(&f.sizeMultiple, "size-multiple", 0, "pad input sizes to a multiple of this (default: from the graph's strides)")
	fs.IntVar(&f.margin, "margin", -1, "reflect-padding margin in px against border artefacts (default: sized to the model)")
	return f
}

func (f *modelFlags) options() (model.Options, error) {
	o := model.Options{
		Model: f.model, Device: f.device, Threads: f.threads,
		ContentMix: 1 - f.strength, PreserveColors: f.preserveColors, Passes: f.passes, MaxSide: f.maxSide,
		Conventions: model.Overrides{
			Layout: f.layout, InputRange: f.inRange, OutputRange: f.outRange, ChannelOrder: f.channelOrder,
			SizeMultiple: f.sizeMultiple, Margin: f.margin, MarginSet: f.margin >= 0,
		},
	}
	if f.strength < 0 || f.strength > 1 {
		return o, usagef("--strength %g: want 0..1", f.strength)
	}
	if f.passes < 1 {
		return o, usagef("--passes %d: want at least 1", f.passes)
	}
	if err := o.Validate(); err != nil {
		return o, usageError{err}
	}
	return o, nil
}
