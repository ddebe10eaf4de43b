package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/video"
)

const videoAbout = `
IN is any file ffmpeg reads. OUT is H.264 (or H.265) yuv420p MP4 with +faststart.
Kept from IN: the audio (copied when AAC, MP3 or Opus, else re-encoded to AAC),
the frame rate and duration (a variable frame rate becomes constant at its
average), the display orientation (rotated phone video comes out upright)
and the aspect ratio. An odd width or height is padded by one pixel.
Needs ffmpeg and ffprobe on PATH. OUT appears only when the run succeeds.
`

func runVideo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("video", "stylize video [-m MODEL] [options] -o OUT.mp4 IN", videoAbout, stderr)
	var k videoOpts
	t := bindFlags(fs, &k.model.Conventions, k.table())
	out := fs.String("o", "", "output file, .mp4 (required)")
	quiet := fs.Bool("quiet", false, "no progress output")
	report := fs.String("report", "", "write a JSON summary of the run to this file")
	pos, err := parseN(fs, args, 1, "exactly one input")
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("video: -o OUT.mp4 is required")
	}
	if err := video.CheckOutput(*out); err != nil {
		return usageError{err}
	}
	if err := flagErrors("video", t.Validate()); err != nil {
		return err
	}
	t.ApplyDefaults()
	k.video.Quiet, k.video.Progress = *quiet, stderr
	rep, err := k.run(ctx, openEngine, t, pos[0], *out)
	if err != nil {
		return err
	}
	if *report != "" {
		if err := pipeline.WriteJSON(*report, rep); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}
