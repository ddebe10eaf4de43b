package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// evalFunc runs one kind of evaluation with the arguments after its kind.
type evalFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// evals holds the evaluation kinds. Each lives in its own cmd_eval_KIND.go
// file and registers itself with registerEval from an init function.
var evals = map[string]evalFunc{}

// registerEval adds an evaluation kind (stylize eval KIND ...).
func registerEval(kind string, run evalFunc) { evals[kind] = run }

func evalKinds() string {
	ks := make([]string, 0, len(evals))
	for k := range evals {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

func init() {
	register(command{name: "eval", order: 80, run: runEval, usage: [][2]string{
		{"stylize eval KIND [options] ARGS...", "measure results (KIND temporal: flicker; seams: tile seams)"},
	}})
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintf(stderr, "usage: stylize eval KIND [options] ARGS...\nkinds: %s (run \"stylize eval KIND -h\" for its options)\n", evalKinds())
		if len(args) == 0 {
			return usagef("eval: want a kind (%s)", evalKinds())
		}
		return nil
	}
	run, ok := evals[args[0]]
	if !ok {
		return usagef("eval: unknown kind %q (want %s)", args[0], evalKinds())
	}
	return run(ctx, args[1:], stdout, stderr)
}
