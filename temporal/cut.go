package temporal

import "github.com/stylize/stylize/pipeline"

// histBins is the number of bins per colour channel.
const histBins = 16

// Histogram is a normalised colour histogram of a frame (16 bins per RGB
// channel), the scene-cut detector's view of it.
type Histogram [3 * histBins]float32

// HistogramOf counts f's colours.
func HistogramOf(f *pipeline.Frame) Histogram {
	var h Histogram
	n := f.W * f.H
	if n == 0 {
		return h
	}
	var c [3 * histBins]int
	for i := 0; i < n; i++ {
		p := f.Pix[3*i : 3*i+3]
		c[int(p[0])*histBins/256]++
		c[histBins+int(p[1])*histBins/256]++
		c[2*histBins+int(p[2])*histBins/256]++
	}
	for i := range h {
		h[i] = float32(c[i]) / float32(n)
	}
	return h
}

// Distance is the total-variation distance between two histograms,
// averaged over the channels: 0 for identical colour distributions, 1 for
// disjoint ones. Noise and motion within a shot stay well below 0.3; a cut
// to another scene usually lies above 0.4.
func (h Histogram) Distance(o Histogram) float64 {
	var s float64
	for i := range h {
		d := float64(h[i] - o[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return s / 6 // ½ per channel (total variation), averaged over 3
}
