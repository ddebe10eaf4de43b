package configs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/onnx"
)

// Executor runs the jobs of one kind. The command wires one per kind
// (image, video, tiles); tests use fakes.
type Executor interface {
	// Check does the kind's own checks of a job before anything runs
	// (Load calls it only when the file has no other problem). Return
	// *FieldError to point at a key. It must not do the work.
	Check(ctx context.Context, job *Job) []error
	// Run makes one item's output from its input, writing it atomically
	// (a failed or interrupted run leaves no output). t.Progress is set up
	// for the executor's progress report: set Unit and Total and pass it
	// to pipeline.NewProgress.
	Run(ctx context.Context, t Task) error
}

// Task is one item of a job, as handed to Executor.Run.
type Task struct {
	Job      *Job
	Item                              // Input → Output (resolved paths)
	Progress pipeline.ProgressOptions // Label and W set by the runner
}

// Status is how a job or item ended.
type Status string

// The statuses in a run report.
const (
	StatusDone      Status = "done"      // made in this run
	StatusSkipped   Status = "skipped"   // already made by an earlier run with the same inputs and options
	StatusFailed    Status = "failed"    // error in the report
	StatusCancelled Status = "cancelled" // not run: fail_fast after another job failed, or interrupted
)

// Report is the run report written as JSON.
type Report struct {
	File     string      `json:"file"`
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"`
	Seconds  float64     `json:"seconds"`
	Jobs     []JobReport `json:"jobs"`
	// Counts of jobs by status.
	Done      int `json:"done"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
}

// JobReport is one job in the report.
type JobReport struct {
	Name    string       `json:"name"`
	Kind    Kind         `json:"kind"`
	Model   string       `json:"model"`
	Status  Status       `json:"status"`
	Outputs []string     `json:"outputs"`
	Seconds float64      `json:"seconds"`
	Error   string       `json:"error,omitempty"`
	Items   []ItemReport `json:"items"`
}

// ItemReport is one input → output of a job.
type ItemReport struct {
	Input   string  `json:"input"`
	Output  string  `json:"output"`
	Status  Status  `json:"status"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// RunOptions configure Run.
type RunOptions struct {
	Executors map[Kind]Executor
	Jobs      int       // jobs at once; 0 = 1 (in file order)
	Stderr    io.Writer // progress and per-job lines; nil = os.Stderr
	// TTY forces progress bars on or off (nil: detect). With more than
	// one job at once, bars are off (plain lines) so they do not mix.
	TTY   *bool
	Quiet bool // no progress
}

// errFailFast stops the other jobs after a failure under fail_fast.
var errFailFast = errors.New("failed, and fail_fast is set")

// ErrJobsFailed is wrapped by Run's error when jobs failed.
var ErrJobsFailed = errors.New("jobs failed")

// StatePath is the state file kept beside the report.
func (b *Batch) StatePath() string {
	return strings.TrimSuffix(b.Report, ".json") + ".state.json"
}

// state records, per output, the fingerprint of what made it. One owner:
// the mutex; it is saved atomically after every output.
type state struct {
	mu      sync.Mutex
	path    string
	Version int               `json:"version"`
	Outputs map[string]string `json:"outputs"` // absolute output path → fingerprint
}

func loadState(path string) *state {
	s := &state{path: path, Version: 1, Outputs: map[string]string{}}
	if b, err := os.ReadFile(path); err == nil {
		var r state
		if json.Unmarshal(b, &r) == nil && r.Version == 1 && r.Outputs != nil {
			s.Outputs = r.Outputs
		}
		// an unreadable state file only means nothing is known to be done
	}
	return s
}

func (s *state) done(out, fp string) bool {
	if fp == "" {
		return false
	}
	s.mu.Lock()
	rec := s.Outputs[absPath(out)]
	s.mu.Unlock()
	if rec != fp {
		return false
	}
	_, err := os.Stat(out)
	return err == nil
}

func (s *state) record(out, fp string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fp == "" {
		delete(s.Outputs, absPath(out))
	} else {
		s.Outputs[absPath(out)] = fp
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("state file %s: %w", s.path, err)
	}
	return pipeline.WriteJSON(s.path, s)
}

// fingerprint identifies what makes an output: the job's kind and merged
// options (less those that only say how: threads, workers, HTTP
// politeness), the model (path, conventions, file size and time) and the
// input's size and modification time. "" when the input cannot be read
// (then the output is always redone).
func fingerprint(j *Job, in string) string {
	h := sha256.New()
	o := Values{}
	var files []string
	for k, val := range j.Options {
		if howKeys[k] {
			continue // how the work is done, not what it makes: changing these redoes nothing
		}
		o[k] = val
		if p, ok := val.(string); ok && filepath.IsAbs(p) && k != "model" {
			files = append(files, p) // a file the output is made from (geojson:)
		}
	}
	// Paths absolute: the same batch run from another folder is the same work.
	m := *j.ModelRef
	if !onnx.IsBuiltin(m.Path) {
		m.Path = absPath(m.Path)
	}
	if !strings.Contains(in, "://") {
		in = absPath(in)
	}
	_ = json.NewEncoder(h).Encode(struct {
		Kind        Kind
		Options     Values
		Model       string
		Conventions any
		Source      string
	}{j.Kind, o, m.Path, m.Conventions, in})
	sort.Strings(files)
	for _, p := range append([]string{in, m.Path}, files...) {
		if p == "" || onnx.IsBuiltin(p) || strings.Contains(p, "://") {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return ""
		}
		fmt.Fprintf(h, "%s %d %d\n", p, st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// howKeys are the options that say how the work is done, not what it
// makes (threads, workers, HTTP politeness and cache).
var howKeys = map[string]bool{"threads": true, "workers": true, "user_agent": true, "rate": true, "http_concurrency": true, "cache": true}

// Plan writes the expanded plan: each job, its model and options, and
// every input → output with what a run would do with it.
func (b *Batch) Plan(w io.Writer) {
	st := loadState(b.StatePath())
	fmt.Fprintf(w, "batch %s: %d jobs, report %s\n", b.File, len(b.Jobs), b.Report)
	for _, j := range b.Jobs {
		fmt.Fprintf(w, "job %s (%s) model %s", j.Name, j.Kind, j.ModelRef.Path)
		if j.ModelRef.Name != modelName(j.ModelRef.Path, false) {
			fmt.Fprintf(w, " (%s)", j.ModelRef.Name)
		}
		if s := j.optionsString(); s != "" {
			fmt.Fprintf(w, " %s", s)
		}
		fmt.Fprintln(w)
		for _, it := range j.Items {
			what := "run"
			if st.done(it.Output, fingerprint(j, it.Input)) {
				what = "skip (done)"
			}
			fmt.Fprintf(w, "  %-11s %s -> %s\n", what, it.Input, it.Output)
		}
	}
}

// optionsString lists the options set on a job as key=value, in the
// kind's order.
func (j *Job) optionsString() string {
	var parts []string
	for _, k := range j.keys {
		v, ok := j.Options[k]
		if !ok || v == nil || v == "" || k == "model" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	return strings.Join(parts, " ")
}

// Run runs the jobs: in file order, or opts.Jobs at a time. A failing job
// does not stop the others unless fail_fast is set. The report is written
// (atomically) after every job and at the end, also when interrupted.
// The error wraps ErrJobsFailed when any job failed, or is the context's
// error when interrupted.
func (b *Batch) Run(ctx context.Context, opt RunOptions) (*Report, error) {
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	if opt.Jobs <= 0 {
		opt.Jobs = 1 // one job at a time, in file order
	}
	if opt.Jobs > 1 {
		// Bars of jobs running at once would overwrite each other: plain
		// lines instead, one write at a time. Executors that detect a
		// terminal from an *os.File see a plain writer here.
		off := false
		opt.TTY = &off
		opt.Stderr = &lockedWriter{w: opt.Stderr}
	}
	for _, j := range b.Jobs {
		if e := opt.Executors[j.Kind]; e == nil {
			return nil, fmt.Errorf("batch %s: job %s: job kind %s is not available in this build", b.File, j.Name, j.Kind)
		}
	}
	if err := os.MkdirAll(filepath.Dir(b.Report), 0o755); err != nil {
		return nil, fmt.Errorf("report %s: %w", b.Report, err)
	}
	st := loadState(b.StatePath())
	rep := b.newReport()
	var mu sync.Mutex // guards rep and the report file
	save := func() error {
		mu.Lock()
		defer mu.Unlock()
		rep.count()
		return pipeline.WriteJSON(b.Report, rep)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opt.Jobs)
	for i, j := range b.Jobs {
		if gctx.Err() != nil {
			break // fail_fast or interrupt: the rest stay cancelled
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil
			}
			jr := b.runJob(gctx, j, st, opt)
			mu.Lock()
			rep.Jobs[i] = jr
			mu.Unlock()
			if err := save(); err != nil {
				return err
			}
			if jr.Status == StatusFailed && b.FailFast {
				return fmt.Errorf("job %s: %w", j.Name, errFailFast)
			}
			return nil
		})
	}
	werr := g.Wait()
	if err := save(); err != nil && werr == nil {
		werr = err
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if werr != nil && !errors.Is(werr, errFailFast) {
		return rep, werr
	}
	if rep.Failed > 0 {
		var names []string
		for _, jr := range rep.Jobs {
			if jr.Status == StatusFailed {
				names = append(names, jr.Name)
			}
		}
		return rep, fmt.Errorf("batch %s: %d of %d %w (%s); report %s", b.File, rep.Failed, len(rep.Jobs), ErrJobsFailed,
			strings.Join(names, ", "), b.Report)
	}
	return rep, nil
}

// newReport is the report before the run: every job and item cancelled.
func (b *Batch) newReport() *Report {
	rep := &Report{File: b.File, Started: time.Now(), Jobs: make([]JobReport, len(b.Jobs))}
	for i, j := range b.Jobs {
		rep.Jobs[i] = JobReport{Name: j.Name, Kind: j.Kind, Model: j.ModelRef.Name, Status: StatusCancelled, Outputs: []string{}}
		for _, it := range j.Items {
			rep.Jobs[i].Items = append(rep.Jobs[i].Items, ItemReport{Input: it.Input, Output: it.Output, Status: StatusCancelled})
		}
	}
	return rep
}

// count updates the finish time and the counts of jobs by status.
func (rep *Report) count() {
	rep.Finished = time.Now()
	rep.Seconds = rep.Finished.Sub(rep.Started).Seconds()
	rep.Done, rep.Skipped, rep.Failed, rep.Cancelled = 0, 0, 0, 0
	for _, jr := range rep.Jobs {
		switch jr.Status {
		case StatusDone:
			rep.Done++
		case StatusSkipped:
			rep.Skipped++
		case StatusFailed:
			rep.Failed++
		default:
			rep.Cancelled++
		}
	}
}

// runJob runs a job's items in order.
func (b *Batch) runJob(ctx context.Context, j *Job, st *state, opt RunOptions) JobReport {
	start := time.Now()
	jr := JobReport{Name: j.Name, Kind: j.Kind, Model: j.ModelRef.Name, Outputs: []string{}}
	exec := opt.Executors[j.Kind]
	var errs []string
	var done, skipped, failed, cancelled int
	for _, it := range j.Items {
		ir := ItemReport{Input: it.Input, Output: it.Output}
		t0 := time.Now()
		fp := fingerprint(j, it.Input)
		switch {
		case ctx.Err() != nil:
			ir.Status = StatusCancelled
			cancelled++
		case st.done(it.Output, fp):
			ir.Status = StatusSkipped
			skipped++
			jr.Outputs = append(jr.Outputs, it.Output)
			if !opt.Quiet {
				fmt.Fprintf(opt.Stderr, "%s: %s is up to date, skipped\n", j.Name, it.Output)
			}
		default:
			err := b.runItem(ctx, j, it, exec, opt)
			if err == nil {
				err = st.record(it.Output, fp)
			}
			switch {
			case err == nil:
				ir.Status = StatusDone
				done++
				jr.Outputs = append(jr.Outputs, it.Output)
				if !opt.Quiet {
					fmt.Fprintf(opt.Stderr, "%s: wrote %s (%.1f s)\n", j.Name, it.Output, time.Since(t0).Seconds())
				}
			case ctx.Err() != nil:
				ir.Status, ir.Error = StatusCancelled, err.Error()
				cancelled++
			default:
				ir.Status, ir.Error = StatusFailed, err.Error()
				failed++
				errs = append(errs, err.Error())
				fmt.Fprintf(opt.Stderr, "%s: failed: %v\n", j.Name, err)
			}
		}
		ir.Seconds = time.Since(t0).Seconds()
		jr.Items = append(jr.Items, ir)
		if failed > 0 && b.FailFast {
			for _, rest := range j.Items[len(jr.Items):] {
				jr.Items = append(jr.Items, ItemReport{Input: rest.Input, Output: rest.Output, Status: StatusCancelled})
				cancelled++
			}
			break
		}
	}
	jr.Seconds = time.Since(start).Seconds()
	switch {
	case failed > 0:
		jr.Status = StatusFailed
		jr.Error = strings.Join(errs, "; ")
	case cancelled > 0:
		jr.Status = StatusCancelled
	case done == 0 && skipped > 0:
		jr.Status = StatusSkipped
	default:
		jr.Status = StatusDone
	}
	return jr
}

func (b *Batch) runItem(ctx context.Context, j *Job, it Item, exec Executor, opt RunOptions) error {
	out := it.Output
	if j.Kind == KindTiles && filepath.Ext(out) == "" {
		out = filepath.Join(out, "x") // an XYZ folder: make its parent; the executor makes the folder
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("output %s: %w", it.Output, err)
	}
	t := Task{Job: j, Item: it, Progress: pipeline.ProgressOptions{
		Label: j.Name + ": " + filepath.Base(it.Input), W: opt.Stderr, Quiet: opt.Quiet, TTY: opt.TTY,
	}}
	if err := exec.Run(ctx, t); err != nil {
		return fmt.Errorf("%s -> %s: %w", it.Input, it.Output, err)
	}
	return nil
}

// lockedWriter serialises writes from jobs running at once.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
