package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/stylize/stylize/pipeline/imageio"
)

var templateVar = regexp.MustCompile(`\{([^{}]*)\}`)

// expand resolves the job's inputs and outputs into items.
func (v *validator) expand(j *Job, path string) {
	var inputs []string
	var ok bool
	switch {
	case j.Kind == KindTiles:
		inputs, ok = v.tilesSource(j, path)
	case j.Input != "" && len(j.Inputs) > 0:
		v.atKey(path+".inputs", "give input: (one file) or inputs: (globs), not both")
	case j.Input != "":
		in := v.resolve(j.Input)
		if err := readable(in); err != nil {
			v.at(path+".input", "%v", err)
			return
		}
		inputs, ok = []string{in}, true
	case len(j.Inputs) > 0:
		inputs, ok = v.globInputs(j, path), true
	default:
		v.at(path, "required: input (one file) or inputs (globs) is missing")
	}
	if ok {
		v.outputs(j, path, inputs)
	}
}

// tilesSource checks a tiles job's source: (and zoom:).
func (v *validator) tilesSource(j *Job, path string) ([]string, bool) {
	if j.Input != "" || len(j.Inputs) > 0 {
		key := "input"
		if len(j.Inputs) > 0 {
			key = "inputs"
		}
		v.atKey(path+"."+key, "tiles jobs read source: (as the --source flag), not %s:", key)
		return nil, false
	}
	var inputs []string
	switch src := j.Source; {
	case src == "":
		v.at(path, "required: source is missing (an XYZ folder, .mbtiles, .pmtiles or http(s) template)")
		return nil, false
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		for _, p := range []string{"{z}", "{x}", "{y}"} {
			if !strings.Contains(src, p) {
				v.at(path+".source", "HTTP source %s: want a template with {z}, {x} and {y}", src)
				return nil, false
			}
		}
		inputs = []string{src}
	default:
		src = v.resolve(src)
		if _, err := os.Stat(src); err != nil {
			v.at(path+".source", "source %s: %v", src, unwrapPath(err))
			return nil, false
		}
		inputs = []string{src}
	}
	if _, ok := j.Options["zoom"]; !ok {
		v.at(path, "required: zoom is missing (Z or Z0-Z1)")
	}
	return inputs, true
}

// globInputs expands inputs: (globs) into readable files, in order, once each.
func (v *validator) globInputs(j *Job, path string) []string {
	var inputs []string
	seen := map[string]bool{}
	for k, pat := range j.Inputs {
		p := path + ".inputs"
		if len(j.Inputs) > 1 || v.b.pos[p+"[0]"] != (pos{}) {
			p = fmt.Sprintf("%s[%d]", p, k)
		}
		for _, f := range v.globFiles(p, pat) {
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
	return inputs
}

// globFiles lists the files (not folders) a glob matches, reporting at p
// when there are none.
func (v *validator) globFiles(p, pat string) []string {
	if pat == "" {
		v.at(p, "empty glob")
		return nil
	}
	matches, err := glob(v.resolve(pat))
	if err != nil {
		v.at(p, "glob %q: %v", pat, err)
		return nil
	}
	var files []string
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && !st.IsDir() {
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		v.at(p, "glob %q matches no files (in %s)", pat, filepath.Dir(v.resolve(pat)))
	}
	return files
}

// outputs fills the output template for each input into the job's items.
func (v *validator) outputs(j *Job, path string, inputs []string) {
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
	for _, in := range inputs {
		base := filepath.Base(in)
		ext := filepath.Ext(base)
		out := strings.NewReplacer("{name}", strings.TrimSuffix(base, ext), "{ext}", strings.TrimPrefix(ext, "."),
			"{job}", j.Name, "{model}", j.ModelRef.Name).Replace(j.Output)
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
