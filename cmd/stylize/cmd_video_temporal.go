package main

import (
	"context"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/temporal"
	"github.com/stylize/stylize/video"
)

var _ video.Processor = (*temporal.Processor)(nil)

// The temporal modes of stylize video (--temporal): each opens a
// temporal.Processor with the mode's default weight.
func init() {
	for _, m := range []struct {
		mode  temporal.Mode
		about string
	}{
		{temporal.ModeAuto, "feature blending when the model's graph can be split, else output blending"},
		{temporal.ModeFeature, "blend warped features inside the network (sharp; needs an upsampling layer)"},
		{temporal.ModeOutput, "blend the warped previous output (any model; some blur)"},
	} {
		registerTemporal(temporalMode{name: string(m.mode), about: m.about,
			open: func(ctx context.Context, eng *model.Engine, weight float64) (video.Processor, error) {
				return temporal.NewProcessor(eng, temporal.Options{Mode: m.mode, Weight: weight})
			}})
	}
}
