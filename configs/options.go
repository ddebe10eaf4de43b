package configs

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/stylize/stylize/pipeline/option"
)

// kindsOf lists the kinds whose schema declares key, in Kinds order.
func (v *validator) kindsOf(key string) []Kind {
	var out []Kind
	for _, k := range Kinds {
		if s := v.schemas[k]; s != nil && s().Lookup(key) != nil {
			out = append(out, k)
		}
	}
	return out
}

// allKeys lists every option key of every kind, sorted.
func (v *validator) allKeys() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range Kinds {
		if s := v.schemas[k]; s != nil {
			for _, key := range s().Keys() {
				if !seen[key] {
					seen[key] = true
					out = append(out, key)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// unknownKey reports a key no option declares, with a did-you-mean from
// cands.
func (v *validator) unknownKey(path, key string, cands []string) {
	msg := fmt.Sprintf("unknown key %q", key)
	if alt := strings.ReplaceAll(key, "-", "_"); alt != key && contains(cands, alt) {
		msg += fmt.Sprintf(" (keys are the flag names with underscores: %s)", alt)
	} else if s := suggest(key, cands); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	v.atKey(path+"."+key, "%s", msg)
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// typeDefaults types and checks the values of defaults: by the first
// kind that declares each key (also when no job takes it); a key no kind
// declares is reported.
func (v *validator) typeDefaults() {
	v.defaults = Values{}
	byKind := map[Kind]Values{}
	for key, raw := range v.b.Defaults {
		ks := v.kindsOf(key)
		if len(ks) == 0 {
			v.unknownKey("defaults", key, v.allKeys())
			continue
		}
		d := v.schemas[ks[0]]().Lookup(key)
		if val, ok := v.d.typed(raw, d.Type, "defaults."+key); ok {
			v.defaults[key] = v.resolvePath(d, val)
			if byKind[ks[0]] == nil {
				byKind[ks[0]] = Values{}
			}
			byKind[ks[0]][key] = v.defaults[key]
		}
	}
	for k, vs := range byKind {
		v.reportAt(vs.Apply(v.schemas[k]()), func(key string) string { return "defaults." + key }, "defaults")
	}
	v.b.Defaults = v.defaults
}

// resolvePath resolves a path option's value against the base folder.
func (v *validator) resolvePath(d *option.Decl, val any) any {
	if !d.Path {
		return val
	}
	switch x := val.(type) {
	case string:
		return v.resolve(x)
	case []string:
		out := make([]string, len(x))
		for i, p := range x {
			out[i] = v.resolve(p)
		}
		return out
	}
	return val
}

// jobOptions types the job's options by its kind's schema, merges the
// defaults in, and reports every problem at the key it came from.
func (v *validator) jobOptions(j *Job, path string) {
	schema := v.schemas[j.Kind]
	if schema == nil {
		j.Options = Values{}
		if v.schemas != nil {
			v.at(path+".kind", "job kind %s is not available in this build", j.Kind)
		}
		return
	}
	t := schema()
	merged := Values{}
	for key, val := range v.defaults {
		if t.Lookup(key) != nil {
			merged[key] = val
		}
	}
	for key, raw := range j.Options {
		d := t.Lookup(key)
		if d == nil {
			v.misplaced(path, key, j.Kind, t.Keys())
			continue
		}
		if val, ok := v.d.typed(raw, d.Type, path+"."+key); ok {
			merged[key] = v.resolvePath(d, val)
		} else {
			delete(merged, key)
		}
	}
	j.Options, j.keys = merged, t.Keys()
	v.report(merged.Apply(t), path)
}

// misplaced reports an option key of another kind, or one of none.
func (v *validator) misplaced(path, key string, kind Kind, keys []string) {
	ks := v.kindsOf(key)
	if len(ks) == 0 {
		v.unknownKey(path, key, append([]string{"name", "kind", "input", "inputs", "source", "output"}, keys...))
		return
	}
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = string(k)
	}
	ns := strings.Join(names, "/")
	v.atKey(path+"."+key, "%s is %s %s option, not for %s %s job", key, article(Kind(ns)), ns, article(kind), kind)
}

// setValues types and sets values on t (a named model's conventions),
// reporting problems under path.
func (v *validator) setValues(vs Values, t *option.Table, path, what string) {
	typed := Values{}
	for key, raw := range vs {
		d := t.Lookup(key)
		if d == nil {
			v.unknownKey(path, key, append([]string{"path"}, t.Keys()...))
			continue
		}
		if val, ok := v.d.typed(raw, d.Type, path+"."+key); ok {
			typed[key] = val
		}
	}
	for k := range vs {
		delete(vs, k)
	}
	for k, val := range typed {
		vs[k] = val
	}
	v.reportAt(vs.Apply(t), func(key string) string { return path + "." + key }, path)
}

// report puts the problems of a job's options at the key each came from
// (the job's, or the defaults').
func (v *validator) report(err error, path string) {
	v.reportAt(err, func(key string) string { return v.optPath(path, key) }, path)
}

func (v *validator) reportAt(err error, at func(key string) string, path string) {
	for _, e := range option.Leaves(err) {
		var oe *option.Error
		if errors.As(e, &oe) {
			v.at(at(oe.Key), "%s", oe.Message())
		} else {
			v.at(path, "%v", e)
		}
	}
}
