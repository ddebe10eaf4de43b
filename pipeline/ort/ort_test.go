package ort

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindLibraryExplicitPathOnly(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	t.Setenv(LibEnv, missing)
	_, err := FindLibrary()
	if !errors.Is(err, ErrNoLibrary) {
		t.Fatalf("err = %v, want ErrNoLibrary", err)
	}
	// The message names the setting and says how to install the library.
	for _, w := range []string{LibEnv, missing, "make deps", "onnxruntime-node@1.24.1"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]Device{"": CPU, "CPU": CPU, "cuda": CUDA, "tensorrt": TensorRT, "auto": Auto} {
		if d, err := ParseDevice(in); err != nil || d != want {
			t.Errorf("ParseDevice(%q) = %q, %v; want %q", in, d, err, want)
		}
	}
	if _, err := ParseDevice("gpu0"); err == nil {
		t.Error("gpu0 accepted")
	}
}
