package video

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// plan is what a run will do, worked out from the probe and the options
// before any frame is decoded.
type plan struct {
	W, H    int      // output frame size, both even
	SAR     Ratio    // output pixel aspect ratio (the source's, upright)
	FPS     Ratio    // output frame rate
	Frames  int      // expected frame count
	Filters []string // decoder filters after ffmpeg's own autorotation
	Audio   []audioPlan
	Start   time.Duration
	Length  time.Duration // 0 = to the end
}

type audioPlan struct {
	AudioStream
	Copy bool // stream copied as is; else re-encoded to AAC
}

// mp4Audio are the audio codecs copied into the MP4 as they are: the MP4
// muxer takes them and browsers play them. Anything else (PCM, Vorbis,
// FLAC, AC-3, DTS, …) is re-encoded to AAC.
var mp4Audio = map[string]bool{"aac": true, "mp3": true, "opus": true}

// newPlan decides the output geometry and streams.
//
// Size: the upright (rotated) source size, or --height H with the width
// kept to the stored aspect ratio, rounded to even. Without --height an odd
// side is padded by one pixel (the edge row or column repeated): the
// smallest change that H.264 4:2:0 accepts, and it never distorts or
// loses a pixel. A 1×1 input becomes 2×2.
func newPlan(info *Info, o Options) (*plan, error) {
	dw, dh := info.DisplaySize()
	p := &plan{SAR: info.DisplaySAR(), FPS: info.FPS, Start: o.Start, Length: o.Duration}
	if info.VFR {
		// Variable frame rate becomes constant at the average rate, so the
		// frame count and total duration stay those of the source.
		p.Filters = append(p.Filters, "fps="+info.FPS.String())
	}
	switch {
	case o.Height > 0:
		p.H = o.Height
		p.W = max(2, 2*int(math.Round(float64(o.Height)*float64(dw)/float64(dh)/2)))
		if p.W != dw || p.H != dh {
			p.Filters = append(p.Filters, fmt.Sprintf("scale=%d:%d:flags=bicubic", p.W, p.H))
		}
	default:
		p.W, p.H = dw+dw%2, dh+dh%2
		if p.W != dw || p.H != dh {
			p.Filters = append(p.Filters,
				// fillborders works on planar formats; in subsampled YUV a
				// one-pixel border would smear the wrong chroma.
				"format=gbrp",
				fmt.Sprintf("pad=%d:%d:0:0", p.W, p.H),
				fmt.Sprintf("fillborders=right=%d:bottom=%d:mode=smear", p.W-dw, p.H-dh))
		}
	}
	if p.W > 16384 || p.H > 16384 {
		return nil, fmt.Errorf("output %dx%d: larger than the encoder's 16384 px limit", p.W, p.H)
	}

	// Expected frames of the segment.
	total := info.Duration
	if o.Start > 0 {
		if o.Start >= total && total > 0 {
			return nil, fmt.Errorf("--start %s: the video is only %s long", o.Start, total.Round(time.Millisecond))
		}
		// ffmpeg keeps the frames that start at or after --start: past the
		// last frame's start there is none left.
		if last := total - time.Duration(float64(time.Second)/info.FPS.Float()); !info.VFR && total > 0 && o.Start > last+time.Millisecond {
			return nil, fmt.Errorf("--start %s: no frame starts after it (the video is %s long, its last frame starts at %s)",
				o.Start, total.Round(time.Millisecond), last.Round(time.Millisecond))
		}
		total -= o.Start
	}
	if o.Duration > 0 && (o.Duration < total || total <= 0) {
		total = o.Duration
	}
	p.Frames = info.Frames
	if o.Start > 0 || o.Duration > 0 {
		p.Frames = int(math.Round(total.Seconds() * info.FPS.Float()))
	}
	for _, a := range info.Audio {
		p.Audio = append(p.Audio, audioPlan{AudioStream: a, Copy: mp4Audio[a.Codec]})
	}
	return p, nil
}

func (p *plan) filterArg() string { return strings.Join(p.Filters, ",") }

// ParseTime reads a time position or length as seconds ("90", "1.5"), a Go
// duration ("1m30s", "500ms") or ffmpeg's [[HH:]MM:]SS[.frac] ("1:30").
func ParseTime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f > 1e7 {
			return 0, fmt.Errorf("time %q: want a non-negative number of seconds", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("time %q: want a non-negative duration", s)
		}
		return d, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) <= 3 {
		var total float64
		ok := true
		for i, p := range parts {
			v, err := strconv.ParseFloat(p, 64)
			if err != nil || v < 0 || (i > 0 && v >= 60) || (i < len(parts)-1 && strings.Contains(p, ".")) {
				ok = false
				break
			}
			total = total*60 + v
		}
		if ok {
			return time.Duration(total * float64(time.Second)), nil
		}
	}
	return 0, fmt.Errorf("time %q: want seconds (90, 1.5), a duration (1m30s) or [HH:]MM:SS", s)
}
