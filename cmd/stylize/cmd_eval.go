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

// evals is every evaluation kind (stylize eval KIND ...), each in its
// own cmd_eval_KIND.go file.
func evals() map[string]evalFunc {
	return map[string]evalFunc{"temporal": runEvalTemporal, "seams": runEvalSeams}
}

func evalKinds() string {
	ks := make([]string, 0, 2)
	for k := range evals() {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintf(stderr, "usage: stylize eval KIND [options] ARGS...\nkinds: %s (run \"stylize eval KIND -h\" for its options)\n", evalKinds())
		if len(args) == 0 {
			return usagef("eval: want a kind (%s)", evalKinds())
		}
		return nil
	}
	run, ok := evals()[args[0]]
	if !ok {
		return usagef("eval: unknown kind %q (want %s)", args[0], evalKinds())
	}
	return run(ctx, args[1:], stdout, stderr)
}
