package paint

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/ort"
)

// TileEngine paints map-tile metatile canvases: it has the methods of
// tiles.Engine and tiles.Placer (without importing tiles). The style's Gram
// targets are computed once, from the style pictures shrunk to
// Options.Size long side, and reused for every metatile of every zoom (they
// do not depend on the content). Each canvas is painted at its own size,
// one level (Scales 1), from the canvas itself, except where earlier
// metatiles of the zoom painted the pixels: there the canvas starts from
// their paint, and in its margin an anchor term (MaskedMSE of Anchor
// weight) holds it to their cores, so that its core continues their paint
// across the cut; the run blends the overlaps (Blends). Neighbours come
// first when the tiles run has one worker (its metatiles go row-major);
// with more, a metatile may start before its neighbours are done and is
// then painted from its own content there. The engine keeps the painted
// canvases of the current and the previous metatile row of a zoom (for a
// row of 1024-px metatiles about 15 MB each). East–west wrapping at the
// antimeridian is not followed: the metatiles there are painted from the
// content.
type TileEngine struct {
	net    *Net
	o      Options
	grams  map[string][]float32
	radius int
	// Label names the engine in reports and in the output's description
	// (default "paint " + the net's file name; the CLI sets the style's).
	Label string
	// Anchor is the weight of the term holding a canvas's margin to the
	// cores painted before it; 0 = DefaultAnchor, negative = none (the
	// canvas is only started from them).
	Anchor float64

	mu      sync.Mutex
	painted []paintedCanvas // this zoom's canvases that later ones may overlap
	ns      time.Duration
	runs    int64
}

// DefaultAnchor is TileEngine.Anchor's default. The anchor's loss is a mean
// over the canvas, the style's a sum of Gram distances with a far larger
// gradient per pixel: with la_muse at 40 iterations on 192-px canvases the
// margin ends a mean 18/255 from the neighbour's core painted under it
// with no anchor (as far as painting it alone), 17 at 1e4, 1.0 at 1e6 and
// 0.08 at 1e8 (TestTileEngineAnchor checks it on 96-px canvases at 15
// iterations: 0.16 against 11.6 painted alone).
const DefaultAnchor = 1e8

// paintedCanvas is a painted metatile canvas (planar 0..1) at global pixel
// (x, y) of zoom z, with margin px of context around its core.
type paintedCanvas struct {
	z, x, y, w, h, margin int
	pix                   []float32
}

// NewTileEngine checks o and computes the style's Gram targets. o.Size is
// the long side the style pictures are shrunk to (the tiles' working
// scale); Scales must be 1 and Init content or noise.
func NewTileEngine(net *Net, o Options) (*TileEngine, error) {
	o.applyDefaults()
	if o.Scales != 1 || o.Init == InitPicture {
		return nil, fmt.Errorf("paint tiles: scales %d, init %s: want one scale and init content or noise", o.Scales, o.Init)
	}
	probe := Picture{W: MinSide, H: MinSide, Pix: make([]float32, 3*MinSide*MinSide)}
	if err := o.validate(probe); err != nil {
		return nil, err
	}
	ex, err := net.NewExtractor(o.Pool, ort.SessionOptions{Threads: o.Threads})
	if err != nil {
		return nil, err
	}
	defer ex.Close()
	p := &painter{net: net, ex: ex, o: o}
	grams, err := p.styleGrams(o.Size)
	if err != nil {
		return nil, err
	}
	return &TileEngine{net: net, o: o, grams: grams, radius: net.model.ReceptiveRadius()}, nil
}

// Name names the engine in reports.
func (e *TileEngine) Name() string {
	if e.Label != "" {
		return e.Label
	}
	return "paint " + filepath.Base(e.net.name)
}

// Device is where the optimisation runs.
func (e *TileEngine) Device() string { return "cpu" }

// Conventions: planar RGB 0..255 in and out, any size.
func (e *TileEngine) Conventions() model.Conventions {
	return model.Conventions{Layout: model.NCHW, InputRange: model.Range255, OutputRange: model.Range255, SizeMultiple: 1}
}

// HasInstanceNorm is false: the losses are Gram matrices, not normalised
// activations.
func (e *TileEngine) HasInstanceNorm() bool { return false }

// ReceptiveRadius is the perceptual net's, to its deepest output (relu5_1):
// a pixel's loss gradient reaches that far.
func (e *TileEngine) ReceptiveRadius() int { return e.radius }

// InferenceTime is the time spent painting and the number of canvases.
func (e *TileEngine) InferenceTime() (time.Duration, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ns, e.runs
}

// Blends asks the tiles run to blend neighbouring metatiles by default
// (half the margin): with the margin held to the neighbours' cores the two
// paints agree in the overlap, and the blend hides what is left. On Berlin
// z13 (3×2 tiles of 128 px, la_muse, 40 iterations, margin 32) the seam
// ratio is 0.89 with a 16-px blend, 1.17 without, against the source's
// 0.87 and 1.18 for tiles painted alone.
func (e *TileEngine) Blends() bool { return true }

