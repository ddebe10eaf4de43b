package configs

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/model"
)

// ImageExecutor runs image jobs like `stylize image`, with engines from
// its Engines (shared by the job's items and by jobs with the same model
// options). Close releases them.
type ImageExecutor struct {
	Engines *Engines // nil: its own
}

// Engines opens one model engine per distinct set of model options, on
// first use, and shares it: executors of every kind can use one Engines so
// a batch loads each model once. Safe for concurrent use.
type Engines struct {
	mu      sync.Mutex
	engines map[string]*engineOnce
}

type engineOnce struct {
	once sync.Once
	eng  *model.Engine
	err  error
}

// Check validates the model options of an image job (no file is touched
// beyond what Load already checked).
func (x *ImageExecutor) Check(ctx context.Context, j *Job) []error {
	if err := j.ModelOptions().Validate(); err != nil {
		return []error{err}
	}
	return nil
}

// Run stylizes one picture.
func (x *ImageExecutor) Run(ctx context.Context, t Task) error {
	if x.Engines == nil {
		x.Engines = &Engines{}
	}
	eng, err := x.Engines.Get(ctx, t.Job.ModelOptions())
	if err != nil {
		return err
	}
	q := 0 // imageio's default JPEG quality
	if t.Job.Quality != nil {
		q = *t.Job.Quality
	}
	return imageio.StylizeFile(ctx, eng, t.Input, t.Output, q)
}

// Close closes the executor's engines.
func (x *ImageExecutor) Close() error {
	if x.Engines == nil {
		return nil
	}
	return x.Engines.Close()
}

// Get returns the engine for the options, opening it the first time.
func (x *Engines) Get(ctx context.Context, o model.Options) (*model.Engine, error) {
	key, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("model options: %w", err)
	}
	x.mu.Lock()
	if x.engines == nil {
		x.engines = map[string]*engineOnce{}
	}
	e := x.engines[string(key)]
	if e == nil {
		e = &engineOnce{}
		x.engines[string(key)] = e
	}
	x.mu.Unlock()
	e.once.Do(func() { e.eng, e.err = model.Open(ctx, o) })
	return e.eng, e.err
}

// Close closes the engines opened.
func (x *Engines) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var first error
	for _, e := range x.engines {
		if e.eng != nil {
			if err := e.eng.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	x.engines = nil
	return first
}
