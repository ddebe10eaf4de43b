package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/option"
)

// Codecs for Options.Codec.
const (
	CodecH264 = "h264"
	CodecH265 = "h265"
)

// Options configure Stylize. The zero value (plus an Engine or a
// Processor) is usable.
type Options struct {
	// Engine is the style model. The default processor stylizes each frame
	// with it; the report takes the model name, device and inference time
	// from it. It may be nil when Processor is set.
	Engine *model.Engine
	// Processor turns decoded frames into output frames; nil means
	// NewPerFrame(Engine). The temporal processors plug in here.
	Processor Processor

	Height   int           // output height in px (even); 0 = the source's
	Start    time.Duration // skip this much of the input
	Duration time.Duration // stylize at most this much; 0 = to the end

	Codec  string // h264 (default) or h265
	CRF    int    // quality, 1..51; 0 = 20 for H.264, 24 for H.265
	Preset string // x264/x265 preset; "" = medium

	Workers  int // concurrent Parallel calls; 0 = 1
	InFlight int // frames decoded but not yet encoded; 0 = pipeline default

	Quiet    bool      // no progress output
	Progress io.Writer // where progress goes; nil = stderr
}

func (o *Options) applyDefaults() {
	o.Table().ApplyDefaults() // codec, preset, workers
	if o.CRF == 0 {
		// Visually near-transparent for stylized frames, whose fine brush
		// texture costs bits; x265's scale sits about 4 higher for the same
		// quality.
		o.CRF = 20
		if o.Codec == CodecH265 {
			o.CRF = 24
		}
	}
	if o.Progress == nil {
		o.Progress = os.Stderr
	}
}

var presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}

// Table declares the video options (stylize video flags, video job keys).
func (o *Options) Table() *option.Table {
	return option.New(
		option.IntVar(&o.Height, "height", "output height in px, even (width follows the aspect ratio); 0 = the source's").
			Check(func(v any) error {
				if h := v.(int); h < 0 || h%2 != 0 || h > 8640 {
					return errors.New("want an even number of pixels from 2 to 8640 (H.264 4:2:0 needs even sizes), or 0 for the source's")
				}
				return nil
			}),
		timeDecl(&o.Start, "start", "start at this time: seconds, 1m30s or [HH:]MM:SS", "want 0 or more", func(d time.Duration) bool { return d >= 0 }),
		timeDecl(&o.Duration, "duration", "stylize at most this long (same forms as --start)", "want more than 0", func(d time.Duration) bool { return d > 0 }),
		option.IntVar(&o.CRF, "crf", "encoder quality 1..51, lower is better").DefaultText("20 for h264, 24 for h265").
			Check(func(v any) error {
				if n := v.(int); n < 0 || n > 51 {
					return errors.New("want 1..51 (lower is better), or 0 for the default")
				}
				return nil
			}),
		// medium: x264's own default.
		option.StringVar(&o.Preset, "preset", "x264/x265 preset, ultrafast..veryslow").Default("medium").OneOf(presets...),
		option.StringVar(&o.Codec, "codec", "video codec: h264 or h265").Default(CodecH264).OneOf(CodecH264, CodecH265),
		// One worker whose session uses every core: measured faster than one
		// single-threaded session per core on 2 cores, and deterministic.
		option.IntVar(&o.Workers, "workers", "frames stylized at once (each worker shares the model session; see --threads)").Default(1).Range(1, 256, ""),
	)
}

// timeDecl declares a time option (video.ParseTime forms).
func timeDecl(p *time.Duration, key, help, want string, ok func(time.Duration) bool) *option.Decl {
	return option.Func(option.String, key, help,
		func() any { return p.String() },
		func(v any) (err error) { *p, err = ParseTime(v.(string)); return err },
		func() bool { return *p == 0 }).
		Check(func(any) error {
			if !ok(*p) {
				return errors.New(want)
			}
			return nil
		})
}

