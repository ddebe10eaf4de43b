package model

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
)

// Range is a value convention of a model's image tensors.
type Range string

// The ranges a model may use.
const (
	Range255  Range = "0..255"
	Range1    Range = "0..1"
	RangeTanh Range = "-1..1"
)

// ParseRange accepts 0..255, 0..1, -1..1 (and a few spellings of them).
func ParseRange(s string) (Range, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "") {
	case "0..255", "0-255", "255", "uint8":
		return Range255, nil
	case "0..1", "0-1", "1", "unit":
		return Range1, nil
	case "-1..1", "-1-1", "tanh", "±1":
		return RangeTanh, nil
	}
	return "", fmt.Errorf("range %q: want 0..255, 0..1 or -1..1", s)
}

// toModel maps a 0..255 value to the range; fromModel maps back.
func (r Range) scale() (mul, add float32) {
	switch r {
	case Range1:
		return 1.0 / 255, 0
	case RangeTanh:
		return 2.0 / 255, -1
	}
	return 1, 0
}

// Layout is the tensor layout of the image.
type Layout string

// The layouts a model may use.
const (
	NCHW Layout = "NCHW"
	NHWC Layout = "NHWC"
)

// ParseLayout accepts NCHW or NHWC.
func ParseLayout(s string) (Layout, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "NCHW":
		return NCHW, nil
	case "NHWC":
		return NHWC, nil
	}
	return "", fmt.Errorf("layout %q: want NCHW or NHWC", s)
}

// Conventions are everything the engine must know to feed a model and read
// its output. Why records, per field, where the value came from.
type Conventions struct {
	Layout       Layout
	InputRange   Range
	OutputRange  Range
	BGR          bool
	SizeMultiple int // pad height and width to a multiple of this
	FixedW       int // >0 when the model only takes FixedW×FixedH inputs
	FixedH       int
	Margin       int // reflect-padding margin in pixels
	Float16      bool
	InputName    string
	OutputName   string
	Why          map[string]string
}

// Overrides are conventions given explicitly (flags); empty fields are unset.
type Overrides struct {
	Layout       string
	InputRange   string
	OutputRange  string
	ChannelOrder string // rgb or bgr
	SizeMultiple int
	Margin       *int // reflect-padding margin in px; nil = unset (0 is "none")
}

// Sidecar is the optional MODEL.onnx.yaml next to a model file.
type Sidecar struct {
	Layout       string `yaml:"layout"`
	InputRange   string `yaml:"input_range"`
	OutputRange  string `yaml:"output_range"`
	ChannelOrder string `yaml:"channel_order"`
	SizeMultiple int    `yaml:"size_multiple"`
	Margin       *int   `yaml:"margin"`
	Description  string `yaml:"description"`

	StyleSidecar `yaml:",inline"` // a conditioned model's style encoder: style.go
}

// Metadata keys read from the model's metadata_props.
const (
	MetaLayout       = "stylize.layout"
	MetaInputRange   = "stylize.input_range"
	MetaOutputRange  = "stylize.output_range"
	MetaChannelOrder = "stylize.channel_order"
	MetaSizeMultiple = "stylize.size_multiple"
	MetaMargin       = "stylize.margin"
)

// ReadSidecar reads path+".yaml" when it exists (nil, nil when it does not).
func ReadSidecar(modelPath string) (*Sidecar, string, error) {
	p := modelPath + ".yaml"
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, p, fmt.Errorf("sidecar %s: %w", p, err)
	}
	var s Sidecar
	if err := yaml.UnmarshalWithOptions(b, &s, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		return nil, p, fmt.Errorf("sidecar %s: %s", p, oneLine(yaml.FormatError(err, false, false)))
	}
	return &s, p, nil
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// layer is one source of conventions, in priority order.
type layer struct {
	name                             string
	layout, inRange, outRange, order string
	multiple                         int
	margin                           *int
}

