package importer

import (
	"fmt"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"github.com/stylize/stylize/pipeline/torch"
)

// MicroAST's checkpoints, relative to its repository root.
const (
	MicroASTContentFile   = "models/content_encoder_iter_160000.pth.tar"
	MicroASTStyleFile     = "models/style_encoder_iter_160000.pth.tar"
	MicroASTModulatorFile = "models/modulator_iter_160000.pth.tar"
	MicroASTDecoderFile   = "models/decoder_iter_160000.pth.tar"
)

// StyleOutputs are the style graph's outputs, in order: the transfer graph
// takes them by name after content.
var StyleOutputs = []string{"s1_mean", "s1_std", "s2_mean", "s2_std", "mod_w1", "mod_b1", "mod_w2", "mod_b2"}

// MicroASTCheckpoints are MicroAST's four state dicts.
type MicroASTCheckpoints struct {
	Content, Style, Modulator, Decoder *torch.Checkpoint
}

// LoadMicroASTCheckpoints reads the four checkpoints from a MicroAST
// checkout (or its models folder).
func LoadMicroASTCheckpoints(dir string) (*MicroASTCheckpoints, error) {
	var c MicroASTCheckpoints
	for _, f := range []struct {
		rel string
		dst **torch.Checkpoint
	}{{MicroASTContentFile, &c.Content}, {MicroASTStyleFile, &c.Style}, {MicroASTModulatorFile, &c.Modulator}, {MicroASTDecoderFile, &c.Decoder}} {
		p, err := findFile(dir, f.rel)
		if err != nil {
			return nil, err
		}
		if *f.dst, err = torch.Load(p); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// encoder adds MicroAST's encoder (enc1, then the residual enc2) and returns
// both levels' features (64 channels at 1/4 resolution).
func (n *net) encoder(x, p string) (s1, s2 string) {
	x = n.relu(n.padConv(x, p+"enc1.0.conv_layer", 16, 3, 9, 1, 1))
	x = n.relu(n.padConv(x, p+"enc1.2.conv_layer", 32, 16, 3, 2, 16))
	x = n.relu(n.padConv(x, p+"enc1.4.conv_layer", 32, 32, 1, 1, 1))
	x = n.relu(n.padConv(x, p+"enc1.6.conv_layer", 64, 32, 3, 2, 32))
	x = n.relu(n.padConv(x, p+"enc1.8.conv_layer", 64, 64, 1, 1, 1))
	s1 = n.residual(x, p+"enc1.10")
	return s1, n.residual(s1, p+"enc2.0")
}

// residual is x + conv2(relu(conv1(x))).
func (n *net) residual(x, p string) string {
	h := n.relu(n.padConv(x, p+".conv1.conv_layer", 64, 64, 3, 1, 1))
	return n.op("Add", x, n.padConv(h, p+".conv2.conv_layer", 64, 64, 3, 1, 1))
}

// MicroASTStyleModel builds arbitrary/microast_style.onnx: style [1,3,H,W] RGB
// 0..1 → the feature statistics of both encoder levels and the modulator's
// filter weights and biases (depthwise 3×3 convs averaged over space).
func MicroASTStyleModel(c *MicroASTCheckpoints) (*onnx.Model, error) {
	n := newNet("microast_style", c.Style)
	in := n.b.Input("style", onnxpb.TensorProto_FLOAT, featureDims(3, "H", "W"))
	s1, s2 := n.encoder(in, "")
	var outs []string
	for _, s := range []string{s1, s2} {
		mean, _, std := n.stats(s)
		outs = append(outs, mean, std)
	}
	n.ck = c.Modulator
	for i, s := range []string{s1, s2} {
		p := n.reflect(s, 1)
		for _, kind := range []string{"weight", "bias"} {
			outs = append(outs, n.mean(n.conv(p, fmt.Sprintf("%s%d.0.conv_layer", kind, i+1), 64, 64, 3, 1, 64)))
		}
	}
	// outs: s1 mean, std, s2 mean, std, w1, b1, w2, b2 — StyleOutputs' order.
	for i, name := range StyleOutputs {
		n.rename(outs[i], name)
		float32Out(n, name, statDims())
	}
	return n.model("microast_style")
}

func statDims() []onnx.Dim { return []onnx.Dim{{Value: 1}, {Value: 64}, {Value: 1}, {Value: 1}} }

// MicroASTTransferModel builds arbitrary/microast_transfer.onnx: content
// [1,3,H,W] RGB 0..1 and the style graph's outputs → stylized
// [1,3,4⌈H/4⌉,4⌈W/4⌉] RGB 0..1 (clipped). The decoder re-normalises with
// AdaIN before each modulated residual block, then upsamples twice (linear).
func MicroASTTransferModel(c *MicroASTCheckpoints) (*onnx.Model, error) {
	n := newNet("microast_transfer", c.Content)
	in := n.b.Input("content", onnxpb.TensorProto_FLOAT, featureDims(3, "H", "W"))
	st := map[string]string{}
	for _, name := range StyleOutputs {
		st[name] = n.b.Input(name, onnxpb.TensorProto_FLOAT, statDims())
	}
	_, x := n.encoder(in, "")
	n.ck = c.Decoder
	x = n.adain(x, st["s2_mean"], st["s2_std"])
	x = n.modulated(x, "dec1", st["mod_w2"], st["mod_b2"])
	x = n.adain(x, st["s1_mean"], st["s1_std"])
	x = n.modulated(x, "dec2", st["mod_w1"], st["mod_b1"])
	x = n.relu(n.padConv(n.upsample(x), "dec3.1.conv_layer", 32, 64, 3, 1, 32))
	x = n.relu(n.conv(x, "dec3.3.conv_layer", 32, 32, 1, 1, 1))
	x = n.relu(n.padConv(n.upsample(x), "dec3.6.conv_layer", 16, 32, 3, 1, 16))
	x = n.relu(n.conv(x, "dec3.8.conv_layer", 16, 16, 1, 1, 1))
	x = n.padConv(x, "dec3.10.conv_layer", 3, 16, 9, 1, 1)
	if n.err == nil {
		n.b.NodeTo("Clip", []string{x, n.b.Scalar(0), n.b.Scalar(1)}, []string{"stylized"})
		n.b.Output("stylized", onnxpb.TensorProto_FLOAT, featureDims(3, "H_out", "W_out"))
	}
	return n.model("microast_transfer")
}

// adain re-normalises x to the style's per-channel mean and std.
func (n *net) adain(x, mean, std string) string {
	_, centred, xstd := n.stats(x)
	return n.op("Add", n.op("Mul", n.op("Div", centred, xstd), std), mean)
}

// modulated is MicroAST's decoder block with filter modulation:
// h = relu(w·conv1(x) + b·x); out = x + w·conv2(h) + b·h.
func (n *net) modulated(x, p, w, b string) string {
	mod := func(in, conv string) string {
		c := n.padConv(in, p+"."+conv+".conv_layer", 64, 64, 3, 1, 1)
		return n.op("Add", n.op("Mul", w, c), n.op("Mul", b, in))
	}
	h := n.relu(mod(x, "conv1"))
	return n.op("Add", x, mod(h, "conv2"))
}

// upsample doubles H and W (bilinear, half-pixel centres, as nn.Upsample).
func (n *net) upsample(x string) string {
	if n.err != nil {
		return ""
	}
	scales := n.b.Const("scales", []int64{4}, []float32{1, 1, 2, 2})
	return n.b.Node("Resize", []string{x, "", scales},
		onnx.AttrString("coordinate_transformation_mode", "half_pixel"),
		onnx.AttrString("mode", "linear"))
}
