package paint

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// ErrNaN means the loss stopped being a finite number (NaN or ±Inf).
var ErrNaN = errors.New("loss is not a finite number")

// objective returns the loss at x and writes its gradient into g.
type objective func(x, g []float64) (float64, error)

// lbfgs is a limited-memory BFGS minimiser on the box [0,1]ⁿ, in the
// manner of torch.optim.LBFGS without a line search (the reference
// implementations use that): unit steps along the two-loop direction, the
// first one scaled to min(1, 1/‖g‖₁). It is projected: each new point is
// clipped to 0..1 and direction components that push a pixel at a bound
// further out are dropped. A step whose loss is higher is halved (up to
// maxHalvings times, each one more evaluation).
type lbfgs struct {
	m      int // pairs kept
	s, y   [][]float64
	rho    []float64
	evals  int
	maxHal int
}

func newLBFGS(m int) *lbfgs { return &lbfgs{m: m, maxHal: 8} }

// reset forgets the curvature pairs (a new pass starts afresh).
func (o *lbfgs) reset() { o.s, o.y, o.rho = nil, nil, nil }

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// direction is −H·g by the two-loop recursion.
func (o *lbfgs) direction(g []float64) []float64 {
	q := make([]float64, len(g))
	copy(q, g)
	k := len(o.s)
	alpha := make([]float64, k)
	for i := k - 1; i >= 0; i-- {
		alpha[i] = o.rho[i] * dot(o.s[i], q)
		axpy(-alpha[i], o.y[i], q)
	}
	if k > 0 {
		gamma := dot(o.s[k-1], o.y[k-1]) / dot(o.y[k-1], o.y[k-1])
		for i := range q {
			q[i] *= gamma
		}
	}
	for i := 0; i < k; i++ {
		beta := o.rho[i] * dot(o.y[i], q)
		axpy(alpha[i]-beta, o.s[i], q)
	}
	for i := range q {
		q[i] = -q[i]
	}
	return q
}

func axpy(a float64, x, y []float64) {
	for i := range x {
		y[i] += a * x[i]
	}
}

func (o *lbfgs) push(s, y []float64) {
	sy := dot(s, y)
	if !(sy > 1e-10) {
		return // no curvature information (or a NaN): keep the old pairs
	}
	if len(o.s) == o.m {
		o.s, o.y, o.rho = o.s[1:], o.y[1:], o.rho[1:]
	}
	o.s, o.y, o.rho = append(o.s, s), append(o.y, y), append(o.rho, 1/sy)
}

// run takes iters steps from x (updated in place), calling step after
// each with the iteration (from 1) and the loss.
func (o *lbfgs) run(ctx context.Context, x []float64, f objective, iters int, step func(int, float64)) (float64, error) {
	g := make([]float64, len(x))
	loss, err := o.eval(f, x, g)
	if err != nil {
		return 0, err
	}
	xn, gn := make([]float64, len(x)), make([]float64, len(x))
	for it := 1; it <= iters; it++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		d := o.direction(g)
		project(d, x)
		t := 1.0
		if len(o.s) == 0 {
			var l1 float64
			for _, v := range g {
				l1 += math.Abs(v)
			}
			t = math.Min(1, 1/l1)
		}
		ln, err := o.tryStep(f, x, d, t, loss, xn, gn)
		if err != nil {
			return 0, err
		}
		s, y := make([]float64, len(x)), make([]float64, len(x))
		for i := range x {
			s[i], y[i] = xn[i]-x[i], gn[i]-g[i]
		}
		o.push(s, y)
		copy(x, xn)
		copy(g, gn)
		loss = ln
		if step != nil {
			step(it, loss)
		}
	}
	return loss, nil
}

// tryStep evaluates clip(x + t·d), halving t while the loss is higher than
// loss; the last try is kept either way.
func (o *lbfgs) tryStep(f objective, x, d []float64, t, loss float64, xn, gn []float64) (float64, error) {
	for h := 0; ; h++ {
		for i := range x {
			xn[i] = min(1, max(0, x[i]+t*d[i]))
		}
		ln, err := o.eval(f, xn, gn)
		if err != nil {
			return 0, err
		}
		if ln <= loss || h == o.maxHal {
			return ln, nil
		}
		t /= 2
	}
}

func (o *lbfgs) eval(f objective, x, g []float64) (float64, error) {
	o.evals++
	l, err := f(x, g)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(l) || math.IsInf(l, 0) {
		return 0, fmt.Errorf("%w (%v) after %d evaluations", ErrNaN, l, o.evals)
	}
	return l, nil
}

// project drops the components of d that push a pixel at a bound of 0..1
// further out.
func project(d, x []float64) {
	for i := range d {
		if (x[i] <= 0 && d[i] < 0) || (x[i] >= 1 && d[i] > 0) {
			d[i] = 0
		}
	}
}
