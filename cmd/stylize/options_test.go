package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"image"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stylize/stylize/configs"
	"github.com/stylize/stylize/configs/demo"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/testenv"
	"github.com/stylize/stylize/tiles"
)

// helpFlags lists the flags a subcommand's -h prints: its real flag set.
func helpFlags(t *testing.T, run func(context.Context, []string, io.Writer, io.Writer) error, args ...string) []string {
	t.Helper()
	var se bytes.Buffer
	if err := run(context.Background(), append(args, "-h"), io.Discard, &se); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("%v -h: %v", args, err)
	}
	var names []string
	for _, l := range strings.Split(se.String(), "\n") {
		if strings.HasPrefix(l, "  -") {
			names = append(names, strings.Fields(l)[0][1:])
		}
	}
	if len(names) < 5 {
		t.Fatalf("%v -h lists only %v", args, names)
	}
	return names
}

// notOptions are the flags that are no job option: the output (output:
// in a batch file), the tiles source (source:), -m (the alias of
// --model) and how a command reports (the batch has its own).
var notOptions = map[string]bool{"o": true, "source": true, "m": true, "quiet": true, "report": true}

// TestEveryFlagHasABatchKey walks the flag sets of the stylizing commands:
// every flag is a batch key of its kind (or a model convention, a key of
// a named model), and every batch key of the kind is a flag.
func TestEveryFlagHasABatchKey(t *testing.T) {
	conv := (&model.Overrides{}).Table().Keys()
	for _, c := range []struct {
		kind configs.Kind
		run  func(context.Context, []string, io.Writer, io.Writer) error
		args []string
	}{
		{configs.KindImage, runImage, nil},
		{configs.KindVideo, runVideo, nil},
		{configs.KindTiles, runTiles, nil},
		{configs.KindImage, runModels, []string{"inspect"}}, // the model options only
	} {
		keys := schemas()[c.kind]().Keys()
		batch := map[string]bool{}
		for _, k := range append(keys, conv...) {
			batch[strings.ReplaceAll(k, "_", "-")] = true
		}
		flags := helpFlags(t, c.run, c.args...)
		have := map[string]bool{}
		for _, f := range flags {
			have[f] = true
			if !batch[f] && !notOptions[f] {
				t.Errorf("%s %v: flag --%s has no batch key", c.kind, c.args, f)
			}
		}
		if c.args != nil {
			continue
		}
		for _, k := range keys {
			if f := strings.ReplaceAll(k, "_", "-"); !have[f] {
				t.Errorf("%s: batch key %s has no flag --%s", c.kind, k, f)
			}
		}
	}
}

// TestOptionDrift: the cases of issue 9 where the flags and the batch
// file disagreed now agree, with every problem reported at once.
func TestOptionDrift(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), 16, 16)
	os.MkdirAll(filepath.Join(dir, "src", "5"), 0o755)
	batch := func(job string) string {
		f := filepath.Join(dir, "b.yaml")
		os.WriteFile(f, []byte("jobs:\n  - "+job+"\n"), 0o644)
		_, se, _ := stylizeCmd(t, "validate", f)
		return se
	}
	cli := func(args ...string) string {
		_, se, code := stylizeCmd(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		return se
	}
	tilesJob := "{name: t, kind: tiles, source: src, output: out, zoom: 5, "
	tilesCLI := []string{"tiles", "--source", filepath.Join(dir, "src"), "-o", filepath.Join(dir, "out"), "--zoom", "5"}
	cases := []struct {
		name      string
		cli       []string
		job, want string
	}{
		{"temporal weight below 0", []string{"video", "--temporal-weight", "-3", "-o", "x.mp4", "a.mp4"},
			"{name: v, kind: video, input: a.png, output: o.mp4, temporal_weight: -3}", "-3: want 0..1"},
		{"metatile range", append(tilesCLI, "--metatile", "40"), tilesJob + "metatile: 40}", "40: want 1..16 tiles"},
		{"tiles workers range", append(tilesCLI, "--workers", "100"), tilesJob + "workers: 100}", "100: want 1..64"},
		{"margin range", append(tilesCLI, "--margin", "2000"), tilesJob + "margin: 2000}", "2000: want 0..1024 px"},
		{"blend range", append(tilesCLI, "--blend", "600"), tilesJob + "blend: 600}", "600: want 0..512 px"},
		{"height range", []string{"video", "--height", "9000", "-o", "x.mp4", "a.mp4"},
			"{name: v, kind: video, input: a.png, output: o.mp4, height: 9000}", "9000: want an even number of pixels from 2 to 8640"},
		{"style size", []string{"image", "--style-size", "20", "-o", "x.png", "a.png"},
			"{name: i, kind: image, input: a.png, output: o.png, style_size: 20}", "20: want 64..4096 px"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if se := cli(c.cli...); !strings.Contains(se, c.want) || strings.Contains(se, "0 = default") {
				t.Errorf("CLI: %q, want %q", se, c.want)
			}
			if se := batch(c.job); !strings.Contains(se, c.want) {
				t.Errorf("batch: %q, want %q", se, c.want)
			}
		})
	}
	// Two bad keys in one job: both reported, each at its key.
	se := batch(tilesJob + "metatile: 40, margin: 2000, blend: 8}")
	if !strings.Contains(se, "jobs[0].metatile: 40: want 1..16 tiles") || !strings.Contains(se, "jobs[0].margin: 2000: want 0..1024 px") ||
		!strings.Contains(se, "2 problems") {
		t.Errorf("two bad keys: %s", se)
	}
	// and on the command line, naming both flags.
	se = cli(append(tilesCLI, "--metatile", "40", "--margin", "2000")...)
	if !strings.Contains(se, "--metatile 40: want 1..16 tiles; --margin 2000: want 0..1024 px") {
		t.Errorf("two bad flags: %s", se)
	}
	// blend is a batch key now.
	f := filepath.Join(dir, "ok.yaml")
	os.WriteFile(f, []byte("jobs:\n  - "+tilesJob+"blend: 8, model: builtin:ink, style: [a.png], style_weights: 1}\n"), 0o644)
	if so, se, code := stylizeCmd(t, "validate", f); code != 0 {
		t.Errorf("blend: exit %d %s%s", code, so, se)
	}
	// An unset overviews builds none; the zero value is spelled out.
	if o := tiles.NewOptions(); o.Overviews != tiles.NoOverviews {
		t.Errorf("tiles.NewOptions().Overviews = %d", o.Overviews)
	}
}

