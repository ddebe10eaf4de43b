package tiles

import (
	"github.com/stylize/stylize/pipeline/onnx"
)

// receptiveRadius estimates how far (in input pixels) an output pixel of a
// convolutional image net can see: the kernels' half-widths times the
// cumulative stride at their depth, summed over the graph's convolutions
// and pools in order. Treating every convolution as one chain overestimates
// graphs with parallel branches, which only makes margins safer. La_muse
// (Johnson et al.) gives 57 px.
func receptiveRadius(m *onnx.Model) int {
	g := m.Proto.GetGraph()
	dims := map[string][]int64{}
	for _, t := range g.GetInitializer() {
		dims[t.GetName()] = t.GetDims()
	}
	scale := 1.0 // input pixels per feature-map pixel at the current depth
	var rx, ry float64
	for _, n := range g.GetNode() {
		var kernel, strides, dil []int64
		var block int64
		for _, a := range n.GetAttribute() {
			switch a.GetName() {
			case "kernel_shape":
				kernel = a.GetInts()
			case "strides":
				strides = a.GetInts()
			case "dilations":
				dil = a.GetInts()
			case "blocksize":
				block = a.GetI()
			}
		}
		switch n.GetOpType() {
		case "Conv", "ConvTranspose", "MaxPool", "AveragePool":
			kh, kw := int64(1), int64(1)
			if len(kernel) == 2 {
				kh, kw = kernel[0], kernel[1]
			} else if len(n.GetInput()) > 1 {
				if d := dims[n.GetInput()[1]]; len(d) == 4 {
					kh, kw = d[2], d[3]
				}
			}
			d := maxOf(dil, 1)
			// Separable kernels (k×1, 1×k) widen one axis each.
			ry += float64((kh-1)*d/2) * scale
			rx += float64((kw-1)*d/2) * scale
			s := float64(maxOf(strides, 1))
			if n.GetOpType() == "ConvTranspose" {
				scale /= s
			} else {
				scale *= s
			}
		case "SpaceToDepth":
			scale *= float64(max(block, 1))
		case "DepthToSpace":
			scale /= float64(max(block, 1))
		case "Upsample", "Resize":
			scale /= 2 // the usual ×2 decoder step
		}
		scale = max(scale, 1)
	}
	r := max(rx, ry)
	return int(r + 0.5)
}

func maxOf(v []int64, def int64) int64 {
	m := def
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
