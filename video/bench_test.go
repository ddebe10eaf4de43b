package video

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/testenv"
)

// BenchmarkBBB runs the pipeline over the whole BBB clip at a small height,
// with a fake processor (pure decode + encode cost) and with the real
// engine's identity model; video/bench.sh compares them with plain ffmpeg.
func BenchmarkBBB(b *testing.B) {
	in := testenv.SharedFile(b, bbb)
	testenv.FFmpeg(b)
	for _, bc := range []struct {
		name  string
		model string // "" = passthrough processor
	}{
		{"passthrough-144", ""},
		{"identity-144", "builtin:identity"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o := Options{Height: 144, Quiet: true, Processor: passthrough{}}
			if bc.model != "" {
				testenv.ORT(b)
				o.Engine = openEngineB(b, bc.model)
				o.Processor = nil
			}
			b.ReportAllocs()
			out := filepath.Join(b.TempDir(), "out.mp4")
			frames := 0
			for b.Loop() {
				rep, err := Stylize(context.Background(), in, out, o)
				if err != nil {
					b.Fatal(err)
				}
				frames += rep.Frames
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

type passthrough struct{}

func (passthrough) Parallel(ctx context.Context, in *pipeline.Frame) (any, error) { return nil, nil }
func (passthrough) Ordered(ctx context.Context, in *pipeline.Frame, _ any) (*pipeline.Frame, error) {
	return in, nil
}

func openEngineB(b *testing.B, name string) *model.Engine {
	b.Helper()
	eng, err := model.Open(context.Background(), model.Options{Model: name})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	return eng
}
