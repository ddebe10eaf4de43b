package option

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Table is a list of declarations bound to one options value, and which
// of them were set explicitly (by a flag or a batch key): the one record
// of "unset".
type Table struct {
	decls []*Decl
	index map[string]*Decl
	set   map[string]bool
	errs  map[string]*Error // values that could not be stored
	rules []func(*Table) error
}

// New makes a table of the declarations.
func New(decls ...*Decl) *Table {
	t := &Table{index: map[string]*Decl{}, set: map[string]bool{}, errs: map[string]*Error{}}
	for _, d := range decls {
		t.add(d)
	}
	return t
}

func (t *Table) add(d *Decl) {
	if old, dup := t.index[d.Key]; dup {
		for i, x := range t.decls {
			if x == old {
				t.decls = append(t.decls[:i], t.decls[i+1:]...)
				break
			}
		}
	}
	t.decls = append(t.decls, d)
	t.index[d.Key] = d
}

// Join makes one table of several; a key declared again replaces the
// earlier declaration (the tiles' margin replaces the model's).
func Join(ts ...*Table) *Table {
	out := New()
	for _, t := range ts {
		for _, d := range t.decls {
			out.add(d)
		}
		out.rules = append(out.rules, t.rules...)
	}
	return out
}

// Decls lists the declarations in order.
func (t *Table) Decls() []*Decl { return t.decls }

// Without lists the declarations but those of keys, for a job kind that
// embeds another's options and sets those keys itself.
func (t *Table) Without(keys ...string) []*Decl {
	var ds []*Decl
	for _, d := range t.decls {
		if !slices.Contains(keys, d.Key) {
			ds = append(ds, d)
		}
	}
	return ds
}

// Lookup returns the declaration of key, or nil.
func (t *Table) Lookup(key string) *Decl { return t.index[key] }

// Keys lists the keys in order.
func (t *Table) Keys() []string {
	ks := make([]string, len(t.decls))
	for i, d := range t.decls {
		ks[i] = d.Key
	}
	return ks
}

// Stored says whether key was set and its value could be stored (a rule
// across options skips values that could not).
func (t *Table) Stored(key string) bool { return t.set[key] && t.errs[key] == nil }

// IsSet says whether key was set explicitly.
func (t *Table) IsSet(key string) bool { return t.set[key] }

// Set stores a value for key: a bool, int, float64, string, []string or
// []float64 as the declaration's Type says. A value the option cannot
// take (a bad zoom range) is kept as a problem for Validate.
func (t *Table) Set(key string, v any) error {
	d := t.index[key]
	if d == nil {
		return fmt.Errorf("unknown option %q", key)
	}
	if err := typeCheck(d.Type, v); err != nil {
		return &Error{Key: key, Err: err}
	}
	t.set[key] = true
	delete(t.errs, key)
	if err := d.set(v); err != nil {
		t.errs[key] = &Error{Key: key, Err: Named(err)}
	}
	return nil
}

func typeCheck(typ Type, v any) error {
	ok := false
	switch typ {
	case Bool:
		_, ok = v.(bool)
	case Int:
		_, ok = v.(int)
	case Float:
		_, ok = v.(float64)
	case String:
		_, ok = v.(string)
	case Strings:
		_, ok = v.([]string)
	case Floats:
		_, ok = v.([]float64)
	}
	if !ok {
		return fmt.Errorf("value %v (%T) does not fit the option's type", v, v)
	}
	return nil
}

// ApplyDefaults stores each declared default in an unset field.
func (t *Table) ApplyDefaults() {
	for _, d := range t.decls {
		if d.def != nil && !t.set[d.Key] && d.zero() {
			_ = d.set(d.def)
		}
	}
}

// MarkNonZero counts every field holding a non-zero value as set, for
// validating options filled in by a program rather than flags.
func (t *Table) MarkNonZero() {
	for _, d := range t.decls {
		if !d.zero() {
			t.set[d.Key] = true
		}
	}
}

// Validate checks every option that is set and returns all problems,
// each an *Error, joined (errors.Join); nil when all is well.
func (t *Table) Validate() error {
	var errs []error
	for _, d := range t.decls {
		if e := t.errs[d.Key]; e != nil {
			errs = append(errs, e)
			continue
		}
		if !t.set[d.Key] {
			continue
		}
		v := d.get()
		if s, ok := v.(string); ok && s == "" {
			continue
		}
		for _, c := range d.checks {
			if err := c(v); err != nil {
				errs = append(errs, &Error{Key: d.Key, Value: quoted(v), Err: err})
				break
			}
		}
	}
	for _, r := range t.rules {
		if err := r(t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Usage is the declaration's help with its default.
func (d *Decl) Usage() string {
	if d.defText == "" {
		return d.Help
	}
	return fmt.Sprintf("%s (default %s)", d.Help, d.defText)
}

// AddFlags defines a flag for every declaration on fs (and its alias).
func (t *Table) AddFlags(fs *flag.FlagSet) {
	for _, d := range t.decls {
		v := &flagValue{t: t, d: d}
		if d.Short != "" {
			fs.Var(v, d.Short, d.Usage())
			fs.Var(v, d.Flag(), "same as -"+d.Short)
			continue
		}
		fs.Var(v, d.Flag(), d.Usage())
	}
}

// flagValue is a declaration as a flag.Value.
type flagValue struct {
	t *Table
	d *Decl
}

// String is "" while unset, so flag's help prints no "(default …)" of
// its own (Usage has the declared one).
func (f *flagValue) String() string {
	if f == nil || f.d == nil || !f.t.set[f.d.Key] {
		return ""
	}
	return format(f.d.get())
}

func (f *flagValue) IsBoolFlag() bool { return f != nil && f.d != nil && f.d.Type == Bool }

// TypeName names the value for the help ("int", "string", …).
func (f *flagValue) TypeName() string {
	return [...]string{"", "int", "number", "string", "string", "numbers"}[f.d.Type]
}

func (f *flagValue) Set(s string) error {
	v, err := parse(f.d.Type, s)
	if err != nil {
		return err
	}
	if f.d.Type == Strings && f.t.set[f.d.Key] { // a repeated flag adds to the list
		v = append(f.d.get().([]string), s)
	}
	return f.t.Set(f.d.Key, v)
}

// parse reads a flag's text as the type's value.
func parse(typ Type, s string) (any, error) {
	switch typ {
	case Bool:
		return strconv.ParseBool(s)
	case Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, errors.New("want an integer")
		}
		return n, nil
	case Float:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, errors.New("want a number")
		}
		return x, nil
	case Strings:
		return []string{s}, nil
	case Floats:
		var xs []float64
		for _, p := range strings.Split(s, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return nil, fmt.Errorf("%q: want numbers separated by commas", s)
			}
			xs = append(xs, x)
		}
		return xs, nil
	}
	return s, nil
}
