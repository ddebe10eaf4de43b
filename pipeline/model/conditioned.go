package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"github.com/stylize/stylize/pipeline/ort"
)

// StyleInfo describes the style a conditioned engine was opened with.
type StyleInfo struct {
	Encoder  string    // the style encoder's path
	Pair     string    // how the pair was found
	Pictures []string  // the style pictures
	Weights  []float64 // their mixing weights (normalised to sum 1)
	Size     int       // the style pictures' working long side, px; < 0: shrunk to −Size at most, never enlarged
	Encoded  int       // pictures encoded now (the others came from the cache)
}

// encodings counts style encoder runs (for tests of the cache).
var encodings atomic.Int64

// styleCache holds encoded styles by picture hash, encoder and size.
var styleCache = struct {
	sync.Mutex
	m map[string]map[string]ort.Tensor
}{m: map[string]map[string]ort.Tensor{}}

// maxCachedStyles bounds the cache: 8 tensors of 64 floats each per style
// (MicroAST), so the bound is about count, not memory.
const maxCachedStyles = 256

// conditionModel turns a conditioned model into a plain image net with
// the style of opt.Style baked in, and checks that plain nets get no
// style. It returns nil for plain nets.
func conditionModel(ctx context.Context, m *onnx.Model, opt Options) (*StyleInfo, error) {
	p, err := findPair(m, opt.Model)
	if err != nil {
		return nil, err
	}
	switch {
	case p == nil && len(opt.Style) > 0:
		return nil, fmt.Errorf("model %s: not an arbitrary-style model, --style needs one (such as the MicroAST pair: %s)", opt.Model, PairTransfer)
	case p == nil:
		return nil, nil
	case len(opt.Style) == 0:
		return nil, fmt.Errorf("model %s: an arbitrary-style model (%s): give a style picture with --style", opt.Model, p.why)
	}
	enc, err := onnx.Load(p.encoder)
	if err != nil {
		return nil, fmt.Errorf("style encoder of %s: %w", opt.Model, err)
	}
	if err := p.check(m, enc); err != nil {
		return nil, err
	}
	info := &StyleInfo{Encoder: p.encoder, Pair: p.why, Pictures: opt.Style, Size: cmp0(opt.StyleSize, p.size), Weights: styleWeights(opt)}
	if info.Size == 0 {
		// By default pictures are only shrunk: enlarging blurs their
		// strokes, and the style with them (rain_princess.jpg, 300 px:
		// output style distance 10.3 at its own size, 35.5 enlarged to 512).
		info.Size = -defaultStyleSize
	}
	dev, _ := ort.ParseDevice(opt.Device)
	styles, n, err := encodeStyles(ctx, p, enc, opt.Style, info.Size, ort.SessionOptions{Device: dev, Threads: opt.Threads})
	if err != nil {
		return nil, err
	}
	info.Encoded = n
	bake(m, p, mixStyles(styles, info.Weights))
	return info, nil
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// check makes sure the encoder reads one picture and outputs every tensor
// the transfer net takes, with the same shapes.
func (p *stylePair) check(m, enc *onnx.Model) error {
	ins := enc.Inputs()
	if p.encInput == "" && len(ins) == 1 {
		p.encInput = ins[0].Name
	}
	found := false
	for _, v := range ins {
		found = found || v.Name == p.encInput
	}
	if !found || len(ins) != 1 {
		return fmt.Errorf("style encoder %s: want one picture input %q, it has %d inputs", p.encoder, p.encInput, len(ins))
	}
	if len(p.tensors) == 0 {
		return fmt.Errorf("model %s: the sidecar names a style encoder, but the model has no inputs besides the image", m.Name)
	}
	outs := map[string]onnx.Value{}
	var names []string
	for _, v := range enc.Outputs() {
		outs[v.Name] = v
		names = append(names, v.Name)
	}
	tins := map[string]onnx.Value{}
	for _, v := range m.Inputs() {
		tins[v.Name] = v
	}
	for _, t := range p.tensors {
		o, ok := outs[t[1]]
		if !ok {
			return fmt.Errorf("model pair %s + %s: names do not match: the transfer input %s has no encoder output %s (the encoder gives %s)",
				m.Name, enc.Name, t[0], t[1], strings.Join(names, ", "))
		}
		if a, b := dimsString(o.Dims), dimsString(tins[t[0]].Dims); len(o.Dims) != len(tins[t[0]].Dims) {
			return fmt.Errorf("model pair %s + %s: encoder output %s is %s, transfer input %s is %s", m.Name, enc.Name, t[1], a, t[0], b)
		}
	}
	return nil
}

// styleWeights are the mixing weights, normalised to sum 1 (equal when
// none are given).
func styleWeights(opt Options) []float64 {
	ws := make([]float64, len(opt.Style))
	sum := 0.0
	for i := range ws {
		ws[i] = 1
		if len(opt.StyleWeights) == len(ws) {
			ws[i] = opt.StyleWeights[i]
		}
		sum += ws[i]
	}
	for i := range ws {
		ws[i] /= sum
	}
	return ws
}

// encodeStyles returns each picture's encoder outputs, from the cache or
// from one encoder session opened when some picture is not cached; n is how
// many were encoded.
func encodeStyles(ctx context.Context, p *stylePair, enc *onnx.Model, pics []string, size int, so ort.SessionOptions) ([]map[string]ort.Tensor, int, error) {
	var sess *ort.Session
	defer func() {
		if sess != nil {
			sess.Close()
		}
	}()
	encID := fileID(p.encoder)
	res := make([]map[string]ort.Tensor, len(pics))
	n := 0
	for i, pic := range pics {
		b, err := os.ReadFile(pic)
		if err != nil {
			return nil, 0, fmt.Errorf("style image %s: %w", pic, unwrapPath(err))
		}
		h := sha256.Sum256(b)
		key := fmt.Sprintf("%s|%s|%d|%s", hex.EncodeToString(h[:]), encID, size, p.encRange)
		if res[i] = cachedStyle(key); res[i] != nil {
			continue
		}
		in, w, hh, err := stylePlanes(pic, b, size, p.encRange)
		if err != nil {
			return nil, 0, err
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		if sess == nil {
			if sess, err = encoderSession(enc, p, so); err != nil {
				return nil, 0, err
			}
		}
		outs, err := sess.Run([]ort.Tensor{{Shape: []int64{1, 3, int64(hh), int64(w)}, F32: in}})
		if err != nil {
			return nil, 0, fmt.Errorf("style image %s: encoder run: %w", pic, err)
		}
		encodings.Add(1)
		n++
		res[i] = map[string]ort.Tensor{}
		for j, name := range sess.Outputs {
			res[i][name] = outs[j]
		}
		if err := finite(res[i]); err != nil {
			return nil, 0, fmt.Errorf("style image %s: %w", pic, err)
		}
		storeStyle(key, res[i])
	}
	return res, n, nil
}

func encoderSession(enc *onnx.Model, p *stylePair, so ort.SessionOptions) (*ort.Session, error) {
	b, err := enc.Marshal()
	if err != nil {
		return nil, err
	}
	var outs []string
	for _, t := range p.tensors {
		outs = append(outs, t[1])
	}
	return ort.NewSession(enc.Name, b, []string{p.encInput}, outs, so)
}

func finite(ts map[string]ort.Tensor) error {
	for name, t := range ts {
		for _, v := range t.F32 {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("encoder output %s is not finite", name)
			}
		}
	}
	return nil
}

// fileID identifies a file's version by path, size and modification time.
func fileID(p string) string {
	st, err := os.Stat(p)
	if err != nil {
		return p
	}
	return fmt.Sprintf("%s|%d|%d", p, st.Size(), st.ModTime().UnixNano())
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func cachedStyle(key string) map[string]ort.Tensor {
	styleCache.Lock()
	defer styleCache.Unlock()
	return styleCache.m[key]
}

func storeStyle(key string, t map[string]ort.Tensor) {
	styleCache.Lock()
	defer styleCache.Unlock()
	if len(styleCache.m) >= maxCachedStyles {
		clear(styleCache.m)
	}
	styleCache.m[key] = t
}

// stylePlanes decodes a style picture and scales it to size px on its long
// side (size < 0: shrinks it to −size px at most), as NCHW values in the
// encoder's range.
func stylePlanes(name string, b []byte, size int, r Range) ([]float32, int, int, error) {
	img, err := imageio.Decode(name, b)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("style %w", err) // "style image NAME: why"
	}
	f := pipeline.FromImage(img)
	if min(f.W, f.H) < minStyleSide {
		return nil, 0, 0, fmt.Errorf("style image %s: %dx%d px is too small to carry a style (want at least %d px on each side)", name, f.W, f.H, minStyleSide)
	}
	w, h := f.W, f.H
	if size > 0 {
		w, h = longSide(f.W, f.H, size, minStyleSide)
	} else if size = -size; max(w, h) > size {
		w, h = longSide(f.W, f.H, size, minStyleSide)
	}
	p := toPlanes(scaleFrame(f, w, h))
	mul, add := r.scale()
	for i, v := range p {
		p[i] = v*mul + add
	}
	return p, w, h, nil
}

// mixStyles is the weighted sum of each tensor over the styles. AdaIN is
// affine in the style's mean and std, so mixing them linearly equals
// mixing the AdaIN outputs (Huang and Belongie's style interpolation); the
// modulation weights mix the same way.
func mixStyles(styles []map[string]ort.Tensor, ws []float64) map[string]ort.Tensor {
	out := map[string]ort.Tensor{}
	for name, t := range styles[0] {
		acc := make([]float32, len(t.F32))
		for k, s := range styles {
			for i, v := range s[name].F32 {
				acc[i] += float32(ws[k]) * v
			}
		}
		out[name] = ort.Tensor{Shape: t.Shape, F32: acc}
	}
	return out
}

// bake replaces the transfer net's conditioned inputs with initializers
// holding the style tensors.
func bake(m *onnx.Model, p *stylePair, style map[string]ort.Tensor) {
	g := m.Proto.GetGraph()
	byInput := map[string]string{}
	for _, t := range p.tensors {
		byInput[t[0]] = t[1]
	}
	var keep []*onnxpb.ValueInfoProto
	for _, vi := range g.GetInput() {
		out, ok := byInput[vi.GetName()]
		if !ok {
			keep = append(keep, vi)
			continue
		}
		t := style[out]
		g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: ptrTo(vi.GetName()), Dims: t.Shape,
			DataType: ptrTo(int32(onnxpb.TensorProto_FLOAT)), FloatData: t.F32})
	}
	g.Input = keep
}

