// Command stylize is a batch pipeline for neural style transfer on images,
// video and slippy-map tiles, running ONNX style networks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/stylize/stylize/pipeline/ort"
)

// Exit codes, documented in usage.
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitInterrupt = 130
)

func usage() string {
	var b strings.Builder
	b.WriteString("stylize — neural style transfer for images, video and map tiles\n\nUsage:\n")
	for _, c := range commandList() {
		for _, u := range c.usage {
			fmt.Fprintf(&b, "  %-58s %s\n", u[0], u[1])
		}
	}
	b.WriteString(`
MODEL is a path to an .onnx file or builtin:NAME (default builtin:ink).
Run "stylize COMMAND -h" for a command's options.

Exit status: 0 done, 1 failed, 2 bad usage or configuration, 130 interrupted (Ctrl-C).
`)
	return b.String()
}

// usageError marks errors caused by how stylize was called (exit 2).
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// command is one subcommand; each lives in its own cmd_NAME.go file.
type command struct {
	name  string
	usage [][2]string // synopsis lines and what they do
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commandList is every subcommand, in the order of the usage text.
func commandList() []command {
	return []command{
		{"image", [][2]string{{"stylize image [-m MODEL] -o OUT.(png|jpg|webp) IN", "stylize one picture"}}, runImage},
		{"video", [][2]string{{"stylize video [-m MODEL] -o OUT.mp4 IN", "stylize a video (any ffmpeg input) to MP4, keeping its audio"}}, runVideo},
		{"tiles", [][2]string{{"stylize tiles [-m MODEL] --source SRC -o DST --zoom Z0-Z1", "stylize a slippy-map tile pyramid seamlessly (XYZ, MBTiles, PMTiles, HTTP)"}}, runTiles},
		{"paint", [][2]string{{"stylize paint --style STYLE.jpg -o OUT.(png|jpg|webp) IN", "optimise a picture to a style (Gatys et al.)"}}, runPaint},
		{"run", [][2]string{{"stylize run FILE.yaml [--dry-run] [--jobs N]", "run a batch file of image, video and tile jobs"}}, runBatch},
		{"validate", [][2]string{{"stylize validate FILE.yaml", "check a batch file (every problem with file:line:column)"}}, runValidate},
		{"models", [][2]string{{"stylize models", "list the built-in styles"}, {"stylize models inspect MODEL", "show how a model will be run, and why"},
			{"stylize models import microast|cd-vgg DIR [-o OUT]", "build the MicroAST or cd16x ONNX graphs from an upstream PyTorch checkout (OUT: the model cache)"}}, runModels},
		{"eval", [][2]string{{"stylize eval KIND [options] ARGS...", "measure results (KIND temporal: flicker; seams: tile seams)"}}, runEval},
		{"demo-inputs", [][2]string{{"stylize demo-inputs [--picture IMG] DIR", "make the inputs of configs/demo.yaml (clip, tiles, picture)"}}, runDemoInputs},
		{"version", [][2]string{{"stylize version", "versions of stylize and onnxruntime"}}, runVersion},
	}
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	listen := func() { signal.Notify(sigs, os.Interrupt, syscall.SIGTERM) }
	listen()
	// The CUDA provider replaces Go's signal handlers: take them back.
	ort.AfterGPUSession = func() { signal.Reset(os.Interrupt, syscall.SIGTERM); listen() }
	go func() {
		<-sigs
		cancel()
		// A second Ctrl-C while shutting down exits at once.
		<-sigs
		os.Exit(exitInterrupt)
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil
	cancel()
	if interrupted && code != exitOK {
		code = exitInterrupt
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage())
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commandList() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case ctx.Err() != nil:
			fmt.Fprintln(stderr, "stylize: interrupted")
			return exitInterrupt
		}
		fmt.Fprintln(stderr, "stylize: "+oneLine(err.Error()))
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFailure
	}
	fmt.Fprintf(stderr, "stylize: unknown command %q (run stylize -h)\n", args[0])
	return exitUsage
}

// oneLine keeps error output to one line, as promised.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}