// Validate checks the options without touching any file. It returns
// every problem; those of an option are *option.Error naming its key.
func (o Options) Validate() error {
	var errs []error
	if o.Engine == nil && o.Processor == nil {
		errs = append(errs, errors.New("video: no model engine and no processor"))
	}
	t := o.Table()
	t.MarkNonZero()
	return errors.Join(append(errs, t.Validate())...)
}

// CheckOutput refuses output names that would not be an MP4.
func CheckOutput(path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mp4", ".m4v", ".mov":
		return nil
	}
	return fmt.Errorf("output %s: want an .mp4 file", path)
}

// Report summarises a run (written by --report as JSON).
type Report struct {
	Input            string  `json:"input"`
	Output           string  `json:"output"`
	Frames           int     `json:"frames"`
	Seconds          float64 `json:"seconds"`             // wall time of the run
	FPS              float64 `json:"fps"`                 // frames per wall second
	VideoSeconds     float64 `json:"video_seconds"`       // duration of the output video
	Model            string  `json:"model,omitempty"`     // model name as given
	Device           string  `json:"device,omitempty"`    // execution provider used
	Width            int     `json:"width"`               // output frame size
	Height           int     `json:"height"`              //
	OutputBytes      int64   `json:"output_bytes"`        // size of the MP4
	InferenceSeconds float64 `json:"inference_seconds"`   // Σ model run time during the run
	Processor        string  `json:"processor,omitempty"` // what the processor did (temporal mode, resets, …)
	Workers          int     `json:"workers"`
	Codec            string  `json:"codec"`
	Audio            int     `json:"audio_streams"`
}

// item is one frame between the parallel and the ordered step.
type item struct {
	in      *pipeline.Frame
	partial any
}

