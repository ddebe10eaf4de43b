package importer

import (
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/onnx/onnxpb"
	"github.com/stylize/stylize/pipeline/torch"
)

// CDVGGCheckpoint is where Collaborative Distillation's repository keeps the
// 16×-pruned VGG-19 encoder, relative to the repository root.
const CDVGGCheckpoint = "trained_models/wct_se_16x_new/5SE.pth"

// cdLayer is one 3×3 convolution of the pruned encoder.
type cdLayer struct {
	name    string // checkpoint prefix: conv11 → conv11.weight, conv11.bias
	in, out int
	output  string // graph output fed by its ReLU, if any
	pool    bool   // a 2×2 max pool follows the ReLU
}

// cdLayers is the SE encoder of Collaborative Distillation's WCT model
// (model_cd.SmallEncoder5_16x_aux) up to relu5_1.
var cdLayers = []cdLayer{
	{"conv11", 3, 16, "relu1_1", false},
	{"conv12", 16, 16, "", true},
	{"conv21", 16, 32, "relu2_1", false},
	{"conv22", 32, 32, "", true},
	{"conv31", 32, 64, "relu3_1", false},
	{"conv32", 64, 64, "", false},
	{"conv33", 64, 64, "", false},
	{"conv34", 64, 64, "", true},
	{"conv41", 64, 128, "relu4_1", false},
	{"conv42", 128, 128, "relu4_2", false},
	{"conv43", 128, 128, "", false},
	{"conv44", 128, 128, "", true},
	{"conv51", 128, 128, "relu5_1", false},
}

// CDVGG builds perceptual/cd16x_vgg_features.onnx from the checkpoint:
// input image [1,3,H,W] RGB 0..1; the checkpoint's 1×1 conv0 does the
// RGB→BGR, ×255 and mean handling; then reflect-padded 3×3 convs, ReLUs and
// 2×2 max pools, with relu1_1 … relu5_1 (and relu4_2) as outputs.
func CDVGG(ck *torch.Checkpoint) (*onnx.Model, error) {
	n := newNet("cd16x_vgg_features", ck)
	x := n.b.Input("image", onnxpb.TensorProto_FLOAT, featureDims(3, "H", "W"))
	x = n.conv(x, "conv0", 3, 3, 1, 1, 1)
	for _, l := range cdLayers {
		x = n.relu(n.padConv(x, l.name, l.out, l.in, 3, 1, 1))
		if l.output != "" {
			n.rename(x, l.output)
			x = l.output
			float32Out(n, l.output, featureDims(int64(l.out), "h_"+l.output, "w_"+l.output))
		}
		if l.pool && n.err == nil {
			x = n.b.Node("MaxPool", []string{x},
				onnx.AttrInt("ceil_mode", 0),
				onnx.AttrInts("kernel_shape", 2, 2),
				onnx.AttrInts("pads", 0, 0, 0, 0),
				onnx.AttrInts("strides", 2, 2))
		}
	}
	return n.model("cd16x_vgg_features")
}

// LoadCDVGG reads 5SE.pth from a Collaborative-Distillation checkout (or
// the folder holding it) and builds the graph.
func LoadCDVGG(dir string) (*onnx.Model, error) {
	p, err := findFile(dir, CDVGGCheckpoint)
	if err != nil {
		return nil, err
	}
	ck, err := torch.Load(p)
	if err != nil {
		return nil, err
	}
	return CDVGG(ck)
}
