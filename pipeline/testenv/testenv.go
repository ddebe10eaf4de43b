// Package testenv finds what tests need outside the repository: the shared
// data folder (../shared beside the checkout) and the onnxruntime library.
// Tests that need ../shared skip with a message when it is absent.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/pipeline/ort"
)

// Root is the repository root (the folder holding go.mod), found upward
// from the working directory.
func Root(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatal("testenv: no go.mod above " + wd)
		}
	}
}

// Shared returns the shared data folder ($STYLIZE_SHARED, else ../shared
// beside the repository), skipping the test when it is missing.
func Shared(t testing.TB) string {
	t.Helper()
	d := os.Getenv("STYLIZE_SHARED")
	if d == "" {
		d = filepath.Join(Root(t), "..", "shared")
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Skipf("shared data folder %s is missing: skipping a test that needs it", d)
	}
	return d
}

// SharedFile returns a file under the shared folder, skipping when missing.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Shared(t), rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared file %s is missing: skipping", p)
	}
	return p
}

// Model returns ../shared/models/NAME.onnx (skips when missing).
func Model(t testing.TB, name string) string {
	t.Helper()
	return SharedFile(t, filepath.Join("models", name+".onnx"))
}

// ORT makes sure onnxruntime is loadable, failing with the install hint
// when it is not (make test installs it; it is not optional).
func ORT(t testing.TB) {
	t.Helper()
	if err := ort.Init(); err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
}

// FFmpeg makes sure ffmpeg and ffprobe are on PATH (make test installs them).
func FFmpeg(t testing.TB) {
	t.Helper()
	for _, c := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s not found on PATH: run `make deps` (installs Debian's ffmpeg)", c)
		}
	}
}
