package paint

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stylize/stylize/pipeline/importer"
	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/pipeline/testenv"
)

const netRel = "models/perceptual/cd16x_vgg_features.onnx"

func testNet(t testing.TB) *Net {
	t.Helper()
	p := testenv.SharedFile(t, netRel)
	testenv.ORT(t)
	n, err := LoadNet(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func randomPicture(r *rand.Rand, w, h int) Picture {
	p := Picture{W: w, H: h, Pix: make([]float32, 3*w*h)}
	for i := range p.Pix {
		p.Pix[i] = 0.1 + 0.8*r.Float32()
	}
	return p
}

var (
	styleLayers   = []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
	contentLayers = []string{"relu4_2"}
)

// fdEvaluator builds an evaluator on w×h random pictures, with targets from
// other random pictures.
func fdEvaluator(t testing.TB, n *Net, spec Spec, r *rand.Rand) *Evaluator {
	t.Helper()
	ex, err := n.NewExtractor(spec.Pool, ortOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	e, err := n.NewEvaluator(spec, ort.SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	sf, err := ex.Features(randomPicture(r, spec.W+8, spec.H))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := ex.Features(randomPicture(r, spec.W, spec.H))
	if err != nil {
		t.Fatal(err)
	}
	tg := Targets{Grams: map[string][]float32{}, Content: cf}
	for _, l := range spec.Style {
		tg.Grams[l] = Gram(sf[l])
	}
	sw := []float32{10, 10, 10, 10, 10}
	if err := e.SetTargets(tg, sw[:len(spec.Style)], []float32{1}[:len(spec.Content)]); err != nil {
		t.Fatal(err)
	}
	for _, term := range spec.Terms {
		for _, in := range term.Inputs() {
			c := 3
			if in == "mask" {
				c = 1
			}
			p := randomPicture(r, spec.W, spec.H)
			e.Feed(in, ort.Tensor{Shape: []int64{1, int64(c), int64(spec.H), int64(spec.W)}, F32: p.Pix[:c*spec.W*spec.H]})
		}
	}
	return e
}

// TestGradientFiniteDifferences checks the generated gradient against
// central differences of the loss: along random directions (every pixel at
// once) and at single pixels.
func TestGradientFiniteDifferences(t *testing.T) {
	n := testNet(t)
	cases := []struct {
		name string
		spec Spec
	}{
		{"max", Spec{W: 40, H: 32, Style: styleLayers, Content: contentLayers}},
		{"avg+tv", Spec{W: 37, H: 33, Style: styleLayers, Content: contentLayers, Pool: AvgPool, Terms: []Term{TV{Weight: 5}}}},
		{"temporal", Spec{W: 32, H: 32, Style: styleLayers[:2], Terms: []Term{MaskedMSE{Weight: 50, Target: "prev", Mask: "mask"}}}},
		{"max convtranspose odd", Spec{W: 35, H: 34, Style: styleLayers[:3], Content: contentLayers, ConvTranspose: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			e := fdEvaluator(t, n, c.spec, r)
			defer e.Close()
			x := randomPicture(r, c.spec.W, c.spec.H).Pix
			g := make([]float32, len(x))
			if _, err := e.Eval(x, g); err != nil {
				t.Fatal(err)
			}
			loss := func(x []float32) float64 {
				l, err := e.Eval(x, make([]float32, len(x)))
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			worst := checkDirections(t, x, g, loss, r)
			worstPix := checkPixels(t, x, g, loss, r)
			t.Logf("worst relative error: directions %.2g, pixels %.2g", worst, worstPix)
		})
	}
}

func checkDirections(t *testing.T, x, g []float32, loss func([]float32) float64, r *rand.Rand) float64 {
	t.Helper()
	const eps = 1e-4 // small: a random direction crosses many Relu kinks at once
	worst := 0.0
	for k := 0; k < 3; k++ {
		v := make([]float32, len(x))
		var gv float64
		for i := range v {
			v[i] = float32(r.NormFloat64())
			gv += float64(v[i]) * float64(g[i])
		}
		xp, xm := make([]float32, len(x)), make([]float32, len(x))
		for i := range x {
			xp[i], xm[i] = x[i]+eps*v[i], x[i]-eps*v[i]
		}
		fd := (loss(xp) - loss(xm)) / (2 * eps)
		rel := math.Abs(fd-gv) / math.Max(math.Abs(fd), math.Abs(gv))
		worst = math.Max(worst, rel)
		// float32 losses summed over 10⁴ terms and Relu kinks crossed by the
		// step limit the agreement to a few per cent; a wrong factor or a
		// misplaced border is far beyond that.
		if rel > 0.05 {
			t.Errorf("direction %d: finite difference %.6g, gradient %.6g (relative error %.2g)", k, fd, gv, rel)
		}
	}
	return worst
}

// checkPixels compares single components, the largest gradients and a few
// random ones; the error is relative to the largest component.
func checkPixels(t *testing.T, x, g []float32, loss func([]float32) float64, r *rand.Rand) float64 {
	t.Helper()
	const eps = 1e-2
	big, gmax := 0, 0.0
	for i, v := range g {
		if math.Abs(float64(v)) > gmax {
			big, gmax = i, math.Abs(float64(v))
		}
	}
	idx := []int{big, 0, len(x) - 1}
	for k := 0; k < 5; k++ {
		idx = append(idx, r.IntN(len(x)))
	}
	worst := 0.0
	for _, i := range idx {
		old := x[i]
		x[i] = old + eps
		lp := loss(x)
		x[i] = old - eps
		lm := loss(x)
		x[i] = old
		fd := (lp - lm) / (2 * eps)
		rel := math.Abs(fd-float64(g[i])) / gmax
		worst = math.Max(worst, rel)
		if rel > 0.02 {
			t.Errorf("pixel %d: finite difference %.6g, gradient %.6g (error %.2g of the largest %.3g)", i, fd, g[i], rel, gmax)
		}
	}
	return worst
}

var ortOptions = ort.SessionOptions{Threads: 2}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(3, 4)) }

// TestBuildPrunes checks that layers after the deepest loss are left out
// and that unknown layers and tiny pictures are refused.
func TestBuildPrunes(t *testing.T) {
	n, err := LoadNet(testenv.SharedFile(t, netRel))
	if err != nil {
		t.Fatal(err)
	}
	convs := func(s Spec) int {
		m, err := n.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		return m.OpCounts()["Conv"]
	}
	// Forward convs up to relu2_1: conv0, conv11, conv12, conv21; each has
	// a flipped-Conv backward.
	if c := convs(Spec{W: 64, H: 64, Style: []string{"relu2_1"}}); c != 8 {
		t.Errorf("relu2_1 only: %d Conv nodes, want 8", c)
	}
	if c := convs(Spec{W: 64, H: 64, Style: StyleLayers, Content: ContentLayers}); c != 2*14 {
		t.Errorf("all layers: %d Conv nodes, want 28 (14 and their backwards)", c)
	}
	if _, err := n.Build(Spec{W: 64, H: 64, Style: []string{"relu9_9"}}); err == nil {
		t.Error("unknown layer accepted")
	}
	if _, err := n.Build(Spec{W: 64, H: 20, Style: StyleLayers}); err == nil {
		t.Error("64×20 accepted for relu5_1")
	}
}

// TestImportedNet: the graph `stylize models import cd-vgg` builds (its
// layers named by Identity nodes) gives the same loss and gradient as the
// shared file: what users have is what the tests use.
func TestImportedNet(t *testing.T) {
	shared := testNet(t)
	m, err := importer.LoadCDVGG(testenv.SharedFile(t, "upstream/Collaborative-Distillation"))
	if err != nil {
		t.Fatal(err)
	}
	imported, err := newNet(m)
	if err != nil {
		t.Fatalf("imported net: %v", err)
	}
	spec := Spec{W: 32, H: 32, Style: styleLayers, Content: contentLayers}
	var loss [2]float64
	var grad [2][]float32
	for i, n := range []*Net{shared, imported} {
		e := fdEvaluator(t, n, spec, rand.New(rand.NewPCG(5, 6)))
		x := randomPicture(rand.New(rand.NewPCG(7, 8)), spec.W, spec.H).Pix
		grad[i] = make([]float32, len(x))
		if loss[i], err = e.Eval(x, grad[i]); err != nil {
			t.Fatal(err)
		}
		e.Close()
	}
	if math.Abs(loss[0]-loss[1]) > 1e-6*math.Abs(loss[0]) {
		t.Errorf("loss %g (shared) against %g (imported)", loss[0], loss[1])
	}
	for i := range grad[0] {
		if d := math.Abs(float64(grad[0][i] - grad[1][i])); d > 1e-5*(1+math.Abs(float64(grad[0][i]))) {
			t.Fatalf("gradient %d: %g (shared) against %g (imported)", i, grad[0][i], grad[1][i])
		}
	}
}
