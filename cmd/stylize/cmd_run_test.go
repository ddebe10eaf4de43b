package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline/testenv"
)

// TestRunDemo runs what `make demo` runs, in a temporary copy of the
// layout (configs/demo.yaml beside out/): demo-inputs, run, and a re-run
// that skips everything.
func TestRunDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the whole demo is long; TestCLIBatchParity runs a small job of each kind")
	}
	testenv.FFmpeg(t)
	testenv.ORT(t)
	root := t.TempDir()
	src, err := os.ReadFile(filepath.Join(testenv.Root(t), "configs", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "configs"), 0o755)
	file := filepath.Join(root, "configs", "demo.yaml")
	os.WriteFile(file, src, 0o644)

	if _, se, code := stylizeCmd(t, "demo-inputs", "--picture", sampleJPG(t), filepath.Join(root, "out", "demo-inputs")); code != 0 {
		t.Fatalf("demo-inputs: exit %d: %s", code, se)
	}
	so, se, code := stylizeCmd(t, "run", file, "--dry-run")
	if code != 0 || strings.Count(so, "  run ") != 3 {
		t.Fatalf("dry run: exit %d\n%s%s", code, so, se)
	}
	if _, err := os.Stat(filepath.Join(root, "out", "demo")); !os.IsNotExist(err) {
		t.Errorf("dry run wrote outputs")
	}
	so, se, code = stylizeCmd(t, "run", file, "--quiet")
	if code != 0 || !strings.Contains(so, "3 done, 0 skipped, 0 failed") {
		t.Fatalf("run: exit %d\n%s%s", code, so, se)
	}
	for _, p := range []string{"picture-ink.png", "clip-ink.mp4", "tiles-ink/3/4/2.png", "tiles-ink/2/2/1.png", "report.json"} {
		if st, err := os.Stat(filepath.Join(root, "out", "demo", p)); err != nil || st.Size() == 0 {
			t.Errorf("output %s: %v", p, err)
		}
	}
	so, se, code = stylizeCmd(t, "run", file, "--quiet")
	if code != 0 || !strings.Contains(so, "0 done, 3 skipped, 0 failed") {
		t.Errorf("re-run: exit %d\n%s%s", code, so, se)
	}
}

// TestValidateReportsAll: every problem on its own line with
// file:line:column, then one summary line, exit 2.
func TestValidateReportsAll(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "batch.yaml")
	os.WriteFile(file, []byte("jobs:\n  - name: a\n    kind: tiles\n    source: .\n    output: out.mbtiles\n    zoom: \"16-12\"\n    crf: 3\n"), 0o644)
	_, se, code := stylizeCmd(t, "validate", file)
	want := file + ":6:11: jobs[0].zoom: \"16-12\" min > max\n" +
		file + ":7:5: jobs[0].crf: crf is a video option, not for a tiles job\n" +
		"stylize: " + file + ": 2 problems, nothing was run\n"
	if code != 2 || se != want {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and:\n%s", code, se, want)
	}
	_, se, code = stylizeCmd(t, "run", file)
	if code != 2 || !strings.HasSuffix(se, "2 problems, nothing was run\n") {
		t.Errorf("run: exit %d: %s", code, se)
	}
}

