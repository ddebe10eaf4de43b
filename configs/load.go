package configs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/option"
)

// LoadOptions configure Load.
type LoadOptions struct {
	// BaseDir overrides the folder relative paths are resolved against
	// (default: the YAML file's folder).
	BaseDir string
	// Schemas declare the options of each job kind (keys, types, checks).
	// A job of a kind without one is reported as not available.
	Schemas map[Kind]Schema
	// Executors run the kind-specific checks (Executor.Check). A kind
	// without an executor is reported as not available in this build;
	// a nil map skips the kind-specific checks altogether.
	Executors map[Kind]Executor
}

// FieldError is an error about one key of a job, returned by
// Executor.Check so that it is reported at that key's position.
type FieldError struct {
	Key string // the job's key, e.g. "preset"
	Err error
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Load reads, decodes and validates a batch file. Every problem found is
// returned at once as Problems, each with file:line:column and key path;
// nothing is run.
func Load(ctx context.Context, file string, opt LoadOptions) (*Batch, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Problems{{File: file, Msg: fmt.Sprintf("cannot read batch file: %v", err)}}
	}
	return Parse(ctx, file, src, opt)
}

// Parse is Load on the file's contents (file names it in messages and
// gives the default base folder).
func Parse(ctx context.Context, file string, src []byte, opt LoadOptions) (*Batch, error) {
	b, d := decodeBatch(file, src)
	b.BaseDir = opt.BaseDir
	if b.BaseDir == "" {
		b.BaseDir = filepath.Dir(file)
	}
	if len(d.probs) > 0 && b.Jobs == nil && b.Models == nil {
		return nil, d.probs.sorted() // nothing decoded worth checking further
	}
	v := &validator{b: b, d: d, models: map[string]error{}, schemas: opt.Schemas}
	v.validate(ctx, opt.Executors)
	if len(v.d.probs) > 0 {
		return nil, v.d.probs.sorted()
	}
	return b, nil
}

type validator struct {
	b        *Batch
	d        *decoder
	models   map[string]error // model files already checked
	schemas  map[Kind]Schema
	defaults Values // typed values of defaults:
}

// at reports a problem at a key path's value (or its key with keyPos).
func (v *validator) at(path string, format string, a ...any) {
	v.d.problem(v.b.pos[path], path, format, a...)
}

func (v *validator) atKey(path string, format string, a ...any) {
	p, ok := v.b.pos[path+"#key"]
	if !ok {
		p = v.b.pos[path]
	}
	v.d.problem(p, path, format, a...)
}

func (v *validator) has(path string) bool { _, ok := v.b.pos[path+"#key"]; return ok }

// resolve makes a relative path relative to the base folder.
func (v *validator) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Clean(filepath.Join(v.b.BaseDir, p))
}

func (v *validator) validate(ctx context.Context, execs map[Kind]Executor) {
	b := v.b
	if len(b.Jobs) == 0 {
		if v.has("jobs") {
			v.at("jobs", "want at least one job")
		} else {
			v.d.problem(pos{1, 1}, "jobs", "required: the list of jobs to run is missing")
		}
	}
	if b.Report == "" {
		base := strings.TrimSuffix(filepath.Base(b.File), filepath.Ext(b.File))
		b.Report = filepath.Join(b.BaseDir, base+".report.json")
	} else {
		b.Report = v.resolve(b.Report)
	}
	v.checkModels()
	v.typeDefaults()
	names := map[string]int{}
	outputs := map[string]string{} // resolved output → "jobs[i]" that writes it
	for i, j := range b.Jobs {
		path := fmt.Sprintf("jobs[%d]", i)
		before := len(v.d.probs)
		if !v.checkJob(j, i, path, names) {
			continue
		}
		v.jobOptions(j, path)
		v.resolveModel(j, path)
		v.expand(j, path)
		v.checkOutputs(j, path, outputs)
		if len(v.d.probs) == before && execs != nil { // the kind's checks assume a job that is otherwise valid
			v.execCheck(ctx, j, path, execs)
		}
	}
}

// checkJob checks a job's name and kind; false when the job cannot be
// checked further.
func (v *validator) checkJob(j *Job, i int, path string, names map[string]int) bool {
	if j == nil {
		v.at(path, "want a job (a mapping with name:, kind:, …), got nothing")
		return false
	}
	j.Index = i
	if j.Name == "" {
		v.at(path, "required: name is missing")
	} else if prev, dup := names[j.Name]; dup {
		v.at(path+".name", "duplicate job name %q (also jobs[%d], line %d)", j.Name, prev, v.b.pos[fmt.Sprintf("jobs[%d].name", prev)].line)
	} else {
		names[j.Name] = i
	}
	switch j.Kind {
	case KindImage, KindVideo, KindTiles:
	case "":
		v.at(path, "required: kind is missing (image, video or tiles)")
		return false
	default:
		msg := fmt.Sprintf("unknown kind %q: want image, video or tiles", j.Kind)
		if s := suggest(string(j.Kind), []string{"image", "video", "tiles"}); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		v.at(path+".kind", "%s", msg)
		return false
	}
	if j.Kind != KindTiles && v.has(path+".source") {
		v.atKey(path+".source", "source is a tiles option, not for %s %s job", article(j.Kind), j.Kind)
	}
	return true
}

