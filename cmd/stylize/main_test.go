package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"github.com/stylize/stylize/pipeline/testenv"
)

var bin string

// TestMain builds the real binary once; the tests run it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stylize-bin-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "stylize")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stylizeCmd runs the binary and returns stdout, stderr and the exit code.
func stylizeCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return so.String(), se.String(), code
}

func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// hugePNG writes a valid PNG header claiming w×h pixels (and no real data).
func hugePNG(t *testing.T, path string, w, h uint32) {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sampleJPG(t *testing.T) string {
	return filepath.Join(testenv.Root(t), "cmd", "stylize", "testdata", "sample.jpg")
}

func TestImage(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	for _, out := range []string{"a.png", "b.jpg", "c.webp"} {
		p := filepath.Join(dir, out)
		if _, se, code := stylizeCmd(t, "image", "-o", p, sampleJPG(t)); code != 0 {
			t.Fatalf("exit %d: %s", code, se)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != 512 || cfg.Height != 340 {
			t.Errorf("%s: %v %dx%d (%s), want 512x340", out, err, cfg.Width, cfg.Height, format)
		}
		if want := map[string]string{".png": "png", ".jpg": "jpeg", ".webp": "webp"}[filepath.Ext(out)]; format != want {
			t.Errorf("%s: written as %s, want %s", out, format, want)
		}
	}
	// Flags after the input work too; 1×1 pictures work.
	one := filepath.Join(dir, "one.png")
	writePNG(t, one, 1, 1)
	if _, se, code := stylizeCmd(t, "image", one, "-o", filepath.Join(dir, "one-out.png"), "--strength", "0.5"); code != 0 {
		t.Fatalf("1x1: exit %d: %s", code, se)
	}
}

func TestImageErrors(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.jpg")
	os.WriteFile(text, []byte("not a picture"), 0o644)
	empty := filepath.Join(dir, "empty.png")
	os.WriteFile(empty, nil, 0o644)
	trunc := filepath.Join(dir, "trunc.jpg")
	b, _ := os.ReadFile(sampleJPG(t))
	os.WriteFile(trunc, b[:len(b)/3], 0o644)
	huge := filepath.Join(dir, "huge.png")
	hugePNG(t, huge, 20000, 20000)
	badModel := filepath.Join(dir, "bad.onnx")
	os.WriteFile(badModel, []byte("garbage"), 0o644)
	good := sampleJPG(t)
	// A model onnxruntime loads but cannot run: a convolution over 4
	// channels fed 3 (its own log line must not add to stylize's).
	mb := onnx.NewBuilder("mismatch")
	dims := []onnx.Dim{{Value: 1}, {Value: 3}, {Value: -1, Param: "h"}, {Value: -1, Param: "w"}}
	mx := mb.Input("image", onnxpb.TensorProto_FLOAT, dims)
	mb.NodeTo("Conv", []string{mx, mb.Const("w", []int64{3, 4, 1, 1}, make([]float32, 12))}, []string{"out"})
	mb.Output("out", onnxpb.TensorProto_FLOAT, []onnx.Dim{{Value: 1}, {Value: 3}, {Value: -1}, {Value: -1}})
	mbs, err := mb.Model("mismatch", 13, nil).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	mismatch := filepath.Join(dir, "mismatch.onnx")
	os.WriteFile(mismatch, mbs, 0o644)

	tests := []struct {
		name string
		args []string
		code int
		want []string // all must appear in the one stderr line
	}{
		{"missing input", []string{"image", "-o", "OUT.png", filepath.Join(dir, "nope.jpg")}, 1, []string{"nope.jpg", "no such file"}},
		{"text as image", []string{"image", "-o", "OUT.png", text}, 1, []string{"notes.jpg", "not a PNG, JPEG"}},
		{"empty image", []string{"image", "-o", "OUT.png", empty}, 1, []string{"empty.png", "empty file"}},
		{"truncated image", []string{"image", "-o", "OUT.png", trunc}, 1, []string{"trunc.jpg", "truncated"}},
		{"huge image", []string{"image", "-o", "OUT.png", huge}, 1, []string{"huge.png", "20000x20000"}},
		{"corrupt model", []string{"image", "-m", badModel, "-o", "OUT.png", good}, 1, []string{"bad.onnx", "not an ONNX model"}},
		{"model fails in onnxruntime", []string{"image", "-m", mismatch, "-o", "OUT.png", good}, 1, []string{"mismatch.onnx", "channels"}},
		{"missing folder", []string{"image", "-o", filepath.Join(dir, "no", "dir", "x.png"), good}, 1, []string{"folder", "does not exist"}},
		{"bad extension", []string{"image", "-o", "OUT.gif", good}, 2, []string{"out.gif", "unknown image extension"}},
		{"no output", []string{"image", good}, 2, []string{"-o OUT is required"}},
		{"two inputs", []string{"image", "-o", "OUT.png", good, good}, 2, []string{"exactly one input"}},
		{"bad strength", []string{"image", "--strength", "2", "-o", "OUT.png", good}, 2, []string{"strength"}},
		{"cuda missing", []string{"image", "--device", "cuda", "-o", "OUT.png", good}, 1, []string{"cuda", "not available"}},
		{"unknown command", []string{"repaint"}, 2, []string{"unknown command"}}, // paint is a command now
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, a := range tc.args {
				tc.args[i] = strings.ReplaceAll(a, "OUT", filepath.Join(dir, "out"))
			}
			_, se, code := stylizeCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, se)
			}
			se = strings.TrimSpace(se)
			if strings.Count(se, "\n") > 0 && tc.code != 2 {
				t.Errorf("stderr has several lines: %q", se)
			}
			for _, w := range tc.want {
				if !strings.Contains(se, w) {
					t.Errorf("stderr %q does not mention %q", se, w)
				}
			}
			if strings.Contains(se, "panic") || strings.Contains(se, "goroutine") {
				t.Errorf("panicked: %s", se)
			}
			ents, _ := filepath.Glob(filepath.Join(dir, "out*"))
			hidden, _ := filepath.Glob(filepath.Join(dir, ".out*"))
			if len(ents)+len(hidden) > 0 {
				t.Errorf("left output files behind: %v %v", ents, hidden)
			}
		})
	}
}