// Stylize reads the video at in (any file ffmpeg reads), runs each frame
// through the processor and writes an MP4 to out, with the source's audio,
// frame rate, duration, orientation and aspect. out appears only when
// everything succeeded; on error or cancellation ffmpeg is stopped and
// nothing is left behind.
func Stylize(ctx context.Context, in, out string, o Options) (*Report, error) {
	if err := preflight(in, out, &o); err != nil {
		return nil, err
	}
	start := time.Now()
	af, err := pipeline.CreateAtomic(out)
	if err != nil {
		return nil, err
	}
	defer af.Abort()

	info, err := Probe(ctx, in)
	if err != nil {
		return nil, err
	}
	p, err := newPlan(info, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	proc := o.Processor
	if proc == nil {
		proc = NewPerFrame(o.Engine)
	}
	t0 := inferenceTimes(o.Engine, proc)

	// The encoder lives outside the pipeline's errgroup: it must outlive
	// Run to finish the file, and die with the run when it fails.
	encCtx, cancelEnc := context.WithCancel(ctx)
	defer cancelEnc()
	enc, err := startEncoder(encCtx, info, p, o, af.TempPath(), out)
	if err != nil {
		return nil, err
	}
	defer enc.Abort()

	pool := pipeline.NewFramePool(p.W, p.H)
	prog := pipeline.NewProgress(pipeline.ProgressOptions{
		Label: "stylize " + filepath.Base(in), Unit: "frames", Total: int64(p.Frames),
		Quiet: o.Quiet, W: o.Progress,
	})
	defer prog.Finish() // also after a failure: the last line says how far it got
	frames := 0
	src := decodeSource(in, info, p, pool)
	work := func(ctx context.Context, f *pipeline.Frame) (item, error) {
		r, err := proc.Parallel(ctx, f)
		if err != nil {
			return item{}, fmt.Errorf("stylize %s: %w", in, err)
		}
		return item{in: f, partial: r}, nil
	}
	sink := func(ctx context.Context, it item) error {
		f, err := proc.Ordered(ctx, it.in, it.partial)
		if err != nil {
			return fmt.Errorf("stylize %s: frame %d: %w", in, frames+1, err)
		}
		if err := enc.Write(f); err != nil {
			return err
		}
		pool.Put(it.in)
		frames++
		return nil
	}
	err = pipeline.Run(ctx, pipeline.Config{Workers: o.Workers, InFlight: o.InFlight, Progress: prog},
		src, work, sink)
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := af.Commit(); err != nil {
		return nil, err
	}
	return o.report(in, out, start, frames, p, proc, t0), nil
}

// preflight validates the options (then fills the defaults) and checks
// the output name, the input file and the tools before anything starts.
func preflight(in, out string, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o.applyDefaults()
	if err := CheckOutput(out); err != nil {
		return err
	}
	if !strings.Contains(in, "://") {
		if err := checkInput(in); err != nil {
			return err
		}
	}
	return lookTools()
}

// decodeSource is the pipeline's source: the decoded frames of in.
func decodeSource(in string, info *Info, p *plan, pool *pipeline.FramePool) func(context.Context, func(*pipeline.Frame) error) error {
	return func(ctx context.Context, emit func(*pipeline.Frame) error) error {
		dec, err := startDecoder(ctx, info, p)
		if err != nil {
			return err
		}
		defer dec.stop()
		for {
			f := pool.Get()
			err := dec.Read(f)
			if err == io.EOF {
				pool.Put(f)
				break
			}
			if err != nil {
				return err
			}
			if err := emit(f); err != nil {
				return err
			}
		}
		return checkCount(in, dec.frames, p.Frames, &dec.stderr)
	}
}

// modelTimes are the model time the engine and the processor had
// spent before the run (the report counts the difference).
type modelTimes struct{ engine, proc time.Duration }

func inferenceTimes(eng *model.Engine, proc Processor) modelTimes {
	var t modelTimes
	if eng != nil {
		t.engine, _ = eng.InferenceTime()
	}
	if it, ok := proc.(interface{ InferenceTime() time.Duration }); ok {
		t.proc = it.InferenceTime()
	}
	return t
}

// report summarises a finished run.
func (o *Options) report(in, out string, start time.Time, frames int, p *plan, proc Processor, t0 modelTimes) *Report {
	r := &Report{
		Input: in, Output: out, Frames: frames, Seconds: time.Since(start).Seconds(),
		VideoSeconds: float64(frames) / p.FPS.Float(), Width: p.W, Height: p.H,
		Workers: o.Workers, Codec: o.Codec, Audio: len(p.Audio),
	}
	if r.Seconds > 0 {
		r.FPS = float64(frames) / r.Seconds
	}
	if st, err := os.Stat(out); err == nil {
		r.OutputBytes = st.Size()
	}
	if o.Engine != nil {
		t, _ := o.Engine.InferenceTime()
		r.InferenceSeconds = (t - t0.engine).Seconds()
		r.Model, r.Device = o.Engine.Name(), o.Engine.Device()
	}
	// Processors that run models of their own (temporal's split halves)
	// report that time and a summary.
	if it, ok := proc.(interface{ InferenceTime() time.Duration }); ok {
		r.InferenceSeconds += (it.InferenceTime() - t0.proc).Seconds()
	}
	if s, ok := proc.(interface{ Summary() string }); ok {
		r.Processor = s.Summary()
	}
	return r
}

// checkCount fails a run whose decoder delivered clearly fewer frames than
// the probe promised: a truncated or corrupt file that ffmpeg decoded as
// far as it could. A small shortfall is normal (durations are estimates for
// some containers and for VFR input).
func checkCount(in string, got, want int, stderr *capBuffer) error {
	if got == 0 {
		msg := stderr.String()
		if msg == "" {
			msg = "ffmpeg produced no frames"
		}
		return fmt.Errorf("decode %s: no frames decoded: %s", in, msg)
	}
	if slack := max(2, want/50); want-got > slack {
		msg := stderr.String()
		if msg != "" {
			msg = ": " + msg
		}
		return fmt.Errorf("decode %s: truncated or corrupt input: decoded %d of %d frames%s", in, got, want, msg)
	}
	return nil
}
