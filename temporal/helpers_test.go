package temporal

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/testenv"
)

// photo loads ../shared/media/images/stata.jpg (skips when missing).
func photo(t testing.TB, name string) *pipeline.Frame {
	t.Helper()
	img, err := imageio.Read(testenv.SharedFile(t, "media/images/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.FromImage(img)
}

// cropAt cuts a w×h window at the (fractional) offset (ox, oy) out of src,
// bilinear, adding Gaussian noise of the given σ.
func cropAt(src *pipeline.Frame, w, h int, ox, oy, sigma float64, rng *rand.Rand) *pipeline.Frame {
	f := pipeline.NewFrame(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := float64(x)+ox, float64(y)+oy
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			x1, y1 := min(x0+1, src.W-1), min(y0+1, src.H-1)
			for c := 0; c < 3; c++ {
				p := func(xx, yy int) float64 { return float64(src.Pix[3*(yy*src.W+xx)+c]) }
				v := (1-fy)*((1-fx)*p(x0, y0)+fx*p(x1, y0)) + fy*((1-fx)*p(x0, y1)+fx*p(x1, y1))
				if sigma > 0 {
					v += sigma * rng.NormFloat64()
				}
				f.Pix[3*(y*w+x)+c] = uint8(math.Max(0, math.Min(255, math.Round(v))))
			}
		}
	}
	return f
}

// pan is n frames of a w×h window moving over src by (dx, dy) px per frame
// from (ox, oy), with per-frame noise: the content moves by (−dx, −dy).
func pan(src *pipeline.Frame, w, h, n int, ox, oy, dx, dy, sigma float64, seed uint64) []*pipeline.Frame {
	rng := rand.New(rand.NewPCG(seed, 7))
	fs := make([]*pipeline.Frame, n)
	for i := range fs {
		fs[i] = cropAt(src, w, h, ox+float64(i)*dx, oy+float64(i)*dy, sigma, rng)
	}
	return fs
}

// shrink scales src down by an integer factor (box filter), so a 320×180
// window sees a whole scene rather than a few bricks.
func shrink(src *pipeline.Frame, k int) *pipeline.Frame {
	w, h := src.W/k, src.H/k
	f := pipeline.NewFrame(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				s := 0
				for yy := 0; yy < k; yy++ {
					for xx := 0; xx < k; xx++ {
						s += int(src.Pix[3*((y*k+yy)*src.W+x*k+xx)+c])
					}
				}
				f.Pix[3*(y*w+x)+c] = uint8((s + k*k/2) / (k * k))
			}
		}
	}
	return f
}