func TestInterrupt(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	in := filepath.Join(t.TempDir(), "big.png")
	writePNG(t, in, 1600, 1600)
	out := filepath.Join(dir, "out.png")
	// 100 passes over a 1600×1600 picture take tens of seconds: the run is
	// surely still going when it is interrupted.
	interruptRun(t, 700*time.Millisecond, dir, "image", "--passes", "100", "-o", out, in)
}

// interruptRun starts the binary with args, sends SIGINT after wait, and
// checks the exit code 130 and that outDir was left empty.
func interruptRun(t *testing.T, wait time.Duration, outDir string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var se bytes.Buffer
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(wait)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130 (stderr %q)", err, se.String())
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
		t.Errorf("interrupted run left %d files", len(ents))
	}
}

func TestModels(t *testing.T) {
	testenv.ORT(t)
	so, se, code := stylizeCmd(t, "models")
	if code != 0 || !strings.Contains(so, "builtin:ink") {
		t.Fatalf("models: exit %d, %q %q", code, so, se)
	}
	so, se, code = stylizeCmd(t, "models", "inspect", "builtin:ink")
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, se)
	}
	for _, w := range []string{"layout:         NCHW", "input range:    0..255", "[metadata_props]"} {
		if !strings.Contains(so, w) {
			t.Errorf("inspect output lacks %q:\n%s", w, so)
		}
	}
	m := testenv.Model(t, "mindgame_dynamic")
	so, se, code = stylizeCmd(t, "models", "inspect", m)
	if code != 0 || !strings.Contains(so, "probe:") || !strings.Contains(so, "receptive radius") {
		t.Errorf("inspect %s: exit %d, %s %s", m, code, so, se)
	}
}