// graphConventions inspects the graph: one 4-D, 3-channel float image input
// and output, its layout and fixed size, the size multiple.
func graphConventions(m *onnx.Model) (Conventions, error) {
	c := Conventions{Why: map[string]string{}}
	in, out, err := imageIO(m)
	if err != nil {
		return c, err
	}
	c.InputName, c.OutputName = in.Name, out.Name
	c.Float16 = m.Float16IO || in.ElemType == onnxpb.TensorProto_FLOAT16
	if err := c.layoutOf(m, in, out); err != nil {
		return c, err
	}
	hd, wd := in.Dims[2], in.Dims[3]
	if c.Layout == NHWC {
		hd, wd = in.Dims[1], in.Dims[2]
	}
	if hd.Value > 0 && wd.Value > 0 {
		c.FixedH, c.FixedW = int(hd.Value), int(wd.Value)
		c.Why["size"] = fmt.Sprintf("graph: fixed %d×%d input, run on overlapping feathered windows", c.FixedW, c.FixedH)
	} else {
		c.Why["size"] = "graph: dynamic height and width"
	}
	c.SizeMultiple = m.Downsampling()
	c.Why["size_multiple"] = fmt.Sprintf("graph: product of strides = %d", c.SizeMultiple)
	// A border margin sized to the model: its receptive radius (how far the
	// zero padding at the tensor border reaches in), rounded up to the size
	// multiple: 56 px for the Johnson/Engstrom nets (radius 54), 60 for
	// mindgame (57).
	rr := m.ReceptiveRadius()
	c.Margin = min(max(roundUp(rr, c.SizeMultiple), 8), 128)
	if c.FixedW > 0 {
		// Windows overlap inside the picture; the margin only keeps the
		// picture's own border away from the windows' zero padding.
		c.Margin = min(c.Margin, min(c.FixedW, c.FixedH)/4)
		c.Why["margin"] = fmt.Sprintf("graph: receptive radius %d px, at most a quarter of the fixed window", rr)
	} else {
		c.Why["margin"] = fmt.Sprintf("graph: receptive radius %d px, rounded to the size multiple, 8..128", rr)
	}
	c.BGR = false
	c.Why["channel_order"] = "default: RGB"
	return c, nil
}

// imageIO checks that m has one float 4-D image input and a float image
// output (rank 4 or unknown) and returns them.
func imageIO(m *onnx.Model) (in, out onnx.Value, err error) {
	ins, outs := m.Inputs(), m.Outputs()
	if len(ins) != 1 {
		var names []string
		for _, v := range ins {
			names = append(names, v.Name)
		}
		return in, out, fmt.Errorf("model %s: has %d inputs (%s); stylize needs exactly one image input", m.Name, len(ins), strings.Join(names, ", "))
	}
	if len(outs) < 1 {
		return in, out, fmt.Errorf("model %s: has no output", m.Name)
	}
	in, out = ins[0], outs[0]
	switch in.ElemType {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_FLOAT16:
	default:
		return in, out, fmt.Errorf("model %s: input %s is %s; stylize needs a float32 or float16 image", m.Name, in.Name, in.ElemName())
	}
	if out.ElemType != onnxpb.TensorProto_FLOAT && out.ElemType != onnxpb.TensorProto_FLOAT16 && out.ElemType != 0 {
		return in, out, fmt.Errorf("model %s: output %s is %s; stylize needs a float32 or float16 image", m.Name, out.Name, out.ElemName())
	}
	if len(in.Dims) != 4 {
		return in, out, fmt.Errorf("model %s: input %s has rank %d (%s); stylize needs a 4-D image tensor (N,C,H,W or N,H,W,C)", m.Name, in.Name, len(in.Dims), dimsString(in.Dims))
	}
	if len(out.Dims) != 0 && len(out.Dims) != 4 {
		return in, out, fmt.Errorf("model %s: output %s has rank %d (%s); stylize needs a 4-D image tensor", m.Name, out.Name, len(out.Dims), dimsString(out.Dims))
	}
	return in, out, nil
}

// layoutOf finds the layout from where the input's 3 channels are (or
// from the first layer that reads it) and checks the output has 3.
func (c *Conventions) layoutOf(m *onnx.Model, in, out onnx.Value) error {
	d1, d3 := in.Dims[1].Value, in.Dims[3].Value
	switch {
	case d1 == 3:
		c.Layout = NCHW
		c.Why["layout"] = fmt.Sprintf("graph: input %s is %s, 3 channels in dim 1", in.Name, dimsString(in.Dims))
	case d3 == 3:
		c.Layout = NHWC
		c.Why["layout"] = fmt.Sprintf("graph: input %s is %s, 3 channels in dim 3", in.Name, dimsString(in.Dims))
	case d1 > 0 && d3 > 0:
		return fmt.Errorf("model %s: input %s is %s: no dimension of 3 channels (stylize needs RGB or BGR images)", m.Name, in.Name, dimsString(in.Dims))
	default:
		c.Layout = NCHW
		c.Why["layout"] = fmt.Sprintf("default: input %s is %s, channel dimension unknown", in.Name, dimsString(in.Dims))
		if l, why := layoutFromUse(m, in.Name); l != "" {
			c.Layout = l
			c.Why["layout"] = fmt.Sprintf("graph: input %s is %s, %s", in.Name, dimsString(in.Dims), why)
		}
	}
	if len(out.Dims) == 4 {
		oc := out.Dims[1].Value
		if c.Layout == NHWC {
			oc = out.Dims[3].Value
		}
		if oc > 0 && oc != 3 {
			return fmt.Errorf("model %s: output %s is %s: %d channels, stylize needs 3", m.Name, out.Name, dimsString(out.Dims), oc)
		}
	}
	return nil
}

