package paint

import (
	"errors"
	"math"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/option"
)

// Table declares the painting options (stylize paint flags; with
// VideoOptions the keys of video --method paint). The style pictures,
// threads and passes are the model table's style, threads and passes keys,
// which the commands share; they are not declared again here.
func (o *Options) Table() *option.Table {
	return option.New(
		option.IntVar(&o.Iterations, "iterations", "L-BFGS iterations per scale and pass").
			Default(300).Range(1, 100000, ""), // the reference run's count
		// 5, not the reference run's 10: see applyDefaults.
		option.FloatVar(&o.StyleWeight, "style_weight", "weight of each style layer's Gram loss").
			Default(5.0).Check(positive),
		option.Func(option.Float, "content_weight", "weight of the relu4_2 content loss (0: none)",
			func() any { return max(0, o.ContentWeight) },
			func(v any) error {
				if o.ContentWeight = v.(float64); o.ContentWeight == 0 {
					o.ContentWeight = -1 // none (the zero value means the default)
				}
				return nil
			},
			func() bool { return o.ContentWeight == 0 }).Default(1.0).Check(nonNegative),
		option.FloatVar(&o.TVWeight, "tv_weight", "total-variation weight (0: none)").Check(nonNegative),
		option.IntVar(&o.Size, "size", "long side of the output in px").
			Default(512).Range(MinSide, 16384, " px"), // the project's measurement size
		option.Func(option.String, "init", "start from: content, noise, or a picture's PATH",
			func() any {
				if o.Init == InitPicture {
					return o.StartFile
				}
				return string(o.Init)
			},
			func(v any) error {
				switch s := v.(string); Init(s) {
				case InitContent, InitNoise:
					o.Init = Init(s)
				default:
					o.Init, o.StartFile = InitPicture, s
				}
				return nil
			},
			func() bool { return o.Init == "" }).Default(string(InitContent)),
		option.IntVar(&o.Scales, "scales", "coarse-to-fine levels (2: half size first, then full size)").
			Default(1).Range(1, 10, ""),
		option.Func(option.String, "pool", "pooling in the perceptual net: max or avg",
			func() any { return string(o.Pool) },
			func(v any) error { o.Pool = Pool(v.(string)); return nil },
			func() bool { return o.Pool == "" }).Default(string(MaxPool)).OneOf(string(MaxPool), string(AvgPool)),
		option.Func(option.Int, "seed", "seed for --init noise",
			func() any { return int(o.Seed) },
			func(v any) error { o.Seed = uint64(v.(int)); return nil },
			func() bool { return o.Seed == 0 }).Default(1).Range(1, math.MaxInt32, ""),
		option.StringVar(&o.Net, "net", "the perceptual net ("+model.PerceptualFile+")").AsPath().
			DefaultText("found in the model folders"),
	)
}

func positive(v any) error {
	if x := v.(float64); !(x > 0) || math.IsInf(x, 0) {
		return errors.New("want a positive number")
	}
	return nil
}

func nonNegative(v any) error {
	if x := v.(float64); !(x >= 0) || math.IsInf(x, 0) {
		return errors.New("want 0 or more")
	}
	return nil
}

// NetPath is the perceptual net's file: Options.Net, else the one found in
// the model folders (model.FindPerceptual).
func (o *Options) NetPath() (string, error) { return model.FindPerceptual(o.Net) }
