package video

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/stylize/stylize/pipeline"
)

// ReadFrames decodes the video at path (any file ffmpeg reads) and hands
// each frame to fn in order, at the size Stylize would use for the same
// options (Height, Start and Duration are honoured; the rest is ignored).
// The frame buffer is reused: fn must copy what it keeps. An error from fn
// stops the decoder and is returned.
func ReadFrames(ctx context.Context, path string, o Options, fn func(i int, f *pipeline.Frame) error) error {
	if err := lookTools(); err != nil {
		return err
	}
	info, err := Probe(ctx, path)
	if err != nil {
		return err
	}
	p, err := newPlan(info, o)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d, err := startDecoder(ctx, info, p)
	if err != nil {
		return err
	}
	defer d.stop()
	f := pipeline.NewFrame(p.W, p.H)
	for i := 0; ; i++ {
		err := d.Read(f)
		if errors.Is(err, io.EOF) {
			if i == 0 {
				return fmt.Errorf("decode %s: no frames", path)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(i, f); err != nil {
			return err
		}
	}
}
