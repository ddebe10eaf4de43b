package video

import (
	"context"
	"fmt"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
)

// Processor turns decoded frames into output frames in two steps: Parallel
// runs concurrently (any order, several frames at once); Ordered runs on each
// frame's result one at a time, in frame order (temporal state lives there).
//
// in is owned by the pipeline: it is valid until Ordered returns for that
// frame and is recycled afterwards, so neither step may keep it (copy what
// must outlive the call). The frame Ordered returns is handed to the
// encoder and must not be changed afterwards.
type Processor interface {
	Parallel(ctx context.Context, in *pipeline.Frame) (any, error)
	Ordered(ctx context.Context, in *pipeline.Frame, partial any) (*pipeline.Frame, error)
}

// Stylizer is what PerFrame needs of a model (a *model.Engine, or a fake in
// tests).
type Stylizer interface {
	Stylize(ctx context.Context, f *pipeline.Frame) (*pipeline.Frame, error)
}

var _ Stylizer = (*model.Engine)(nil)

// PerFrame stylizes every frame on its own, with no temporal state: Parallel
// runs the model, Ordered passes its result through.
type PerFrame struct {
	S Stylizer
}

// NewPerFrame returns the per-frame processor for s.
func NewPerFrame(s Stylizer) *PerFrame { return &PerFrame{S: s} }

// Parallel stylizes in.
func (p *PerFrame) Parallel(ctx context.Context, in *pipeline.Frame) (any, error) {
	return p.S.Stylize(ctx, in)
}

// Ordered returns the stylized frame that Parallel made.
func (p *PerFrame) Ordered(ctx context.Context, in *pipeline.Frame, partial any) (*pipeline.Frame, error) {
	f, ok := partial.(*pipeline.Frame)
	if !ok || f == nil {
		return nil, fmt.Errorf("video: per-frame processor got %T from Parallel, want *pipeline.Frame", partial)
	}
	return f, nil
}
