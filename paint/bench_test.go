package paint

import (
	"math/rand/v2"
	"syscall"
	"testing"
)

// evalGFLOP is the arithmetic of one loss-and-gradient evaluation at
// 512×340 (multiply-adds count two): the Conv forward (7.9 GFLOP, see
// ../shared/README.md) and the same again for the input gradients, which
// is all the backward needs (no weight gradients).
const evalGFLOP = 2 * 7.9

func benchEval(b *testing.B, spec Spec) {
	n := testNet(b)
	r := rand.New(rand.NewPCG(1, 2))
	e := fdEvaluator(b, n, spec, r)
	defer e.Close()
	x := randomPicture(r, spec.W, spec.H).Pix
	g := make([]float32, len(x))
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Eval(x, g); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := (cpuSeconds() - cpu0) / float64(b.N)
	b.ReportMetric(evalGFLOP*float64(b.N)/b.Elapsed().Seconds(), "GFLOP/s")
	// On a shared machine the wall time measures the neighbours; the CPU
	// time per evaluation, halved, is what 2 quiet cores would take.
	b.ReportMetric(cpu, "cpu-s/op")
	b.ReportMetric(evalGFLOP/cpu, "GFLOP/cpu-s")
}

// cpuSeconds is the process's user+system CPU time.
func cpuSeconds() float64 {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
}

// BenchmarkPaintIteration512 is one loss+gradient evaluation (one L-BFGS
// iteration) at 512×340, 2 threads.
func BenchmarkPaintIteration512(b *testing.B) {
	for _, c := range []struct {
		name string
		spec Spec
	}{
		{"max", Spec{W: 512, H: 340, Style: styleLayers, Content: contentLayers}},
		{"max-convtranspose", Spec{W: 512, H: 340, Style: styleLayers, Content: contentLayers, ConvTranspose: true}},
		{"avg", Spec{W: 512, H: 340, Style: styleLayers, Content: contentLayers, Pool: AvgPool}},
	} {
		b.Run(c.name, func(b *testing.B) { benchEval(b, c.spec) })
	}
}
