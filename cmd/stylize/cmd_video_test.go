package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/testenv"
	"github.com/stylize/stylize/temporal"
	"github.com/stylize/stylize/video"
)

// clip makes a small H.264 + AAC clip with ffmpeg's test sources.
func clip(t *testing.T, dir string, seconds string) string {
	t.Helper()
	testenv.FFmpeg(t)
	p := filepath.Join(dir, "in.mp4")
	cmd := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24:duration="+seconds,
		"-f", "lavfi", "-i", "sine=duration="+seconds, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", p)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	return p
}

func TestVideo(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	in := clip(t, dir, "1")
	out := filepath.Join(dir, "out.mp4")
	rep := filepath.Join(dir, "report.json")
	_, se, code := stylizeCmd(t, "video", "-m", "builtin:ink", "--height", "64", "--quiet", "--report", rep, "-o", out, in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	var r struct {
		Frames      int     `json:"frames"`
		Model       string  `json:"model"`
		Device      string  `json:"device"`
		Inference   float64 `json:"inference_seconds"`
		OutputBytes int64   `json:"output_bytes"`
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Frames != 24 || r.Model != "builtin:ink" || r.Device != "cpu" || r.Inference <= 0 || r.OutputBytes <= 0 {
		t.Errorf("report %s", b)
	}
	if se != "" {
		t.Errorf("--quiet printed %q", se)
	}
}

// TestVideoPaint paints a 6-frame 64×48 clip (--method paint): one output
// frame per input frame, reported.
func TestVideoPaint(t *testing.T) {
	testenv.ORT(t)
	testenv.FFmpeg(t)
	net := paintNet(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	if b, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=6:duration=1",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", in).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, b)
	}
	style := filepath.Join(dir, "style.png")
	writePNG(t, style, 64, 64)
	out, rep := filepath.Join(dir, "out.mp4"), filepath.Join(dir, "report.json")
	_, se, code := stylizeCmd(t, "video", "--method", "paint", "--style", style, "--net", net, "--threads", "2",
		"--iterations", "3", "--frame-iterations", "1", "--quiet", "--report", rep, "-o", out, in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	var r struct {
		Frames int `json:"frames"`
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Frames != 6 {
		t.Errorf("report %s: want 6 frames (%v)", b, err)
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Errorf("no output: %v", err)
	}
}

func TestVideoUsage(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	os.WriteFile(in, []byte("x"), 0o644)
	out := filepath.Join(dir, "out.mp4")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no output", []string{in}, "-o OUT.mp4 is required"},
		{"two inputs", []string{"-o", out, in, in}, "exactly one input"},
		{"not mp4", []string{"-o", filepath.Join(dir, "out.gif"), in}, "want an .mp4"},
		{"temporal mode unknown", []string{"--temporal", "magic", "-o", out, in}, `--temporal "magic": want one of off`},
		{"odd height", []string{"--height", "145", "-o", out, in}, "even"},
		{"bad start", []string{"--start", "soon", "-o", out, in}, "--start"},
		{"zero duration", []string{"--duration", "0", "-o", out, in}, "more than 0"},
		{"codec", []string{"--codec", "av1", "-o", out, in}, "h264 or h265"},
		{"method unknown", []string{"--method", "magic", "-o", out, in}, `--method "magic": want model or paint`},
		{"paint without style", []string{"--method", "paint", "-o", out, in}, "--style a style picture is required with method paint"},
		{"frame iterations", []string{"--method", "paint", "--style", in, "--frame-iterations", "0", "-o", out, in}, "--frame-iterations 0: want 1.."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, se, code := stylizeCmd(t, append([]string{"video"}, tc.args...)...)
			if code != 2 || !strings.Contains(se, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, se, tc.want)
			}
		})
	}
}

// TestVideoInterrupt checks Ctrl-C: exit 130, no output or temporary file,
// and no ffmpeg left running on our files.
func TestVideoInterrupt(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	in := clip(t, dir, "20")
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.mp4")
	// Many passes per frame: slow enough to be interrupted mid-run.
	interruptRun(t, 1500*time.Millisecond, outDir, "video", "--passes", "20", "--quiet", "-o", out, in)
	if procs := ffmpegsOn(dir); len(procs) > 0 {
		t.Errorf("ffmpeg still running on the input: %v", procs)
	}
}

// ffmpegsOn lists running processes whose command line mentions dir.
func ffmpegsOn(dir string) []string {
	var found []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cl := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.HasPrefix(cl, "ffmpeg") && strings.Contains(cl, dir) {
			found = append(found, e.Name()+": "+cl)
		}
	}
	return found
}

// countOrdered is a stand-in temporal processor: it passes frames through
// and counts the ordered calls.
type countOrdered struct{ n *int }

func (c countOrdered) Parallel(ctx context.Context, in *pipeline.Frame) (any, error) { return nil, nil }
func (c countOrdered) Ordered(ctx context.Context, in *pipeline.Frame, _ any) (*pipeline.Frame, error) {
	*c.n++
	return in, nil
}

// TestVideoTemporalHook checks that the processor of a --temporal mode
// gets to process every frame.
func TestVideoTemporalHook(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	in := clip(t, dir, "1")
	n := 0
	saved := newTemporal
	newTemporal = func(eng *model.Engine, o temporal.Options) (video.Processor, error) {
		if o.Mode != temporal.ModeOutput {
			t.Errorf("mode %q, want output", o.Mode)
		}
		return countOrdered{&n}, nil
	}
	defer func() { newTemporal = saved }()
	var se bytes.Buffer
	err := runVideo(context.Background(), []string{"-m", "builtin:identity", "--temporal", "output", "--quiet", "-o", filepath.Join(dir, "out.mp4"), in}, io.Discard, &se)
	if err != nil {
		t.Fatal(err)
	}
	if n != 24 {
		t.Errorf("temporal processor saw %d frames, want 24", n)
	}
}

// TestVideoTemporalDefault checks that temporal coherence is on by default
// and that --temporal off and --temporal-weight 0 give per-frame output.
func TestVideoTemporalDefault(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	in := clip(t, dir, "1")
	for _, tc := range []struct {
		args []string
		want string // in the report's processor summary; "" = per-frame
	}{
		{nil, "output weight 0.3"}, // builtin:ink has no upsampling layer to split at
		{[]string{"--temporal", "off"}, ""},
		{[]string{"--temporal-weight", "0"}, ""},
		{[]string{"--temporal-weight", "0.5"}, "output weight 0.5"},
	} {
		if testing.Short() && len(tc.args) > 0 && tc.args[0] == "--temporal-weight" {
			continue // -short: the default and off are enough
		}
		rep := filepath.Join(dir, "rep.json")
		args := append([]string{"-m", "builtin:ink", "--quiet", "--report", rep, "-o", filepath.Join(dir, "out.mp4")}, tc.args...)
		if err := runVideo(context.Background(), append(args, in), io.Discard, io.Discard); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		b, err := os.ReadFile(rep)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Processor string `json:"processor"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if tc.want == "" && r.Processor != "" || !strings.Contains(r.Processor, tc.want) {
			t.Errorf("%v: processor %q, want %q", tc.args, r.Processor, tc.want)
		}
	}
	if err := runVideo(context.Background(), []string{"--temporal-weight", "2", "-o", filepath.Join(dir, "x.mp4"), in}, io.Discard, io.Discard); err == nil {
		t.Error("--temporal-weight 2 accepted")
	}
}
