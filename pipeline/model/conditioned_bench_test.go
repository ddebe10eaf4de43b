package model

import (
	"os"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/pipeline/testenv"
)

// BenchmarkArbitraryStyle640x360 times, interleaved in one loop so that
// load from other work hits both alike: a 640×360 frame through the
// MicroAST pair (la_muse.jpg baked in), the same frame through la_muse's
// Engstrom net, and one style encoding of la_muse.jpg at 512 px (2
// threads each).
func BenchmarkArbitraryStyle640x360(b *testing.B) {
	transfer, pic := transferNet(b), painting(b, "la_muse")
	pair := open(b, Options{Model: transfer, Style: []string{pic}, Threads: 2})
	muse := open(b, Options{Model: testenv.Model(b, "la_muse"), Threads: 2})
	enc, err := onnx.Load(pair.Style().Encoder)
	if err != nil {
		b.Fatal(err)
	}
	p := &stylePair{encoder: pair.Style().Encoder, encInput: enc.Inputs()[0].Name}
	for _, v := range enc.Outputs() {
		p.tensors = append(p.tensors, [2]string{v.Name, v.Name})
	}
	sess, err := encoderSession(enc, p, ort.SessionOptions{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	raw, _ := os.ReadFile(pic)
	sp, w, h, err := stylePlanes(pic, raw, 512, Range1)
	if err != nil {
		b.Fatal(err)
	}
	frame := photo(b, 640, 360)
	var tPair, tMuse, tEnc time.Duration
	stylize(b, pair, frame) // warm-up: the first run allocates onnxruntime's buffers
	inf0, n0 := pair.InferenceTime()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		stylize(b, pair, frame)
		t1 := time.Now()
		stylize(b, muse, frame)
		t2 := time.Now()
		if _, err := sess.Run([]ort.Tensor{{Shape: []int64{1, 3, int64(h), int64(w)}, F32: sp}}); err != nil {
			b.Fatal(err)
		}
		tPair, tMuse, tEnc = tPair+t1.Sub(t0), tMuse+t2.Sub(t1), tEnc+time.Since(t2)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(tPair), "ms/frame-microast")
	b.ReportMetric(ms(tMuse), "ms/frame-la_muse")
	b.ReportMetric(ms(tEnc), "ms/style-encoding")
	inf, n := pair.InferenceTime()
	b.ReportMetric(float64((inf-inf0).Microseconds())/1000/float64(n-n0), "ms/infer-microast")
	b.ReportMetric(float64(tPair)/float64(tMuse), "microast/la_muse")
}
