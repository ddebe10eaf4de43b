package model

import (
	"context"
	"testing"

	"github.com/stylize/stylize/pipeline/testenv"
)

// TestReceptiveRadiusMeasured checks the graph estimate: with the
// normalisation statistics held fixed (variant (c), so nothing global is
// left), changing one input pixel changes output pixels up to the
// receptive radius away and none beyond: 54 px for la_muse (the
// Johnson/Engstrom nets), 57 for mindgame.
func TestReceptiveRadiusMeasured(t *testing.T) {
	for _, tc := range []struct {
		name   string
		radius int
	}{{"la_muse", 54}, {"mindgame_dynamic", 57}} {
		t.Run(tc.name, func(t *testing.T) { measureRadius(t, tc.name, tc.radius) })
	}
}

func measureRadius(t *testing.T, name string, want int) {
	e := open(t, Options{Model: testenv.Model(t, name), Threads: 2, Conventions: Overrides{Margin: new(int)}})
	if r := e.ReceptiveRadius(); r != want {
		t.Errorf("estimated radius %d, want %d", r, want)
	}
	norm, err := e.SharedStats()
	if err != nil {
		t.Fatal(err)
	}
	defer norm.Close()
	const n, c = 192, 96
	a := probeImage(n, n)
	ctx := context.Background()
	st, err := norm.Measure(ctx, a, n, n)
	if err != nil {
		t.Fatal(err)
	}
	out1, err := norm.Stylize(ctx, a, n, n, st)
	if err != nil {
		t.Fatal(err)
	}
	b := append([]float32(nil), a...)
	for ch := 0; ch < 3; ch++ {
		b[ch*n*n+c*n+c] = 255 - b[ch*n*n+c*n+c]
	}
	out2, err := norm.Stylize(ctx, b, n, n, st)
	if err != nil {
		t.Fatal(err)
	}
	reach := -1
	for i := range out1 {
		if d := out1[i] - out2[i]; d > 1e-3 || d < -1e-3 {
			p := i % (n * n)
			x, y := p%n, p/n
			reach = max(reach, abs(x-c), abs(y-c))
		}
	}
	t.Logf("one changed pixel reaches %d px (estimate %d)", reach, e.ReceptiveRadius())
	if reach > e.ReceptiveRadius() || reach < e.ReceptiveRadius()-4 {
		t.Errorf("measured reach %d px, estimate %d", reach, e.ReceptiveRadius())
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
