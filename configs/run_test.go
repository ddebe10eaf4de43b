package configs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/testenv"
)

func loadBatch(t *testing.T, dir, src string) *Batch {
	t.Helper()
	file := filepath.Join(dir, "batch.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Load(context.Background(), file, LoadOptions{Schemas: testSchemas()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readReport(t *testing.T, path string) Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func itemStatuses(r Report) string {
	var s []string
	for _, j := range r.Jobs {
		for _, it := range j.Items {
			s = append(s, fmt.Sprintf("%s/%s:%s", j.Name, filepath.Base(it.Output), it.Status))
		}
	}
	return strings.Join(s, " ")
}

func jobStatuses(r Report) string {
	var s []string
	for _, j := range r.Jobs {
		s = append(s, fmt.Sprintf("%s:%s", j.Name, j.Status))
	}
	return strings.Join(s, " ")
}

const resumeBatch = `report: out/report.json
defaults:
  model: builtin:identity
jobs:
  - name: pics
    kind: image
    inputs: in/*.png
    output: out/{name}-{model}.png
  - name: inked
    kind: image
    input: in/a.png
    output: out/a-ink.jpg
    model: builtin:ink
`

// TestRunSkipsFinished: a second run skips every output; a missing output
// (an interrupted run) is redone alone; a changed input or option redoes
// what depends on it.
func TestRunSkipsFinished(t *testing.T) {
	testenv.ORT(t)
	dir := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		writePNG(t, filepath.Join(dir, "in", n+".png"), 24, 16)
	}
	run := func(src string) Report {
		t.Helper()
		b := loadBatch(t, dir, src)
		x := &ImageExecutor{}
		defer x.Close()
		var log bytes.Buffer
		if _, err := b.Run(context.Background(), RunOptions{Executors: map[Kind]Executor{KindImage: x}, Stderr: &log}); err != nil {
			t.Fatalf("run: %v\n%s", err, log.String())
		}
		return readReport(t, filepath.Join(dir, "out", "report.json"))
	}
	r := run(resumeBatch)
	if got, want := itemStatuses(r), "pics/a-identity.png:done pics/b-identity.png:done pics/c-identity.png:done inked/a-ink.jpg:done"; got != want {
		t.Fatalf("first run: %s, want %s", got, want)
	}
	if r.Done != 2 || len(r.Jobs[0].Outputs) != 3 {
		t.Errorf("first run: %d jobs done, outputs %v", r.Done, r.Jobs[0].Outputs)
	}
	out := filepath.Join(dir, "out", "b-identity.png")
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}

	r = run(resumeBatch)
	if got := jobStatuses(r); got != "pics:skipped inked:skipped" {
		t.Errorf("second run: %s, want all skipped", got)
	}
	if st2, _ := os.Stat(out); !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("second run rewrote %s", out)
	}

	// Interrupted run: an output missing (outputs are atomic, so missing
	// means not done) is the only thing redone.
	os.Remove(filepath.Join(dir, "out", "c-identity.png"))
	r = run(resumeBatch)
	if got, want := itemStatuses(r), "pics/a-identity.png:skipped pics/b-identity.png:skipped pics/c-identity.png:done inked/a-ink.jpg:skipped"; got != want {
		t.Errorf("resumed run: %s, want %s", got, want)
	}
	if r.Jobs[0].Status != StatusDone {
		t.Errorf("job with redone work: %s, want done", r.Jobs[0].Status)
	}

	// A changed input redoes the outputs made from it.
	later := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(dir, "in", "a.png"), later, later)
	r = run(resumeBatch)
	if got, want := itemStatuses(r), "pics/a-identity.png:done pics/b-identity.png:skipped pics/c-identity.png:skipped inked/a-ink.jpg:done"; got != want {
		t.Errorf("after touching a.png: %s, want %s", got, want)
	}

	// A changed option redoes the job.
	r = run(strings.Replace(resumeBatch, "    model: builtin:ink\n", "    model: builtin:ink\n    strength: 0.5\n", 1))
	if got := jobStatuses(r); got != "pics:skipped inked:done" {
		t.Errorf("after changing strength: %s, want pics skipped, inked done", got)
	}
}

const failBatch = `report: out/report.json
defaults: {model: builtin:identity}
jobs:
  - {name: broken, kind: image, input: in/broken.png, output: out/broken.png}
  - {name: good, kind: image, input: in/a.png, output: out/a.png}
`

