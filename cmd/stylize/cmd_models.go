package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/ort"
)

func runModels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "list" {
		for _, b := range onnx.Builtins() {
			fmt.Fprintf(stdout, "%s%-10s %s\n", onnx.BuiltinPrefix, b.Name, b.About)
		}
		return nil
	}
	if args[0] == "import" {
		return runModelsImport(ctx, args[1:], stdout, stderr)
	}
	if args[0] != "inspect" {
		return usagef("models: unknown subcommand %q (want list, inspect MODEL or import)", args[0])
	}
	fs := newFlags("models inspect", "stylize models inspect [options] MODEL", "", stderr)
	var opt model.Options
	t := bindFlags(fs, &opt.Conventions, opt.Table())
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		_ = t.Set("model", pos[0])
	} else if len(pos) > 1 || !t.IsSet("model") {
		return usagef("models inspect: want one MODEL (a .onnx path or builtin:NAME)")
	}
	if err := flagErrors("models inspect", t.Validate()); err != nil {
		return err
	}
	t.ApplyDefaults()
	eng, err := model.Open(ctx, opt)
	if err != nil {
		return err
	}
	defer eng.Close()
	return model.Describe(stdout, eng, ort.LibraryPath(), ort.Version())
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintln(stdout, "stylize (development build)")
	if err := ort.Init(); err != nil {
		fmt.Fprintln(stdout, "onnxruntime: not loaded:", err)
		return nil
	}
	fmt.Fprintf(stdout, "onnxruntime %s (%s)\n", ort.Version(), ort.LibraryPath())
	return nil
}
