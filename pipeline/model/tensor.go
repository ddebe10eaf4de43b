package model

import "github.com/stylize/stylize/pipeline/ort"

// ImageTensor converts planar RGB 0..255 (3·w·h) into the input tensor a
// model with conventions c expects (layout, channel order, range), for
// callers that run parts of a graph themselves (temporal's split halves).
func ImageTensor(c Conventions, planes []float32, w, h int) ort.Tensor {
	return (&Net{conv: c}).toTensor(planes, w, h)
}

// ImagePlanes converts a model's image output tensor back to planar RGB
// 0..255 with its width and height.
func ImagePlanes(c Conventions, t ort.Tensor) ([]float32, int, int, error) {
	return (&Net{conv: c}).fromTensor(t)
}

// PreserveColors keeps content's chroma in styl (planar RGB 0..255, hw
// pixels per plane) and the stylized luma, as Options.PreserveColors does.
func PreserveColors(styl, content []float32, hw int) { preserveColors(styl, content, hw) }
