package configs

import (
	"context"
	"errors"
	"fmt"
	"github.com/stylize/stylize/tiles"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/ort"
)

// LoadOptions configure Load. The zero value reads the file and checks
// everything that needs no executor.
type LoadOptions struct {
	// BaseDir overrides the folder relative paths are resolved against
	// (default: the YAML file's folder).
	BaseDir string
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
	b, probs := decodeBatch(file, src)
	b.BaseDir = opt.BaseDir
	if b.BaseDir == "" {
		b.BaseDir = filepath.Dir(file)
	}
	if len(probs) > 0 && b.Jobs == nil && b.Models == nil {
		return nil, probs.sorted() // nothing decoded worth checking further
	}
	v := &validator{b: b, d: &decoder{file: file, pos: b.pos}, models: map[string]error{}}
	v.d.probs = probs
	v.validate(ctx, opt.Executors)
	if len(v.d.probs) > 0 {
		return nil, v.d.probs.sorted()
	}
	return b, nil
}

type validator struct {
	b      *Batch
	d      *decoder
	models map[string]error // model files already checked
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

var templateVar = regexp.MustCompile(`\{([^{}]*)\}`)

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
	v.checkOptions(&b.Defaults, "defaults", "")

	kinds := fieldKinds()
	names := map[string]int{}
	outputs := map[string]string{} // resolved output → "jobs[i]" that writes it
	for i, j := range b.Jobs {
		path := fmt.Sprintf("jobs[%d]", i)
		before := len(v.d.probs)
		if j == nil {
			v.at(path, "want a job (a mapping with name:, kind:, …), got nothing")
			continue
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
			continue
		default:
			msg := fmt.Sprintf("unknown kind %q: want image, video or tiles", j.Kind)
			if s := suggest(string(j.Kind), []string{"image", "video", "tiles"}); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			v.at(path+".kind", "%s", msg)
			continue
		}
		for key, k := range kinds {
			if k != "" && !strings.Contains(" "+string(k)+" ", " "+string(j.Kind)+" ") && v.has(path+"."+key) {
				ks := strings.ReplaceAll(string(k), " ", "/")
				v.atKey(path+"."+key, "%s is %s %s option, not for %s %s job", key, article(Kind(ks)), ks, article(j.Kind), j.Kind)
			}
		}
		v.checkOptions(&j.Options, path, j.Kind)
		v.merge(j)
		j.GeoJSON, j.Cache = v.resolve(j.GeoJSON), v.resolve(j.Cache) // paths for the executors
		v.resolveModel(j, path)
		v.expand(j, path)
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
		if len(v.d.probs) == before && execs != nil { // the kind's checks assume a job that is otherwise valid
			e, ok := execs[j.Kind]
			if !ok || e == nil {
				v.at(path+".kind", "job kind %s is not available in this build", j.Kind)
				continue
			}
			for _, err := range e.Check(ctx, j) {
				var fe *FieldError
				if errors.As(err, &fe) && v.has(path+"."+fe.Key) {
					v.at(path+"."+fe.Key, "%v", fe.Err)
				} else if errors.As(err, &fe) && v.has("defaults."+fe.Key) {
					v.at("defaults."+fe.Key, "%v", fe.Err)
				} else {
					v.at(path, "%v", err)
				}
			}
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
		if m.Layout != "" {
			if _, err := model.ParseLayout(m.Layout); err != nil {
				v.at(path+".layout", "%v", err)
			}
		}
		for key, r := range map[string]string{"input_range": m.InputRange, "output_range": m.OutputRange} {
			if r != "" {
				if _, err := model.ParseRange(r); err != nil {
					v.at(path+"."+key, "%v", err)
				}
			}
		}
		if o := strings.ToLower(m.ChannelOrder); o != "" && o != "rgb" && o != "bgr" {
			v.at(path+".channel_order", "%q: want rgb or bgr", m.ChannelOrder)
		}
		if m.SizeMultiple != nil && (*m.SizeMultiple < 1 || *m.SizeMultiple > 1024) {
			v.at(path+".size_multiple", "%d: want 1..1024", *m.SizeMultiple)
		}
		if m.Margin != nil && (*m.Margin < 0 || *m.Margin > 4096) {
			v.at(path+".margin", "%d: want 0..4096 px", *m.Margin)
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

// checkOptions checks the values set at path (defaults or a job).
func (v *validator) checkOptions(o *Options, path string, kind Kind) {
	at := func(key string, format string, a ...any) { v.at(path+"."+key, format, a...) }
	if o.Device != "" {
		if _, err := ort.ParseDevice(o.Device); err != nil {
			at("device", "%v", err)
		}
	}
	if o.Threads != nil && (*o.Threads < 0 || *o.Threads > 1024) {
		at("threads", "%d: want 0 (one per core) or 1..1024", *o.Threads)
	}
	if o.Strength != nil && (*o.Strength < 0 || *o.Strength > 1 || math.IsNaN(*o.Strength)) {
		at("strength", "%g: want 0..1", *o.Strength)
	}
	if o.Passes != nil && (*o.Passes < 1 || *o.Passes > 100) {
		at("passes", "%d: want 1..100", *o.Passes)
	}
	if o.MaxSide != nil && (*o.MaxSide < 0 || (*o.MaxSide > 0 && *o.MaxSide < 16)) {
		at("max_side", "%d: want 0 (off) or at least 16 px", *o.MaxSide)
	}
	if o.Quality != nil && (*o.Quality < 1 || *o.Quality > 100) {
		at("quality", "%d: want 1..100", *o.Quality)
	}
	if o.Height != nil && (*o.Height < 2 || *o.Height > 16384) {
		at("height", "%d: want 2..16384 px", *o.Height)
	}
	if o.CRF != nil && (*o.CRF < 0 || *o.CRF > 51) {
		at("crf", "%d: want 0..51", *o.CRF)
	}
	if c := o.Codec; c != "" && c != "h264" && c != "h265" {
		at("codec", "%q: want h264 or h265", c)
	}
	if o.TemporalWeight != nil && (*o.TemporalWeight < 0 || *o.TemporalWeight > 1) {
		at("temporal_weight", "%g: want 0..1", *o.TemporalWeight)
	}
	if o.Zoom != "" {
		if _, _, err := ParseZoom(o.Zoom); err != nil {
			at("zoom", "%v", err)
		}
	}
	if o.BBox != "" {
		if _, err := ParseBBox(o.BBox); err != nil {
			at("bbox", "%v", err)
		}
		if o.GeoJSON != "" {
			at("geojson", "give bbox or geojson, not both")
		}
	}
	if o.GeoJSON != "" {
		if err := readable(v.resolve(o.GeoJSON)); err != nil {
			at("geojson", "%v", err)
		}
	}
	if o.Overviews != nil && (*o.Overviews < 0 || *o.Overviews > 30) {
		at("overviews", "%d: want a zoom 0..30 (build zooms from it up to below the first zoom)", *o.Overviews)
	}
	if o.Overviews != nil && o.Zoom != "" {
		if lo, _, err := ParseZoom(o.Zoom); err == nil && *o.Overviews >= lo {
			at("overviews", "%d: want a zoom below the first zoom %d", *o.Overviews, lo)
		}
	}
	if o.Metatile != nil && (*o.Metatile < 1 || *o.Metatile > 64) {
		at("metatile", "%d: want 1..64 tiles", *o.Metatile)
	}
	if o.Workers != nil && (*o.Workers < 1 || *o.Workers > 256) {
		at("workers", "%d: want 1..256", *o.Workers)
	}
	if o.Margin != nil && (*o.Margin < 0 || *o.Margin > 4096) {
		at("margin", "%d: want 0..4096 px", *o.Margin)
	}
	if f := strings.ToLower(o.Format); f != "" && f != "png" && f != "jpg" && f != "jpeg" && f != "webp" {
		at("format", "%q: want png, jpg or webp", o.Format)
	}
}

// merge fills the job's unset options from defaults.
func (v *validator) merge(j *Job) {
	dst := reflect.ValueOf(&j.Options).Elem()
	src := reflect.ValueOf(&v.b.Defaults).Elem()
	for i := 0; i < dst.NumField(); i++ {
		if dst.Field(i).IsZero() {
			dst.Field(i).Set(src.Field(i))
		}
	}
}

// optPath is where an option's value came from: the job or the defaults.
func (v *validator) optPath(path, key string) string {
	if v.has(path+"."+key) || !v.has("defaults."+key) {
		return path + "." + key
	}
	return "defaults." + key
}

func (v *validator) resolveModel(j *Job, path string) {
	ref := j.Model
	if ref == "" {
		ref = model.DefaultModel
	}
	at := v.optPath(path, "model")
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

// expand resolves the job's inputs and outputs into items.
func (v *validator) expand(j *Job, path string) {
	var inputs []string
	inPath := path + ".input"
	switch {
	case j.Kind == KindTiles:
		if j.Input != "" || len(j.Inputs) > 0 {
			key := "input"
			if len(j.Inputs) > 0 {
				key = "inputs"
			}
			v.atKey(path+"."+key, "tiles jobs read source: (as the --source flag), not %s:", key)
			return
		}
		inPath = path + ".source"
		switch {
		case j.Source == "":
			v.at(path, "required: source is missing (an XYZ folder, .mbtiles, .pmtiles or http(s) template)")
			return
		case strings.HasPrefix(j.Source, "http://") || strings.HasPrefix(j.Source, "https://"):
			for _, p := range []string{"{z}", "{x}", "{y}"} {
				if !strings.Contains(j.Source, p) {
					v.at(inPath, "HTTP source %s: want a template with {z}, {x} and {y}", j.Source)
					return
				}
			}
			inputs = []string{j.Source}
		default:
			src := v.resolve(j.Source)
			if _, err := os.Stat(src); err != nil {
				v.at(inPath, "source %s: %v", src, unwrapPath(err))
				return
			}
			inputs = []string{src}
		}
		if j.Zoom == "" {
			v.at(path, "required: zoom is missing (Z or Z0-Z1)")
		}
	case j.Input != "" && len(j.Inputs) > 0:
		v.atKey(path+".inputs", "give input: (one file) or inputs: (globs), not both")
		return
	case j.Input != "":
		in := v.resolve(j.Input)
		if err := readable(in); err != nil {
			v.at(inPath, "%v", err)
			return
		}
		inputs = []string{in}
	case len(j.Inputs) > 0:
		seen := map[string]bool{}
		for k, pat := range j.Inputs {
			p := path + ".inputs"
			if len(j.Inputs) > 1 || v.b.pos[p+"[0]"] != (pos{}) {
				p = fmt.Sprintf("%s[%d]", p, k)
			}
			if pat == "" {
				v.at(p, "empty glob")
				continue
			}
			matches, err := glob(v.resolve(pat))
			if err != nil {
				v.at(p, "glob %q: %v", pat, err)
				continue
			}
			var files []string
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && !st.IsDir() {
					files = append(files, m)
				}
			}
			if len(files) == 0 {
				v.at(p, "glob %q matches no files (in %s)", pat, filepath.Dir(v.resolve(pat)))
				continue
			}
			for _, f := range files {
				if err := readable(f); err != nil {
					v.at(p, "%v", err)
					continue
				}
				if !seen[f] {
					seen[f] = true
					inputs = append(inputs, f)
				}
			}
		}
	default:
		v.at(path, "required: input (one file) or inputs (globs) is missing")
		return
	}
	outPath := path + ".output"
	if j.Output == "" {
		v.at(path, "required: output is missing")
		return
	}
	for _, m := range templateVar.FindAllStringSubmatch(j.Output, -1) {
		switch m[1] {
		case "name", "ext", "job", "model":
		default:
			msg := fmt.Sprintf("unknown template variable {%s}: want {name}, {ext}, {job} or {model}", m[1])
			if s := suggest(m[1], []string{"name", "ext", "job", "model"}); s != "" {
				msg += fmt.Sprintf(" (did you mean {%s}?)", s)
			}
			v.at(outPath, "%s", msg)
			return
		}
	}
	if len(inputs) > 1 && !strings.Contains(j.Output, "{name}") {
		v.at(outPath, "%d inputs would all be written to %s: put {name} in the output template", len(inputs), j.Output)
		return
	}
	modelVar := j.ModelRef.Name
	for _, in := range inputs {
		base := filepath.Base(in)
		ext := filepath.Ext(base)
		out := strings.NewReplacer("{name}", strings.TrimSuffix(base, ext), "{ext}", strings.TrimPrefix(ext, "."),
			"{job}", j.Name, "{model}", modelVar).Replace(j.Output)
		out = v.resolve(out)
		if absPath(out) == absPath(in) {
			v.at(outPath, "output %s is the input file", out)
			return
		}
		if j.Kind == KindImage {
			if _, err := imageio.FormatOf(out); err != nil {
				v.at(outPath, "%v", err)
				return
			}
		}
		j.Items = append(j.Items, Item{Input: in, Output: out})
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

// ParseBBox reads "W,S,E,N" in degrees as the tiles command does
// (tiles.ParseBBox: longitudes wrapped, the antimeridian split, S > N refused).
// The error drops the package's "bbox " prefix: the key path names it.
func ParseBBox(s string) (tiles.Region, error) {
	r, err := tiles.ParseBBox(s)
	if err != nil {
		return r, errors.New(strings.TrimPrefix(err.Error(), "bbox "))
	}
	return r, nil
}

func article(k Kind) string {
	if strings.HasPrefix(string(k), "i") {
		return "an"
	}
	return "a"
}
