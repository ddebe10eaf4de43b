package main

import (
	"context"

	"github.com/stylize/stylize/configs"
	"github.com/stylize/stylize/pipeline/option"
	"github.com/stylize/stylize/video"
)

// batchExecutors wires the job kinds of `stylize run` to the same option
// tables and run functions as their commands (kinds.go), with one engine
// cache so a batch loads each model once.
func batchExecutors() (map[configs.Kind]configs.Executor, func()) {
	engines := &configs.Engines{}
	execs := map[configs.Kind]configs.Executor{
		configs.KindImage: &configs.ImageExecutor{Engines: engines},
		configs.KindVideo: &videoExecutor{engines: engines},
		configs.KindTiles: &tilesExecutor{engines: engines},
	}
	return execs, func() { engines.Close() }
}

// jobOptions sets a job's values on a kind's table (Load has checked
// them) and fills the defaults, as a command does after its flags.
func jobOptions(j *configs.Job, t *option.Table) (*option.Table, error) {
	if err := j.Options.Apply(t); err != nil {
		return nil, err
	}
	t.ApplyDefaults()
	return t, nil
}

// videoExecutor runs video jobs as `stylize video` does.
type videoExecutor struct{ engines *configs.Engines }

func (x *videoExecutor) Check(ctx context.Context, j *configs.Job) []error {
	for _, it := range j.Items {
		if err := video.CheckOutput(it.Output); err != nil {
			return []error{&configs.FieldError{Key: "output", Err: err}}
		}
	}
	return nil
}

func (x *videoExecutor) Run(ctx context.Context, t configs.Task) error {
	var k videoOpts
	tab, err := jobOptions(t.Job, k.table())
	if err != nil {
		return err
	}
	k.model = t.Job.ModelOptions()
	k.video.Quiet, k.video.Progress = t.Progress.Quiet, t.Progress.W
	_, err = k.run(ctx, x.engines.Acquire, tab, t.Input, t.Output)
	return err
}

// tilesExecutor runs tiles jobs as `stylize tiles` does.
type tilesExecutor struct{ engines *configs.Engines }

// options are the job's tile options for one source and output.
func (x *tilesExecutor) options(j *configs.Job, source, output string) (*tilesOpts, error) {
	k := newTilesOpts()
	if _, err := jobOptions(j, k.table()); err != nil {
		return nil, err
	}
	k.model = j.ModelOptions()
	return k, k.prepare(source, output)
}

func (x *tilesExecutor) Check(ctx context.Context, j *configs.Job) []error {
	if len(j.Items) == 0 {
		return nil
	}
	_, err := x.options(j, j.Items[0].Input, j.Items[0].Output)
	return option.Leaves(err)
}

func (x *tilesExecutor) Run(ctx context.Context, t configs.Task) error {
	k, err := x.options(t.Job, t.Input, t.Output)
	if err != nil {
		return err
	}
	k.tiles.Quiet, k.tiles.Progress = t.Progress.Quiet, t.Progress.W
	_, err = k.run(ctx, x.engines.Acquire)
	return err
}
