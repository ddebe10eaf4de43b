// Package temporal makes stylized video coherent over time: dense optical
// flow (coarse-to-fine Lucas-Kanade), occlusion and motion-boundary masks,
// warping, scene-cut detection and the warping-error metric are pure
// functions on frames; Processor blends each frame with the warped previous
// one inside the style network (or on its output) and holds the only state.
package temporal
