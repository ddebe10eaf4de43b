package video

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline"
)

// makeClip runs ffmpeg with args (inputs, codecs) to write dir/name.
func makeClip(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	full := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...)
	full = append(full, out)
	if b, err := exec.Command("ffmpeg", full...).CombinedOutput(); err != nil {
		t.Fatalf("making %s: ffmpeg %s: %v: %s", name, strings.Join(full, " "), err, b)
	}
	return out
}

// lavfi returns ffmpeg arguments for a testsrc2 clip of size, rate and
// seconds, with a sine tone when audio is set, encoded as H.264 + AAC.
func lavfi(size string, rate int, seconds float64, audio bool) []string {
	d := strconv.FormatFloat(seconds, 'f', -1, 64)
	a := []string{"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=" + strconv.Itoa(rate) + ":duration=" + d}
	if audio {
		a = append(a, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+d, "-c:a", "aac")
	}
	return append(a, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
}

// probed is what the tests check in an output, read by ffprobe directly
// (not through Probe, which is under test).
type probed struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		PixFmt    string `json:"pix_fmt"`
		SAR       string `json:"sample_aspect_ratio"`
		NbFrames  string `json:"nb_frames"`
		Duration  string `json:"duration"`
		AvgRate   string `json:"avg_frame_rate"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
	} `json:"format"`
}

func ffprobe(t testing.TB, path string) probed {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probed
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

type streamSummary struct {
	codec, pixFmt string
	sar           string
	w, h, frames  int
	dur           float64
	rate          float64
}

func (p probed) of(kind string) []streamSummary {
	var out []streamSummary
	for _, s := range p.Streams {
		if s.CodecType != kind {
			continue
		}
		n, _ := strconv.Atoi(s.NbFrames)
		d, _ := strconv.ParseFloat(s.Duration, 64)
		out = append(out, streamSummary{codec: s.CodecName, pixFmt: s.PixFmt, sar: s.SAR, w: s.Width, h: s.Height, frames: n, dur: d,
			rate: ParseRatio(s.AvgRate).Float()})
	}
	return out
}

// invert is a fake model: the colour negative of each frame.
type invert struct{}

func (invert) Stylize(ctx context.Context, f *pipeline.Frame) (*pipeline.Frame, error) {
	g := pipeline.NewFrame(f.W, f.H)
	for i, v := range f.Pix {
		g.Pix[i] = 255 - v
	}
	return g, nil
}

// leftovers lists the files in dir other than the given ones (temporary
// outputs that a failed run must not leave).
func leftovers(t testing.TB, dir string, known ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
next:
	for _, e := range ents {
		for _, k := range known {
			if e.Name() == filepath.Base(k) {
				continue next
			}
		}
		out = append(out, e.Name())
	}
	return out
}

func quiet(o Options) Options {
	o.Quiet = true
	return o
}
