package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline/testenv"
)

func paintNet(t *testing.T) string {
	t.Helper()
	return testenv.SharedFile(t, filepath.Join("models", "perceptual", "cd16x_vgg_features.onnx"))
}

func TestPaintCommand(t *testing.T) {
	testenv.ORT(t)
	net := paintNet(t)
	dir := t.TempDir()
	in := filepath.Join(t.TempDir(), "in.png")
	style := filepath.Join(t.TempDir(), "style.png")
	writePNG(t, in, 80, 60)
	writePNG(t, style, 64, 64)
	tiny := filepath.Join(t.TempDir(), "tiny.png")
	writePNG(t, tiny, 1, 1)
	notPic := filepath.Join(t.TempDir(), "style.jpg")
	os.WriteFile(notPic, []byte("not a picture"), 0o644)
	out := filepath.Join(dir, "out.png")
	cases := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no style", []string{"-o", out, in}, 2, "--style STYLE is required"},
		{"missing style", []string{"--style", filepath.Join(dir, "none.jpg"), "-o", out, in}, 1, "no such file"},
		{"1x1 style", []string{"--style", tiny, "-o", out, in}, 1, "1×1 is too small"},
		{"not a picture", []string{"--style", notPic, "-o", out, in}, 1, "not a PNG, JPEG"},
		{"bad pool", []string{"--style", style, "--pool", "min", "-o", out, in}, 2, "--pool"},
		{"bad size", []string{"--style", style, "--size", "8", "-o", out, in}, 2, "--size 8"},
		{"no output folder", []string{"--style", style, "-o", filepath.Join(dir, "no", "o.png"), in}, 2, "does not exist"},
		{"too many scales", []string{"--style", style, "--size", "64", "--scales", "3", "-o", out, in}, 1, "under 32 px"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"paint", "--net", net, "--threads", "2", "--quiet"}, c.args...)
			_, se, code := stylizeCmd(t, args...)
			if code != c.code || !strings.Contains(se, c.err) || strings.Count(strings.TrimSpace(se), "\n") != 0 {
				t.Errorf("exit %d, stderr %q: want %d and one line with %q", code, se, c.code, c.err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("failed run left %d files", len(ents))
			}
		})
	}
	_, se, code := stylizeCmd(t, "paint", "--net", net, "--threads", "2", "--style", style, "--style", in,
		"--size", "128", "--iterations", "3", "--scales", "2", "--passes", "2", "-o", out, in)
	if code != 0 {
		t.Fatalf("paint: exit %d: %s", code, se)
	}
	if !strings.Contains(se, "9/9 iterations") {
		t.Errorf("progress %q lacks 9/9 iterations", se)
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("no output: %v", err)
	}
}

func TestPaintInterrupt(t *testing.T) {
	testenv.ORT(t)
	net := paintNet(t)
	dir := t.TempDir()
	in := filepath.Join(t.TempDir(), "in.png")
	writePNG(t, in, 200, 150)
	out := filepath.Join(dir, "out.png")
	interruptRun(t, 1500*time.Millisecond, dir, "paint", "--net", net, "--style", in, "--size", "200",
		"--iterations", "100000", "-o", out, in)
}
