// Package tiletest holds the test helpers of tiles and tiles/store:
// synthetic map tiles, tile folders and a loopback tile server.
package tiletest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb/maptile"
)

// PNGTile draws tile t of a continuous synthetic map (smooth colours and
// streets that run across tile borders), size px; transparent where alpha
// is asked for.
func PNGTile(t maptile.Tile, size int, transparent bool) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			gx, gy := float64(int(t.X)*size+x), float64(int(t.Y)*size+y)
			c := color.NRGBA{
				R: uint8(128 + 100*math.Sin(gx/37)),
				G: uint8(128 + 100*math.Cos(gy/53)),
				B: uint8(128 + 60*math.Sin((gx+gy)/71)),
				A: 255,
			}
			if int(gx)%97 < 3 || int(gy)%89 < 3 {
				c.R, c.G, c.B = 20, 20, 20
			}
			if transparent && x < size/2 {
				c.A = 0
			}
			img.Pix[img.PixOffset(x, y)] = c.R
			img.Pix[img.PixOffset(x, y)+1] = c.G
			img.Pix[img.PixOffset(x, y)+2] = c.B
			img.Pix[img.PixOffset(x, y)+3] = c.A
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// WriteXYZ writes tiles into dir/z/x/y.png.
func WriteXYZ(t testing.TB, dir string, ts []maptile.Tile, data func(maptile.Tile) []byte) {
	t.Helper()
	for _, tt := range ts {
		p := filepath.Join(dir, strconv.Itoa(int(tt.Z)), strconv.Itoa(int(tt.X)), strconv.Itoa(int(tt.Y))+".png")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data(tt), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Block lists the tiles of a cols×rows rectangle at zoom z, row by row.
func Block(z maptile.Zoom, x0, y0, cols, rows uint32) []maptile.Tile {
	var ts []maptile.Tile
	for y := y0; y < y0+rows; y++ {
		for x := x0; x < x0+cols; x++ {
			ts = append(ts, maptile.New(x, y, z))
		}
	}
	return ts
}

// Server serves synthetic z/x/y.png tiles on loopback with per-path
// behaviours, counting requests and the most in flight at once.
type Server struct {
	*httptest.Server
	mu          sync.Mutex
	hits        map[string]int
	inFlight    atomic.Int32
	MaxInFlight atomic.Int32
	Agents      map[string]bool // User-Agents seen
	// behave returns the status for a request (0 = serve the tile), given
	// how many times this path was asked before; hang makes it never answer.
	behave func(path string, n int) (status int, hang bool)
	Delay  time.Duration
}

// NewServer starts a server, closed when the test ends; behave may be nil.
func NewServer(t testing.TB, behave func(path string, n int) (int, bool)) *Server {
	s := &Server{hits: map[string]int{}, Agents: map[string]bool{}, behave: behave}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for {
			m := s.MaxInFlight.Load()
			if n <= m || s.MaxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		s.mu.Lock()
		k := s.hits[r.URL.Path]
		s.hits[r.URL.Path]++
		s.Agents[r.UserAgent()] = true
		s.mu.Unlock()
		if s.Delay > 0 {
			time.Sleep(s.Delay)
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
		w.Write(PNGTile(maptile.New(uint32(x), uint32(y), maptile.Zoom(z)), 64, false))
	}))
	t.Cleanup(s.Close)
	return s
}

// Count is how many requests asked for path.
func (s *Server) Count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}
