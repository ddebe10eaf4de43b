package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The multi-graph models live in subfolders of a model folder (the layout of
// ../shared/models, of the user's model cache and of `stylize models import`).
const (
	ArbitraryStyleFile    = "arbitrary/microast_style.onnx"
	ArbitraryTransferFile = "arbitrary/microast_transfer.onnx"
	PerceptualFile        = "perceptual/cd16x_vgg_features.onnx"
)

// ModelsEnv names the environment variable for the user's model folder.
const ModelsEnv = "STYLIZE_MODELS"

// ErrModelNotFound means no folder searched holds the model.
var ErrModelNotFound = errors.New("model not found")

// UserModelDir is where imported models go: $STYLIZE_MODELS when set, else
// the user cache (os.UserCacheDir()/stylize/models, ~/.cache/stylize/models
// on Linux). It is not created here.
func UserModelDir() (string, error) {
	if d := os.Getenv(ModelsEnv); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("model folder: no user cache folder (%w); set %s", err, ModelsEnv)
	}
	return filepath.Join(c, "stylize", "models"), nil
}

// ModelDirs are the folders searched for a model, in order:
//
//  1. explicit, when given (a --style/--models folder or a sidecar's path);
//  2. $STYLIZE_MODELS;
//  3. the project cache: .cache/models beside the binary (bin/../.cache)
//     and in the working directory or any folder above it;
//  4. the user cache, os.UserCacheDir()/stylize/models;
//  5. in tests only: the shared data's models folder ($STYLIZE_SHARED/models,
//     else shared/models in the working directory or any folder above it,
//     which finds ../shared beside a checkout).
func ModelDirs(explicit string) []string {
	var ds []string
	if explicit != "" {
		ds = append(ds, explicit)
	}
	if d := os.Getenv(ModelsEnv); d != "" {
		ds = append(ds, d)
	}
	if exe, err := os.Executable(); err == nil {
		exe, _ = filepath.EvalSymlinks(exe)
		ds = append(ds, filepath.Join(filepath.Dir(exe), "..", ".cache", "models"))
	}
	ds = append(ds, upward(".cache/models")...)
	if c, err := os.UserCacheDir(); err == nil {
		ds = append(ds, filepath.Join(c, "stylize", "models"))
	}
	if testing.Testing() {
		if s := os.Getenv("STYLIZE_SHARED"); s != "" {
			ds = append(ds, filepath.Join(s, "models"))
		}
		ds = append(ds, upward("shared/models")...)
	}
	seen := map[string]bool{}
	return slices.DeleteFunc(ds, func(d string) bool { // the binary's folder is often the working one
		d = filepath.Clean(d)
		dup := seen[d]
		seen[d] = true
		return dup
	})
}

// upward lists rel in the working directory and every folder above it.
func upward(rel string) []string {
	wd, err := os.Getwd()
	if err != nil {
		return nil
	}
	var ds []string
	for d := wd; ; d = filepath.Dir(d) {
		ds = append(ds, filepath.Join(d, rel))
		if filepath.Dir(d) == d {
			return ds
		}
	}
}

// findIn returns the first folder of dirs holding every file of rels (so
// the two MicroAST graphs always come from the same import).
func findIn(dirs []string, rels ...string) (string, bool) {
	for _, d := range dirs {
		ok := true
		for _, r := range rels {
			if st, err := os.Stat(filepath.Join(d, r)); err != nil || st.IsDir() {
				ok = false
				break
			}
		}
		if ok {
			return d, true
		}
	}
	return "", false
}

// FindArbitrary returns the paths of the MicroAST style and transfer graphs,
// searching ModelDirs(explicit). explicit may also be the arbitrary folder
// itself or one of the two files in it.
func FindArbitrary(explicit string) (style, transfer string, err error) {
	dirs := ModelDirs(modelRoot(explicit, "arbitrary"))
	d, ok := findIn(dirs, ArbitraryStyleFile, ArbitraryTransferFile)
	if !ok {
		return "", "", notFound("arbitrary-style models "+ArbitraryStyleFile+" and "+ArbitraryTransferFile, dirs,
			"stylize models import microast DIR (DIR: a checkout of github.com/EndyWon/MicroAST with its models/*.pth.tar)")
	}
	return filepath.Join(d, ArbitraryStyleFile), filepath.Join(d, ArbitraryTransferFile), nil
}

// FindPerceptual returns the path of the cd16x VGG feature graph, searching
// ModelDirs(explicit); explicit may also be the file itself.
func FindPerceptual(explicit string) (string, error) {
	if explicit != "" && strings.HasSuffix(explicit, ".onnx") {
		if st, err := os.Stat(explicit); err == nil && !st.IsDir() {
			return explicit, nil
		}
	}
	dirs := ModelDirs(modelRoot(explicit, "perceptual"))
	d, ok := findIn(dirs, PerceptualFile)
	if !ok {
		return "", notFound("perceptual model "+PerceptualFile, dirs,
			"stylize models import cd-vgg DIR (DIR: a checkout of github.com/MingSun-Tse/Collaborative-Distillation with "+
				"trained_models/wct_se_16x_new/5SE.pth)")
	}
	return filepath.Join(d, PerceptualFile), nil
}

// modelRoot maps an explicit path to the model folder it names: the path
// itself, or the folder above for the subfolder sub or a file in it.
func modelRoot(explicit, sub string) string {
	p := explicit
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		p = filepath.Dir(p)
	}
	if filepath.Base(p) == sub {
		return filepath.Dir(p)
	}
	return p
}

func notFound(what string, dirs []string, hint string) error {
	return fmt.Errorf("%s: %w in %s; run `%s`", what, ErrModelNotFound, strings.Join(dirs, ", "), hint)
}