// conventions fills in what the pair's convention says where nothing
// else did: RGB 0..1 in and out (MicroAST's; a sidecar, metadata or flags
// still win), and no border margin when every convolution reads a
// reflect-padded input, as in MicroAST: such a net paints no frame, so the
// receptive-radius margin would only cost time (measured on stata.jpg
// 1024×679 with la_muse.jpg: colour shift of the outer 8 px 4.6 without a
// margin, 9.5 with 48 px).
func (s *StyleInfo) conventions(m *onnx.Model, c *Conventions) {
	for _, f := range []struct {
		r   *Range
		key string
	}{{&c.InputRange, "input_range"}, {&c.OutputRange, "output_range"}} {
		if *f.r == "" {
			*f.r, c.Why[f.key] = Range1, "arbitrary-style pair: RGB 0..1 (the MicroAST convention)"
		}
	}
	if strings.HasPrefix(c.Why["margin"], "graph:") && reflectPadded(m) {
		c.Margin, c.Why["margin"] = 0, "graph: every convolution reads a reflect-padded input: no frame to hide"
	}
}

// reflectPadded reports whether every spatial convolution of m pads by
// reflection (a Pad node in reflect or edge mode before it, no zero pads of
// its own).
func reflectPadded(m *onnx.Model) bool {
	g := m.Proto.GetGraph()
	padMode := map[string]string{}
	for _, n := range g.GetNode() {
		if n.GetOpType() == "Pad" {
			mode := "constant"
			for _, a := range n.GetAttribute() {
				if a.GetName() == "mode" {
					mode = string(a.GetS())
				}
			}
			padMode[n.GetOutput()[0]] = mode
		}
	}
	convs := 0
	for _, n := range g.GetNode() {
		switch n.GetOpType() {
		case "ConvTranspose":
			return false
		case "Conv":
		default:
			continue
		}
		k := int64(1)
		for _, a := range n.GetAttribute() {
			switch a.GetName() {
			case "kernel_shape":
				for _, v := range a.GetInts() {
					k *= v
				}
			case "pads":
				for _, v := range a.GetInts() {
					if v != 0 {
						return false
					}
				}
			case "auto_pad":
				if s := string(a.GetS()); s == "SAME_UPPER" || s == "SAME_LOWER" {
					return false
				}
			}
		}
		if mode := padMode[n.GetInput()[0]]; k > 1 && mode != "reflect" && mode != "edge" {
			return false
		}
		convs++
	}
	return convs > 0
}

func ptrTo[T any](v T) *T { return &v }

// Style is the style baked into a conditioned model; nil for plain nets.
func (e *Engine) Style() *StyleInfo { return e.style }

// describeStyle prints a conditioned engine's style for Describe.
func describeStyle(p func(string, ...any), s *StyleInfo) {
	p("style encoder:  %s  [%s]\n", s.Encoder, s.Pair)
	size := fmt.Sprintf("%d px long side", s.Size)
	if s.Size < 0 {
		size = fmt.Sprintf("own size, shrunk to %d px at most", -s.Size)
	}
	for i, pic := range s.Pictures {
		p("style:          %s  (weight %.3g, %s)\n", pic, s.Weights[i], size)
	}
}
