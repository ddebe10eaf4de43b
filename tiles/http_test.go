package tiles

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// tileServer serves synthetic z/x/y.png tiles on loopback with per-path
// behaviours, counting requests and the most in flight at once.
type tileServer struct {
	*httptest.Server
	mu          sync.Mutex
	hits        map[string]int
	inFlight    atomic.Int32
	maxInFlight atomic.Int32
	agents      map[string]bool
	// behave returns the status for a request (0 = serve the tile), given
	// how many times this path was asked before; hang makes it never answer.
	behave func(path string, n int) (status int, hang bool)
	delay  time.Duration
}

func newTileServer(t *testing.T, behave func(path string, n int) (int, bool)) *tileServer {
	s := &tileServer{hits: map[string]int{}, agents: map[string]bool{}, behave: behave}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for {
			m := s.maxInFlight.Load()
			if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		s.mu.Lock()
		k := s.hits[r.URL.Path]
		s.hits[r.URL.Path]++
		s.agents[r.UserAgent()] = true
		s.mu.Unlock()
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
		status, hang := 0, false
		if s.behave != nil {
			status, hang = s.behave(r.URL.Path, k)
		}
		if hang {
			<-r.Context().Done()
			return
		}
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		var z, x, y int
		if _, err := fmt.Sscanf(r.URL.Path, "/%d/%d/%d.png", &z, &x, &y); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngTile(maptile.New(uint32(x), uint32(y), maptile.Zoom(z)), 64, false))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *tileServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func fastHTTP() HTTPOptions {
	return HTTPOptions{Rate: 1000, Timeout: 300 * time.Millisecond, Retries: 2, Backoff: 5 * time.Millisecond}
}

func TestHTTPSource(t *testing.T) {
	ctx := context.Background()
	srv := newTileServer(t, func(p string, n int) (int, bool) {
		switch {
		case strings.HasPrefix(p, "/5/404/"):
			return http.StatusNotFound, false
		case strings.HasPrefix(p, "/5/503/") && n < 2:
			return http.StatusServiceUnavailable, false
		case strings.HasPrefix(p, "/5/429/") && n < 1:
			return http.StatusTooManyRequests, false
		case strings.HasPrefix(p, "/5/500/"):
			return http.StatusInternalServerError, false
		case strings.HasPrefix(p, "/5/403/"):
			return http.StatusForbidden, false
		case strings.HasPrefix(p, "/5/999/"):
			return 0, true
		}
		return 0, false
	})
	src, err := OpenHTTP(srv.URL+"/{z}/{x}/{y}.png", fastHTTP())
	if err != nil {
		t.Fatal(err)
	}
	get := func(x string) ([]byte, error) {
		// The column picks the server's behaviour.
		var col uint32
		fmt.Sscan(x, &col)
		return src.Get(ctx, maptile.New(col, 2, 5))
	}
	cases := []struct {
		x       string
		tries   int
		wantNil bool
		wantErr string
	}{
		{"1", 1, false, ""},
		{"404", 1, true, ""},                          // no tile: empty, not an error
		{"503", 3, false, ""},                         // retried, then served
		{"429", 2, false, ""},                         // retried, then served
		{"500", 3, true, "500 Internal Server Error"}, // retried, then reported
		{"403", 1, true, "403 Forbidden"},             // not retried
		{"999", 3, true, "no answer within"},          // timeouts, bounded
	}
	for _, tc := range cases {
		t.Run(tc.x, func(t *testing.T) {
			start := time.Now()
			b, err := get(tc.x)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if (b == nil) != tc.wantNil {
				t.Errorf("got %d bytes, want nil %v", len(b), tc.wantNil)
			}
			if n := srv.count("/5/" + tc.x + "/2.png"); n != tc.tries {
				t.Errorf("%d requests, want %d", n, tc.tries)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("took %s", el)
			}
		})
	}
	for ua := range srv.agents {
		if !strings.HasPrefix(ua, "stylize/") {
			t.Errorf("User-Agent %q does not name the tool", ua)
		}
	}
	if _, err := src.List(ctx, 0, 1); !errors.Is(err, ErrCannotList) {
		t.Errorf("List: %v", err)
	}
}

func TestHTTPPolite(t *testing.T) {
	ctx := context.Background()
	srv := newTileServer(t, nil)
	srv.delay = 30 * time.Millisecond
	o := fastHTTP()
	o.Concurrency, o.Rate, o.CacheDir = 2, 40, t.TempDir()
	src, err := OpenHTTP(srv.URL+"/{z}/{x}/{y}.png", o)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := src.Get(ctx, maptile.New(uint32(i), 0, 5)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if m := srv.maxInFlight.Load(); m > 2 {
		t.Errorf("%d requests in flight, cap is 2", m)
	}
	if el := time.Since(start); el < 250*time.Millisecond { // 12 requests at 40/s
		t.Errorf("12 requests in %s: rate limit not applied", el)
	}
	// Cached: asking again costs no request.
	for i := 0; i < 12; i++ {
		if b, err := src.Get(ctx, maptile.New(uint32(i), 0, 5)); err != nil || b == nil {
			t.Fatal(err)
		}
		if n := srv.count(fmt.Sprintf("/5/%d/0.png", i)); n != 1 {
			t.Fatalf("tile %d fetched %d times", i, n)
		}
	}
}

func TestHTTPRefusesOSM(t *testing.T) {
	for _, u := range []string{
		"https://tile.openstreetmap.org/{z}/{x}/{y}.png",
		"https://a.tile.openstreetmap.org/{z}/{x}/{y}.png",
		"http://B.TILE.OPENSTREETMAP.ORG/{z}/{x}/{y}.png",
	} {
		_, err := OpenSource(context.Background(), u, SourceOptions{})
		if !errors.Is(err, ErrForbiddenServer) || !strings.Contains(err.Error(), "tile usage policy") {
			t.Errorf("%s: err = %v", u, err)
		}
	}
	if _, err := OpenHTTP("https://example.com/tiles.png", HTTPOptions{}); err == nil {
		t.Error("template without {z}/{x}/{y} accepted")
	}
}

// TestHTTPRun stylizes a region from an HTTP source where one tile is
// missing (404) and one never answers: the run finishes in bounded time
// with that tile reported.
func TestHTTPRun(t *testing.T) {
	eng := openEngine(t, "builtin:identity")
	srv := newTileServer(t, func(p string, n int) (int, bool) {
		switch p {
		case "/5/11/12.png":
			return http.StatusNotFound, false
		case "/5/12/12.png":
			return 0, true
		}
		return 0, false
	})
	b := tilesBound(block(5, 10, 11, 3, 2))
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
