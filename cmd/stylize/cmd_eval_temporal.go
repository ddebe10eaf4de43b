package main

import (
	"context"
	"encoding/json"
	"flag"
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
)

func init() { registerEval("temporal", runEvalTemporal) }

// runEvalTemporal measures flicker: the warping error E_warp of Lai et al.
// 2018 of the frames in OUT, warped by the motion of the frames in IN.
func runEvalTemporal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval temporal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flowSpec := fs.String("flow", "estimated", "motion of the input: estimated (optical flow of IN), or true-shift:DX,DY (content moves DX,DY px per frame)")
	jsonOut := fs.Bool("json", false, "print the figures as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: stylize eval temporal [--flow estimated|true-shift:DX,DY] IN OUT

IN and OUT are folders of frames (PNG or JPEG, in file-name order, same count
and size): the input video and its stylization. Prints the warping error
E_warp = mean over frame pairs of Σ M·(W(O_t+1) − O_t)² / Σ M (O in 0..1,
W and M from the input's motion, M = not occluded), for OUT and for IN itself,
and the mean |OUT − IN| (style strength) and mean |Laplacian| (sharpness).`)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("eval temporal: want IN and OUT, got %d arguments", len(pos))
	}
	shift, err := parseFlowSpec(*flowSpec)
	if err != nil {
		return usageError{err}
	}
	ins, err := frameFiles(pos[0])
	if err != nil {
		return err
	}
	outs, err := frameFiles(pos[1])
	if err != nil {
		return err
	}
	if len(ins) != len(outs) {
		return fmt.Errorf("eval temporal: %s has %d frames, %s has %d: want the same count", pos[0], len(ins), pos[1], len(outs))
	}
	if len(ins) < 2 {
		return fmt.Errorf("eval temporal: %s has %d frames, want at least 2", pos[0], len(ins))
	}
	out := temporal.WarpMeter{Shift: shift}
	self := temporal.WarpMeter{Shift: shift}
	var style, sharp, sharpIn float64
	for i := range ins {
		if err := ctx.Err(); err != nil {
			return err
		}
		a, err := readFrame(ins[i])
		if err != nil {
			return err
		}
		b, err := readFrame(outs[i])
		if err != nil {
			return err
		}
		if err := out.Add(a, b); err != nil {
			return fmt.Errorf("eval temporal: frame %s: %w", outs[i], err)
		}
		if err := self.Add(a, a); err != nil {
			return fmt.Errorf("eval temporal: frame %s: %w", ins[i], err)
		}
		style += temporal.MeanAbsDiff(b, a)
		sharp += temporal.Sharpness(b)
		sharpIn += temporal.Sharpness(a)
	}
	n := float64(len(ins))
	res := evalTemporalResult{
		Frames: len(ins), Flow: *flowSpec,
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

// frameFiles lists the PNG/JPEG frames of a folder in name order.
func frameFiles(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("eval temporal: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("eval temporal: %s: want a folder of frames (extract them with: ffmpeg -i %s DIR/%%05d.png)", dir, dir)
	}
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