// SharedStats: painting normalises nothing.
func (e *TileEngine) SharedStats() (model.Normalizer, error) {
	return nil, fmt.Errorf("paint: %w (no normalisation statistics: painting does not need them)", model.ErrNoSharedStats)
}

// StylizePlanes paints a canvas on its own (no neighbours).
func (e *TileEngine) StylizePlanes(ctx context.Context, planes []float32, w, h int) ([]float32, error) {
	return e.paint(ctx, planes, w, h, nil)
}

// StylizeAt paints the canvas at global pixel (x, y) of zoom z, starting
// from the paint of the canvases before it where they overlap it.
func (e *TileEngine) StylizeAt(ctx context.Context, z, x, y, margin int, planes []float32, w, h int) ([]float32, error) {
	at := &paintedCanvas{z: z, x: x, y: y, w: w, h: h, margin: margin}
	return e.paint(ctx, planes, w, h, at)
}

// paint paints a 0..255 canvas; at, when set, places it among the others.
func (e *TileEngine) paint(ctx context.Context, planes []float32, w, h int, at *paintedCanvas) ([]float32, error) {
	if len(planes) != 3*w*h {
		return nil, fmt.Errorf("paint: canvas %d×%d with %d values", w, h, len(planes))
	}
	start := time.Now()
	content := Picture{W: w, H: h, Pix: make([]float32, len(planes))}
	for i, v := range planes {
		content.Pix[i] = v / 255
	}
	o := e.o
	o.Size = max(w, h)
	if at != nil {
		if init, mask := e.neighbours(at, content); init != nil {
			o.Init, o.Start = InitPicture, init
			if e.anchor() > 0 {
				o.Terms = append(o.Terms[:len(o.Terms):len(o.Terms)], MaskedMSE{Weight: e.anchor(), Target: "anchor_target", Mask: "anchor_mask"})
				o.Feeds = map[string]ort.Tensor{
					"anchor_target": {Shape: []int64{1, 3, int64(h), int64(w)}, F32: init.Pix},
					"anchor_mask":   {Shape: []int64{1, 1, int64(h), int64(w)}, F32: mask},
				}
				for k, v := range e.o.Feeds {
					o.Feeds[k] = v
				}
			}
		}
	}
	out, err := paintWith(ctx, e.net, content, o, e.grams)
	if err != nil {
		return nil, err
	}
	if out.W != w || out.H != h {
		return nil, errors.New("paint: the painted canvas changed size") // programmer error: Size is the canvas's
	}
	res := make([]float32, len(out.Pix))
	for i, v := range out.Pix {
		res[i] = 255 * min(1, max(0, v))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ns += time.Since(start)
	e.runs++
	if at != nil {
		at.pix = out.Pix
		e.painted = append(e.painted, *at)
	}
	return res, nil
}

func (e *TileEngine) anchor() float64 {
	if e.Anchor == 0 {
		return DefaultAnchor
	}
	return e.Anchor
}

// neighbours forgets the canvases no later one can overlap (another zoom,
// or rows wholly above this one: metatiles go row-major) and returns the
// starting picture of the canvas at: content, overwritten with what earlier
// canvases painted there (their cores over their margins), and the mask of
// the pixels their cores cover; nil when none overlaps.
func (e *TileEngine) neighbours(at *paintedCanvas, content Picture) (*Picture, []float32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	keep := e.painted[:0]
	for _, c := range e.painted {
		if c.z == at.z && c.y+c.h > at.y {
			keep = append(keep, c)
		}
	}
	clear(e.painted[len(keep):])
	e.painted = keep
	var init *Picture
	var mask []float32
	for _, core := range []bool{false, true} {
		for _, c := range e.painted {
			m := 0
			if core {
				m = c.margin
			}
			x0, y0 := max(at.x, c.x+m), max(at.y, c.y+m)
			x1, y1 := min(at.x+at.w, c.x+c.w-m), min(at.y+at.h, c.y+c.h-m)
			if x0 >= x1 || y0 >= y1 {
				continue
			}
			if init == nil {
				init = &Picture{W: at.w, H: at.h, Pix: append([]float32(nil), content.Pix...)}
				mask = make([]float32, at.w*at.h)
			}
			copyRect(init.Pix, at, c, x0, y0, x1, y1)
			if core {
				for y := y0; y < y1; y++ {
					row := (y-at.y)*at.w - at.x
					for x := x0; x < x1; x++ {
						mask[row+x] = 1
					}
				}
			}
		}
	}
	return init, mask
}

// copyRect copies the global-pixel rectangle [x0, x1)×[y0, y1) of c's
// paint into dst (planar, placed like at).
func copyRect(dst []float32, at *paintedCanvas, c paintedCanvas, x0, y0, x1, y1 int) {
	dn, sn := at.w*at.h, c.w*c.h
	for ch := 0; ch < 3; ch++ {
		for y := y0; y < y1; y++ {
			d := ch*dn + (y-at.y)*at.w - at.x
			s := ch*sn + (y-c.y)*c.w - c.x
			copy(dst[d+x0:d+x1], c.pix[s+x0:s+x1])
		}
	}
}
