package video

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"", 0, false},
		{"90", 90 * time.Second, false},
		{"1.5", 1500 * time.Millisecond, false},
		{"1m30s", 90 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"1:30", 90 * time.Second, false},
		{"01:02:03.5", time.Hour + 2*time.Minute + 3500*time.Millisecond, false},
		{"-1", 0, true},
		{"1:75", 0, true},
		{"1.5:30", 0, true},
		{"soon", 0, true},
		{"-1m", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseRatio(t *testing.T) {
	tests := []struct {
		in   string
		want Ratio
	}{
		{"24/1", Ratio{24, 1}}, {"30000/1001", Ratio{30000, 1001}}, {"4:3", Ratio{4, 3}},
		{"0/0", Ratio{}}, {"N/A", Ratio{}}, {"25", Ratio{25, 1}}, {"-1/2", Ratio{}},
	}
	for _, tc := range tests {
		if got := ParseRatio(tc.in); got != tc.want {
			t.Errorf("ParseRatio(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRotation(t *testing.T) {
	dm := func(r float64) []map[string]any {
		return []map[string]any{{"side_data_type": "Display Matrix", "rotation": r}}
	}
	tests := []struct {
		tag  string
		side []map[string]any
		want int
	}{
		{"", nil, 0}, {"90", nil, 90}, {"-90", nil, 270}, {"", dm(-90), 270}, {"", dm(180), 180},
		{"", dm(90), 90}, {"", dm(-180), 180}, {"270", nil, 270}, {"", dm(89.9), 90},
	}
	for _, tc := range tests {
		if got := rotation(tc.tag, tc.side); got != tc.want {
			t.Errorf("rotation(%q, %v) = %d, want %d", tc.tag, tc.side, got, tc.want)
		}
	}
}

func TestPlan(t *testing.T) {
	base := Info{Width: 854, Height: 480, SAR: Ratio{1, 1}, FPS: Ratio{24, 1}, Duration: 30 * time.Second, Frames: 720}
	tests := []struct {
		name    string
		mod     func(i *Info)
		o       Options
		w, h    int
		frames  int
		filters string
		err     string
	}{
		{name: "as is", w: 854, h: 480, frames: 720},
		{name: "height", o: Options{Height: 144}, w: 256, h: 144, frames: 720, filters: "scale=256:144"},
		{name: "rotated with height", mod: func(i *Info) { i.Rotation = 90 }, o: Options{Height: 144}, w: 80, h: 144, frames: 720, filters: "scale=80:144"},
		{name: "odd padded", mod: func(i *Info) { i.Width, i.Height = 161, 91 }, w: 162, h: 92, frames: 720, filters: "pad=162:92"},
		{name: "tiny", mod: func(i *Info) { i.Width, i.Height = 1, 1 }, w: 2, h: 2, frames: 720, filters: "fillborders=right=1:bottom=1"},
		{name: "segment", o: Options{Start: 10 * time.Second, Duration: 2 * time.Second}, w: 854, h: 480, frames: 48},
		{name: "segment past the end", o: Options{Start: 29 * time.Second, Duration: 5 * time.Second}, w: 854, h: 480, frames: 24},
		{name: "start after the end", o: Options{Start: 31 * time.Second}, err: "only 30s long"},
		{name: "start after the last frame", o: Options{Start: 29980 * time.Millisecond}, err: "no frame starts after it"},
		{name: "start at the last frame", o: Options{Start: 29958 * time.Millisecond}, w: 854, h: 480, frames: 1},
		{name: "vfr", mod: func(i *Info) { i.VFR, i.FPS = true, Ratio{288, 23} }, w: 854, h: 480, frames: 720, filters: "fps=288/23"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info := base
			if tc.mod != nil {
				tc.mod(&info)
			}
			p, err := newPlan(&info, tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.W != tc.w || p.H != tc.h || p.Frames != tc.frames {
				t.Errorf("plan %dx%d %d frames, want %dx%d %d", p.W, p.H, p.Frames, tc.w, tc.h, tc.frames)
			}
			if p.W%2 != 0 || p.H%2 != 0 {
				t.Errorf("odd output size %dx%d", p.W, p.H)
			}
			if !strings.Contains(p.filterArg(), tc.filters) || (tc.filters == "" && p.filterArg() != "") {
				t.Errorf("filters %q, want %q", p.filterArg(), tc.filters)
			}
		})
	}
}

func TestCapBuffer(t *testing.T) {
	var b capBuffer
	b.Write([]byte("[mov,mp4 @ 0x55d7] moov atom not found\n"))
	for i := 0; i < 2000; i++ {
		b.Write([]byte("[h264 @ 0x1234abcd] warning: frame damaged\n"))
	}
	b.Write([]byte("fatal: giving up\n"))
	s := b.String()
	if !strings.HasPrefix(s, "moov atom not found") || !strings.HasSuffix(s, "fatal: giving up") {
		t.Errorf("kept %q: want the first and the last line", s)
	}
	if strings.Contains(s, "@ 0x") || strings.Contains(s, "\n") || len(s) > 300 {
		t.Errorf("kept %q: want one short line without ffmpeg's context prefixes", s)
	}
	if len(b.head)+len(b.tail) > stderrCap {
		t.Errorf("buffer holds %d bytes, cap %d", len(b.head)+len(b.tail), stderrCap)
	}
}

func FuzzParseProbe(f *testing.F) {
	f.Add([]byte(`{"streams":[{"index":0,"codec_type":"video","width":2,"height":2,"avg_frame_rate":"24/1","nb_frames":"3"}],"format":{"duration":"1"}}`))
	f.Add([]byte(`{"streams":[{"codec_type":"audio","codec_name":"aac"}]}`))
	f.Add([]byte(`{"streams":[{"codec_type":"video","width":9,"height":7,"r_frame_rate":"0/0","side_data_list":[{"side_data_type":"Display Matrix","rotation":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := parseProbe("x", b)
		if err != nil {
			return
		}
		if info.Width <= 0 || info.Height <= 0 || !info.FPS.Valid() || !info.SAR.Valid() {
			t.Fatalf("accepted an unusable stream: %+v", info)
		}
		if _, err := newPlan(info, Options{}); err == nil {
			// fine: a plan may also refuse (too large)
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"1", "1.5", "1:30", "1m", "00:00:01.25", "-3", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTime(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseTime(%q) = %v, negative", s, d)
		}
	})
}

func TestIsSequence(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a_0001.png", "b_3.png", "c_12.png"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		pattern string
		want    bool
	}{
		{"a_%04d.png", true},
		{"b_%d.png", true},
		{"a_%4d.png", false}, // space-padded: a_   1.png
		{"c_%d.png", false},  // first frame above 4, as for ffmpeg
		{"a_%04d_%d.png", false},
		{"a_0001.png", false},
		{"missing_%04d.png", false},
	}
	for _, tc := range tests {
		if got := isSequence(filepath.Join(dir, tc.pattern)); got != tc.want {
			t.Errorf("isSequence(%q) = %v, want %v", tc.pattern, got, tc.want)
		}
	}
}
