package tiles

import (
	"fmt"
	"math"

	"github.com/paulmach/orb/maptile"
)

// Feathered metatiles. Each metatile's stylized output covers its core
// plus a band of b px into its neighbours (b ≤ margin, so the band is
// stylized from real neighbour pixels). Across every metatile border the
// two sides are mixed with complementary raised-cosine weights over 2b px
// (separable, so four metatiles mix at corners), which hides any
// difference between neighbouring metatiles (per-window statistics) behind
// a smooth transition instead of a cut.
//
// A tile near a border is written when every metatile covering it has been
// through the sink. Metatiles arrive in row-major order, so the tiles
// waiting are those within one tile of the current metatile row's borders:
// at most about two tile rows of the zoom (1.3 MiB each at 256 px).

// blender is the sink-side state of one zoom's blending.
type blender struct {
	t, n, b    int
	minX, minY uint32
	cols, rows int             // tiles of the zone's rectangle
	mcols      int             // metatile columns
	mrows      int             // metatile rows
	exists     map[[2]int]bool // metatiles with wanted tiles
	todo       map[maptile.Tile]bool
	pending    map[maptile.Tile]*blendAcc
	owned      map[maptile.Tile]coreTile // tiles their owner will write, with alpha
	ramp       []float32                 // ramp[i]: weight at i+0.5 px from −b, 2b values
	jobsLeft   int                       // metatiles still to come
	wx, wy     []float32                 // scratch weights along x and y
}

type blendAcc struct {
	rgb  []float32 // 3 planes of t×t, weighted sums
	w    []float32 // t×t, sums of weights
	got  int
	want int
}

func newBlender(zp *zonePlan, t, b int, minX, minY uint32, todo map[maptile.Tile]bool) *blender {
	bl := &blender{t: t, n: zp.n, b: b, minX: minX, minY: minY,
		cols: int(zp.maxX-minX) + 1, rows: int(zp.maxY-minY) + 1,
		exists: map[[2]int]bool{}, todo: todo,
		pending: map[maptile.Tile]*blendAcc{}, owned: map[maptile.Tile]coreTile{}}
	bl.mcols, bl.mrows = (bl.cols+bl.n-1)/bl.n, (bl.rows+bl.n-1)/bl.n
	for _, tt := range zp.want {
		bl.exists[bl.metaOf(tt)] = true
	}
	bl.ramp = make([]float32, 2*b)
	for i := range bl.ramp {
		// 0 at the outer end of the band, ½ on the border, 1 at its inner end.
		bl.ramp[i] = float32(0.5 - 0.5*math.Cos(math.Pi*(float64(i)+0.5)/float64(2*b)))
	}
	return bl
}

// metaOf is the metatile whose core holds a tile.
func (bl *blender) metaOf(t maptile.Tile) [2]int {
	return [2]int{int(t.X-bl.minX) / bl.n, int(t.Y-bl.minY) / bl.n}
}

// span lists the metatile indexes along one axis whose band-extended core
// overlaps tile index i: its own, and the neighbour across a border the
// tile touches (b < t, so only one).
func (bl *blender) span(i, m int) []int {
	own := i / bl.n
	s := []int{own}
	if bl.b > 0 && i%bl.n == 0 && own > 0 {
		s = append(s, own-1)
	}
	if bl.b > 0 && (i%bl.n == bl.n-1) && own < m-1 {
		s = append(s, own+1)
	}
	return s
}

// contributors counts the metatiles (with wanted tiles) covering a tile.
func (bl *blender) contributors(t maptile.Tile) int {
	k := 0
	for _, mx := range bl.span(int(t.X-bl.minX), bl.mcols) {
		for _, my := range bl.span(int(t.Y-bl.minY), bl.mrows) {
			if bl.exists[[2]int{mx, my}] {
				k++
			}
		}
	}
	return k
}

// needed reports the metatiles to run: those covering a tile still to do
// (a done metatile is run again when a neighbour needs its band).
func (bl *blender) needed() map[[2]int]bool {
	need := map[[2]int]bool{}
	for t := range bl.todo {
		for _, mx := range bl.span(int(t.X-bl.minX), bl.mcols) {
			for _, my := range bl.span(int(t.Y-bl.minY), bl.mrows) {
				if k := [2]int{mx, my}; bl.exists[k] {
					need[k] = true
				}
			}
		}
	}
	return need
}

// weights fills w[i] with the metatile's weight along one axis at the
// pixels p0..p0+len(w)−1 (zone px) for a core [c0, c1) with neighbours
// before (lo) and after (hi) it.
func (bl *blender) weights(w []float32, p0, c0, c1 int, lo, hi bool) {
	b := bl.b
	for i := range w {
		p := p0 + i
		v := float32(1)
		if lo {
			switch s := p - c0; { // px inside from the border, pixel p covers [s, s+1)
			case s < -b:
				v = 0
			case s < b:
				v *= bl.ramp[s+b]
			}
		}
		if hi {
			switch s := c1 - 1 - p; {
			case s < -b:
				v = 0
			case s < b:
				v *= bl.ramp[s+b]
			}
		}
		w[i] = v
	}
}

