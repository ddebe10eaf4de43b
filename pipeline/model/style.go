package model

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stylize/stylize/pipeline/onnx"
)

// Arbitrary style: a conditioned model is a transfer net with, besides its
// image input, named inputs that a style encoder fills from a style
// picture (MicroAST: 8 tensors of feature means, stds and modulation
// weights). The engine encodes the style once (style pictures are cached
// by content hash), mixes several styles by weight, and bakes the tensors
// into the transfer graph as constants: the result is a plain one-input
// image net, so margins, windows, tiles' statistics rewrite and temporal's
// feature split all work on it unchanged.

// StyleSidecar are the sidecar keys (MODEL.onnx.yaml of the transfer net)
// that declare its style encoder. Without them, a transfer net is still
// recognised when a model in its folder outputs every one of its extra
// inputs by name.
type StyleSidecar struct {
	StyleEncoder string            `yaml:"style_encoder"` // the encoder .onnx, relative to the sidecar's folder
	StyleInput   string            `yaml:"style_input"`   // the encoder's image input; "" = its only input
	StyleSize    int               `yaml:"style_size"`    // default working long side of style pictures, px
	StyleRange   string            `yaml:"style_range"`   // the encoder's input range; "" = 0..1
	StyleTensors map[string]string `yaml:"style_tensors"` // transfer input → encoder output; "" = same names
}

// Default names of the MicroAST pair, as `stylize models import microast`
// writes them and ../shared/models/arbitrary holds them.
const (
	PairFolder       = "arbitrary"
	PairTransfer     = "microast_transfer.onnx"
	PairEncoder      = "microast_style.onnx"
	defaultStyleSize = 512 // px: the long side MicroAST was trained and evaluated at
	minStyleSide     = 16  // px: below this the encoder's reflect pads and strides have nothing to read
)

// ErrNoStyleModel means no arbitrary-style model was given or found.
var ErrNoStyleModel = errors.New("no arbitrary-style model found")

// FindStyleModel returns the transfer net of the default pair, searched
// as FindArbitrary does; the error says where to put it and how to import it.
func FindStyleModel() (string, error) {
	_, transfer, err := FindArbitrary("")
	if err != nil {
		return "", fmt.Errorf("--style: %w: %w (or name the transfer net with -m)", ErrNoStyleModel, err)
	}
	return transfer, nil
}

// prepareStyle checks the style options and, for --style without -m,
// finds the default pair; -m naming a folder means the pair in it. It runs
// before any other I/O of Open.
func prepareStyle(o *Options) error {
	if len(o.Style) == 0 {
		if len(o.StyleWeights) > 0 {
			return errors.New("style-weights: given without --style")
		}
		return nil
	}
	if err := checkStyleOptions(*o); err != nil {
		return err
	}
	switch st, err := os.Stat(o.Model); {
	case o.Model == "":
		p, err := FindStyleModel()
		if err != nil {
			return err
		}
		o.Model = p
	case err == nil && st.IsDir():
		p := filepath.Join(o.Model, PairTransfer)
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("model %s: folder without %s: %w", o.Model, PairTransfer, ErrNoStyleModel)
		}
		o.Model = p
	}
	return nil
}

func checkStyleOptions(o Options) error {
	for _, s := range o.Style {
		if strings.TrimSpace(s) == "" {
			return errors.New("style: empty image name")
		}
	}
	if n := len(o.StyleWeights); n > 0 && n != len(o.Style) {
		return fmt.Errorf("style-weights: %d weights for %d style pictures", n, len(o.Style))
	}
	sum := 0.0
	for _, w := range o.StyleWeights {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("style-weights %g: want weights ≥ 0", w)
		}
		sum += w
	}
	if len(o.StyleWeights) > 0 && sum <= 0 {
		return errors.New("style-weights: all zero, want at least one above 0")
	}
	if o.StyleSize != 0 && (o.StyleSize < minStyleSide || o.StyleSize > 4096) {
		return fmt.Errorf("style-size %d: want %d..4096 px (0 = the picture's own size, at most %d)", o.StyleSize, minStyleSide, defaultStyleSize)
	}
	return nil
}

// stylePair is a transfer net with its style encoder.
type stylePair struct {
	transfer, encoder string
	encInput          string
	encRange          Range
	size              int         // default style size from the sidecar; 0 = none
	tensors           [][2]string // transfer input, encoder output
	why               string      // how the pair was found, for messages
}