// TestFailFast: a failing job does not stop the others unless fail_fast.
func TestFailFast(t *testing.T) {
	testenv.ORT(t)
	for _, c := range []struct {
		failFast bool
		want     string
	}{
		{false, "broken:failed good:done"},
		{true, "broken:failed good:cancelled"},
	} {
		t.Run(fmt.Sprintf("fail_fast=%v", c.failFast), func(t *testing.T) {
			dir := t.TempDir()
			writePNG(t, filepath.Join(dir, "in", "a.png"), 16, 16)
			os.WriteFile(filepath.Join(dir, "in", "broken.png"), []byte("not a picture"), 0o644)
			b := loadBatch(t, dir, fmt.Sprintf("fail_fast: %v\n%s", c.failFast, failBatch))
			x := &ImageExecutor{}
			defer x.Close()
			var log bytes.Buffer
			rep, err := b.Run(context.Background(), RunOptions{Executors: map[Kind]Executor{KindImage: x}, Stderr: &log})
			if !errors.Is(err, ErrJobsFailed) {
				t.Fatalf("err %v, want ErrJobsFailed", err)
			}
			if got := jobStatuses(*rep); got != c.want {
				t.Errorf("statuses %s, want %s", got, c.want)
			}
			disk := readReport(t, filepath.Join(dir, "out", "report.json"))
			if got := jobStatuses(disk); got != c.want {
				t.Errorf("report file: %s, want %s", got, c.want)
			}
			if !strings.Contains(disk.Jobs[0].Error, "broken.png") || disk.Failed != 1 {
				t.Errorf("failed job: error %q, failed count %d", disk.Jobs[0].Error, disk.Failed)
			}
			_, statErr := os.Stat(filepath.Join(dir, "out", "a.png"))
			if c.failFast != os.IsNotExist(statErr) {
				t.Errorf("out/a.png: %v", statErr)
			}
			if _, err := os.Stat(filepath.Join(dir, "out", "broken.png")); !os.IsNotExist(err) {
				t.Errorf("a failed job left an output: %v", err)
			}
		})
	}
}

// fakeExec writes its output file and records how many run at once.
type fakeExec struct {
	mu            sync.Mutex
	running, peak int
	calls         atomic.Int32
	delay         time.Duration
	onRun         func(t Task) error
	checked       []string
	checkErr      error
}

func (f *fakeExec) Check(ctx context.Context, j *Job) []error {
	f.mu.Lock()
	f.checked = append(f.checked, j.Name)
	f.mu.Unlock()
	if f.checkErr != nil {
		return []error{f.checkErr}
	}
	return nil
}

func (f *fakeExec) Run(ctx context.Context, t Task) error {
	f.calls.Add(1)
	f.mu.Lock()
	f.running++
	f.peak = max(f.peak, f.running)
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.running--; f.mu.Unlock() }()
	if f.onRun != nil {
		if err := f.onRun(t); err != nil {
			return err
		}
	}
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return os.WriteFile(t.Output, []byte(t.Input), 0o644)
}

func TestRunJobsAtOnce(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), 4, 4)
	var jobs strings.Builder
	for i := range 4 {
		fmt.Fprintf(&jobs, "  - {name: j%d, kind: image, input: a.png, output: out/%d.png}\n", i, i)
	}
	for _, n := range []int{1, 2} {
		b := loadBatch(t, dir, fmt.Sprintf("report: out%d/r.json\njobs:\n%s", n, strings.ReplaceAll(jobs.String(), "out/", fmt.Sprintf("out%d/", n))))
		f := &fakeExec{delay: 50 * time.Millisecond}
		if _, err := b.Run(context.Background(), RunOptions{Executors: map[Kind]Executor{KindImage: f}, Jobs: n, Stderr: &bytes.Buffer{}}); err != nil {
			t.Fatal(err)
		}
		if f.peak != n {
			t.Errorf("--jobs %d: %d ran at once", n, f.peak)
		}
	}
}

