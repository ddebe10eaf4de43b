package paint

import (
	"context"
	"errors"
	"math"
	"testing"
)

// TestLBFGSBox minimises an ill-conditioned quadratic whose unconstrained
// minimum lies partly outside 0..1: the result must be the clipped minimum.
func TestLBFGSBox(t *testing.T) {
	c := []float64{0.3, -0.5, 1.7, 0.9, 0.05, 2}
	scale := []float64{1, 10, 100, 3, 1000, 0.5}
	f := func(x, g []float64) (float64, error) {
		var l float64
		for i := range x {
			d := x[i] - c[i]
			l += scale[i] * d * d
			g[i] = 2 * scale[i] * d
		}
		return l, nil
	}
	x := []float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}
	o := newLBFGS(5)
	if _, err := o.run(context.Background(), x, f, 60, nil); err != nil {
		t.Fatal(err)
	}
	for i, v := range x {
		if want := min(1, max(0, c[i])); math.Abs(v-want) > 1e-4 {
			t.Errorf("x[%d] = %.6f, want %.6f", i, v, want)
		}
	}
	t.Logf("%d evaluations for 60 iterations", o.evals)
}

func TestLBFGSStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	f := func(x, g []float64) (float64, error) {
		calls++
		if calls == 3 {
			cancel()
		}
		g[0] = 1
		return x[0], nil
	}
	if _, err := newLBFGS(3).run(ctx, []float64{0.5}, f, 100, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	nan := func(x, g []float64) (float64, error) { return math.NaN(), nil }
	if _, err := newLBFGS(3).run(context.Background(), []float64{0.5}, nan, 10, nil); !errors.Is(err, ErrNaN) {
		t.Errorf("NaN loss: %v", err)
	}
}