// TestValidateWebP: WebP tiles (format: webp) and WebP pictures (.webp
// outputs) pass validate; an unknown tile format and picture extension do not.
func TestValidateWebP(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src", "5", "10"), 0o755)
	jpg, err := os.ReadFile(filepath.Join("testdata", "sample.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "src", "5", "10", "11.jpg"), jpg, 0o644)
	os.WriteFile(filepath.Join(dir, "in.jpg"), jpg, 0o644)
	batch := func(format, ext string) string {
		file := filepath.Join(dir, format+".yaml")
		os.WriteFile(file, []byte("jobs:\n"+
			"  - {name: maps, kind: tiles, model: builtin:ink, source: src, output: out.pmtiles, zoom: 5, format: "+format+"}\n"+
			"  - {name: pics, kind: image, model: builtin:ink, inputs: [in.jpg], output: \"out/{name}."+ext+"\"}\n"), 0o644)
		return file
	}
	so, se, code := stylizeCmd(t, "validate", batch("webp", "webp"))
	if code != 0 || !strings.Contains(so, ": ok, ") {
		t.Errorf("webp: exit %d\n%s%s", code, so, se)
	}
	_, se, code = stylizeCmd(t, "validate", batch("gif", "gif"))
	if code != 2 || !strings.Contains(se, "want png, jpg or webp") || !strings.Contains(se, ".webp") {
		t.Errorf("gif: exit %d\n%s", code, se)
	}
}

// TestRunFailedJob: a job that fails at run time gives exit 1 and a report
// naming it, while the other job is done.
func TestRunFailedJob(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), 16, 16)
	os.WriteFile(filepath.Join(dir, "bad.png"), []byte("no picture"), 0o644)
	file := filepath.Join(dir, "batch.yaml")
	os.WriteFile(file, []byte("defaults: {model: builtin:identity}\njobs:\n  - {name: bad, kind: image, input: bad.png, output: out/bad.png}\n  - {name: good, kind: image, input: a.png, output: out/a.png}\n"), 0o644)
	so, se, code := stylizeCmd(t, "run", file)
	if code != 1 || !strings.Contains(so, "1 done, 0 skipped, 1 failed") || !strings.Contains(se, "1 of 2 jobs failed (bad)") {
		t.Fatalf("exit %d\n%s%s", code, so, se)
	}
	var rep struct {
		Jobs []struct{ Name, Status, Error string }
	}
	b, err := os.ReadFile(filepath.Join(dir, "batch.report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Jobs) != 2 || rep.Jobs[0].Status != "failed" || !strings.Contains(rep.Jobs[0].Error, "bad.png") || rep.Jobs[1].Status != "done" {
		t.Errorf("report %+v", rep)
	}
}

// TestValidateExamples runs the shipped batch files that read ../shared
// through `stylize validate` with this build's executors (demo.yaml is
// run whole by TestRunDemo).
func TestValidateExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testenv.Root(t), "configs", "*.yaml"))
	for _, f := range files {
		if filepath.Base(f) == "demo.yaml" {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			testenv.Shared(t)
			so, se, code := stylizeCmd(t, "validate", f)
			if code != 0 || !strings.Contains(so, ": ok, ") {
				t.Errorf("exit %d\n%s%s", code, so, se)
			}
		})
	}
}

// TestRunStyleJob: a batch image job with style: and no model runs the
// MicroAST pair from the model folders ($STYLIZE_MODELS) and says so in
// the report; without the pair, validate names the style key and the
// import command.
func TestRunStyleJob(t *testing.T) {
	testenv.ORT(t)
	models := testenv.SharedFile(t, "models")
	testenv.SharedFile(t, "models/arbitrary/microast_transfer.onnx")
	style := testenv.SharedFile(t, "media/images/udnie.jpg")
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "in.png"), 96, 64)
	f := filepath.Join(dir, "b.yaml")
	os.WriteFile(f, []byte("jobs:\n  - {name: s, kind: image, input: in.png, output: out.png, style: "+style+", style_size: 128}\n"), 0o644)
	t.Setenv("STYLIZE_MODELS", models)
	if _, se, code := stylizeCmd(t, "run", "--quiet", f); code != 0 {
		t.Fatalf("run: exit %d: %s", code, se)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "b.report.json"))
	if _, err := os.Stat(filepath.Join(dir, "out.png")); err != nil || !bytes.Contains(b, []byte("microast_transfer")) {
		t.Errorf("output: %v; report %s", err, b)
	}
	t.Setenv("STYLIZE_MODELS", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, se, code := stylizeCmd(t, "validate", f)
	if code != 2 || !strings.Contains(se, "jobs[0].style") || !strings.Contains(se, "stylize models import microast") {
		t.Errorf("validate without the pair: exit %d, stderr %q", code, se)
	}
}
