package video

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Ratio is a rational number as ffprobe prints it ("30000/1001").
type Ratio struct{ Num, Den int }

// ParseRatio reads "N/D" or "N:D"; "0/0" and garbage give the zero Ratio.
func ParseRatio(s string) Ratio {
	s = strings.ReplaceAll(s, ":", "/")
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		b = "1"
	}
	n, err1 := strconv.Atoi(strings.TrimSpace(a))
	d, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || n <= 0 || d <= 0 {
		return Ratio{}
	}
	return Ratio{n, d}
}

// Valid reports whether r is a positive ratio.
func (r Ratio) Valid() bool { return r.Num > 0 && r.Den > 0 }

// Float is r as a float64 (0 when invalid).
func (r Ratio) Float() float64 {
	if !r.Valid() {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

func (r Ratio) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// AudioStream is one audio stream of the input.
type AudioStream struct {
	Index    int    // stream index in the file
	Codec    string // ffprobe's codec_name: aac, mp3, opus, pcm_s16le, …
	Channels int
}

// Info is what Probe found out about an input.
type Info struct {
	Path   string
	Format string // container, e.g. "mov,mp4,m4a,3gp,3g2,mj2"

	VideoIndex    int    // index of the video stream used
	Codec         string // its codec
	Width, Height int    // stored size (before rotation)
	// Rotation is the display rotation in degrees (0, 90, 180 or 270) from
	// the display matrix side data or the legacy rotate tag. ffmpeg applies
	// it when decoding, so decoded frames are upright: 90 and 270 swap the
	// displayed width and height.
	Rotation int
	SAR      Ratio // sample (pixel) aspect ratio; 1/1 when unset
	// FPS is the average frame rate (avg_frame_rate; r_frame_rate when that
	// is unknown). VFR is set when the two differ: such an input is made
	// constant-rate at FPS (frames are duplicated or dropped to fit).
	FPS      Ratio
	VFR      bool
	Duration time.Duration // of the video stream (of the container when unknown)
	Frames   int           // frame count: nb_frames, else Duration·FPS

	Audio []AudioStream

	countKnown bool // Frames came from the header
}

// DisplaySize is the upright size, after rotation.
func (i *Info) DisplaySize() (w, h int) {
	if i.Rotation == 90 || i.Rotation == 270 {
		return i.Height, i.Width
	}
	return i.Width, i.Height
}

// DisplaySAR is the pixel aspect ratio of the upright frames.
func (i *Info) DisplaySAR() Ratio {
	if i.Rotation == 90 || i.Rotation == 270 {
		return Ratio{i.SAR.Den, i.SAR.Num}
	}
	return i.SAR
}

// ErrNoVideo means the input has no video stream (an audio file, say).
var ErrNoVideo = errors.New("no video stream")

type probeJSON struct {
	Streams []struct {
		Index        int               `json:"index"`
		CodecType    string            `json:"codec_type"`
		CodecName    string            `json:"codec_name"`
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		SAR          string            `json:"sample_aspect_ratio"`
		RFrameRate   string            `json:"r_frame_rate"`
		AvgFrameRate string            `json:"avg_frame_rate"`
		Duration     string            `json:"duration"`
		NbFrames     string            `json:"nb_frames"`
		Channels     int               `json:"channels"`
		Tags         map[string]string `json:"tags"`
		Disposition  map[string]int    `json:"disposition"`
		SideDataList []map[string]any  `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// Probe runs ffprobe on path. ffprobe is run with os/exec rather than
// ffmpeg-go's Probe, which takes no context (a hung network input could not
// be cancelled) and returns only "exit status 1" without ffprobe's text.
func Probe(ctx context.Context, path string) (*Info, error) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		return nil, fmt.Errorf("ffprobe %w", ErrNoFFmpeg)
	}
	var stderr capBuffer
	cmd := exec.CommandContext(ctx, "ffprobe", "-hide_banner", "-v", "error",
		"-print_format", "json", "-show_format", "-show_streams", inputURL(path))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := stderr.String()
		// ffprobe starts its message with the path; keep just the cause.
		msg = strings.ReplaceAll(msg, inputURL(path)+": ", "")
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("probe %s: not a video ffmpeg can read: %s", path, msg)
	}
	info, err := parseProbe(path, out)
	if err != nil {
		return nil, err
	}
	if !info.countKnown {
		// No frame count in the header (Matroska, WebM, MPEG-TS): count the
		// packets, which only demuxes (a fraction of a second for a
		// 30 s clip). The average rate follows from the count, and a
		// variable rate shows as a count that does not fit r_frame_rate.
		if err := countFrames(ctx, info); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// countFrames sets Frames (and FPS, VFR) from a packet count.
func countFrames(ctx context.Context, info *Info) error {
	var stderr capBuffer
	cmd := exec.CommandContext(ctx, "ffprobe", "-hide_banner", "-v", "error", "-select_streams", strconv.Itoa(info.VideoIndex),
		"-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", inputURL(info.Path))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("probe %s: counting frames: %w: %s", info.Path, err, stderr.String())
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.Split(string(out), "\n")[0]))
	if err != nil || n <= 0 {
		return nil // keep the estimate from the duration
	}
	info.Frames = n
	ms := info.Duration.Milliseconds()
	if ms <= 0 {
		return nil
	}
	// Constant rate when the count fits the duration at r_frame_rate to
	// within two frames (or 1 %): container durations are often a frame
	// long or short.
	if expect := info.Duration.Seconds() * info.FPS.Float(); math.Abs(float64(n)-expect) > max(2, 0.01*float64(n)) {
		info.FPS, info.VFR = reduce(Ratio{n * 1000, int(ms)}), true
	}
	return nil
}

func reduce(r Ratio) Ratio {
	a, b := r.Num, r.Den
	for b != 0 {
		a, b = b, a%b
	}
	if a <= 0 {
		return r
	}
	return Ratio{r.Num / a, r.Den / a}
}

func parseProbe(path string, out []byte) (*Info, error) {
	var pj probeJSON
	if err := json.Unmarshal(out, &pj); err != nil {
		return nil, fmt.Errorf("probe %s: reading ffprobe output: %w", path, err)
	}
	info := &Info{Path: path, Format: pj.Format.FormatName, VideoIndex: -1}
	for _, s := range pj.Streams {
		switch s.CodecType {
		case "audio":
			info.Audio = append(info.Audio, AudioStream{Index: s.Index, Codec: s.CodecName, Channels: s.Channels})
		case "video":
			// Cover art in music files is a "video" stream of one picture.
			if info.VideoIndex >= 0 || s.Disposition["attached_pic"] == 1 || s.Width <= 0 || s.Height <= 0 {
				continue
			}
			info.VideoIndex = s.Index
			info.Codec = s.CodecName
			info.Width, info.Height = s.Width, s.Height
			info.SAR = ParseRatio(s.SAR)
			avg, r := ParseRatio(s.AvgFrameRate), ParseRatio(s.RFrameRate)
			info.FPS = avg
			if !avg.Valid() {
				info.FPS = r
			}
			info.VFR = avg.Valid() && r.Valid() && avg.Num*r.Den != r.Num*avg.Den
			info.Duration = seconds(s.Duration)
			if info.Duration <= 0 {
				// Matroska keeps per-stream durations in a tag; the
				// container's duration also covers longer audio.
				info.Duration = clockTime(s.Tags["DURATION"])
			}
			info.Frames, _ = strconv.Atoi(s.NbFrames)
			info.Rotation = rotation(s.Tags["rotate"], s.SideDataList)
		}
	}
	if info.VideoIndex < 0 {
		what := "no streams"
		if len(info.Audio) > 0 {
			what = fmt.Sprintf("only %d audio stream(s)", len(info.Audio))
		}
		return nil, fmt.Errorf("probe %s: %w (%s)", path, ErrNoVideo, what)
	}
	if !info.SAR.Valid() {
		info.SAR = Ratio{1, 1}
	}
	if info.Duration <= 0 {
		info.Duration = seconds(pj.Format.Duration)
	}
	if !info.FPS.Valid() {
		return nil, fmt.Errorf("probe %s: video stream %d has no known frame rate", path, info.VideoIndex)
	}
	// An edit list (a stream-copied cut, ffmpeg -ss T -i IN -c copy) hides
	// frames before the cut that nb_frames still counts; the stream's
	// duration is that of the frames shown.
	if expect := int(math.Round(info.Duration.Seconds() * info.FPS.Float())); info.Duration > 0 && info.Frames > expect+max(2, expect/50) {
		info.Frames = expect
	}
	info.countKnown = info.Frames > 0
	if info.Frames <= 0 || info.VFR {
		info.Frames = int(math.Round(info.Duration.Seconds() * info.FPS.Float()))
	}
	return info, nil
}

func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// clockTime reads HH:MM:SS.fraction (0 when it is not that).
func clockTime(s string) time.Duration {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || m < 0 || sec < 0 {
		return 0
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*float64(time.Second))
}

// rotation reads the display matrix side data (ffmpeg ≥ 5) or the legacy
// rotate tag, normalised to 0, 90, 180 or 270.
func rotation(tag string, side []map[string]any) int {
	deg := 0.0
	if v, err := strconv.ParseFloat(tag, 64); err == nil {
		deg = v
	}
	for _, sd := range side {
		if sd["side_data_type"] != "Display Matrix" {
			continue
		}
		if v, ok := sd["rotation"].(float64); ok {
			deg = v
		}
	}
	r := int(math.Round(deg/90)) * 90 % 360
	if r < 0 {
		r += 360
	}
	return r
}

// inputURL makes a local path safe to hand to ffmpeg: a name with a colon
// would otherwise be read as a protocol ("a:b.mp4"), one starting with a
// dash as an option. URLs (scheme://…) pass through.
func inputURL(path string) string {
	if strings.Contains(path, "://") {
		return path
	}
	return "file:" + path
}
