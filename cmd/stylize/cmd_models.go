package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/ort"
)

func init() {
	register(command{name: "models", order: 80, run: runModels, usage: [][2]string{
		{"stylize models", "list the built-in styles"},
		{"stylize models inspect MODEL", "show how a model will be run, and why"},
		{"stylize models import microast|cd-vgg DIR [-o OUT]", "build the MicroAST or cd16x ONNX graphs from an upstream PyTorch checkout (OUT: the model cache)"},
	}})
	register(command{name: "version", order: 90, run: runVersion, usage: [][2]string{
		{"stylize version", "versions of stylize and onnxruntime"},
	}})
}

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
	fs := flag.NewFlagSet("models inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mf := addModelFlags(fs)
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		mf.model = pos[0]
	} else if len(pos) > 1 || mf.model == "" {
		return usagef("models inspect: want one MODEL (a .onnx path or builtin:NAME)")
	}
	opt, err := mf.options()
	if err != nil {
		return err
	}
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
