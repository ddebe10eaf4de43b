package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/stylize/stylize/configs"
	"github.com/stylize/stylize/configs/demo"
)

const batchHelp = `
A batch file holds defaults:, models:, fail_fast:, report: and jobs:. Keys
are the command flags' names with underscores (--max-side is max_side);
relative paths are resolved against the YAML file's folder. Every problem
is reported before anything runs (exit 2). A re-run skips outputs already
made from the same inputs and options (state file beside the report).
See configs/*.yaml for examples.
`

// loadBatch reads and validates a batch file with the kinds this build
// runs. Problems are printed one per line; the error says how many.
func loadBatch(ctx context.Context, file string, stderr io.Writer, execs map[configs.Kind]configs.Executor) (*configs.Batch, error) {
	b, err := configs.Load(ctx, file, configs.LoadOptions{Executors: execs, Schemas: schemas()})
	var probs configs.Problems
	if errors.As(err, &probs) {
		for _, p := range probs {
			fmt.Fprintln(stderr, p.Error())
		}
		noun := "problems"
		if len(probs) == 1 {
			noun = "problem"
		}
		return nil, usagef("%s: %d %s, nothing was run", file, len(probs), noun)
	}
	return b, err
}

func runBatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "stylize run FILE.yaml [--dry-run] [--jobs N] [--quiet]", batchHelp, stderr)
	dry := fs.Bool("dry-run", false, "print the expanded plan (jobs, inputs → outputs, what is already done) and stop")
	jobs := fs.Int("jobs", 1, "jobs to run at once")
	quiet := fs.Bool("quiet", false, "no progress output")
	pos, err := parseN(fs, args, 1, "one batch file")
	if err != nil {
		return err
	}
	if *jobs < 1 || *jobs > 64 {
		return usagef("run: --jobs %d: want 1..64", *jobs)
	}
	execs, closeExecs := batchExecutors()
	defer closeExecs()
	b, err := loadBatch(ctx, pos[0], stderr, execs)
	if err != nil {
		return err
	}
	if *dry {
		b.Plan(stdout)
		return nil
	}
	rep, err := b.Run(ctx, configs.RunOptions{Executors: execs, Jobs: *jobs, Stderr: stderr, Quiet: *quiet})
	if rep != nil {
		fmt.Fprintf(stdout, "%s: %d done, %d skipped, %d failed, %d cancelled; report %s\n",
			pos[0], rep.Done, rep.Skipped, rep.Failed, rep.Cancelled, b.Report)
	}
	return err
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "stylize validate FILE.yaml", batchHelp, stderr)
	pos, err := parseN(fs, args, 1, "one batch file")
	if err != nil {
		return err
	}
	execs, closeExecs := batchExecutors()
	defer closeExecs()
	b, err := loadBatch(ctx, pos[0], stderr, execs)
	if err != nil {
		return err
	}
	items := 0
	for _, j := range b.Jobs {
		items += len(j.Items)
	}
	fmt.Fprintf(stdout, "%s: ok, %d jobs, %d outputs\n", pos[0], len(b.Jobs), items)
	return nil
}

func runDemoInputs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo-inputs", "stylize demo-inputs [--picture IMG] DIR", "", stderr)
	pic := fs.String("picture", "cmd/stylize/testdata/sample.jpg", "picture to copy and cut into the demo's tile pyramid")
	pos, err := parseN(fs, args, 1, "one output folder")
	if err != nil {
		return err
	}
	if err := demo.Inputs(ctx, pos[0], demo.Options{Picture: *pic}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo inputs in %s: %s, %s, %s/\n", pos[0], demo.Picture, demo.Clip, demo.Tiles)
	return nil
}