// findPair works out whether m (loaded from path) is a conditioned model,
// and its encoder: from the sidecar, else by tensor names in its folder.
// nil, nil for a plain image net.
func findPair(m *onnx.Model, path string) (*stylePair, error) {
	if onnx.IsBuiltin(path) {
		return nil, nil
	}
	extra := conditionedInputs(m)
	sc, scPath, err := ReadSidecar(path)
	if err != nil {
		return nil, err
	}
	if sc != nil && sc.StyleEncoder != "" {
		return sidecarPair(m, path, scPath, sc.StyleSidecar, extra)
	}
	if len(extra) == 0 {
		return nil, nil
	}
	return namedPair(m, path, extra)
}

// conditionedInputs are m's inputs beyond the first 3-channel image when
// they all look like style tensors ([N,C,1,1] per-channel values): the
// tensors a style encoder must fill. nil otherwise (a second picture input
// is no style tensor: graphConventions refuses it).
func conditionedInputs(m *onnx.Model) []string {
	ins := m.Inputs()
	if len(ins) < 2 {
		return nil
	}
	img := imageInput(m)
	var ns []string
	for _, v := range ins {
		if v.Name == img {
			continue
		}
		if len(v.Dims) != 4 || v.Dims[2].Value != 1 || v.Dims[3].Value != 1 {
			return nil
		}
		ns = append(ns, v.Name)
	}
	return ns
}

// imageInput is the first 4-D input with 3 channels in dim 1 or 3 (the
// first input when none shows it).
func imageInput(m *onnx.Model) string {
	ins := m.Inputs()
	for _, v := range ins {
		if len(v.Dims) == 4 && (v.Dims[1].Value == 3 || v.Dims[3].Value == 3) {
			return v.Name
		}
	}
	return ins[0].Name
}

func sidecarPair(m *onnx.Model, path, scPath string, sc StyleSidecar, extra []string) (*stylePair, error) {
	p := &stylePair{transfer: path, encoder: sc.StyleEncoder, encInput: sc.StyleInput, size: sc.StyleSize, why: "sidecar " + scPath}
	if !filepath.IsAbs(p.encoder) {
		p.encoder = filepath.Join(filepath.Dir(scPath), p.encoder)
	}
	if sc.StyleSize != 0 && (sc.StyleSize < minStyleSide || sc.StyleSize > 4096) {
		return nil, fmt.Errorf("sidecar %s: style_size %d: want %d..4096 px", scPath, sc.StyleSize, minStyleSide)
	}
	p.encRange = Range1
	if sc.StyleRange != "" {
		r, err := ParseRange(sc.StyleRange)
		if err != nil {
			return nil, fmt.Errorf("sidecar %s: style_range: %w", scPath, err)
		}
		p.encRange = r
	}
	for k := range sc.StyleTensors {
		if !slices.Contains(extra, k) {
			return nil, fmt.Errorf("sidecar %s: style_tensors names %s, not an input of %s (inputs: %s)", scPath, k, m.Name, strings.Join(extra, ", "))
		}
	}
	for _, in := range extra {
		out := sc.StyleTensors[in]
		if out == "" {
			out = in
		}
		p.tensors = append(p.tensors, [2]string{in, out})
	}
	return p, nil
}

// namedPair looks in the transfer net's folder for the encoder whose
// outputs name every extra input: PairEncoder first, then the other .onnx
// files (at most 32).
func namedPair(m *onnx.Model, path string, extra []string) (*stylePair, error) {
	dir := filepath.Dir(path)
	cands := []string{filepath.Join(dir, PairEncoder)}
	if fs, err := filepath.Glob(filepath.Join(dir, "*.onnx")); err == nil {
		cands = append(cands, fs[:min(len(fs), 32)]...)
	}
	for _, c := range cands {
		if same(c, path) {
			continue
		}
		e, err := onnx.Load(c)
		if err != nil {
			continue
		}
		outs := map[string]bool{}
		for _, v := range e.Outputs() {
			outs[v.Name] = true
		}
		if !allIn(extra, outs) || len(e.Inputs()) != 1 {
			continue
		}
		p := &stylePair{transfer: path, encoder: c, encRange: Range1,
			why: fmt.Sprintf("recognised: %s outputs the transfer net's inputs %s", filepath.Base(c), strings.Join(extra, ", "))}
		for _, in := range extra {
			p.tensors = append(p.tensors, [2]string{in, in})
		}
		return p, nil
	}
	return nil, fmt.Errorf("model %s: has %d inputs, style tensors %s besides the image, and no style encoder in %s outputs them by name (%s with style_encoder: names one)",
		m.Name, len(extra)+1, strings.Join(extra, ", "), dir, filepath.Base(path)+".yaml")
}

func allIn(names []string, set map[string]bool) bool {
	for _, n := range names {
		if !set[n] {
			return false
		}
	}
	return true
}

func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
