// Package paint is the optimisation method of style transfer (Gatys et al.
// 2016): a picture is optimised by L-BFGS so that its features in a
// perceptual network match a style picture's Gram matrices and a content
// picture's features. The gradient comes from a generated ONNX graph
// (forward ops, their backward ops and the losses in one graph), run by
// onnxruntime through pipeline/ort.
package paint
