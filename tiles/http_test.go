package tiles

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/stylize/stylize/tiles/internal/tiletest"
	"github.com/stylize/stylize/tiles/store"
)

// TestHTTPRun stylizes a region from an HTTP source where one tile is
// missing (404) and one never answers: the run finishes in bounded time
// with that tile reported.
func TestHTTPRun(t *testing.T) {
	eng := openEngine(t, "builtin:identity")
	srv := tiletest.NewServer(t, func(p string, n int) (int, bool) {
		switch p {
		case "/5/11/12.png":
			return http.StatusNotFound, false
		case "/5/12/12.png":
			return 0, true
		}
		return 0, false
	})
	b := tilesBound(tiletest.Block(5, 10, 11, 3, 2))
	pad := 0.01
	bbox := fmt.Sprintf("%f,%f,%f,%f", b.Min[0]+pad, b.Min[1]+pad, b.Max[0]-pad, b.Max[1]-pad)
	reg, err := ParseBBox(bbox)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Bound(); !got.Contains(orb.Point{b.Center()[0], b.Center()[1]}) {
		t.Fatal("bbox")
	}
	out := filepath.Join(t.TempDir(), "out.mbtiles")
	start := time.Now()
	rep, err := Run(context.Background(), eng, Options{Source: srv.URL + "/{z}/{x}/{y}.png", SourceOptions: SourceOptions{HTTP: fastHTTP()},
		Output: out, MinZoom: 5, MaxZoom: 5, Region: reg, Quiet: true})
	if !errors.Is(err, ErrTilesFailed) {
		t.Fatalf("err = %v", err)
	}
	if rep.TilesWritten != 4 || rep.TilesEmpty != 1 || len(rep.Failed) != 1 || rep.Failed[0].Tile != "5/12/12" {
		t.Fatalf("written %d, empty %d, failed %+v", rep.TilesWritten, rep.TilesEmpty, rep.Failed)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("run took %s with a hanging tile", el)
	}
}

func fastHTTP() store.HTTPOptions {
	return store.HTTPOptions{Rate: 1000, Timeout: 300 * time.Millisecond, Retries: 2, Backoff: 5 * time.Millisecond}
}
