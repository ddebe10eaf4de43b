package tiles

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/testenv"
	"github.com/stylize/stylize/tiles/store"
)

// TestArbitraryStyleSeams stylizes Berlin z13 with the MicroAST pair
// (la_muse.jpg): its AdaIN is written out (ReduceMean, Sqrt), and the
// statistics rewrite must find it so that metatiles share the zoom's
// statistics and no seams show; without margin and sharing they do.
func TestArbitraryStyleSeams(t *testing.T) {
	if testing.Short() {
		t.Skip("MicroAST on 28 tiles twice: skipped in -short")
	}
	testenv.ORT(t)
	eng, err := model.Open(context.Background(), model.Options{Model: testenv.SharedFile(t, "models/arbitrary/microast_transfer.onnx"),
		Style: []string{testenv.SharedFile(t, "media/images/la_muse.jpg")}, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	src := testenv.SharedFile(t, "tiles/berlin.mbtiles")
	ratio := func(o Options) (float64, *Report) {
		o.Source, o.Output, o.MinZoom, o.MaxZoom, o.Quiet = src, filepath.Join(t.TempDir(), "o"), 13, 13, true
		rep, err := Run(context.Background(), eng, o)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := store.OpenSource(context.Background(), o.Output, SourceOptions{})
		m, err := Stitch(context.Background(), s, 13)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Seams(m)
		if err != nil {
			t.Fatal(err)
		}
		return r.Ratio, rep
	}
	shared, rep := ratio(Options{Stats: StatsShared})
	naive, _ := ratio(Options{Metatile: 1, Margin: -1, Stats: StatsWindow})
	t.Logf("Berlin z13 MicroAST la_muse.jpg seam ratio: defaults (shared statistics, margin %d, metatile %d) %.3f; naive %.3f", rep.Margin, rep.Metatile, shared, naive)
	if rep.Stats != string(StatsShared) || rep.StatsNote != "" {
		t.Errorf("statistics %s (%s), want shared", rep.Stats, rep.StatsNote)
	}
	if shared > 1.05 || shared > naive-0.5 {
		t.Errorf("shared statistics: seam ratio %.3f (naive %.3f), want ≤ 1.05", shared, naive)
	}
}
