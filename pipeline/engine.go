package pipeline

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Source produces the items of a run, calling emit for each in order. It
// returns when it has no more items, or with emit's error (the run was
// cancelled or failed downstream).
type Source[I any] func(ctx context.Context, emit func(I) error) error

// Work turns one item into its result. Workers run it concurrently.
type Work[I, O any] func(ctx context.Context, in I) (O, error)

// Sink consumes results one at a time, in the order the source emitted them.
// It runs in one goroutine, so it may own state (the temporal window, an
// encoder, the tile writer) without locks.
type Sink[O any] func(ctx context.Context, out O) error

// Config tunes a run. The zero value is usable.
type Config struct {
	// Workers is the number of concurrent Work calls; 0 means 1.
	Workers int
	// InFlight bounds the items between the source and the sink (queued,
	// being worked on, or waiting to be reordered); 0 means 2·Workers+2.
	// Memory therefore does not grow with the length of the input.
	InFlight int
	// OnError decides what a failed Work call does. It returns nil to skip
	// the item (the sink never sees it, the run goes on) or an error to stop
	// the run. A nil OnError stops the run on the first error.
	OnError func(seq int, err error) error
	// Progress, when set, is advanced once per item consumed or skipped.
	Progress *Progress
}

func (c *Config) applyDefaults() {
	if c.Workers <= 0 {
		c.Workers = 1 // one worker: deterministic, and a model session already uses all cores
	}
	if c.InFlight <= 0 {
		c.InFlight = 2*c.Workers + 2 // enough to keep every worker busy while the sink drains
	}
	if c.InFlight < c.Workers {
		c.InFlight = c.Workers
	}
}

type seqItem[T any] struct {
	seq  int
	val  T
	skip bool
}

// Run drives src → Workers × work → sink (in source order) under one errgroup.
// The first error cancels every stage; Run returns it (context.Canceled when
// the caller's context was cancelled). The source blocks while InFlight items
// are outstanding, so at most InFlight items exist at once.
func Run[I, O any](ctx context.Context, cfg Config, src Source[I], work Work[I, O], sink Sink[O]) error {
	cfg.applyDefaults()
	g, ctx := errgroup.WithContext(ctx)
	r := &run[I, O]{cfg: cfg,
		tokens: make(chan struct{}, cfg.InFlight),
		in:     make(chan seqItem[I], cfg.Workers),
		out:    make(chan seqItem[O], cfg.Workers),
	}
	g.Go(func() error { return r.source(ctx, src) })
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		g.Go(func() error {
			defer wg.Done()
			return r.worker(ctx, work)
		})
	}
	go func() { wg.Wait(); close(r.out) }()
	g.Go(func() error { return r.reorder(ctx, sink) })
	return g.Wait()
}

// run is one Run's channels: tokens bound the items in flight, in feeds
// the workers, out carries their results to the reordering sink.
type run[I, O any] struct {
	cfg    Config
	tokens chan struct{}
	in     chan seqItem[I]
	out    chan seqItem[O]
}

// source numbers the items src emits and hands them to the workers, taking
// a token for each.
func (r *run[I, O]) source(ctx context.Context, src Source[I]) error {
	defer close(r.in)
	seq := 0
	emit := func(v I) error {
		select {
		case r.tokens <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case r.in <- seqItem[I]{seq: seq, val: v}:
			seq++
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return src(ctx, emit)
}

// worker runs work on items until the input closes; OnError decides
// whether a failure skips the item or stops the run.
func (r *run[I, O]) worker(ctx context.Context, work Work[I, O]) error {
	for {
		var it seqItem[I]
		var ok bool
		select {
		case it, ok = <-r.in:
			if !ok {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		res, err := work(ctx, it.val)
		o := seqItem[O]{seq: it.seq, val: res}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if r.cfg.OnError == nil {
				return err
			}
			if err := r.cfg.OnError(it.seq, err); err != nil {
				return err
			}
			o.skip = true
		}
		select {
		case r.out <- o:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// reorder hands results to sink in source order, one at a time, returning
// a token for each.
func (r *run[I, O]) reorder(ctx context.Context, sink Sink[O]) error {
	pending := make(map[int]seqItem[O], r.cfg.InFlight)
	next := 0
	for {
		var o seqItem[O]
		var ok bool
		select {
		case o, ok = <-r.out:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			if len(pending) > 0 {
				return fmt.Errorf("pipeline: %d results never reordered (first missing #%d)", len(pending), next)
			}
			return nil
		}
		pending[o.seq] = o
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if !p.skip {
				if err := sink(ctx, p.val); err != nil {
					return err
				}
			}
			if r.cfg.Progress != nil {
				r.cfg.Progress.Add(1)
			}
			next++
			<-r.tokens
		}
	}
}
