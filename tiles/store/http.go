package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/pipeline"
)

// userAgent names the tool to tile servers, as their policies ask.
const userAgent = "stylize/0.1 (+https://github.com/stylize/stylize; map tile restyling)"

// HTTPOptions configure an HTTP tile source. The zero value is polite.
type HTTPOptions struct {
	Contact     string        // appended to the User-Agent (an e-mail or URL)
	Rate        float64       // requests per second; 0 = 4
	Concurrency int           // requests in flight; 0 = 2
	Timeout     time.Duration // per request; 0 = 20 s
	Retries     int           // after the first try, on 429/5xx/timeouts; 0 = 4
	Backoff     time.Duration // first retry delay, doubled each time; 0 = 500 ms
	CacheDir    string        // on-disk cache of fetched tiles; "" = none
	Client      *http.Client  // nil = a client with Timeout
}

func (o *HTTPOptions) applyDefaults() {
	if o.Rate <= 0 {
		o.Rate = 4 // well under what volunteer-run servers ask (≤ 2 connections, modest rates)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2 // the usual "at most two connections" of tile usage policies
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	if o.Retries <= 0 {
		o.Retries = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
}

// ErrForbiddenServer is returned for servers whose policy forbids bulk use.
var ErrForbiddenServer = errors.New("bulk download refused")

// httpSource reads tiles from a {z}/{x}/{y} URL template, politely: a cap on
// requests in flight, a rate limit, retries with exponential backoff on
// 429/5xx/timeouts (honouring Retry-After), an honest User-Agent and an
// on-disk cache so a re-run does not fetch again.
type httpSource struct {
	tmpl string
	host string
	o    HTTPOptions
	sem  chan struct{}
	mu   sync.Mutex
	next time.Time // earliest start of the next request
	ua   string
}

// openHTTP checks the template and refuses the OpenStreetMap Foundation's
// tile servers.
func openHTTP(tmpl string, o HTTPOptions) (*httpSource, error) {
	o.applyDefaults()
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0", "{-y}", "0").Replace(tmpl))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("open source %s: not an http(s) URL template", tmpl)
	}
	if !strings.Contains(tmpl, "{z}") || !strings.Contains(tmpl, "{x}") || !(strings.Contains(tmpl, "{y}") || strings.Contains(tmpl, "{-y}")) {
		return nil, fmt.Errorf("open source %s: the URL template needs {z}, {x} and {y}", tmpl)
	}
	host := strings.ToLower(u.Hostname())
	if host == "tile.openstreetmap.org" || strings.HasSuffix(host, ".tile.openstreetmap.org") {
		return nil, fmt.Errorf("open source %s: %w: the OpenStreetMap Foundation's tile servers are run on donated resources and their tile usage policy (https://operations.osmfoundation.org/policies/tiles/) forbids bulk downloading; use a tile provider that allows it, your own tile server, or an MBTiles/PMTiles extract", tmpl, ErrForbiddenServer)
	}
	ua := userAgent
	if o.Contact != "" {
		ua = strings.TrimSuffix(ua, ")") + "; " + o.Contact + ")"
	}
	return &httpSource{tmpl: tmpl, host: host, o: o, sem: make(chan struct{}, o.Concurrency), ua: ua}, nil
}

func (h *httpSource) url(t maptile.Tile) string {
	return strings.NewReplacer("{z}", strconv.Itoa(int(t.Z)), "{x}", strconv.Itoa(int(t.X)),
		"{y}", strconv.Itoa(int(t.Y)), "{-y}", strconv.Itoa(int(FlipY(t.Z, t.Y)))).Replace(h.tmpl)
}

func (h *httpSource) cachePath(t maptile.Tile) string {
	return filepath.Join(h.o.CacheDir, h.host, strconv.Itoa(int(t.Z)), strconv.Itoa(int(t.X)), strconv.Itoa(int(t.Y)))
}

// emptyMark is the cache content of a tile the server does not have.
const emptyMark = "stylize:empty"

// Get fetches one tile; 404 and 204 mean no tile (nil, nil).
func (h *httpSource) Get(ctx context.Context, t maptile.Tile) ([]byte, error) {
	if h.o.CacheDir != "" {
		b, err := os.ReadFile(h.cachePath(t))
		if err == nil {
			if string(b) == emptyMark {
				return nil, nil
			}
			return b, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("tile %s cache: %w", TileString(t), unwrapPath(err))
		}
	}
	b, err := h.fetch(ctx, t)
	if err != nil {
		return nil, err
	}
	if h.o.CacheDir != "" {
		p := h.cachePath(t)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			data := b
			if data == nil {
				data = []byte(emptyMark)
			}
			_ = pipeline.WriteFileAtomic(p, func(w io.Writer) error { _, err := w.Write(data); return err })
		}
	}
	return b, nil
}

// wait blocks until the rate limit allows one more request.
func (h *httpSource) wait(ctx context.Context) error {
	h.mu.Lock()
	now := time.Now()
	start := h.next
	if start.Before(now) {
		start = now
	}
	h.next = start.Add(time.Duration(float64(time.Second) / h.o.Rate))
	h.mu.Unlock()
	return sleep(ctx, time.Until(start))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryable is a failure worth another try after a pause.
type retryable struct {
	err   error
	after time.Duration // the server's Retry-After, 0 when none
}

func (r retryable) Error() string { return r.err.Error() }

func (h *httpSource) fetch(ctx context.Context, t maptile.Tile) ([]byte, error) {
	u := h.url(t)
	delay := h.o.Backoff
	var last error
	for try := 0; try <= h.o.Retries; try++ {
		if try > 0 {
			d := delay
			var rt retryable
			if errors.As(last, &rt) && rt.after > d {
				d = min(rt.after, 60*time.Second)
			}
			if err := sleep(ctx, d); err != nil {
				return nil, err
			}
			delay *= 2
		}
		b, err := h.once(ctx, u)
		if err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var rt retryable
		if !errors.As(err, &rt) {
			return nil, fmt.Errorf("tile %s: %w", TileString(t), err)
		}
		last = err
	}
	return nil, fmt.Errorf("tile %s: %w (gave up after %d tries)", TileString(t), last, h.o.Retries+1)
}

func (h *httpSource) once(ctx context.Context, u string) ([]byte, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.sem }()
	if err := h.wait(ctx); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", h.ua)
	resp, err := h.o.Client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, retryable{err: fmt.Errorf("GET %s: no answer within %s", u, h.o.Timeout)}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, retryable{err: fmt.Errorf("GET %s: %w", u, err)}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
		if err != nil {
			return nil, retryable{err: fmt.Errorf("GET %s: body: %w", u, err)}
		}
		if len(b) == 0 {
			return nil, nil
		}
		return b, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusNoContent:
		return nil, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		var after time.Duration
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			after = time.Duration(s) * time.Second
		}
		return nil, retryable{err: fmt.Errorf("GET %s: %s", u, resp.Status), after: after}
	}
	return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
}

// List is not possible over HTTP.
func (h *httpSource) List(context.Context, maptile.Zoom, maptile.Zoom) ([]maptile.Tile, error) {
	return nil, ErrCannotList
}

// Metadata names the host.
func (h *httpSource) Metadata() Metadata { return Metadata{Name: h.host} }

// Close does nothing.
func (h *httpSource) Close() error { return nil }
