package model

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline/testenv"
)

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindArbitraryOrder(t *testing.T) {
	explicit, env := t.TempDir(), t.TempDir()
	t.Setenv(ModelsEnv, env)
	for _, d := range []string{explicit, env} {
		touch(t, filepath.Join(d, ArbitraryStyleFile))
		touch(t, filepath.Join(d, ArbitraryTransferFile))
		touch(t, filepath.Join(d, PerceptualFile))
	}
	for _, arg := range []string{explicit, filepath.Join(explicit, "arbitrary"), filepath.Join(explicit, ArbitraryStyleFile)} {
		s, tr, err := FindArbitrary(arg)
		if err != nil || s != filepath.Join(explicit, ArbitraryStyleFile) || tr != filepath.Join(explicit, ArbitraryTransferFile) {
			t.Errorf("FindArbitrary(%s) = %s, %s, %v; want the explicit folder's", arg, s, tr, err)
		}
	}
	if s, _, err := FindArbitrary(""); err != nil || s != filepath.Join(env, ArbitraryStyleFile) {
		t.Errorf("FindArbitrary() = %s, %v; want $%s's", s, err, ModelsEnv)
	}
	if p, err := FindPerceptual(""); err != nil || p != filepath.Join(env, PerceptualFile) {
		t.Errorf("FindPerceptual() = %s, %v; want $%s's", p, err, ModelsEnv)
	}
	if p, err := FindPerceptual(filepath.Join(explicit, PerceptualFile)); err != nil || p != filepath.Join(explicit, PerceptualFile) {
		t.Errorf("FindPerceptual(file) = %s, %v", p, err)
	}
}

// A folder with only one of the two MicroAST graphs is skipped: both come
// from one folder.
func TestFindArbitraryNeedsBoth(t *testing.T) {
	half := t.TempDir()
	touch(t, filepath.Join(half, ArbitraryStyleFile))
	t.Setenv(ModelsEnv, half)
	s, _, err := FindArbitrary(half)
	if err == nil && filepath.Dir(filepath.Dir(s)) == half {
		t.Fatalf("used %s without its transfer graph", s)
	}
}

// In tests the shared models are found when nothing else has them.
func TestFindShared(t *testing.T) {
	want := testenv.SharedFile(t, filepath.Join("models", PerceptualFile))
	t.Setenv(ModelsEnv, t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	for _, d := range upward(".cache/models") {
		if _, err := os.Stat(filepath.Join(d, PerceptualFile)); err == nil {
			t.Skipf("%s holds an imported model, which comes before the shared one", d)
		}
	}
	p, err := FindPerceptual("")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := sameFile(p), sameFile(want); a != b {
		t.Errorf("found %s, want %s", p, want)
	}
}

func sameFile(p string) string {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		return p
	}
	return r
}

func TestFindNotFound(t *testing.T) {
	t.Setenv(ModelsEnv, t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("STYLIZE_SHARED", t.TempDir())
	t.Chdir(t.TempDir())
	_, _, err := FindArbitrary("")
	if !errors.Is(err, ErrModelNotFound) || !strings.Contains(err.Error(), "stylize models import microast DIR") {
		t.Errorf("err = %v", err)
	}
	_, err = FindPerceptual("")
	if !errors.Is(err, ErrModelNotFound) || !strings.Contains(err.Error(), "stylize models import cd-vgg DIR") {
		t.Errorf("err = %v", err)
	}
}

func TestUserModelDir(t *testing.T) {
	t.Setenv(ModelsEnv, "/somewhere")
	if d, _ := UserModelDir(); d != "/somewhere" {
		t.Errorf("with $%s: %s", ModelsEnv, d)
	}
	t.Setenv(ModelsEnv, "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d, _ := UserModelDir(); d != "/xdg/stylize/models" {
		t.Errorf("without: %s", d)
	}
}
