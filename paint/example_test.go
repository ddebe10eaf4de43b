package paint_test

import (
	"fmt"

	"github.com/stylize/stylize/paint"
)

// StyleDistance compares per-channel means and standard deviations: here
// every layer has one channel, 0 0 2 2 (mean 1, std 1) against 1 1 1 1
// (mean 1, std 0), so each of the four layers adds 0 + 1².
func ExampleStyleDistance() {
	a, b := paint.Features{}, paint.Features{}
	for _, l := range paint.DistanceLayers {
		a[l] = paint.Feature{C: 1, H: 2, W: 2, Data: []float32{0, 0, 2, 2}}
		b[l] = paint.Feature{C: 1, H: 2, W: 2, Data: []float32{1, 1, 1, 1}}
	}
	d, err := paint.StyleDistance(a, b)
	fmt.Printf("%.3f %v\n", d, err) // 4 × (std sqrt(4/3 + 1e-5) − sqrt(1e-5))²: unbiased stds, as MicroAST
	// Output: 5.304 <nil>
}

// Gram is F·Fᵀ divided by the number of positions.
func ExampleGram() {
	f := paint.Feature{C: 2, H: 1, W: 2, Data: []float32{1, 2, 3, 4}}
	fmt.Println(paint.Gram(f))
	// Output: [2.5 5.5 5.5 12.5]
}
