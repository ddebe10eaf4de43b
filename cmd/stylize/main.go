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
	"sort"
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
	sort.SliceStable(commands, func(i, j int) bool { return commands[i].order < commands[j].order })
	for _, c := range commands {
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

// command is one subcommand. Each lives in its own cmd_NAME.go file and
// registers itself with register() from an init function.
type command struct {
	name  string
	order int         // position in the usage text
	usage [][2]string // synopsis lines and what they do
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands []command

func register(c command) { commands = append(commands, c) }

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
	for _, c := range commands {
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

// parseInterleaved parses flags that may come before or after the
// positional arguments ("image in.jpg -o out.png" works too).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
