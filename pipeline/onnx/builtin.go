package onnx

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// BuiltinPrefix marks a built-in model name: builtin:ink.
const BuiltinPrefix = "builtin:"

// Builtin describes one generated style.
type Builtin struct {
	Name  string
	About string
	build func() *Model
}

const inkAbout = "ligne claire comic look in the spirit of Moebius: XDoG ink lines over flattened, slightly saturated colours (default)"

var builtins = []Builtin{
	{Name: "ink", About: inkAbout, build: buildInk},
	{Name: "identity", About: "returns its input unchanged (for benchmarks and tests of the pipeline itself)", build: buildIdentity},
}

// Builtins lists the built-in styles.
func Builtins() []Builtin { return builtins }

// IsBuiltin reports whether name has the builtin: prefix.
func IsBuiltin(name string) bool { return strings.HasPrefix(name, BuiltinPrefix) }

// LoadBuiltin generates the named built-in graph ("builtin:ink" or "ink").
func LoadBuiltin(name string) (*Model, error) {
	short := strings.TrimPrefix(name, BuiltinPrefix)
	for _, b := range builtins {
		if b.Name == short {
			return b.build(), nil
		}
	}
	var names []string
	for _, b := range builtins {
		names = append(names, BuiltinPrefix+b.Name)
	}
	return nil, fmt.Errorf("model %s: no such built-in style (have %s)", name, strings.Join(names, ", "))
}

// builtinMeta are the metadata_props the engine reads (see model.Conventions).
func builtinMeta(about string) map[string]string {
	return map[string]string{
		"stylize.layout":        "NCHW",
		"stylize.input_range":   "0..255",
		"stylize.output_range":  "0..255",
		"stylize.size_multiple": "1",
		"stylize.margin":        "8",
		"stylize.description":   about,
	}
}

// buildInk generates builtin:ink. All in 0..1 internally:
//
//	colour: blur (σ 1.5) → luma quantised to soft steps → chroma kept and
//	        saturated ×1.25 → flat comic colours;
//	ink:    XDoG on the luma of the unblurred input, D = G(σ 1.2) − G(σ 1.9),
//	        line = 1 + tanh(φ·min(D + ε, 0)): black where the image has an
//	        edge's dark side, 1 elsewhere;
//	output = clip(colour · line · 255).
func buildInk() *Model {
	b := NewBuilder("builtin_ink")
	in := b.Input("input", onnxpb.TensorProto_FLOAT, ImageDims())
	x := b.Node("Mul", []string{in, b.Scalar(1.0 / 255)})

	// Flattened colours.
	blur := b.Blur(x, 3, 1.5)
	y := b.Luma(blur)
	const levels = 5 // luma steps: few enough to read as flat fills
	v := b.Node("Mul", []string{y, b.Scalar(levels)})
	fl := b.Node("Floor", []string{v})
	fr := b.Node("Sub", []string{v, fl})
	// A steep sigmoid inside each step: flat plateaus joined by short ramps,
	// so the steps do not shimmer on video the way a hard Floor would.
	s := b.Node("Sigmoid", []string{b.Node("Mul", []string{b.Node("Sub", []string{fr, b.Scalar(0.5)}), b.Scalar(12)})})
	yq := b.Node("Div", []string{b.Node("Add", []string{fl, s}), b.Scalar(levels)})
	// Lift the shadows a little (comic fills are rarely black) and keep hue:
	// colour = yq' + 1.25·(blur − y).
	yq = b.Node("Add", []string{b.Node("Mul", []string{yq, b.Scalar(0.85)}), b.Scalar(0.12)})
	chroma := b.Node("Sub", []string{blur, y})
	col := b.Node("Add", []string{yq, b.Node("Mul", []string{chroma, b.Scalar(1.25)})})

	// XDoG ink lines.
	l := b.Luma(x)
	g1 := b.Blur(l, 1, 1.2)
	g2 := b.Blur(l, 1, 1.9)
	d := b.Node("Sub", []string{g1, g2})
	e := b.Node("Min", []string{b.Node("Add", []string{d, b.Scalar(0.009)}), b.Scalar(0)})
	line := b.Node("Add", []string{b.Node("Tanh", []string{b.Node("Mul", []string{e, b.Scalar(90)})}), b.Scalar(1)})

	o := b.Node("Mul", []string{b.Node("Mul", []string{col, line}), b.Scalar(255)})
	b.NodeTo("Clip", []string{o, b.Scalar(0), b.Scalar(255)}, []string{"output"})
	b.Output("output", onnxpb.TensorProto_FLOAT, ImageDims())
	return b.Model(BuiltinPrefix+"ink", 13, builtinMeta(inkAbout))
}

func buildIdentity() *Model {
	b := NewBuilder("builtin_identity")
	in := b.Input("input", onnxpb.TensorProto_FLOAT, ImageDims())
	b.NodeTo("Identity", []string{in}, []string{"output"})
	b.Output("output", onnxpb.TensorProto_FLOAT, ImageDims())
	md := builtinMeta("identity")
	md["stylize.margin"] = "0"
	return b.Model(BuiltinPrefix+"identity", 13, md)
}

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
