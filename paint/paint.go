package paint

import (
	"errors"
	"fmt"
	"math"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/ort"
)

// The layers of Gatys et al. on a VGG-like net: Gram losses at relu1_1 …
// relu5_1, the content loss at relu4_2.
var (
	StyleLayers   = []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
	ContentLayers = []string{"relu4_2"}
)

// MinSide is the shortest side the cd16x net accepts: relu5_1 is at 1/16
// and the reflect Pad before it needs two rows.
const MinSide = 32

// Init says where the optimisation starts.
type Init string

// The starting points.
const (
	InitContent Init = "content" // the content picture (default)
	InitNoise   Init = "noise"   // uniform noise 0..1 (Options.Seed)
	InitPicture Init = "picture" // Options.Start, resized to the output size
)

// Options configure Paint. The zero value of each field means its default.
type Options struct {
	Style         []Picture // style pictures; their Gram targets are averaged (required)
	Iterations    int       // L-BFGS iterations per scale and per pass; 0 = 300 (the reference run's count)
	StyleWeight   float64   // weight of each style layer's loss; 0 = 5 (see applyDefaults)
	ContentWeight float64   // weight of the content loss; 0 = 1, negative = none (texture synthesis)
	TVWeight      float64   // total-variation weight; 0 = none
	Size          int       // long side of the output; 0 = 512 (the content is resized to it, style pictures only shrunk to it)
	Init          Init      // "" = InitContent
	Start         *Picture  // the starting picture for InitPicture
	StartFile     string    // where Start comes from (the init option; the caller reads it)
	Scales        int       // coarse-to-fine levels, each half the size of the next; 0 = 1
	Passes        int       // runs chained at full size, each from the last one's result; 0 = 1
	Pool          Pool      // "" = MaxPool
	Threads       int       // onnxruntime intra-op threads; 0 = one per core
	Seed          uint64    // noise seed; 0 = 1
	Net           string    // the perceptual net's file or model folder, for NetPath; "" = search the model folders
	// Terms are extra losses on the picture at full size (a temporal loss,
	// say); Feeds holds the data of their inputs by name.
	Terms []Term
	Feeds map[string]ort.Tensor
	// Progress, when set, is called after every iteration.
	Progress func(Step)
}

// Step reports one iteration.
type Step struct {
	Done, Total int // iterations so far and in all
	Scale, Pass int // the current level (0 = full size) and pass (from 0)
	W, H        int
	Loss        float64
	Evals       int // loss evaluations in this pass so far (≥ iterations: a step that raised the loss is halved)
}

func (o *Options) applyDefaults() {
	// The declared defaults: iterations 300 (the reference run's count),
	// content weight 1, size 512 (the project's measurement size; 300
	// iterations take about a minute there), init content, one scale, max
	// pooling (cd16x was trained with it), seed 1. The style weight is
	// 5, not the reference run's 10: with this normalisation, on stata.jpg at
	// 512 px, 300 iterations, 5 gives the same style distance (la_muse 0.69
	// against 0.70, udnie 0.52 against 0.51) and a closer content (relu4_2
	// distance 3.46 against 4.14, 1.79 against 2.12).
	o.Table().ApplyDefaults()
	orDefault(&o.Passes, 1)
}

// orDefault sets *v to d when it is the zero value.
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// ErrBadPicture means a picture cannot be used (too small, empty).
var ErrBadPicture = errors.New("unusable picture")

func (o *Options) validate(content Picture) error {
	if len(o.Style) == 0 {
		return errors.New("paint: no style picture")
	}
	for i, s := range o.Style {
		if err := checkPicture(s); err != nil {
			return fmt.Errorf("paint: style picture %d: %w", i+1, err)
		}
	}
	if err := checkPicture(content); err != nil {
		return fmt.Errorf("paint: content picture: %w", err)
	}
	switch {
	case o.Iterations < 1:
		return fmt.Errorf("paint: iterations %d: want at least 1", o.Iterations)
	case !(o.StyleWeight > 0) || math.IsInf(o.StyleWeight, 0):
		return fmt.Errorf("paint: style weight %v: want a positive number", o.StyleWeight)
	case math.IsNaN(o.ContentWeight) || math.IsInf(o.ContentWeight, 0):
		return fmt.Errorf("paint: content weight %v: want a number", o.ContentWeight)
	case !(o.TVWeight >= 0) || math.IsInf(o.TVWeight, 0):
		return fmt.Errorf("paint: tv weight %v: want 0 or more", o.TVWeight)
	case o.Scales < 1 || o.Passes < 1:
		return fmt.Errorf("paint: scales %d, passes %d: want at least 1", o.Scales, o.Passes)
	case o.Pool != MaxPool && o.Pool != AvgPool:
		return fmt.Errorf("paint: pool %q: want max or avg", o.Pool)
	case o.Init != InitContent && o.Init != InitNoise && o.Init != InitPicture:
		return fmt.Errorf("paint: init %q: want content, noise or a picture", o.Init)
	case o.Init == InitPicture && o.Start == nil:
		return errors.New("paint: init picture missing")
	}
	if o.Init == InitPicture {
		if err := checkPicture(*o.Start); err != nil {
			return fmt.Errorf("paint: init picture: %w", err)
		}
	}
	if short := o.Size >> (o.Scales - 1); short < MinSide {
		return fmt.Errorf("paint: size %d with %d scales: the coarsest level's long side %d is under %d px", o.Size, o.Scales, short, MinSide)
	}
	return nil
}

func checkPicture(p Picture) error {
	if p.W < 1 || p.H < 1 || len(p.Pix) != 3*p.W*p.H {
		return fmt.Errorf("%w: %d×%d with %d values", ErrBadPicture, p.W, p.H, len(p.Pix))
	}
	if p.W < 2 || p.H < 2 {
		return fmt.Errorf("%w: %d×%d is too small to have a style or content (want at least 2×2, better hundreds of px)", ErrBadPicture, p.W, p.H)
	}
	for _, v := range p.Pix {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: it holds %v values", ErrBadPicture, v)
		}
	}
	return nil
}

// Fit is the size of a w×h picture with its long side scaled to long.
func Fit(w, h, long int) (int, int) {
	if w >= h {
		return long, max(1, int(math.Round(float64(h)*float64(long)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(long)/float64(h)))), long
}

// FitDown is Fit that only shrinks: a picture whose long side is at most
// long keeps its size. Style pictures are never enlarged, since
// interpolation blurs away the fine texture the first layers see: the
// style distance of stata.jpg at 512 px to la_muse.jpg (500×403) is 55 with
// la_muse as it is, 33 with la_muse enlarged to 512 px.
func FitDown(w, h, long int) (int, int) {
	if max(w, h) <= long {
		return w, h
	}
	return Fit(w, h, long)
}

// Resize resizes p (box filter when shrinking, bilinear when enlarging).
func Resize(p Picture, w, h int) Picture {
	return Picture{W: w, H: h, Pix: model.ResizePlanes(p.Pix, p.W, p.H, w, h)}
}
