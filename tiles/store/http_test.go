package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/tiles/internal/tiletest"
)

func fastHTTP() HTTPOptions {
	return HTTPOptions{Rate: 1000, Timeout: 300 * time.Millisecond, Retries: 2, Backoff: 5 * time.Millisecond}
}

func TestHTTPSource(t *testing.T) {
	ctx := context.Background()
	srv := tiletest.NewServer(t, func(p string, n int) (int, bool) {
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
	src, err := openHTTP(srv.URL+"/{z}/{x}/{y}.png", fastHTTP())
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
			if n := srv.Count("/5/" + tc.x + "/2.png"); n != tc.tries {
				t.Errorf("%d requests, want %d", n, tc.tries)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("took %s", el)
			}
		})
	}
	for ua := range srv.Agents {
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
	srv := tiletest.NewServer(t, nil)
	srv.Delay = 30 * time.Millisecond
	o := fastHTTP()
	o.Concurrency, o.Rate, o.CacheDir = 2, 40, t.TempDir()
	// This test counts requests: a loaded machine must not turn a slow
	// answer into a timeout and a second request (fastHTTP's 300 ms).
	o.Timeout = 10 * time.Second
	src, err := openHTTP(srv.URL+"/{z}/{x}/{y}.png", o)
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
	if m := srv.MaxInFlight.Load(); m > 2 {
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
		if n := srv.Count(fmt.Sprintf("/5/%d/0.png", i)); n != 1 {
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
	if _, err := openHTTP("https://example.com/tiles.png", HTTPOptions{}); err == nil {
		t.Error("template without {z}/{x}/{y} accepted")
	}
}
