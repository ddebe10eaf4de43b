package configs

import (
	"github.com/stylize/stylize/tiles"
	"path/filepath"
	"strings"

	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/onnx"
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
	Defaults Options              `yaml:"defaults"`
	Models   map[string]*ModelDef `yaml:"models"`
	FailFast bool                 `yaml:"fail_fast"`
	Report   string               `yaml:"report"` // run report (JSON); default FILE.report.json beside the YAML file
	Jobs     []*Job               `yaml:"jobs"`

	File    string // the YAML file as named by the caller (used in messages)
	BaseDir string // relative paths are resolved against this folder

	pos positions
}

// ModelDef is a named model: a file (or builtin:NAME) and its conventions,
// with the names of the model flags.
type ModelDef struct {
	Path         string `yaml:"path"`
	Layout       string `yaml:"layout"`
	InputRange   string `yaml:"input_range"`
	OutputRange  string `yaml:"output_range"`
	ChannelOrder string `yaml:"channel_order"`
	SizeMultiple *int   `yaml:"size_multiple"`
	Margin       *int   `yaml:"margin"` // reflect-padding margin in px (the model flag --margin)

	Name string // the key in models:
}

// Options are a job's options: those of the model flags every command
// shares, then each kind's own. Unset values are nil or "" and take the
// batch's defaults, then the command's defaults.
type Options struct {
	Model          string   `yaml:"model"` // a named model, builtin:NAME, or an .onnx path
	Device         string   `yaml:"device"`
	Threads        *int     `yaml:"threads"`
	Strength       *float64 `yaml:"strength"`
	PreserveColors *bool    `yaml:"preserve_colors"`
	Passes         *int     `yaml:"passes"`
	MaxSide        *int     `yaml:"max_side"`

	Quality *int `yaml:"quality" kind:"image tiles"` // JPEG and WebP quality
	Workers *int `yaml:"workers" kind:"video tiles"` // model runs at once

	Height         *int     `yaml:"height" kind:"video"`
	Start          string   `yaml:"start" kind:"video"`
	Duration       string   `yaml:"duration" kind:"video"`
	CRF            *int     `yaml:"crf" kind:"video"`
	Preset         string   `yaml:"preset" kind:"video"`
	Codec          string   `yaml:"codec" kind:"video"`
	Temporal       string   `yaml:"temporal" kind:"video"`
	TemporalWeight *float64 `yaml:"temporal_weight" kind:"video"`

	Zoom      string `yaml:"zoom" kind:"tiles"` // "Z" or "Z0-Z1"
	BBox      string `yaml:"bbox" kind:"tiles"` // "W,S,E,N"
	GeoJSON   string `yaml:"geojson" kind:"tiles"`
	TMS       *bool  `yaml:"tms" kind:"tiles"`
	Overviews *int   `yaml:"overviews" kind:"tiles"` // build zooms below Z0 down to this one
	PerZoom   *bool  `yaml:"per_zoom" kind:"tiles"`
	Metatile  *int   `yaml:"metatile" kind:"tiles"`
	Margin    *int   `yaml:"margin" kind:"tiles"` // metatile margin in px
	Stats     string `yaml:"stats" kind:"tiles"`
	Format    string `yaml:"format" kind:"tiles"`
	// HTTP sources
	UserAgent       string   `yaml:"user_agent" kind:"tiles"`
	Rate            *float64 `yaml:"rate" kind:"tiles"`
	HTTPConcurrency *int     `yaml:"http_concurrency" kind:"tiles"`
	Cache           string   `yaml:"cache" kind:"tiles"`
}

// Job is one entry of jobs:. After Load, its Options hold the defaults
// merged in, Model is resolved and Items lists the expanded inputs.
type Job struct {
	Name    string     `yaml:"name"`
	Kind    Kind       `yaml:"kind"`
	Input   string     `yaml:"input"`
	Inputs  StringList `yaml:"inputs"`
	Source  string     `yaml:"source" kind:"tiles"`
	Output  string     `yaml:"output"`
	Options `yaml:",inline"`

	Index    int       // position in jobs:, from 0
	ModelRef *ModelDef // the resolved model (a named one, or one made from a path or builtin)
	Items    []Item    // one per input (tiles: one, for the source)
}

// Item is one unit of work: one input made into one output. Paths are
// resolved (absolute, or relative to the working directory).
type Item struct {
	Input  string
	Output string
}

// StringList is a string or a list of strings.
type StringList []string

// Zoom range helpers -------------------------------------------------------

// ParseZoom reads "Z" or "Z0-Z1" as the tiles command does (tiles.ParseZoomRange).
func ParseZoom(s string) (lo, hi int, err error) {
	z0, z1, err := tiles.ParseZoomRange(s)
	return int(z0), int(z1), err
}

// ModelOptions are the model.Options for the job (defaults merged, the
// named model's conventions applied).
func (j *Job) ModelOptions() model.Options {
	o := model.Options{Device: j.Device, Conventions: model.Overrides{Margin: -1}}
	if j.ModelRef != nil {
		m := j.ModelRef
		o.Model = m.Path
		o.Conventions = model.Overrides{Layout: m.Layout, InputRange: m.InputRange, OutputRange: m.OutputRange,
			ChannelOrder: m.ChannelOrder}
		if m.SizeMultiple != nil {
			o.Conventions.SizeMultiple = *m.SizeMultiple
		}
		if m.Margin != nil {
			o.Conventions.Margin, o.Conventions.MarginSet = *m.Margin, true
		}
	}
	if o.Device == "" {
		o.Device = "cpu" // the commands' default
	}
	if j.Threads != nil {
		o.Threads = *j.Threads
	}
	if j.Strength != nil {
		o.ContentMix = 1 - *j.Strength
	}
	if j.PreserveColors != nil {
		o.PreserveColors = *j.PreserveColors
	}
	if j.Passes != nil {
		o.Passes = *j.Passes
	}
	if j.MaxSide != nil {
		o.MaxSide = *j.MaxSide
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
