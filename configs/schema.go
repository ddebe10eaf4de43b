package configs

import (
	"path/filepath"
	"strings"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
	"github.com/stylize/stylize/pipeline/option"
)

// Kind is what a job makes.
type Kind string

// The job kinds.
const (
	KindImage Kind = "image"
	KindVideo Kind = "video"
	KindTiles Kind = "tiles"
)

// Kinds lists the job kinds in the order they are documented.
var Kinds = []Kind{KindImage, KindVideo, KindTiles}

// Batch is a decoded and validated batch file.
type Batch struct {
	Defaults Values               `yaml:"defaults"`
	Models   map[string]*ModelDef `yaml:"models"`
	FailFast bool                 `yaml:"fail_fast"`
	Report   string               `yaml:"report"` // run report (JSON); default FILE.report.json beside the YAML file
	Jobs     []*Job               `yaml:"jobs"`

	File    string // the YAML file as named by the caller (used in messages)
	BaseDir string // relative paths are resolved against this folder

	pos positions
}

// ModelDef is a named model: a file (or builtin:NAME) and its conventions,
// with the keys of the model convention flags (model.Overrides.Table).
type ModelDef struct {
	Path        string `yaml:"path"`
	Values      Values `yaml:",rest"` // layout, input_range, …, margin
	Conventions model.Overrides

	Name string // the key in models:
}

// Values are the options set in defaults: or a job, by key. Their types
// are those the kind's option table declares (bool, int, float64,
// string, []string, []float64); paths are resolved against the batch
// file's folder.
type Values map[string]any

// Apply sets the values on the table's options (keys it does not declare
// are left out) and returns its problems (option.Table.Validate).
func (vs Values) Apply(t *option.Table) error {
	for _, k := range t.Keys() {
		if v, ok := vs[k]; ok {
			if err := t.Set(k, v); err != nil {
				return err
			}
		}
	}
	return t.Validate()
}

// Schema makes a fresh option table of a job kind: the keys its jobs
// accept, their types, defaults and checks. The command provides one per
// kind (LoadOptions.Schemas).
type Schema func() *option.Table

// Job is one entry of jobs:. After Load, Options holds the job's values
// with the defaults merged in, Model is resolved and Items lists the
// expanded inputs.
type Job struct {
	Name    string     `yaml:"name"`
	Kind    Kind       `yaml:"kind"`
	Input   string     `yaml:"input"`
	Inputs  StringList `yaml:"inputs"`
	Source  string     `yaml:"source" kind:"tiles"`
	Output  string     `yaml:"output"`
	Options Values     `yaml:",rest"`

	Index    int       // position in jobs:, from 0
	ModelRef *ModelDef // the resolved model (a named one, or one made from a path or builtin)
	Items    []Item    // one per input (tiles: one, for the source)
	keys     []string  // the kind's option keys, in order (for the plan)
}

// Model is the job's model reference as written ("" = the default).
func (j *Job) Model() string { s, _ := j.Options["model"].(string); return s }

// Item is one unit of work: one input made into one output. Paths are
// resolved (absolute, or relative to the working directory).
type Item struct {
	Input  string
	Output string
}

// StringList is a string or a list of strings.
type StringList []string

// ModelOptions are the model.Options for the job (defaults merged, the
// named model's conventions applied).
func (j *Job) ModelOptions() model.Options {
	var o model.Options
	t := o.Table()
	_ = j.Options.Apply(t) // validated by Load
	t.ApplyDefaults()
	if j.ModelRef != nil {
		o.Model, o.Conventions = j.ModelRef.Path, j.ModelRef.Conventions
	}
	return o
}

// modelName is the {model} template variable for a model reference.
func modelName(ref string, named bool) string {
	if named {
		return ref
	}
	if onnx.IsBuiltin(ref) {
		return strings.TrimPrefix(ref, onnx.BuiltinPrefix)
	}
	return strings.TrimSuffix(filepath.Base(ref), filepath.Ext(ref))
}
