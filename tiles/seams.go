package tiles

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/tiles/store"
)

// Mosaic is the tiles of one zoom stitched into one picture (packed RGB),
// covering the bounding rectangle of the tiles present.
type Mosaic struct {
	Zoom       maptile.Zoom
	X0, Y0     uint32 // top-left tile
	Cols, Rows int
	T          int      // tile size in px
	RGB        []byte   // 3·(Cols·T)·(Rows·T)
	Present    [][]bool // [row][col]
}

// W and H are the mosaic's size in px.
func (m *Mosaic) W() int { return m.Cols * m.T }

// H is the mosaic's height in px.
func (m *Mosaic) H() int { return m.Rows * m.T }

// maxMosaicPixels bounds Stitch (a 16k × 16k mosaic is 768 MiB of RGB).
const maxMosaicPixels = 16384 * 16384

// Stitch reads every tile of zoom z from src into one mosaic.
func Stitch(ctx context.Context, src store.Source, z maptile.Zoom) (*Mosaic, error) {
	ts, err := src.List(ctx, z, z)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("zoom %d: no tiles", z)
	}
	m := &Mosaic{Zoom: z, X0: ts[0].X, Y0: ts[0].Y}
	x1, y1 := ts[0].X, ts[0].Y
	for _, t := range ts {
		m.X0, m.Y0 = min(m.X0, t.X), min(m.Y0, t.Y)
		x1, y1 = max(x1, t.X), max(y1, t.Y)
	}
	m.Cols, m.Rows = int(x1-m.X0)+1, int(y1-m.Y0)+1
	for _, t := range ts {
		b, err := src.Get(ctx, t)
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue
		}
		r, err := decodeTile(store.TileString(t), b)
		if err != nil {
			return nil, err
		}
		if m.T == 0 {
			m.T = r.w
			if int64(m.Cols)*int64(m.Rows)*int64(m.T)*int64(m.T) > maxMosaicPixels {
				return nil, fmt.Errorf("zoom %d: %d×%d tiles are too large to stitch", z, m.Cols, m.Rows)
			}
			m.RGB = make([]byte, 3*m.W()*m.H())
			m.Present = make([][]bool, m.Rows)
			for i := range m.Present {
				m.Present[i] = make([]bool, m.Cols)
			}
		}
		if r.w != m.T || r.h != m.T {
			return nil, fmt.Errorf("tile %s is %dx%d, others %dx%d", store.TileString(t), r.w, r.h, m.T, m.T)
		}
		c, row := int(t.X-m.X0), int(t.Y-m.Y0)
		m.Present[row][c] = true
		w := m.W()
		for y := 0; y < m.T; y++ {
			copy(m.RGB[3*((row*m.T+y)*w+c*m.T):], r.rgb[3*y*m.T:3*(y+1)*m.T])
		}
	}
	if m.T == 0 {
		return nil, fmt.Errorf("zoom %d: no readable tiles", z)
	}
	return m, nil
}

// SeamReport is the seam metric of one zoom.
type SeamReport struct {
	Zoom    int     `json:"zoom"`
	Tiles   int     `json:"tiles"`
	Borders int     `json:"borders"` // tile edges between two present tiles
	Border  float64 `json:"border"`  // mean |gradient| across tile borders
	Quarter float64 `json:"quarter"` // the same a quarter tile away
	Ratio   float64 `json:"ratio"`   // Border / Quarter: 1.0 = invisible seams
}

// ErrNoBorders means a zoom has no two neighbouring tiles to measure.
var ErrNoBorders = errors.New("no tile borders to measure (fewer than two neighbouring tiles)")

// Seams computes the seam metric on a mosaic: the mean absolute gradient
// (RGB mean) across every border between two present tiles, divided by the
// same gradient on lines a quarter tile to either side of the border.
func Seams(m *Mosaic) (SeamReport, error) {
	rep := SeamReport{Zoom: int(m.Zoom)}
	w := m.W()
	at := func(x, y int) (float64, float64, float64) {
		i := 3 * (y*w + x)
		return float64(m.RGB[i]), float64(m.RGB[i+1]), float64(m.RGB[i+2])
	}
	grad := func(x0, y0, x1, y1 int) float64 { // |p1 − p0|, mean over channels
		r0, g0, b0 := at(x0, y0)
		r1, g1, b1 := at(x1, y1)
		return (math.Abs(r1-r0) + math.Abs(g1-g0) + math.Abs(b1-b0)) / 3
	}
	q := m.T / 4
	var sb, sq float64
	var nb, nq int
	for r := 0; r < m.Rows; r++ {
		for c := 0; c < m.Cols; c++ {
			if !m.Present[r][c] {
				continue
			}
			rep.Tiles++
			if c+1 < m.Cols && m.Present[r][c+1] { // vertical border at x = (c+1)·T
				rep.Borders++
				x := (c + 1) * m.T
				for y := r * m.T; y < (r+1)*m.T; y++ {
					sb += grad(x-1, y, x, y)
					sq += grad(x-q-1, y, x-q, y) + grad(x+q-1, y, x+q, y)
				}
				nb += m.T
				nq += 2 * m.T
			}
			if r+1 < m.Rows && m.Present[r+1][c] { // horizontal border at y = (r+1)·T
				rep.Borders++
				y := (r + 1) * m.T
				for x := c * m.T; x < (c+1)*m.T; x++ {
					sb += grad(x, y-1, x, y)
					sq += grad(x, y-q-1, x, y-q) + grad(x, y+q-1, x, y+q)
				}
				nb += m.T
				nq += 2 * m.T
			}
		}
	}
	if rep.Borders == 0 {
		return rep, ErrNoBorders
	}
	rep.Border, rep.Quarter = sb/float64(nb), sq/float64(nq)
	if rep.Quarter > 0 {
		rep.Ratio = rep.Border / rep.Quarter
	} else if rep.Border == 0 {
		rep.Ratio = 1
	} else {
		rep.Ratio = math.Inf(1)
	}
	return rep, nil
}