// TestInterruptAndResume: a run cancelled mid-way reports the rest as
// cancelled; the next run does only what was not finished.
func TestInterruptAndResume(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a", "b", "c", "d"} {
		writePNG(t, filepath.Join(dir, "in", n+".png"), 4, 4)
	}
	src := "report: out/r.json\njobs:\n  - {name: all, kind: image, inputs: in/*.png, output: 'out/{name}.png'}\n"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeExec{onRun: func(t Task) error {
		if filepath.Base(t.Input) == "c.png" {
			cancel() // Ctrl-C while c.png is being made
			return context.Canceled
		}
		return nil
	}}
	b := loadBatch(t, dir, src)
	if _, err := b.Run(ctx, RunOptions{Executors: map[Kind]Executor{KindImage: f}, Stderr: &bytes.Buffer{}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err %v", err)
	}
	r := readReport(t, filepath.Join(dir, "out", "r.json"))
	if got, want := itemStatuses(r), "all/a.png:done all/b.png:done all/c.png:cancelled all/d.png:cancelled"; got != want {
		t.Errorf("interrupted: %s, want %s", got, want)
	}
	f2 := &fakeExec{}
	if _, err := loadBatch(t, dir, src).Run(context.Background(), RunOptions{Executors: map[Kind]Executor{KindImage: f2}, Stderr: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	r = readReport(t, filepath.Join(dir, "out", "r.json"))
	if got, want := itemStatuses(r), "all/a.png:skipped all/b.png:skipped all/c.png:done all/d.png:done"; got != want || f2.calls.Load() != 2 {
		t.Errorf("resumed: %s (%d runs), want %s (2 runs)", got, f2.calls.Load(), want)
	}
}

// TestExecutorCheck: kind checks run before anything, their field errors
// land on the key, and a kind with no executor is refused.
func TestExecutorCheck(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), 4, 4)
	src := "jobs:\n  - name: v\n    kind: video\n    input: a.png\n    output: o.mp4\n    preset: slow\n  - {name: t, kind: tiles, source: ., zoom: 1, output: tiles-out}\n"
	file := filepath.Join(dir, "b.yaml")
	os.WriteFile(file, []byte(src), 0o644)
	f := &fakeExec{checkErr: &FieldError{Key: "preset", Err: errors.New(`preset "slow": not in this build`)}}
	_, err := Load(context.Background(), file, LoadOptions{Executors: map[Kind]Executor{KindVideo: f}, Schemas: testSchemas()})
	want := file + ":6:13: jobs[0].preset: preset \"slow\": not in this build\n" +
		file + ":7:21: jobs[1].kind: job kind tiles is not available in this build"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "in", "a.png"), 4, 4)
	b := loadBatch(t, dir, "jobs:\n  - {name: p, kind: image, inputs: in/*.png, output: 'out/{name}.jpg', quality: 70, strength: 0.5}\n")
	var w bytes.Buffer
	b.Plan(&w)
	for _, s := range []string{"job p (image) model builtin:ink", "strength=0.5", "quality=70", "run", filepath.Join(dir, "in", "a.png") + " -> " + filepath.Join(dir, "out", "a.jpg")} {
		if !strings.Contains(w.String(), s) {
			t.Errorf("plan lacks %q:\n%s", s, w.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("dry run made the output folder")
	}
}

// TestSkipFromAnotherFolder: the same batch named from another working
// directory is the same work (fingerprints use absolute paths).
func TestSkipFromAnotherFolder(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "sub", "a.png"), 4, 4)
	os.WriteFile(filepath.Join(dir, "sub", "b.yaml"), []byte("jobs:\n  - {name: a, kind: image, input: a.png, output: out/a.png}\n"), 0o644)
	for i, c := range []struct{ cwd, file string }{{dir, "sub/b.yaml"}, {filepath.Join(dir, "sub"), "b.yaml"}} {
		t.Chdir(c.cwd)
		b, err := Load(context.Background(), c.file, LoadOptions{Schemas: testSchemas()})
		if err != nil {
			t.Fatal(err)
		}
		f := &fakeExec{}
		rep, err := b.Run(context.Background(), RunOptions{Executors: map[Kind]Executor{KindImage: f}, Stderr: &bytes.Buffer{}})
		if err != nil {
			t.Fatal(err)
		}
		want := []Status{StatusDone, StatusSkipped}[i]
		if rep.Jobs[0].Status != want {
			t.Errorf("run %d from %s: %s, want %s", i, c.cwd, rep.Jobs[0].Status, want)
		}
	}
}

// TestEngines: engines are shared while in use and an idle one is closed
// when a different one is opened, so a many-model batch holds few.
func TestEngines(t *testing.T) {
	testenv.ORT(t)
	ctx := context.Background()
	var es Engines
	defer es.Close()
	a := model.Options{Model: "builtin:identity"}
	b := model.Options{Model: "builtin:ink"}
	ea, relA, err := es.Acquire(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	ea2, relA2, _ := es.Acquire(ctx, a)
	if ea2 != ea {
		t.Errorf("same options, two engines")
	}
	relA2()
	_, relB, err := es.Acquire(ctx, b) // a is held: both stay open
	if err != nil {
		t.Fatal(err)
	}
	if n := len(es.engines); n != 2 {
		t.Errorf("%d engines open, want 2 (both in use)", n)
	}
	relA()
	relB()
	_, relC, err := es.Acquire(ctx, model.Options{Model: "builtin:ink", PreserveColors: true})
	if err != nil {
		t.Fatal(err)
	}
	relC()
	if n := len(es.engines); n != 1 {
		t.Errorf("%d engines open after opening a third with the others idle, want 1", n)
	}
	if _, _, err := es.Acquire(ctx, model.Options{Model: "builtin:nope"}); err == nil {
		t.Errorf("unknown model: no error")
	}
}
