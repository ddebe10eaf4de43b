package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"

	"github.com/stylize/stylize/pipeline"
)

// decoder runs ffmpeg from the input to raw rgb24 frames on a pipe, at the
// plan's size (autorotated upright by ffmpeg, scaled or padded to even).
type decoder struct {
	path   string
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr capBuffer
	ctx    context.Context
	w, h   int
	frames int
	done   bool
	err    error
}

// segmentArgs are the input options that cut --start/--duration.
func segmentArgs(p *plan) ffmpeg.KwArgs {
	kw := ffmpeg.KwArgs{}
	if p.Start > 0 {
		kw["ss"] = secs(p.Start)
	}
	if p.Length > 0 {
		kw["t"] = secs(p.Length)
	}
	return kw
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

func startDecoder(ctx context.Context, info *Info, p *plan) (*decoder, error) {
	in := ffmpeg.Input(inputURL(info.Path), segmentArgs(p))
	kw := ffmpeg.KwArgs{"f": "rawvideo", "pix_fmt": "rgb24", "fps_mode": "passthrough"}
	if f := p.filterArg(); f != "" {
		kw["vf"] = f
	}
	out := ffmpeg.OutputContext(ctx, []*ffmpeg.Stream{in.Get(strconv.Itoa(info.VideoIndex))}, "pipe:1", kw)
	d := &decoder{path: info.Path, ctx: ctx, w: p.W, h: p.H}
	d.cmd = compile(ctx, out)
	d.cmd.Stderr = &d.stderr
	var err error
	if d.out, err = d.cmd.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("decode %s: %w", info.Path, err)
	}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("decode %s: start ffmpeg: %w", info.Path, err)
	}
	return d, nil
}

// Read fills f with the next frame. It returns io.EOF after the last one,
// once ffmpeg has exited cleanly, or ffmpeg's error.
func (d *decoder) Read(f *pipeline.Frame) error {
	if f.W != d.w || f.H != d.h || len(f.Pix) != pipeline.Bytes(d.w, d.h) {
		return fmt.Errorf("decode %s: frame buffer is %dx%d, want %dx%d", d.path, f.W, f.H, d.w, d.h)
	}
	n, err := io.ReadFull(d.out, f.Pix)
	switch {
	case err == nil:
		d.frames++
		return nil
	case errors.Is(err, io.EOF):
		if werr := d.wait(); werr != nil {
			return werr
		}
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		if werr := d.wait(); werr != nil {
			return werr
		}
		return fmt.Errorf("decode %s: ffmpeg ended inside frame %d (%d of %d bytes)", d.path, d.frames+1, n, len(f.Pix))
	default:
		d.stop()
		return toolError(d.ctx, "decode "+d.path, err, &d.stderr)
	}
}

// wait reaps ffmpeg after its output ended.
func (d *decoder) wait() error {
	if d.done {
		return d.err
	}
	d.done = true
	if err := d.cmd.Wait(); err != nil {
		d.err = toolError(d.ctx, "decode "+d.path, err, &d.stderr)
	}
	return d.err
}

// stop kills ffmpeg if it is still running and reaps it; safe to call
// more than once, and after a clean end.
func (d *decoder) stop() {
	if d.done {
		return
	}
	_ = d.cmd.Process.Kill()
	_ = d.out.Close()
	d.wait()
}