// TestCLIBatchParity: the same job run by its command and by a batch file
// writes byte-identical outputs (same keys, same defaults: WebP quality 92
// for pictures on both paths, overviews none, temporal auto).
func TestCLIBatchParity(t *testing.T) {
	testenv.ORT(t)
	testenv.FFmpeg(t)
	dir := t.TempDir()
	pic := filepath.Join("testdata", "sample.jpg")
	clip := filepath.Join(dir, "clip.mp4")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=0.8",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	f, err := os.Open(pic)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	small := image.NewRGBA(image.Rect(0, 0, 256, 192)) // a quarter of the demo's block: z3 stays small
	for y := 0; y < 192; y++ {
		for x := 0; x < 256; x++ {
			small.Set(x, y, img.At(x*2, y*2))
		}
	}
	src := filepath.Join(dir, "tiles")
	if err := demo.Pyramid(small, src); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(pic)
	cli := [][]string{
		{"image", "-m", "builtin:ink", "--strength", "0.8", "-o", filepath.Join(dir, "cli", "p.webp"), abs},
		{"video", "-m", "builtin:ink", "--height", "32", "--crf", "30", "--preset", "ultrafast", "--quiet", "-o", filepath.Join(dir, "cli", "v.mp4"), clip},
		{"tiles", "-m", "builtin:ink", "--source", src, "--zoom", "2", "--metatile", "2", "--blend", "8", "--stats", "window", "--format", "webp", "--quality", "80", "--quiet", "-o", filepath.Join(dir, "cli", "t")},
	}
	yaml := "defaults: {model: builtin:ink}\njobs:\n" +
		"  - {name: p, kind: image, strength: 0.8, input: " + abs + ", output: batch/p.webp}\n" +
		"  - {name: v, kind: video, height: 32, crf: 30, preset: ultrafast, input: clip.mp4, output: batch/v.mp4}\n" +
		"  - {name: t, kind: tiles, source: tiles, zoom: 2, metatile: 2, blend: 8, stats: window, format: webp, quality: 80, output: batch/t}\n"
	os.MkdirAll(filepath.Join(dir, "cli"), 0o755) // the commands write into an existing folder
	for _, args := range cli {
		if so, se, code := stylizeCmd(t, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, so, se)
		}
	}
	file := filepath.Join(dir, "b.yaml")
	os.WriteFile(file, []byte(yaml), 0o644)
	if so, se, code := stylizeCmd(t, "run", "--quiet", file); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, so, se)
	}
	a, b := tree(t, filepath.Join(dir, "cli")), tree(t, filepath.Join(dir, "batch"))
	if len(a) < 4 || strings.Join(keysOf(a), " ") != strings.Join(keysOf(b), " ") {
		t.Fatalf("files differ: CLI %v, batch %v", keysOf(a), keysOf(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s: CLI and batch outputs differ (%d and %d bytes)", name, len(data), len(b[name]))
		}
	}
}

// tree reads every file below dir by relative path.
func tree(t *testing.T, dir string) map[string][]byte {
	out := map[string][]byte{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			b, _ := os.ReadFile(p)
			out[rel] = b
		}
		return nil
	})
	return out
}

func keysOf(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestVideoKeysDistinct: the tables joined into the video kind (model,
// video, temporal, method, paint) declare no key twice, so no declaration
// silently replaces another.
func TestVideoKeysDistinct(t *testing.T) {
	var k videoOpts
	seen := map[string]string{}
	parts := map[string][]string{"model": k.model.Table().Keys(), "video": k.video.Table().Keys(),
		"temporal": k.temporal.Table().Keys(), "paint": k.paint.Table().Keys(), "model conventions": (&model.Overrides{}).Table().Keys()}
	n := 0
	for name, keys := range parts {
		for _, key := range keys {
			if other, dup := seen[key]; dup {
				t.Errorf("key %s declared by %s and %s", key, other, name)
			}
			seen[key] = name
		}
		n += len(keys)
	}
	if got := len(k.table().Keys()); got != n+1-len(parts["model conventions"]) { // + method
		t.Errorf("video kind has %d keys, want %d", got, n+1-len(parts["model conventions"]))
	}
}
