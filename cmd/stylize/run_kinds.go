package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/stylize/stylize/configs"
	"github.com/stylize/stylize/video"
)

// batchKinds are the job kinds this build runs, each registered by the
// file that wires it (run_kinds.go, run_tiles.go) with the constructor of
// its executor. A kind not registered is reported by validate as not
// available in this build.
var batchKinds = map[configs.Kind]func(*configs.Engines) configs.Executor{
	configs.KindImage: func(e *configs.Engines) configs.Executor { return &configs.ImageExecutor{Engines: e} },
	configs.KindVideo: func(e *configs.Engines) configs.Executor { return &videoExecutor{engines: e} },
}

// batchExecutors wires the job kinds of `stylize run` to the packages that
// do the work, with one engine cache so a batch loads each model once.
// Each executor maps a job's keys to the same options its command builds
// from the flags of the same names.
func batchExecutors() (map[configs.Kind]configs.Executor, func()) {
	engines := &configs.Engines{}
	execs := map[configs.Kind]configs.Executor{}
	for k, mk := range batchKinds {
		execs[k] = mk(engines)
	}
	return execs, func() { engines.Close() }
}

// videoExecutor runs video jobs as `stylize video` does.
type videoExecutor struct{ engines *configs.Engines }

// options builds video.Options from the job, as runVideo does from flags.
func (x *videoExecutor) options(j *configs.Job) (video.Options, []error) {
	var errs []error
	vo := video.Options{Codec: j.Codec, Preset: j.Preset}
	if j.Height != nil {
		vo.Height = *j.Height
	}
	if j.CRF != nil {
		vo.CRF = *j.CRF
	}
	if j.Workers != nil {
		vo.Workers = *j.Workers
	}
	var err error
	if vo.Start, err = video.ParseTime(j.Start); err != nil {
		errs = append(errs, &configs.FieldError{Key: "start", Err: err})
	}
	if vo.Duration, err = video.ParseTime(j.Duration); err != nil {
		errs = append(errs, &configs.FieldError{Key: "duration", Err: err})
	} else if j.Duration != "" && vo.Duration == 0 {
		errs = append(errs, &configs.FieldError{Key: "duration", Err: fmt.Errorf("%s: want more than 0", j.Duration)})
	}
	return vo, errs
}

func (x *videoExecutor) temporal(j *configs.Job) (*temporalMode, float64, error) {
	w := -1.0
	if j.TemporalWeight != nil {
		w = *j.TemporalWeight
		if w < 0 || w > 1 {
			return nil, 0, &configs.FieldError{Key: "temporal_weight", Err: fmt.Errorf("%g: want 0..1", w)}
		}
	}
	tm, err := pickTemporal(j.Temporal, w)
	if err != nil {
		return nil, 0, &configs.FieldError{Key: "temporal", Err: err}
	}
	return tm, max(w, 0), nil
}

func (x *videoExecutor) Check(ctx context.Context, j *configs.Job) []error {
	vo, errs := x.options(j)
	vo.Processor = video.NewPerFrame(nil) // placeholder so Validate can run before the model opens
	if err := vo.Validate(); err != nil {
		errs = append(errs, keyed(err, "height", "crf", "preset", "codec", "workers"))
	}
	if _, _, err := x.temporal(j); err != nil {
		errs = append(errs, err)
	}
	for _, it := range j.Items {
		if err := video.CheckOutput(it.Output); err != nil {
			return append(errs, &configs.FieldError{Key: "output", Err: err})
		}
	}
	if err := j.ModelOptions().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (x *videoExecutor) Run(ctx context.Context, t configs.Task) error {
	vo, errs := x.options(t.Job)
	if len(errs) > 0 {
		return errs[0]
	}
	eng, release, err := x.engines.Acquire(ctx, t.Job.ModelOptions())
	if err != nil {
		return err
	}
	defer release()
	vo.Engine, vo.Quiet, vo.Progress = eng, t.Progress.Quiet, t.Progress.W
	tm, weight, err := x.temporal(t.Job)
	if err != nil {
		return err
	}
	if tm != nil {
		if vo.Processor, err = tm.open(ctx, eng, weight); err != nil {
			return err
		}
		if c, ok := vo.Processor.(io.Closer); ok {
			defer c.Close()
		}
	}
	_, err = video.Stylize(ctx, t.Input, t.Output, vo)
	return err
}

// keyed points an options error at its key when the message starts with
// one of keys (the packages name the option first: "preset "x": …").
func keyed(err error, keys ...string) error {
	first, _, _ := strings.Cut(err.Error(), " ")
	for _, k := range keys {
		if first == k {
			return &configs.FieldError{Key: k, Err: err}
		}
	}
	return err
}
