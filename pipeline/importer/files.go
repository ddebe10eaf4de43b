package importer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
)

// Where the imported graphs go under a model folder (the layout
// model.FindArbitrary and model.FindPerceptual search).
const (
	MicroASTStyleONNX    = model.ArbitraryStyleFile
	MicroASTTransferONNX = model.ArbitraryTransferFile
	CDVGGONNX            = model.PerceptualFile
)

// ErrMissing means an upstream folder lacks a checkpoint.
var ErrMissing = errors.New("checkpoint not found")

// findFile looks for rel under dir (a checkout of the upstream repository),
// then for its base name in dir itself (the checkpoints' own folder).
func findFile(dir, rel string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("upstream folder %s: %w", dir, unwrapPath(err))
	}
	if !st.IsDir() {
		return "", fmt.Errorf("upstream folder %s: not a folder", dir)
	}
	for _, p := range []string{filepath.Join(dir, rel), filepath.Join(dir, filepath.Base(rel))} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("upstream folder %s: %w: no %s (nor %s in it)", dir, ErrMissing, rel, filepath.Base(rel))
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ImportMicroAST builds both MicroAST graphs from the checkout dir and
// writes them under out (arbitrary/…), each atomically. It returns the
// files written.
func ImportMicroAST(dir, out string) ([]string, error) {
	c, err := LoadMicroASTCheckpoints(dir)
	if err != nil {
		return nil, err
	}
	style, err := MicroASTStyleModel(c)
	if err != nil {
		return nil, err
	}
	transfer, err := MicroASTTransferModel(c)
	if err != nil {
		return nil, err
	}
	return writeModels(out, map[string]*onnx.Model{MicroASTStyleONNX: style, MicroASTTransferONNX: transfer})
}

// ImportCDVGG builds the perceptual encoder from a Collaborative
// Distillation checkout dir and writes it under out (perceptual/…).
func ImportCDVGG(dir, out string) ([]string, error) {
	m, err := LoadCDVGG(dir)
	if err != nil {
		return nil, err
	}
	return writeModels(out, map[string]*onnx.Model{CDVGGONNX: m})
}

// writeModels serialises every model first, then writes each file
// atomically (creating the subfolders), in a fixed order.
func writeModels(out string, models map[string]*onnx.Model) ([]string, error) {
	var written []string
	for _, rel := range []string{MicroASTStyleONNX, MicroASTTransferONNX, CDVGGONNX} {
		m, ok := models[rel]
		if !ok {
			continue
		}
		b, err := m.Marshal()
		if err != nil {
			return written, err
		}
		p := filepath.Join(out, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, fmt.Errorf("output %s: %w", p, unwrapPath(err))
		}
		err = pipeline.WriteFileAtomic(p, func(w io.Writer) error {
			_, err := w.Write(b)
			return err
		})
		if err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}
