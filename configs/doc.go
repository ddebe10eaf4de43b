// Package configs reads batch files (`stylize run FILE.yaml`): strict
// decoding with file:line:column for every problem, validation of
// everything before any work starts, and the runner that executes the jobs
// through executors injected per kind (image, video, tiles), with a JSON run
// report and a state file so that a re-run skips finished outputs.
//
// # Schema
//
// One schema, one set of names: a YAML key is the command-line flag of the
// same option with dashes turned into underscores (--max-side ↔ max_side,
// --preserve-colors ↔ preserve_colors, --temporal-weight ↔ temporal_weight).
// There is no second spelling: both come from one declaration per option
// (pipeline/option tables, declared next to each package's Options and
// joined per kind by the command, which passes them as LoadOptions.Schemas),
// with its type, default and checks; configs itself knows no kind's keys.
// The output is output: (the -o flag); the model conventions (layout,
// input_range, output_range, channel_order, size_multiple, margin) belong
// to a named model under models:.
//
//	defaults:          # any job option; applies to every job that does not set it
//	  model: builtin:ink
//	  device: cpu
//	  max_side: 720
//	models:            # named models, referenced by name in a job's model:
//	  moebius: {path: models/moebius.onnx, input_range: "0..1"}
//	fail_fast: false   # true: the first failing job stops the batch
//	report: out/batch.report.json
//	jobs:
//	  - name: trailers           # unique
//	    kind: video              # image | video | tiles
//	    inputs: clips/*.mp4      # a glob (or a list of globs; ** spans folders): one output each
//	    output: out/{name}-{model}.mp4
//	    model: moebius
//	    height: 720
//
// Image and video jobs take input: (one file) or inputs: (globs); tiles jobs
// take source: (a folder, .mbtiles, .pmtiles or an http(s) template), as
// the tiles command's --source flag. Options of another kind than the job's
// are refused.
//
// The output may be a template with these variables: {name} the input's
// base name without extension, {ext} its extension without the dot, {job}
// the job's name, {model} the model's name (a named model's key, the
// built-in's name, or the model file's base name without .onnx). Inside a
// flow mapping ({name: a, output: …}) quote the template, since YAML reads
// its braces otherwise.
//
// Errors: every problem (YAML syntax, unknown keys with a did-you-mean,
// wrong types, missing fields, bad values, unreadable models and inputs,
// duplicate names and outputs) is reported at once as FILE:LINE:COL: KEY
// PATH: MESSAGE (jobs are counted from 0: jobs[2] is the third), and
// nothing runs.
//
// Relative paths (inputs, outputs, models, the report) are resolved against
// the folder holding the YAML file, not the working directory, so a batch
// file runs the same from anywhere. Output folders are created as needed.
//
// # Re-runs
//
// Next to the report, a state file (REPORT.state.json) records for every
// output written the fingerprint of what made it: the input's size and
// modification time, the model file's, and a hash of the job's options.
// An output that exists and whose fingerprint matches is skipped (reported
// as skipped). Outputs are written atomically, so after an interrupted run
// a missing output simply means "not done" and is redone.
package configs
