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
// its Engines. Close releases them.
type ImageExecutor struct {
	Engines *Engines // nil: its own
}

// Check has nothing to add: the image options are checked by Load
// against the kind's schema.
func (x *ImageExecutor) Check(ctx context.Context, j *Job) []error { return nil }

// Run stylizes one picture.
func (x *ImageExecutor) Run(ctx context.Context, t Task) error {
	if x.Engines == nil {
		x.Engines = &Engines{}
	}
	eng, release, err := x.Engines.Acquire(ctx, t.Job.ModelOptions())
	if err != nil {
		return err
	}
	defer release()
	var po imageio.Options
	pt := po.Table()
	if err := t.Job.Options.Apply(pt); err != nil {
		return err
	}
	pt.ApplyDefaults()
	return imageio.StylizeFile(ctx, eng, t.Input, t.Output, po.Quality)
}

// Close closes the executor's engines.
func (x *ImageExecutor) Close() error {
	if x.Engines == nil {
		return nil
	}
	return x.Engines.Close()
}

// Engines opens model engines on demand, one per distinct set of model
// options, and shares them: the items of a job (and jobs with the same
// options, and executors of every kind given the same Engines) reuse one
// engine instead of loading the model again. An engine nobody holds stays
// open until a different one is opened, then it is closed: a batch of
// many models holds one or two sessions (and their memory), not one per
// model. Safe for concurrent use.
type Engines struct {
	mu      sync.Mutex
	engines map[string]*engineEntry
}

type engineEntry struct {
	once  sync.Once
	eng   *model.Engine
	err   error
	users int // Acquire calls not yet released
}

// Acquire returns the engine for the options, opening it the first time;
// call release when done with it.
func (x *Engines) Acquire(ctx context.Context, o model.Options) (eng *model.Engine, release func(), err error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, nil, fmt.Errorf("model options: %w", err)
	}
	key := string(b)
	x.mu.Lock()
	if x.engines == nil {
		x.engines = map[string]*engineEntry{}
	}
	e := x.engines[key]
	if e == nil {
		for k, idle := range x.engines { // make room: close the engines nobody holds
			if idle.users == 0 {
				if idle.eng != nil {
					idle.eng.Close()
				}
				delete(x.engines, k)
			}
		}
		e = &engineEntry{}
		x.engines[key] = e
	}
	e.users++
	x.mu.Unlock()
	release = func() {
		x.mu.Lock()
		e.users--
		x.mu.Unlock()
	}
	e.once.Do(func() { e.eng, e.err = model.Open(ctx, o) })
	if e.err != nil {
		release()
		return nil, nil, e.err
	}
	return e.eng, release, nil
}

// Close closes every engine; none may be in use.
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