// add takes one metatile's output (nil when it had nothing to stylize) and
// returns the tiles it completes: each a t×t planar picture and its alpha.
func (bl *blender) add(j *metaJob) ([]blendDone, error) {
	bl.jobsLeft--
	for _, c := range j.core {
		bl.owned[c.t] = c
	}
	m := bl.reachOf(j)
	var done []blendDone
	t, b := bl.t, bl.b
	for ty := max(m.ty0, 0); ty <= min(m.ty1, bl.rows-1); ty++ {
		for tx := max(m.tx0, 0); tx <= min(m.tx1, bl.cols-1); tx++ {
			tile := maptile.New(bl.minX+uint32(tx), bl.minY+uint32(ty), maptile.Zoom(j.z))
			if !bl.todo[tile] {
				continue
			}
			// Only tiles the band reaches: b px beyond the core.
			if tx*t >= m.cx1+b || (tx+1)*t <= m.cx0-b || ty*t >= m.cy1+b || (ty+1)*t <= m.cy0-b {
				continue
			}
			if d, ok := bl.take(j, m, tile, tx, ty); ok {
				done = append(done, d)
			}
		}
	}
	if bl.jobsLeft == 0 && len(bl.pending) > 0 {
		return nil, fmt.Errorf("zoom %d: %d tiles were not covered by all their metatiles (blending plan)", j.z, len(bl.pending))
	}
	return done, nil
}

// reach is where a metatile lies in its zone: its core in zone px, the
// sides it has neighbours on, and the tiles (indexes) its band can reach.
type reach struct {
	cx0, cy0, cx1, cy1 int
	lo, hi, top, bot   bool
	tx0, tx1, ty0, ty1 int
}

func (bl *blender) reachOf(j *metaJob) reach {
	t := bl.t
	mx, my := int(j.x0-bl.minX)/bl.n, int(j.y0-bl.minY)/bl.n
	m := reach{cx0: int(j.x0-bl.minX) * t, cy0: int(j.y0-bl.minY) * t,
		lo: mx > 0, hi: mx < bl.mcols-1, top: my > 0, bot: my < bl.mrows-1}
	m.cx1, m.cy1 = m.cx0+j.cols*t, m.cy0+j.rows*t
	m.tx0, m.tx1 = int(j.x0-bl.minX), int(j.x0-bl.minX)+j.cols-1
	m.ty0, m.ty1 = int(j.y0-bl.minY), int(j.y0-bl.minY)+j.rows-1
	if m.lo {
		m.tx0--
	}
	if m.hi {
		m.tx1++
	}
	if m.top {
		m.ty0--
	}
	if m.bot {
		m.ty1++
	}
	return m
}

// take adds the metatile's share of tile (at tile index tx, ty) and
// returns the tile when this completes it.
func (bl *blender) take(j *metaJob, m reach, tile maptile.Tile, tx, ty int) (blendDone, bool) {
	t := bl.t
	acc := bl.pending[tile]
	if acc == nil {
		acc = &blendAcc{want: bl.contributors(tile)}
		if acc.want == 1 { // inside the core, away from borders: as is
			c, ok := bl.owned[tile]
			delete(bl.owned, tile)
			if !ok || j.stylized == nil {
				return blendDone{}, false
			}
			return blendDone{c: c, p: j.stylized, w: j.w, h: j.h,
				x0: tx*t - m.cx0 + j.margin, y0: ty*t - m.cy0 + j.margin}, true
		}
		bl.pending[tile] = acc
	}
	acc.got++
	if j.stylized != nil {
		bl.accumulate(acc, j, m, tx, ty)
	}
	if acc.got < acc.want {
		return blendDone{}, false
	}
	delete(bl.pending, tile)
	c, ok := bl.owned[tile]
	delete(bl.owned, tile)
	if !ok || acc.rgb == nil {
		return blendDone{}, false // empty or unreadable: its owner writes nothing
	}
	tt := t * t
	for o, w := range acc.w {
		if w > 0 {
			acc.rgb[o] /= w
			acc.rgb[tt+o] /= w
			acc.rgb[2*tt+o] /= w
		}
	}
	return blendDone{c: c, p: acc.rgb, w: t, h: t}, true
}

// accumulate adds the metatile's weighted pixels of tile (tx, ty).
func (bl *blender) accumulate(acc *blendAcc, j *metaJob, m reach, tx, ty int) {
	t := bl.t
	if acc.rgb == nil {
		acc.rgb = make([]float32, 3*t*t)
		acc.w = make([]float32, t*t)
	}
	if len(bl.wx) != t {
		bl.wx, bl.wy = make([]float32, t), make([]float32, t)
	}
	wx, wy := bl.wx, bl.wy
	bl.weights(wx, tx*t, m.cx0, m.cx1, m.lo, m.hi)
	bl.weights(wy, ty*t, m.cy0, m.cy1, m.top, m.bot)
	hw := j.w * j.h
	tt := t * t
	for y := 0; y < t; y++ {
		if wy[y] == 0 {
			continue
		}
		s := (ty*t+y-m.cy0+j.margin)*j.w + tx*t - m.cx0 + j.margin
		for x := 0; x < t; x++ {
			w := wx[x] * wy[y]
			if w == 0 {
				continue
			}
			o := y*t + x
			acc.rgb[o] += w * j.stylized[s+x]
			acc.rgb[tt+o] += w * j.stylized[hw+s+x]
			acc.rgb[2*tt+o] += w * j.stylized[2*hw+s+x]
			acc.w[o] += w
		}
	}
}

// blendDone is a finished tile: the t×t square at (x0, y0) of w×h planes.
type blendDone struct {
	c      coreTile
	p      []float32
	w, h   int
	x0, y0 int
}
