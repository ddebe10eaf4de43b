package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/video"
)

func init() {
	register(command{name: "video", order: 20, run: runVideo, usage: [][2]string{
		{"stylize video [-m MODEL] -o OUT.mp4 IN", "stylize a video (any ffmpeg input) to MP4, keeping its audio"},
	}})
}

// temporalMode is a --temporal value other than "off": the temporal
// package registers its modes (registerTemporal, from its own cmd file's
// init) with the constructor of their processor.
type temporalMode struct {
	name, about string
	open        func(ctx context.Context, eng *model.Engine, weight float64) (video.Processor, error)
}

var temporalModes = map[string]temporalMode{}

func registerTemporal(m temporalMode) { temporalModes[m.name] = m }

func temporalNames() string {
	names := []string{"off"}
	for n := range temporalModes {
		names = append(names, n)
	}
	sort.Strings(names[1:])
	return strings.Join(names, ", ")
}

// defaultTemporal is the --temporal default of stylize video and of batch
// video jobs: temporal coherence is on unless asked off.
const defaultTemporal = "auto"

// pickTemporal resolves --temporal and --temporal-weight: nil means
// per-frame output (mode off, or weight 0).
func pickTemporal(mode string, weight float64) (*temporalMode, error) {
	if mode == "" {
		mode = defaultTemporal
	}
	if weight > 1 {
		return nil, fmt.Errorf("--temporal-weight %g: want 0..1", weight)
	}
	if mode == "off" {
		return nil, nil
	}
	m, ok := temporalModes[mode]
	if !ok {
		return nil, fmt.Errorf("--temporal %q: want one of %s", mode, temporalNames())
	}
	if weight == 0 {
		return nil, nil
	}
	return &m, nil
}

func runVideo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("video", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mf := addModelFlags(fs)
	out := fs.String("o", "", "output file, .mp4 (required)")
	height := fs.Int("height", 0, "output height in px, even (width follows the aspect ratio); 0 = the source's")
	start := fs.String("start", "", "start at this time: seconds, 1m30s or [HH:]MM:SS")
	duration := fs.String("duration", "", "stylize at most this long (same forms as --start)")
	crf := fs.Int("crf", 0, "encoder quality 1..51, lower is better (0 = 20 for h264, 24 for h265)")
	preset := fs.String("preset", "medium", "x264/x265 preset, ultrafast..veryslow")
	codec := fs.String("codec", "h264", "video codec: h264 or h265")
	temporal := fs.String("temporal", defaultTemporal, "temporal coherence between frames: "+temporalNames())
	tweight := fs.Float64("temporal-weight", -1, "how much flicker to remove, 0..1: the share of the warped past kept where the motion is reliable (0 = per-frame, like --temporal off; default: the mode's, 0.9 feature / 0.3 output)")
	workers := fs.Int("workers", 1, "frames stylized at once (each worker shares the model session; see --threads)")
	quiet := fs.Bool("quiet", false, "no progress output")
	report := fs.String("report", "", "write a JSON summary of the run to this file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stylize video [-m MODEL] [options] -o OUT.mp4 IN")
		fmt.Fprint(stderr, `
IN is any file ffmpeg reads. OUT is H.264 (or H.265) yuv420p MP4 with +faststart.
Kept from IN: the audio (copied when AAC, MP3 or Opus, else re-encoded to AAC),
the frame rate and duration (a variable frame rate becomes constant at its
average), the display orientation (rotated phone video comes out upright)
and the aspect ratio. An odd width or height is padded by one pixel.
Needs ffmpeg and ffprobe on PATH. OUT appears only when the run succeeds.
`)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("video: want exactly one input, got %d (usage: stylize video -o OUT.mp4 IN)", len(pos))
	}
	if *out == "" {
		return usagef("video: -o OUT.mp4 is required")
	}
	if err := video.CheckOutput(*out); err != nil {
		return usageError{err}
	}
	tm, err := pickTemporal(*temporal, *tweight)
	if err != nil {
		return usageError{fmt.Errorf("video: %w", err)}
	}
	vo := video.Options{Height: *height, CRF: *crf, Preset: *preset, Codec: *codec, Workers: *workers, Quiet: *quiet, Progress: stderr}
	if vo.Start, err = video.ParseTime(*start); err != nil {
		return usagef("video: --start: %v", err)
	}
	if vo.Duration, err = video.ParseTime(*duration); err != nil {
		return usagef("video: --duration: %v", err)
	}
	if *duration != "" && vo.Duration == 0 {
		return usagef("video: --duration %s: want more than 0", *duration)
	}
	vo.Processor = video.NewPerFrame(nil) // placeholder so Validate can run before the model opens
	if err := vo.Validate(); err != nil {
		return usageError{fmt.Errorf("video: %w", err)}
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
	vo.Engine, vo.Processor = eng, nil
	if tm != nil {
		if vo.Processor, err = tm.open(ctx, eng, max(*tweight, 0)); err != nil {
			return err
		}
		if c, ok := vo.Processor.(io.Closer); ok {
			defer c.Close()
		}
	}
	rep, err := video.Stylize(ctx, pos[0], *out, vo)
	if err != nil {
		return err
	}
	if *report != "" {
		if err := pipeline.WriteJSON(*report, rep); err != nil {
			return err
		}
	}
	return nil
}
