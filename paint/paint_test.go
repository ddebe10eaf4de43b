package paint

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/pipeline/testenv"
)

func sharedPicture(t testing.TB, name string) Picture {
	t.Helper()
	p, err := ReadPicture(testenv.SharedFile(t, filepath.Join("media", "images", name)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPaintLowersLossAndStyleDistance paints stata.jpg at 64 px with
// la_muse.jpg: the loss must fall and the style distance to la_muse must
// drop well below the content's.
func TestPaintLowersLossAndStyleDistance(t *testing.T) {
	n := testNet(t)
	content, style := sharedPicture(t, "stata.jpg"), sharedPicture(t, "la_muse.jpg")
	const size = 64
	var losses []float64
	out, err := Paint(context.Background(), n, content, Options{
		Style: []Picture{style}, Iterations: 30, Size: size, Threads: 2,
		Progress: func(s Step) { losses = append(losses, s.Loss) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(losses) != 30 || !(losses[29] < 0.5*losses[0]) {
		t.Fatalf("losses %v: want 30 falling to under half", losses)
	}
	for i := 1; i < len(losses); i++ {
		if losses[i] > losses[i-1]*1.0001 {
			t.Errorf("loss rose at iteration %d: %.5g → %.5g", i+1, losses[i-1], losses[i])
		}
	}
	ex, err := n.NewExtractor(MaxPool, ortOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	feat := func(p Picture) Features {
		w, h := Fit(p.W, p.H, size)
		f, err := ex.Features(Resize(p, w, h))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	sf, cf, of := feat(style), feat(content), feat(out)
	before, _ := StyleDistance(cf, sf)
	after, _ := StyleDistance(of, sf)
	t.Logf("loss %.4g → %.4g; style distance content %.3g, result %.3g", losses[0], losses[29], before, after)
	if !(after < 0.5*before) {
		t.Errorf("style distance %.3g, content's %.3g: want under half", after, before)
	}
	for _, v := range out.Pix {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("pixel %v outside 0..1", v)
		}
	}
}

func TestPaintBadInputs(t *testing.T) {
	n := testNet(t)
	content := randomPicture(newRand(), 48, 40)
	style := randomPicture(newRand(), 40, 40)
	nan := randomPicture(newRand(), 48, 40)
	nan.Pix[100] = float32(math.NaN())
	cases := []struct {
		name    string
		content Picture
		o       Options
		is      error
	}{
		{"no style", content, Options{}, nil},
		{"1x1 style", content, Options{Style: []Picture{{W: 1, H: 1, Pix: []float32{0, 0, 0}}}}, ErrBadPicture},
		{"tiny style", content, Options{Style: []Picture{randomPicture(newRand(), 100, 3)}}, ErrBadPicture},
		{"short buffer", Picture{W: 4, H: 4}, Options{Style: []Picture{style}}, ErrBadPicture},
		{"NaN in a picture", nan, Options{Style: []Picture{style}}, ErrBadPicture},
		{"loss overflows", content, Options{Style: []Picture{style}, StyleWeight: 3e38}, ErrNaN},
		{"NaN weight", content, Options{Style: []Picture{style}, StyleWeight: math.NaN()}, nil},
		{"too many scales", content, Options{Style: []Picture{style}, Scales: 3}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.o.Size, c.o.Iterations, c.o.Threads = 48, 2, 2
			_, err := Paint(context.Background(), n, c.content, c.o)
			if err == nil {
				t.Fatal("no error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %q", err, c.is)
			}
			t.Log(err)
		})
	}
}
