package video

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"

	ffmpeg "github.com/u2takey/ffmpeg-go"

	"github.com/stylize/stylize/pipeline"
)

// encoder runs ffmpeg from raw rgb24 frames on a pipe to an MP4 (H.264 or
// H.265, yuv420p, +faststart), muxing the audio of the source's segment.
type encoder struct {
	path   string // the file ffmpeg writes (the temporary output)
	what   string // "encode OUT.mp4", for messages
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr capBuffer
	ctx    context.Context
	w, h   int
	done   bool
	err    error
}

// encoderArgs are the video codec options shared with the plain-ffmpeg
// benchmark, so both encode the same way.
func encoderArgs(o Options) ffmpeg.KwArgs {
	kw := ffmpeg.KwArgs{
		"pix_fmt": "yuv420p",
		"crf":     strconv.Itoa(o.CRF),
		"preset":  o.Preset,
	}
	switch o.Codec {
	case CodecH265:
		kw["c:v"] = "libx265"
		kw["tag:v"] = "hvc1" // what Safari and QuickTime want for HEVC in MP4
		kw["x265-params"] = "log-level=error"
	default:
		kw["c:v"] = "libx264"
	}
	return kw
}

func startEncoder(ctx context.Context, info *Info, p *plan, o Options, path, target string) (*encoder, error) {
	video := ffmpeg.Input("pipe:0", ffmpeg.KwArgs{
		"f": "rawvideo", "pix_fmt": "rgb24",
		"video_size": fmt.Sprintf("%dx%d", p.W, p.H),
		"framerate":  p.FPS.String(), // raw video has no timestamps: ffmpeg would assume 25 fps
	})
	streams := []*ffmpeg.Stream{video}
	kw := encoderArgs(o)
	// RGB → YUV with the BT.709 matrix, tagged as such, and the source's
	// pixel aspect ratio so the display aspect is kept.
	kw["vf"] = fmt.Sprintf("scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,setsar=%s", p.SAR)
	kw["colorspace"], kw["color_primaries"], kw["color_trc"] = "bt709", "bt709", "bt709"
	kw["movflags"] = "+faststart"
	kw["f"] = "mp4"
	if len(p.Audio) > 0 {
		src := ffmpeg.Input(inputURL(info.Path), segmentArgs(p))
		streams = append(streams, src.Get("a?"))
		for i, a := range p.Audio {
			if a.Copy {
				kw["c:a:"+strconv.Itoa(i)] = "copy"
			} else {
				kw["c:a:"+strconv.Itoa(i)] = "aac"
			}
		}
	}
	out := ffmpeg.OutputContext(ctx, streams, path, kw)
	e := &encoder{path: path, what: "encode " + target, ctx: ctx, w: p.W, h: p.H}
	e.cmd = compile(ctx, out, "-y")
	e.cmd.Stderr = &e.stderr
	var err error
	if e.in, err = e.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("%s: %w", e.what, err)
	}
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start ffmpeg: %w", e.what, err)
	}
	return e, nil
}

// Write sends one frame to ffmpeg.
func (e *encoder) Write(f *pipeline.Frame) error {
	if f.W != e.w || f.H != e.h || len(f.Pix) != pipeline.Bytes(e.w, e.h) {
		return fmt.Errorf("%s: got a %dx%d frame, want %dx%d", e.what, f.W, f.H, e.w, e.h)
	}
	if _, err := e.in.Write(f.Pix); err != nil {
		// ffmpeg has gone (its stdin is closed): its own words say why.
		e.Abort()
		return e.err
	}
	return nil
}

// Close ends the input and waits for ffmpeg to finish the file.
func (e *encoder) Close() error {
	if e.done {
		return e.err
	}
	cerr := e.in.Close()
	e.done = true
	if err := e.cmd.Wait(); err != nil {
		e.err = toolError(e.ctx, e.what, err, &e.stderr)
	} else if cerr != nil {
		e.err = fmt.Errorf("%s: %w", e.what, cerr)
	}
	return e.err
}

// Abort kills ffmpeg (if running) and reaps it.
func (e *encoder) Abort() {
	if e.done {
		return
	}
	e.done = true
	_ = e.cmd.Process.Kill()
	_ = e.in.Close()
	if err := e.cmd.Wait(); err != nil {
		e.err = toolError(e.ctx, e.what, err, &e.stderr)
	} else {
		e.err = fmt.Errorf("%s: ffmpeg stopped", e.what)
	}
}
