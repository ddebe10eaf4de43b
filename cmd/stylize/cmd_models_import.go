package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stylize/stylize/pipeline/importer"
	"github.com/stylize/stylize/pipeline/model"
)

// importers are the upstream models `stylize models import` knows.
var importers = map[string]func(dir, out string) ([]string, error){
	"microast": importer.ImportMicroAST,
	"cd-vgg":   importer.ImportCDVGG,
}

// runModelsImport is `stylize models import microast|cd-vgg DIR [-o OUT]`:
// it builds the ONNX graphs from the upstream PyTorch checkpoints in DIR
// and writes them under OUT (default: the user's model cache, where the
// arbitrary-style and perceptual features look).
func runModelsImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("models import", "stylize models import microast|cd-vgg DIR [-o OUT]", "", stderr)
	out := fs.String("o", "", "model folder to write into (default $"+model.ModelsEnv+", else the user cache's stylize/models)")
	pos, err := parseN(fs, args, 2, "microast|cd-vgg and the upstream folder DIR")
	if err != nil {
		return err
	}
	run, ok := importers[pos[0]]
	if !ok {
		return usagef("models import: unknown model %q (want microast or cd-vgg)", pos[0])
	}
	dst := *out
	if dst == "" {
		if dst, err = model.UserModelDir(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("model folder %s: %w", dst, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	files, err := run(pos[1], dst)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(stdout, "wrote", f)
	}
	fmt.Fprintf(stderr, "imported %s from %s in %.2fs\n", pos[0], pos[1], time.Since(start).Seconds())
	return nil
}