// checkOutputs refuses outputs written twice, or that are another job's input.
func (v *validator) checkOutputs(j *Job, path string, outputs map[string]string) {
	for _, it := range j.Items {
		if it.Output == "" {
			continue
		}
		key := absPath(it.Output)
		if other, dup := outputs[key]; dup {
			v.at(path+".output", "%s is also written by %s", it.Output, other)
			continue
		}
		if other, dup := outputs["in:"+key]; dup {
			v.at(path+".output", "%s is an input of %s", it.Output, other)
		}
		outputs[key] = fmt.Sprintf("%s (%s)", path, j.Name)
	}
	for _, it := range j.Items {
		outputs["in:"+absPath(it.Input)] = fmt.Sprintf("%s (%s)", path, j.Name)
	}
}

// execCheck runs the kind executor's own checks.
func (v *validator) execCheck(ctx context.Context, j *Job, path string, execs map[Kind]Executor) {
	e, ok := execs[j.Kind]
	if !ok || e == nil {
		v.at(path+".kind", "job kind %s is not available in this build", j.Kind)
		return
	}
	for _, err := range e.Check(ctx, j) {
		var fe *FieldError
		var oe *option.Error
		if errors.As(err, &fe) {
			v.at(v.optPath(path, fe.Key), "%v", fe.Err)
		} else if errors.As(err, &oe) {
			v.at(v.optPath(path, oe.Key), "%s", oe.Message())
		} else {
			v.at(path, "%v", err)
		}
	}
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func (v *validator) checkModels() {
	names := make([]string, 0, len(v.b.Models))
	for n := range v.b.Models {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := v.b.Models[n]
		path := "models." + n
		if m == nil {
			v.at(path, "want a mapping with path:, got nothing")
			delete(v.b.Models, n)
			continue
		}
		m.Name = n
		v.setValues(m.Values, m.Conventions.Table(), path, "a model convention")
		if m.Path == "" {
			v.at(path, "required: path is missing (an .onnx file or builtin:NAME)")
			continue
		}
		if !onnx.IsBuiltin(m.Path) {
			m.Path = v.resolve(m.Path)
		}
		if err := v.loadModel(m.Path); err != nil {
			v.at(path+".path", "%v", err)
		}
	}
}

// loadModel checks once per file that the model exists and parses (the
// graph is read, no session is created and nothing is run).
func (v *validator) loadModel(p string) error {
	if err, done := v.models[p]; done {
		return err
	}
	var err error
	if !onnx.IsBuiltin(p) {
		if st, serr := os.Stat(p); serr != nil {
			var pe *fs.PathError
			if errors.As(serr, &pe) {
				serr = pe.Err
			}
			err = fmt.Errorf("model %s: %w", p, serr)
		} else if st.IsDir() {
			err = fmt.Errorf("model %s: is a folder, want an .onnx file", p)
		}
	}
	if err == nil {
		_, err = model.LoadModel(p)
	}
	v.models[p] = err
	return err
}

// optPath is where an option's value came from: the job or the defaults.
func (v *validator) optPath(path, key string) string {
	if v.has(path+"."+key) || !v.has("defaults."+key) {
		return path + "." + key
	}
	return "defaults." + key
}

func (v *validator) resolveModel(j *Job, path string) {
	ref := j.Model()
	at := v.optPath(path, "model")
	if ref == "" && j.Options["style"] != nil {
		p, err := model.FindStyleModel() // style: without model: the MicroAST pair
		if err != nil {
			v.at(v.optPath(path, "style"), "%v", err)
			j.ModelRef = &ModelDef{Name: "style"}
			return
		}
		ref = p
	}
	if ref == "" {
		ref = model.DefaultModel
	}
	if m, ok := v.b.Models[ref]; ok {
		j.ModelRef = m
		return
	}
	j.ModelRef = &ModelDef{Name: modelName(ref, false), Path: ref}
	if onnx.IsBuiltin(ref) {
		if err := v.loadModel(ref); err != nil {
			v.at(at, "%v", err)
		}
		return
	}
	if !strings.ContainsAny(ref, `/\`) && !strings.HasSuffix(strings.ToLower(ref), ".onnx") {
		var cands []string
		for n := range v.b.Models {
			cands = append(cands, n)
		}
		for _, bi := range onnx.Builtins() {
			cands = append(cands, onnx.BuiltinPrefix+bi.Name)
		}
		sort.Strings(cands)
		msg := fmt.Sprintf("unknown model %q: not a named model under models:, a builtin:NAME or an .onnx path", ref)
		if s := suggest(ref, cands); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		v.at(at, "%s", msg)
		return
	}
	j.ModelRef.Path = v.resolve(ref)
	if err, seen := v.models[j.ModelRef.Path]; seen && err != nil && at != path+".model" {
		return // a bad model in defaults is reported once
	}
	if err := v.loadModel(j.ModelRef.Path); err != nil {
		v.at(at, "%v", err)
	}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readable checks that a file exists, is not a folder, and can be opened.
func readable(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("input %s: %w", p, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("input %s: %w", p, unwrapPath(err))
	}
	if st.IsDir() {
		return fmt.Errorf("input %s: is a folder, want a file", p)
	}
	return nil
}

func article(k Kind) string {
	if strings.HasPrefix(string(k), "i") {
		return "an"
	}
	return "a"
}