// layoutFromUse tells the layout of an input whose shape does not show it
// (all dimensions named) from the first layer that reads it, past casts
// and scaling: a Transpose N,H,W,C → N,C,H,W means NHWC, a convolution
// NCHW. "" when neither is found.
func layoutFromUse(m *onnx.Model, name string) (Layout, string) {
	nodes := m.Proto.GetGraph().GetNode()
	for range 8 {
		var next string
		for _, n := range nodes {
			if len(n.GetInput()) == 0 || n.GetInput()[0] != name {
				continue
			}
			switch n.GetOpType() {
			case "Transpose":
				for _, a := range n.GetAttribute() {
					if a.GetName() == "perm" && slices.Equal(a.GetInts(), []int64{0, 3, 1, 2}) {
						return NHWC, "transposed from N,H,W,C by its first layer"
					}
				}
				return "", ""
			case "Conv":
				return NCHW, "read by a convolution (channels first)"
			case "Cast", "Identity", "Mul", "Div", "Add", "Sub":
				next = n.GetOutput()[0]
			}
		}
		if next == "" {
			return "", ""
		}
		name = next
	}
	return "", ""
}

func dimsString(ds []onnx.Dim) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return "[" + strings.Join(s, ",") + "]"
}

// apply overlays one layer of explicit conventions.
func (c *Conventions) apply(l layer) error {
	if l.layout != "" {
		v, err := ParseLayout(l.layout)
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		c.Layout, c.Why["layout"] = v, l.name
	}
	if l.inRange != "" {
		v, err := ParseRange(l.inRange)
		if err != nil {
			return fmt.Errorf("%s: input %w", l.name, err)
		}
		c.InputRange, c.Why["input_range"] = v, l.name
	}
	if l.outRange != "" {
		v, err := ParseRange(l.outRange)
		if err != nil {
			return fmt.Errorf("%s: output %w", l.name, err)
		}
		c.OutputRange, c.Why["output_range"] = v, l.name
	}
	if l.order != "" {
		switch strings.ToLower(l.order) {
		case "rgb":
			c.BGR = false
		case "bgr":
			c.BGR = true
		default:
			return fmt.Errorf("%s: channel order %q: want rgb or bgr", l.name, l.order)
		}
		c.Why["channel_order"] = l.name
	}
	if l.multiple < 0 || l.multiple > 256 {
		return fmt.Errorf("%s: size multiple %d: want 1..256", l.name, l.multiple)
	}
	if l.multiple > 0 {
		c.SizeMultiple, c.Why["size_multiple"] = l.multiple, l.name
	}
	if l.margin != nil {
		if *l.margin < 0 || *l.margin > 1024 {
			return fmt.Errorf("%s: margin %d: want 0..1024 px", l.name, *l.margin)
		}
		c.Margin, c.Why["margin"] = *l.margin, l.name
	}
	return nil
}

func metaLayer(md map[string]string) (layer, error) {
	l := layer{name: "metadata_props"}
	l.layout, l.inRange, l.outRange, l.order = md[MetaLayout], md[MetaInputRange], md[MetaOutputRange], md[MetaChannelOrder]
	if v := md[MetaSizeMultiple]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return l, fmt.Errorf("metadata_props %s=%q: not an integer", MetaSizeMultiple, v)
		}
		l.multiple = n
	}
	if v := md[MetaMargin]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return l, fmt.Errorf("metadata_props %s=%q: not an integer", MetaMargin, v)
		}
		l.margin = &n
	}
	return l, nil
}

func (o Overrides) layer() layer {
	l := layer{name: "flag", layout: o.Layout, inRange: o.InputRange, outRange: o.OutputRange, order: o.ChannelOrder, multiple: o.SizeMultiple}
	if o.Margin != nil {
		m := *o.Margin
		l.margin = &m
	}
	return l
}
