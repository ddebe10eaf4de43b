// Package pipeline is the one generic staged engine that video and tiles
// share: a source, bounded concurrent workers, ordered reassembly into a
// single-owner sink, progress reports and atomic outputs. It knows nothing of
// video or tiles; the model engine lives in pipeline/model.
package pipeline
