package configs

import (
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writePNG writes a small opaque picture.
func writePNG(t testing.TB, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBadInput: every problem is reported with file:line:column and key
// path, before anything runs.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // each a whole line, or a prefix of one ending in ": "
	}{
		{"empty file", "", []string{`batch.yaml:1:1: empty file: want a mapping with jobs:`}},
		{"only comments", "# nothing yet\n", []string{`batch.yaml:1:1: empty file:`}},
		{"syntax error", "jobs:\n  - name: a\n    kind: [image\n", []string{`batch.yaml:3:11: YAML syntax error: `}},
		{"list where a map is expected", "defaults:\n  - model: builtin:ink\njobs:\n  - {name: a, kind: image, input: a.png, output: o.png}\n",
			[]string{`batch.yaml:2:3: defaults: want a mapping (key: value), got a list`}},
		{"list at the top", "- name: a\n  kind: image\n", []string{`batch.yaml:1:1: want a mapping (key: value), got a list`}},
		{"unknown key with did-you-mean", "jobs:\n  - name: a\n    kind: image\n    input: a.png\n    outptu: o.png\n",
			[]string{
				`batch.yaml:2:5: jobs[0]: required: output is missing`,
				`batch.yaml:5:5: jobs[0].outptu: unknown key "outptu" (did you mean output?)`,
			}},
		{"flag spelling instead of key", "defaults:\n  max-side: 512\njobs:\n  - {name: a, kind: image, input: a.png, output: o.png}\n",
			[]string{`batch.yaml:2:3: defaults.max-side: unknown key "max-side" (keys are the flag names with underscores: max_side)`}},
		{"wrong type", "defaults:\n  strength: high\n  passes: 1.5\njobs:\n  - {name: a, kind: image, input: a.png, output: o.png}\n",
			[]string{`batch.yaml:2:13: defaults.strength: want a number, got a string`, `batch.yaml:3:11: defaults.passes: want an integer, got a number`}},
		{"duplicate job names", "jobs:\n  - name: a\n    kind: image\n    input: a.png\n    output: o1.png\n  - name: a\n    kind: image\n    input: a.png\n    output: o2.png\n",
			[]string{`batch.yaml:6:11: jobs[1].name: duplicate job name "a" (also jobs[0], line 2)`}},
		{"output equal to input", "jobs:\n  - name: a\n    kind: image\n    input: a.png\n    output: ./a.png\n",
			[]string{`batch.yaml:5:13: jobs[0].output: output a.png is the input file`}},
		{"two jobs writing the same output", "jobs:\n  - {name: a, kind: image, input: a.png, output: out/o.png}\n  - name: b\n    kind: image\n    input: b.png\n    output: out/o.png\n",
			[]string{`batch.yaml:6:13: jobs[1].output: out/o.png is also written by jobs[0] (a)`}},
		{"glob matching nothing", "jobs:\n  - name: a\n    kind: image\n    inputs: clips/*.png\n    output: out/{name}.png\n",
			[]string{`batch.yaml:4:13: jobs[0].inputs: glob "clips/*.png" matches no files (in clips)`}},
		{"model path not existing", "models:\n  moebius:\n    path: models/moebius.onnx\njobs:\n  - {name: a, kind: image, input: a.png, output: o.png, model: moebius}\n  - {name: b, kind: image, input: a.png, output: p.png, model: nope/x.onnx}\n",
			[]string{
				`batch.yaml:3:11: models.moebius.path: model models/moebius.onnx: no such file or directory`,
				`batch.yaml:6:64: jobs[1].model: model nope/x.onnx: no such file or directory`,
			}},
		{"unknown model name", "models:\n  moebius: {path: builtin:ink}\njobs:\n  - {name: a, kind: image, input: a.png, output: o.png, model: moebus}\n",
			[]string{`batch.yaml:4:64: jobs[0].model: unknown model "moebus": not a named model under models:, a builtin:NAME or an .onnx path (did you mean moebius?)`}},
		{"bad zoom range", "jobs:\n  - name: city\n    kind: tiles\n    source: tiles\n    output: out/city.mbtiles\n    zoom: \"16-12\"\n",
			[]string{`batch.yaml:6:11: jobs[0].zoom: "16-12" min > max`}},
		{"option of another kind", "jobs:\n  - {name: a, kind: image, input: a.png, output: o.png, crf: 20}\n",
			[]string{`batch.yaml:2:57: jobs[0].crf: crf is a video option, not for an image job`}},
		{"missing input and kind", "jobs:\n  - name: a\n    output: o.png\n  - name: b\n    kind: image\n    output: p.png\n",
			[]string{`batch.yaml:2:5: jobs[0]: required: kind is missing (image, video or tiles)`, `batch.yaml:4:5: jobs[1]: required: input (one file) or inputs (globs) is missing`}},
		{"unreadable input", "jobs:\n  - {name: a, kind: image, input: missing.png, output: o.png}\n",
			[]string{`batch.yaml:2:35: jobs[0].input: input missing.png: no such file or directory`}},
		{"unknown template variable", "jobs:\n  - name: a\n    kind: image\n    input: a.png\n    output: \"out/{nmae}.png\"\n",
			[]string{`batch.yaml:5:13: jobs[0].output: unknown template variable {nmae}: want {name}, {ext}, {job} or {model} (did you mean {name}?)`}},
		{"glob in a list", "jobs:\n  - name: a\n    kind: image\n    inputs: [a.png, \"*.gif\"]\n    output: \"out/{name}.png\"\n",
			[]string{`batch.yaml:4:21: jobs[0].inputs[1]: glob "*.gif" matches no files (in .)`}},
		{"bad model conventions", "models:\n  m: {path: \"builtin:ink\", channel_order: grb, margin: 5000, layuot: NCHW}\njobs:\n  - {name: a, kind: image, input: a.png, output: o.png, model: m}\n",
			[]string{
				`batch.yaml:2:43: models.m.channel_order: "grb": want rgb or bgr`,
				`batch.yaml:2:56: models.m.margin: 5000: want 0..4096 px`,
				`batch.yaml:2:62: models.m.layuot: unknown key "layuot" (did you mean layout?)`,
			}},
		{"every bad key of a job", "jobs:\n  - {name: t, kind: tiles, source: tiles, output: out, zoom: 5, metatile: 40, margin: 2000, blend: 8, quality: 101}\n",
			[]string{
				`batch.yaml:2:75: jobs[0].metatile: 40: want 1..16 tiles`,
				`batch.yaml:2:87: jobs[0].margin: 2000: want 0..1024 px`,
				`batch.yaml:2:112: jobs[0].quality: 101: want 1..100`,
			}},
		{"style weights", "jobs:\n  - {name: a, kind: image, input: a.png, output: o.png, model: builtin:ink, style: a.png, style_weights: [1, 2]}\n",
			[]string{`batch.yaml:2:106: jobs[0].style_weights: 2: want one weight per style picture (1)`}},
		{"bad default no job takes", "defaults: {crf: 99, overviews: 3}\njobs:\n  - {name: a, kind: image, input: a.png, output: o.png}\n",
			[]string{`batch.yaml:1:17: defaults.crf: 99: want 1..51 (lower is better), or 0 for the default`}},
		{"no jobs", "fail_fast: true\n", []string{`batch.yaml:1:1: jobs: required: the list of jobs to run is missing`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			writePNG(t, "a.png", 8, 8)
			writePNG(t, "b.png", 8, 8)
			os.Mkdir("tiles", 0o755)
			if err := os.WriteFile("batch.yaml", []byte(c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			b, err := Load(context.Background(), "batch.yaml", LoadOptions{Schemas: testSchemas()})
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("Load: err %v (%T), batch %v; want Problems", err, err, b)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(c.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(lines), len(c.want), err)
			}
			for i, w := range c.want {
				if i >= len(lines) {
					break
				}
				if lines[i] != w && !(strings.HasSuffix(w, ": ") || strings.HasSuffix(w, ":")) || !strings.HasPrefix(lines[i], w) {
					t.Errorf("problem %d:\n got %s\nwant %s", i, lines[i], w)
				}
			}
		})
	}
}

// TestAllErrorsAtOnce: problems in different parts of the file all come
// back from one Load, in file order.
func TestAllErrorsAtOnce(t *testing.T) {
	t.Chdir(t.TempDir())
	writePNG(t, "a.png", 8, 8)
	src := `defaults:
  strength: 2
jobs:
  - name: a
    kind: image
    input: a.png
    output: o.png
    quality: 0
  - name: b
    kind: vidoe
  - name: c
    kind: tiles
    source: .
    output: out
    zoom: "12-x"
    bbox: "13.5,52.6,13.3,52.4"
`
	os.WriteFile("b.yaml", []byte(src), 0o644)
	_, err := Load(context.Background(), "b.yaml", LoadOptions{Schemas: testSchemas()})
	want := []string{
		`b.yaml:2:13: defaults.strength: 2: want 0..1`,
		`b.yaml:8:14: jobs[0].quality: 0: want 1..100`,
		`b.yaml:10:11: jobs[1].kind: unknown kind "vidoe": want image, video or tiles (did you mean video?)`,
		`b.yaml:15:11: jobs[2].zoom: "12-x": want Z or Z0-Z1, e.g. 12-16`,
		`b.yaml:16:11: jobs[2].bbox: "13.5,52.6,13.3,52.4": south 52.6 is above north 52.4 (order is W,S,E,N)`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

// TestExpand: globs, templates, relative paths against the file's folder,
// defaults merged, named models.
func TestExpand(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "pics", "b.png"), 8, 8)
	writePNG(t, filepath.Join(dir, "pics", "a.png"), 8, 8)
	src := `defaults:
  model: ink
  strength: 0.5
  quality: 80
models:
  ink: {path: "builtin:ink"}
report: out/r.json
jobs:
  - name: gallery
    kind: image
    inputs: pics/*.png
    output: out/{job}/{name}-{model}.{ext}
  - name: plain
    kind: image
    input: pics/a.png
    output: out/a.jpg
    model: builtin:identity
    strength: 1
`
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(src), 0o644)
	t.Chdir(filepath.Dir(dir)) // relative paths follow the file, not the working directory
	file := filepath.Join(filepath.Base(dir), "b.yaml")
	b, err := Load(context.Background(), file, LoadOptions{Schemas: testSchemas()})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(dir)
	want := []Item{
		{filepath.Join(base, "pics/a.png"), filepath.Join(base, "out/gallery/a-ink.png")},
		{filepath.Join(base, "pics/b.png"), filepath.Join(base, "out/gallery/b-ink.png")},
	}
	if got := b.Jobs[0].Items; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("items %v, want %v", got, want)
	}
	if b.Report != filepath.Join(base, "out/r.json") {
		t.Errorf("report %s", b.Report)
	}
	j := b.Jobs[1]
	if j.Options["strength"] != 1.0 || j.Options["quality"] != 80 || j.ModelRef.Path != "builtin:identity" || j.ModelRef.Name != "identity" {
		t.Errorf("job plain: strength %v quality %v model %+v", j.Options["strength"], j.Options["quality"], j.ModelRef)
	}
	if o := b.Jobs[0].ModelOptions(); o.Model != "builtin:ink" || o.ContentMix != 0.5 || o.Device != "cpu" {
		t.Errorf("model options %+v", o)
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"output", "input", "inputs", "strength", "max_side"}
	for in, want := range map[string]string{"outptu": "output", "strenght": "strength", "imput": "input", "zzz": "", "max_sid": "max_side"} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("jobs:\n  - {name: a, kind: image, input: a.png, output: o.png}\n"))
	f.Add([]byte("defaults: [1, 2]\nmodels: {a: {path: x}}\n"))
	f.Add([]byte("jobs: &a\n  - *a\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, _ = Parse(context.Background(), "f.yaml", src, LoadOptions{BaseDir: t.TempDir(), Schemas: testSchemas()})
	})
}

