package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/temporal"
	"github.com/stylize/stylize/video"
)

const evalTemporalAbout = `
IN and OUT are the input video and its stylization: video files (any file
ffmpeg reads; IN is decoded at OUT's height) or folders of frames (PNG or
JPEG, in file-name order), with the same number of frames. Prints the warping error
E_warp = mean over frame pairs of Σ M·(W(O_t+1) − O_t)² / Σ M (O in 0..1,
W and M from the input's motion, M = not occluded), for OUT and for IN itself,
and the mean |OUT − IN| (style strength) and mean |Laplacian| (sharpness).
`

// runEvalTemporal measures flicker: the warping error E_warp of Lai et al.
// 2018 of the frames in OUT, warped by the motion of the frames in IN.
func runEvalTemporal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval temporal", "stylize eval temporal [--flow estimated|true-shift:DX,DY] IN OUT", evalTemporalAbout, stderr)
	flowSpec := fs.String("flow", "estimated", "motion of the input: estimated (optical flow of IN), or true-shift:DX,DY (content moves DX,DY px per frame)")
	jsonOut := fs.Bool("json", false, "print the figures as JSON")
	pos, err := parseN(fs, args, 2, "IN and OUT")
	if err != nil {
		return err
	}
	shift, err := parseFlowSpec(*flowSpec)
	if err != nil {
		return usageError{err}
	}
	out := temporal.WarpMeter{Shift: shift}
	self := temporal.WarpMeter{Shift: shift}
	var style, sharp, sharpIn float64
	frames, err := pairFrames(ctx, pos[0], pos[1], func(i int, a, b *pipeline.Frame) error {
		if err := out.Add(a, b); err != nil {
			return fmt.Errorf("eval temporal: frame %d of %s: %w", i, pos[1], err)
		}
		if err := self.Add(a, a); err != nil {
			return fmt.Errorf("eval temporal: frame %d of %s: %w", i, pos[0], err)
		}
		style += temporal.MeanAbsDiff(b, a)
		sharp += temporal.Sharpness(b)
		sharpIn += temporal.Sharpness(a)
		return nil
	})
	if err != nil {
		return err
	}
	if frames < 2 {
		return fmt.Errorf("eval temporal: %s has %d frames, want at least 2", pos[0], frames)
	}
	n := float64(frames)
	res := evalTemporalResult{
		Frames: frames, Flow: *flowSpec,
		EWarp: out.Value(), EWarpInput: self.Value(), Coverage: out.Coverage(),
		Style: style / n, Sharpness: sharp / n, SharpnessInput: sharpIn / n,
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "frames %d, flow %s, non-occluded %.1f %%\n", res.Frames, res.Flow, 100*res.Coverage)
	fmt.Fprintf(stdout, "E_warp output %.5f, input %.5f\n", res.EWarp, res.EWarpInput)
	fmt.Fprintf(stdout, "style mean |out − in| %.2f, sharpness mean |Laplacian| output %.2f, input %.2f\n", res.Style, res.Sharpness, res.SharpnessInput)
	return nil
}

type evalTemporalResult struct {
	Frames         int     `json:"frames"`
	Flow           string  `json:"flow"`
	EWarp          float64 `json:"e_warp"`
	EWarpInput     float64 `json:"e_warp_input"`
	Coverage       float64 `json:"non_occluded"`
	Style          float64 `json:"style_mean_abs_diff"`
	Sharpness      float64 `json:"sharpness"`
	SharpnessInput float64 `json:"sharpness_input"`
}

// parseFlowSpec reads --flow: "estimated" (nil) or "true-shift:DX,DY".
func parseFlowSpec(s string) (*[2]float32, error) {
	if s == "estimated" || s == "" {
		return nil, nil
	}
	v, ok := strings.CutPrefix(s, "true-shift:")
	if !ok {
		return nil, fmt.Errorf("eval temporal: --flow %q: want estimated or true-shift:DX,DY", s)
	}
	parts := strings.Split(v, ",")
	if len(parts) != 2 {
		return nil, fmt.Errorf("eval temporal: --flow %q: want true-shift:DX,DY", s)
	}
	var d [2]float32
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return nil, fmt.Errorf("eval temporal: --flow %q: %q is not a number", s, p)
		}
		d[i] = float32(f)
	}
	return &d, nil
}

// frameSource hands the frames of a video file or a folder of pictures to
// fn in order; height > 0 scales a video file to that height.
func frameSource(ctx context.Context, path string, height int, fn func(i int, f *pipeline.Frame) error) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		files, err := frameFiles(path)
		if err != nil {
			return err
		}
		for i, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			fr, err := readFrame(f)
			if err != nil {
				return err
			}
			if err := fn(i, fr); err != nil {
				return err
			}
		}
		return nil
	} else if err != nil {
		return fmt.Errorf("eval temporal: %w", err)
	}
	return video.ReadFrames(ctx, path, video.Options{Height: height}, fn)
}

// frameHeight is the height of the first frame of a video file or folder.
func frameHeight(ctx context.Context, path string) (int, error) {
	h := 0
	stop := errors.New("stop")
	err := frameSource(ctx, path, 0, func(i int, f *pipeline.Frame) error { h = f.H; return stop })
	if err != nil && !errors.Is(err, stop) {
		return 0, err
	}
	return h, nil
}

// pairFrames walks the frames of in and out in step (in decoded at out's
// height) and fails when their counts differ.
func pairFrames(ctx context.Context, in, out string, fn func(i int, a, b *pipeline.Frame) error) (int, error) {
	h, err := frameHeight(ctx, out)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ins := make(chan *pipeline.Frame, 4)
	inErr := make(chan error, 1)
	go func() {
		defer close(ins)
		inErr <- frameSource(ctx, in, h, func(i int, f *pipeline.Frame) error {
			select {
			case ins <- f.Clone():
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	n := 0
	err = frameSource(ctx, out, 0, func(i int, b *pipeline.Frame) error {
		a, ok := <-ins
		if !ok {
			return fmt.Errorf("eval temporal: %s has more frames than %s (%d+)", out, in, i+1)
		}
		if a.W != b.W || a.H != b.H {
			return fmt.Errorf("eval temporal: frame %d: %s is %dx%d, %s is %dx%d", i, in, a.W, a.H, out, b.W, b.H)
		}
		n++
		return fn(i, a, b)
	})
	if err != nil {
		return n, err
	}
	if _, more := <-ins; more {
		return n, fmt.Errorf("eval temporal: %s has more frames than %s (%d)", in, out, n)
	}
	if err := <-inErr; err != nil {
		return n, err
	}
	return n, nil
}

// frameFiles lists the PNG/JPEG frames of a folder in name order.
func frameFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("eval temporal: %w", err)
	}
	var fs []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			if !e.IsDir() {
				fs = append(fs, filepath.Join(dir, e.Name()))
			}
		}
	}
	slices.Sort(fs)
	if len(fs) == 0 {
		return nil, fmt.Errorf("eval temporal: %s: no .png or .jpg frames", dir)
	}
	return fs, nil
}

func readFrame(path string) (*pipeline.Frame, error) {
	img, err := imageio.Read(path)
	if err != nil {
		return nil, err
	}
	return pipeline.FromImage(img), nil
}
