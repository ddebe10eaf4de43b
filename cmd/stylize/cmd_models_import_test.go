package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/testenv"
)

func TestModelsImport(t *testing.T) {
	up := testenv.SharedFile(t, "upstream")
	out := t.TempDir()
	for _, tc := range []struct{ kind, dir, file string }{
		{"microast", "MicroAST", "arbitrary/microast_transfer.onnx"},
		{"cd-vgg", "Collaborative-Distillation", "perceptual/cd16x_vgg_features.onnx"},
	} {
		so, se, code := stylizeCmd(t, "models", "import", tc.kind, filepath.Join(up, tc.dir), "-o", out)
		if code != 0 || !strings.Contains(so, filepath.Join(out, tc.file)) {
			t.Fatalf("import %s: exit %d, %q %q", tc.kind, code, so, se)
		}
		if _, err := onnx.Load(filepath.Join(out, tc.file)); err != nil {
			t.Error(err)
		}
	}
	// The default folder is $STYLIZE_MODELS, created when missing.
	env := filepath.Join(t.TempDir(), "models")
	cmd := []string{"models", "import", "cd-vgg", filepath.Join(up, "Collaborative-Distillation")}
	t.Setenv("STYLIZE_MODELS", env)
	if _, se, code := stylizeCmd(t, cmd...); code != 0 {
		t.Fatalf("import into $STYLIZE_MODELS: exit %d: %s", code, se)
	}
	if _, err := os.Stat(filepath.Join(env, "perceptual/cd16x_vgg_features.onnx")); err != nil {
		t.Error(err)
	}
}

func TestModelsImportErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	os.MkdirAll(filepath.Join(bad, "trained_models/wct_se_16x_new"), 0o755)
	os.WriteFile(filepath.Join(bad, "trained_models/wct_se_16x_new/5SE.pth"), []byte("not a checkpoint"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no args", []string{"models", "import"}, 2, "want microast|cd-vgg"},
		{"unknown kind", []string{"models", "import", "vgg19", dir}, 2, `unknown model "vgg19"`},
		{"missing folder", []string{"models", "import", "microast", filepath.Join(dir, "nope"), "-o", dir}, 1, "nope: no such file or directory"},
		{"wrong folder", []string{"models", "import", "microast", dir, "-o", dir}, 1, "checkpoint not found: no models/content_encoder_iter_160000.pth.tar"},
		{"corrupt checkpoint", []string{"models", "import", "cd-vgg", bad, "-o", dir}, 1, "5SE.pth: not a PyTorch checkpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, se, code := stylizeCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(se, tc.want) || strings.Count(strings.TrimSpace(se), "\n") > 0 && tc.code == 1 {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, se, tc.code, tc.want)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("failed imports left files: %v", ents)
	}
}