// A "**" segment in an inputs: glob matches any number of folders.
func TestGlobRecursive(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"clips/a.mp4", "clips/2024/b.mp4", "clips/2024/x/c.mp4", "clips/2024/x/c.txt", "other/d.mp4"} {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"clips/**/*.mp4", []string{"clips/2024/b.mp4", "clips/2024/x/c.mp4", "clips/a.mp4"}},
		{"clips/**", []string{"clips/2024/b.mp4", "clips/2024/x/c.mp4", "clips/2024/x/c.txt", "clips/a.mp4"}},
		{"**/x/*", []string{"clips/2024/x/c.mp4", "clips/2024/x/c.txt"}},
		{"*/**/b.mp4", []string{"clips/2024/b.mp4"}},
		{"clips/*.mp4", []string{"clips/a.mp4"}},
		{"nothing/**/*.mp4", nil},
	}
	for _, tc := range tests {
		got, err := glob(filepath.Join(dir, filepath.FromSlash(tc.pattern)))
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		var rel []string
		for _, g := range got {
			r, _ := filepath.Rel(dir, g)
			rel = append(rel, filepath.ToSlash(r))
		}
		if !slices.Equal(rel, tc.want) {
			t.Errorf("glob(%s) = %v, want %v", tc.pattern, rel, tc.want)
		}
	}
	if _, err := glob(filepath.Join(dir, "[**/*.mp4")); err == nil {
		t.Error("bad pattern: no error")
	}
}
