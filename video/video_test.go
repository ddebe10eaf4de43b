package video

import (
	"cmp"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/testenv"
)

func TestStylizeClips(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	basic := makeClip(t, dir, "basic.mp4", lavfi("160x90", 24, 2, true)...)
	odd := makeClip(t, dir, "odd.mkv", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1",
		"-f", "lavfi", "-i", "sine=duration=1", "-vf", "scale=161:91", "-c:v", "libx264", "-preset", "ultrafast",
		"-pix_fmt", "yuv444p", "-c:a", "pcm_s16le")
	one := makeClip(t, dir, "one.mkv", "-f", "lavfi", "-i", "color=c=red:size=16x16:rate=10:duration=1",
		"-vf", "scale=1:1", "-c:v", "ffv1")
	rotated := makeClip(t, dir, "rotated.mp4", "-i", basic, "-c", "copy", "-metadata:s:v", "rotate=90")
	// VP9 + Opus in WebM: Opus is copied. Two audio streams in Matroska:
	// MP3 copied, AC-3 re-encoded to AAC.
	webm := makeClip(t, dir, "opus.webm", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=24:duration=1",
		"-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus")
	twoAudio := makeClip(t, dir, "two.mkv", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=24:duration=1",
		"-f", "lavfi", "-i", "sine=duration=1", "-f", "lavfi", "-i", "sine=frequency=300:duration=1",
		"-map", "0", "-map", "1", "-map", "2", "-c:v", "mpeg4", "-c:a:0", "libmp3lame", "-c:a:1", "ac3")
	wide := makeClip(t, dir, "anamorphic.mp4", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=24:duration=1",
		"-vf", "setsar=2/1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	silent := makeClip(t, dir, "silent.mp4", lavfi("96x64", 30, 1, false)...)
	// Variable rate: frames 0,1, 4,5, 8,9, … of a 24 fps source; the MP4
	// header says avg_frame_rate 288/23, the Matroska one only 24/1.
	vfrArgs := []string{"-f", "lavfi", "-i", "testsrc2=size=96x64:rate=24:duration=2",
		"-vf", `select=lt(mod(n\,4)\,2)`, "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
	vfrMP4 := makeClip(t, dir, "vfr.mp4", vfrArgs...)
	vfrMKV := makeClip(t, dir, "vfr.mkv", vfrArgs...)
	// A stream-copied cut: an edit list hides the first 0.5 s of 2 s that
	// the header's frame count still includes.
	cut := makeClip(t, dir, "cut.mp4", "-ss", "0.5", "-i", basic, "-c", "copy")
	// An image sequence pattern, read by ffmpeg's image2 demuxer at 25 fps.
	seq := makeClip(t, dir, "seq_%03d.png", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=0.4")

	tests := []struct {
		name       string
		in         string
		opt        Options
		w, h       int
		frames     int
		fps        float64
		codec      string
		audio      string // expected audio codecs, space-separated; "" for none
		audioSecs  float64
		videoSecs  float64
		sar        string // "" = 1:1
		checkPixel func(t *testing.T, out string)
	}{
		{name: "basic", in: basic, w: 160, h: 90, frames: 48, fps: 24, codec: "h264", audio: "aac", audioSecs: 2, videoSecs: 2},
		{name: "odd size padded", in: odd, w: 162, h: 92, frames: 25, fps: 25, codec: "h264", audio: "aac", audioSecs: 1, videoSecs: 1},
		{name: "1x1 becomes 2x2", in: one, w: 2, h: 2, frames: 10, fps: 10, codec: "h264", videoSecs: 1,
			checkPixel: func(t *testing.T, out string) {
				// Red inverted is cyan: every pixel of the padded frame, the
				// padding included (edge repeated, not black).
				f := firstFrame(t, out, 2, 2)
				for i := 0; i < len(f); i += 3 {
					if f[i] > 60 || f[i+1] < 190 || f[i+2] < 190 {
						t.Fatalf("pixel %d = %v, want cyan (inverted red)", i/3, f[i:i+3])
					}
				}
			}},
		{name: "rotated comes out upright", in: rotated, w: 90, h: 160, frames: 48, fps: 24, codec: "h264", audio: "aac", audioSecs: 2, videoSecs: 2},
		{name: "height scales keeping aspect", in: basic, opt: Options{Height: 50}, w: 88, h: 50, frames: 48, fps: 24, codec: "h264", audio: "aac", audioSecs: 2, videoSecs: 2},
		{name: "segment", in: basic, opt: Options{Start: 500 * time.Millisecond, Duration: time.Second}, w: 160, h: 90, frames: 24, fps: 24, codec: "h264", audio: "aac", audioSecs: 1, videoSecs: 1},
		{name: "h265", in: basic, opt: Options{Codec: CodecH265, Preset: "ultrafast"}, w: 160, h: 90, frames: 48, fps: 24, codec: "hevc", audio: "aac", audioSecs: 2, videoSecs: 2},
		{name: "webm opus copied", in: webm, w: 96, h: 64, frames: 24, fps: 24, codec: "h264", audio: "opus", audioSecs: 1, videoSecs: 1},
		{name: "mp3 copied ac3 to aac", in: twoAudio, w: 96, h: 64, frames: 24, fps: 24, codec: "h264", audio: "mp3 aac", audioSecs: 1, videoSecs: 1},
		{name: "anamorphic keeps its pixel aspect", in: wide, w: 96, h: 64, frames: 24, fps: 24, codec: "h264", videoSecs: 1, sar: "2:1"},
		{name: "anamorphic scaled", in: wide, opt: Options{Height: 32}, w: 48, h: 32, frames: 24, fps: 24, codec: "h264", videoSecs: 1, sar: "2:1"},
		{name: "no audio", in: silent, w: 96, h: 64, frames: 30, fps: 30, codec: "h264", videoSecs: 1},
		{name: "vfr mp4 made constant at the average rate", in: vfrMP4, w: 96, h: 64, frames: 24, fps: 288.0 / 23, codec: "h264", videoSecs: 23.0 / 12},
		{name: "vfr mkv made constant at the average rate", in: vfrMKV, w: 96, h: 64, frames: 24, fps: 288.0 / 23, codec: "h264", videoSecs: 23.0 / 12},
		{name: "edit list cut", in: cut, w: 160, h: 90, frames: 36, fps: 24, codec: "h264", audio: "aac", audioSecs: 1.5, videoSecs: 1.5},
		{name: "image sequence", in: seq, w: 96, h: 64, frames: 10, fps: 25, codec: "h264", videoSecs: 0.4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.mp4")
			opt := tc.opt
			opt.Processor = NewPerFrame(invert{})
			rep, err := Stylize(context.Background(), tc.in, out, quiet(opt))
			if err != nil {
				t.Fatal(err)
			}
			p := ffprobe(t, out)
			if !strings.Contains(p.Format.FormatName, "mp4") {
				t.Errorf("format %q, want mp4", p.Format.FormatName)
			}
			v := p.of("video")
			if len(v) != 1 {
				t.Fatalf("%d video streams, want 1", len(v))
			}
			if v[0].w != tc.w || v[0].h != tc.h {
				t.Errorf("size %dx%d, want %dx%d", v[0].w, v[0].h, tc.w, tc.h)
			}
			if want := cmp.Or(tc.sar, "1:1"); v[0].sar != want {
				t.Errorf("pixel aspect %s, want %s", v[0].sar, want)
			}
			if v[0].codec != tc.codec || v[0].pixFmt != "yuv420p" {
				t.Errorf("codec %s %s, want %s yuv420p", v[0].codec, v[0].pixFmt, tc.codec)
			}
			if v[0].frames != tc.frames || rep.Frames != tc.frames {
				t.Errorf("frames %d (report %d), want %d", v[0].frames, rep.Frames, tc.frames)
			}
			if math.Abs(v[0].rate-tc.fps) > 0.02 {
				t.Errorf("frame rate %.3f, want %g", v[0].rate, tc.fps)
			}
			frame := 1 / tc.fps
			if math.Abs(v[0].dur-tc.videoSecs) > frame+1e-3 {
				t.Errorf("video duration %.3f s, want %.3f ± one frame", v[0].dur, tc.videoSecs)
			}
			a := p.of("audio")
			switch {
			case len(a) != len(strings.Fields(tc.audio)):
				t.Errorf("%d audio streams, want %q", len(a), tc.audio)
			default:
				for i, want := range strings.Fields(tc.audio) {
					if a[i].codec != want {
						t.Errorf("audio stream %d codec %s, want %s", i, a[i].codec, want)
					}
					// Audio frames are up to 1152 samples (MP3) plus codec
					// delay: allow one video frame plus 50 ms.
					if math.Abs(a[i].dur-tc.audioSecs) > frame+0.05 {
						t.Errorf("audio stream %d duration %.3f s, want %.3f", i, a[i].dur, tc.audioSecs)
					}
				}
			}
			if rep.Width != tc.w || rep.Height != tc.h || rep.OutputBytes <= 0 {
				t.Errorf("report %+v does not match the output", rep)
			}
			if tc.checkPixel != nil {
				tc.checkPixel(t, out)
			}
			if left := leftovers(t, filepath.Dir(out), out); len(left) > 0 {
				t.Errorf("files left beside the output: %v", left)
			}
		})
	}
}

// firstFrame decodes the first frame of path as rgb24.
func firstFrame(t *testing.T, path string, w, h int) []byte {
	t.Helper()
	info, err := Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	p := &plan{W: w, H: h}
	d, err := startDecoder(context.Background(), info, p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.stop()
	f := pipeline.NewFrame(w, h)
	if err := d.Read(f); err != nil {
		t.Fatal(err)
	}
	return f.Pix
}

func TestBadInputs(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	good := makeClip(t, dir, "good.mp4", lavfi("64x48", 24, 1, true)...)
	text := filepath.Join(dir, "text.mp4")
	if err := os.WriteFile(text, []byte("this is not a video\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mp4")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	audio := makeClip(t, dir, "audio.m4a", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac")
	// Truncated without its index (moov at the end, as ffmpeg writes by
	// default), and truncated after it (faststart: frames missing).
	long := makeClip(t, dir, "long.mp4", lavfi("64x48", 24, 4, true)...)
	fast := makeClip(t, dir, "fast.mp4", "-i", long, "-c", "copy", "-movflags", "+faststart")
	truncate := func(src, name string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncEnd := truncate(long, "trunc-moov.mp4")
	truncFast := truncate(fast, "trunc-frames.mp4")

	tests := []struct {
		name, in, out string
		path          string // PATH override ("" = keep)
		want          string
	}{
		{name: "nonexistent", in: filepath.Join(dir, "nope.mp4"), want: "no such file"},
		{name: "text renamed mp4", in: text, want: "not a video ffmpeg can read"},
		{name: "audio only", in: audio, want: "no video stream"},
		{name: "zero length", in: empty, want: "empty file"},
		{name: "truncated before index", in: truncEnd, want: "moov atom not found"},
		{name: "truncated frames", in: truncFast, want: "truncated or corrupt input"},
		{name: "output folder missing", in: good, out: filepath.Join(dir, "missing", "out.mp4"), want: "does not exist"},
		{name: "output not mp4", in: good, out: filepath.Join(dir, "out.avi"), want: "want an .mp4"},
		{name: "ffmpeg not installed", in: good, path: t.TempDir(), want: "not found on PATH"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			out := tc.out
			if out == "" {
				out = filepath.Join(outDir, "out.mp4")
			}
			if tc.path != "" {
				t.Setenv("PATH", tc.path)
			}
			_, err := Stylize(context.Background(), tc.in, out, quiet(Options{Processor: NewPerFrame(invert{})}))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want it to mention %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("output %s exists after a failure", out)
			}
			if left := leftovers(t, outDir); len(left) > 0 {
				t.Errorf("files left behind: %v", left)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	p := NewPerFrame(invert{})
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"odd height", Options{Processor: p, Height: 145}, "even"},
		{"negative start", Options{Processor: p, Start: -time.Second}, "start"},
		{"codec", Options{Processor: p, Codec: "vp9"}, "h264 or h265"},
		{"crf", Options{Processor: p, CRF: 60}, "crf"},
		{"preset", Options{Processor: p, Preset: "warp"}, "preset"},
		{"nothing to run", Options{}, "no model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if err := (Options{Processor: p, Height: 144, Codec: CodecH265, CRF: 28, Preset: "fast"}).Validate(); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
}

// slowOrdered checks the Processor contract: Parallel runs concurrently,
// Ordered sees each frame's own result, one at a time, in order.
type slowOrdered struct {
	mu       sync.Mutex
	active   int
	maxPar   int
	ordered  int
	inOrder  bool
	sameIn   bool
	parDelay time.Duration
}

type tagged struct {
	in  *pipeline.Frame
	sum int
}

func frameSum(f *pipeline.Frame) int {
	s := 0
	for _, v := range f.Pix {
		s += int(v)
	}
	return s
}

func (s *slowOrdered) Parallel(ctx context.Context, in *pipeline.Frame) (any, error) {
	s.mu.Lock()
	s.active++
	s.maxPar = max(s.maxPar, s.active)
	s.mu.Unlock()
	time.Sleep(s.parDelay)
	s.mu.Lock()
	s.active--
	s.mu.Unlock()
	return tagged{in: in, sum: frameSum(in)}, nil
}

func (s *slowOrdered) Ordered(ctx context.Context, in *pipeline.Frame, partial any) (*pipeline.Frame, error) {
	tg := partial.(tagged)
	if tg.in != in || tg.sum != frameSum(in) {
		s.sameIn = false
	}
	s.ordered++
	return in, nil
}

func TestProcessorContract(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	in := makeClip(t, dir, "in.mp4", lavfi("64x48", 24, 1, false)...)
	p := &slowOrdered{sameIn: true, parDelay: 5 * time.Millisecond}
	rep, err := Stylize(context.Background(), in, filepath.Join(dir, "out.mp4"), quiet(Options{Processor: p, Workers: 3}))
	if err != nil {
		t.Fatal(err)
	}
	if p.ordered != 24 || rep.Frames != 24 {
		t.Errorf("Ordered ran %d times, report %d frames, want 24", p.ordered, rep.Frames)
	}
	if !p.sameIn {
		t.Error("Ordered got a frame other than the one its partial result came from, or a recycled one")
	}
	if p.maxPar < 2 {
		t.Errorf("at most %d Parallel calls at once with 3 workers", p.maxPar)
	}
}

// blocker blocks in Parallel until the context ends, after n frames.
type blocker struct {
	n       int
	started chan struct{}
	once    sync.Once
	mu      sync.Mutex
}

func (b *blocker) Parallel(ctx context.Context, in *pipeline.Frame) (any, error) {
	b.mu.Lock()
	b.n--
	n := b.n
	b.mu.Unlock()
	if n < 0 {
		b.once.Do(func() { close(b.started) })
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return in, nil
}

func (b *blocker) Ordered(ctx context.Context, in *pipeline.Frame, partial any) (*pipeline.Frame, error) {
	return in, nil
}

func TestCancelStopsFFmpegAndLeavesNothing(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	in := makeClip(t, dir, "in.mp4", lavfi("64x48", 24, 4, true)...)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := &blocker{n: 10, started: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := Stylize(ctx, in, out, quiet(Options{Processor: b}))
		done <- err
	}()
	select {
	case <-b.started:
	case err := <-done:
		t.Fatalf("run ended before the cancel: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("processor never blocked")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stylize did not return after cancel (ffmpeg children not stopped?)")
	}
	if left := leftovers(t, outDir); len(left) > 0 {
		t.Errorf("files left behind: %v", left)
	}
}

func TestProcessorErrorAborts(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	in := makeClip(t, dir, "in.mp4", lavfi("64x48", 24, 1, true)...)
	outDir := t.TempDir()
	_, err := Stylize(context.Background(), in, filepath.Join(outDir, "out.mp4"),
		quiet(Options{Processor: NewPerFrame(failAt{})}))
	if err == nil || !strings.Contains(err.Error(), "model exploded") {
		t.Fatalf("error %v, want the processor's", err)
	}
	if left := leftovers(t, outDir); len(left) > 0 {
		t.Errorf("files left behind: %v", left)
	}
}

type failAt struct{}

func (failAt) Stylize(ctx context.Context, f *pipeline.Frame) (*pipeline.Frame, error) {
	return nil, errors.New("model exploded")
}
