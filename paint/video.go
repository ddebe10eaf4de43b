package paint

import (
	"context"
	"fmt"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/option"
	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/temporal"
)

// VideoOptions configure a VideoProcessor: the painting options of every
// frame (Size, Init and Start are the processor's: each frame is painted
// at its own size) and the temporal loss of Ruder et al. 2016.
type VideoOptions struct {
	Options
	// FrameIterations is the iteration count of a frame that starts from
	// the previous painted frame (every frame after a shot's first);
	// 0 = a third of Iterations, at least 1.
	FrameIterations int
	// TemporalWeight weighs the temporal loss (MaskedMSE to the warped
	// previous painted frame where the flow is reliable); 0 =
	// DefaultTemporalWeight.
	TemporalWeight float64
}

// Table declares the options of video --method paint: Options.Table
// without size and init (the frame's size; the warped previous frame) and
// the temporal keys.
func (o *VideoOptions) Table() *option.Table {
	return option.New(append(o.Options.Table().Without("size", "init"),
		option.IntVar(&o.FrameIterations, "frame_iterations", "iterations of each frame after a shot's first (which runs --iterations), from the warped previous painted frame (paint method)").
			DefaultText("a third of --iterations").Range(1, 100000, ""),
		option.FloatVar(&o.TemporalWeight, "paint_temporal_weight", "weight of the temporal loss to the warped previous painted frame (paint method)").
			Default(DefaultTemporalWeight).Check(nonNegative),
	)...)
}

// DefaultTemporalWeight is VideoOptions.TemporalWeight's default. The loss
// is 0 where a frame starts (from the warped previous one) and holds back
// the drift of its iterations: on a 6-frame 128×96 pan of stata.jpg with
// la_muse, 30 + 10 iterations, E_warp is 0.00015 with weights up to 1e4
// (the warm start alone), 0.00010 at 1e6, 0.00009 at 3e6, with the style
// distance unchanged (6.23–6.26); 1e7 raises it to 6.55, 1e8 to 6.94.
const DefaultTemporalWeight = 1e6

func (o *VideoOptions) applyDefaults() {
	o.Table().ApplyDefaults()
	o.Options.applyDefaults()
	// A warm start from the warped previous frame is most of the way
	// there: a third of the iterations refines it (Ruder et al. use a
	// fraction of the first frame's count too).
	orDefault(&o.FrameIterations, max(1, o.Iterations/3))
}

// Cut detection, with temporal.Processor's thresholds: colours apart by
// more than cutDistance and a flow explaining under confirmCoverage of
// the frame, or colours 4× as far apart, or under minCoverage reliable.
const (
	cutDistance     = 0.2
	hardCut         = 4 * cutDistance
	confirmCoverage = 0.3
	minCoverage     = 0.25
)

// VideoProcessor paints every frame of a video (video.Processor): a shot's
// first frame from its content with Options.Iterations, each later frame
// from the previous painted frame warped by the flow, with the temporal
// loss and FrameIterations iterations.
type VideoProcessor struct {
	net *Net
	o   VideoOptions

	prev *frameState // the previous frame; nil at the start
	// Frames, Cuts count the frames painted and the shots restarted.
	Frames, Restarts int
}

// frameState is what the next frame needs of one.
type frameState struct {
	pyr  *temporal.Pyramid
	hist temporal.Histogram
	out  Picture
}

// framePrep is Parallel's per-frame work.
type framePrep struct {
	pyr  *temporal.Pyramid
	hist temporal.Histogram
}

// NewVideoProcessor returns the painting processor on net.
func NewVideoProcessor(net *Net, o VideoOptions) (*VideoProcessor, error) {
	o.applyDefaults()
	t := o.Table()
	t.MarkNonZero()
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("paint: %w", err)
	}
	return &VideoProcessor{net: net, o: o}, nil
}

// Parallel prepares the frame for the flow.
func (p *VideoProcessor) Parallel(ctx context.Context, in *pipeline.Frame) (any, error) {
	return &framePrep{pyr: temporal.NewPyramid(temporal.GrayOf(in), temporal.FlowOptions{}), hist: temporal.HistogramOf(in)}, nil
}

// Ordered paints the frame.
func (p *VideoProcessor) Ordered(ctx context.Context, in *pipeline.Frame, partial any) (*pipeline.Frame, error) {
	fp, ok := partial.(*framePrep)
	if !ok {
		return nil, fmt.Errorf("paint: video processor got %T from Parallel", partial)
	}
	content := FromFrame(in)
	o := p.o.Options
	o.Size = max(in.W, in.H)
	o.Init, o.Start = InitContent, nil
	warped, mask, err := p.link(fp, in)
	if err != nil {
		return nil, err
	}
	if warped != nil {
		o.Init, o.Start = InitPicture, warped
		o.Iterations, o.Scales, o.Passes = p.o.FrameIterations, 1, 1
		o.Terms = append(append([]Term(nil), o.Terms...), MaskedMSE{Weight: p.o.TemporalWeight, Target: "prev_warped", Mask: "prev_mask"})
		o.Feeds = map[string]ort.Tensor{
			"prev_warped": {Shape: []int64{1, 3, int64(in.H), int64(in.W)}, F32: warped.Pix},
			"prev_mask":   {Shape: []int64{1, 1, int64(in.H), int64(in.W)}, F32: mask},
		}
	} else {
		p.Restarts++
	}
	out, err := Paint(ctx, p.net, content, o)
	if err != nil {
		return nil, fmt.Errorf("frame %d: %w", p.Frames+1, err)
	}
	p.Frames++
	p.prev = &frameState{pyr: fp.pyr, hist: fp.hist, out: out}
	return out.Frame(), nil
}

// link returns the previous painted frame warped onto in and the mask of
// reliable flow, or nil at the start, a size change or a scene cut.
func (p *VideoProcessor) link(fp *framePrep, in *pipeline.Frame) (*Picture, []float32, error) {
	prev := p.prev
	if prev == nil || prev.out.W != in.W || prev.out.H != in.H {
		return nil, nil, nil
	}
	dist := prev.hist.Distance(fp.hist)
	if dist > hardCut {
		return nil, nil, nil
	}
	bwd, err := temporal.EstimateFlow(fp.pyr, prev.pyr) // in → prev, on in's grid
	if err != nil {
		return nil, nil, err
	}
	fwd, err := temporal.EstimateFlow(prev.pyr, fp.pyr)
	if err != nil {
		return nil, nil, err
	}
	mask := temporal.Reliable(bwd, fwd)
	if cov := temporal.Coverage(mask); cov < minCoverage || dist > cutDistance && cov < confirmCoverage {
		return nil, nil, nil
	}
	// Bicubic: a bilinear warp blurs the painted strokes, which the style
	// layers punish: on a 256×144 BBB frame painted to a loss of 114,
	// shifted by (0.5, 0.3) px, one iteration later the loss is 3.1e4
	// after a bilinear warp, 5.6e3 after a bicubic one.
	w := Picture{W: in.W, H: in.H, Pix: temporal.WarpPlanesCubic(prev.out.Pix, 3, bwd)}
	return &w, mask, nil
}
