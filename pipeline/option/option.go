// Package option declares each option of a job once — its batch key, flag,
// help, default and checks — so that flags, batch-file keys, defaults and
// validation are all made from the same declaration.
package option

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Type is the kind of value an option holds.
type Type int

// The option types.
const (
	Bool    Type = iota
	Int          // whole number
	Float        // number
	String       // text
	Strings      // list of texts (a repeated flag; a string or a list in YAML)
	Floats       // list of numbers (comma-separated on the command line)
)

// Decl declares one option, bound to the field it sets.
type Decl struct {
	Key   string // batch key, snake_case; the flag is the key with dashes
	Short string // optional one-letter flag alias ("m" for -m)
	Help  string
	Type  Type
	Path  bool // the value is a file path (a batch file resolves it against its folder)

	def     any // declared default of the user-facing value; nil = none
	get     func() any
	set     func(any) error
	checks  []func(any) error
	zero    func() bool // the bound field holds its unset (zero) value
	defText string
}

// Flag is the option's command-line name.
func (d *Decl) Flag() string { return strings.ReplaceAll(d.Key, "_", "-") }

// Default declares the default value (applied by ApplyDefaults to an
// unset field, and shown in the help).
func (d *Decl) Default(v any) *Decl { d.def = v; d.defText = format(v); return d }

// DefaultText shows a default in the help without applying it (defaults
// that depend on other options are applied by the package's applyDefaults).
func (d *Decl) DefaultText(s string) *Decl { d.defText = s; return d }

// Alias adds a one-letter flag.
func (d *Decl) Alias(short string) *Decl { d.Short = short; return d }

// AsPath marks the value as a file path.
func (d *Decl) AsPath() *Decl { d.Path = true; return d }

// Check adds a check of the value; its error is the message after the
// value ("want 1..100").
func (d *Decl) Check(fn func(v any) error) *Decl { d.checks = append(d.checks, fn); return d }

// Range checks that a number lies in lo..hi; unit follows the range in
// the message (" px").
func (d *Decl) Range(lo, hi float64, unit string) *Decl {
	return d.Check(func(v any) error {
		x := toFloat(v)
		if math.IsNaN(x) || x < lo || x > hi {
			return fmt.Errorf("want %s..%s%s", format(lo), format(hi), unit)
		}
		return nil
	})
}

// OneOf checks that a string is one of vals ("" passes: unset).
func (d *Decl) OneOf(vals ...string) *Decl {
	return d.Check(func(v any) error {
		s := strings.ToLower(v.(string))
		for _, x := range vals {
			if s == x {
				return nil
			}
		}
		return fmt.Errorf("want %s", Or(vals))
	})
}

// Or lists words as "a, b or c".
func Or(vals []string) string {
	if len(vals) < 2 {
		return strings.Join(vals, "")
	}
	return strings.Join(vals[:len(vals)-1], ", ") + " or " + vals[len(vals)-1]
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

// format writes a value as the flag would take it.
func format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []string:
		return strings.Join(x, ",")
	case []float64:
		s := make([]string, len(x))
		for i, f := range x {
			s[i] = format(f)
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprint(v)
}

// quoted is the value as messages show it: strings quoted.
func quoted(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return format(v)
}

func bind[T any](typ Type, p *T, key, help string) *Decl {
	return &Decl{Key: key, Help: help, Type: typ,
		get:  func() any { return *p },
		set:  func(v any) error { *p = v.(T); return nil },
		zero: func() bool { return reflect.ValueOf(p).Elem().IsZero() }}
}

// BoolVar declares a boolean option bound to p.
func BoolVar(p *bool, key, help string) *Decl { return bind(Bool, p, key, help) }

// IntVar declares an integer option bound to p.
func IntVar(p *int, key, help string) *Decl { return bind(Int, p, key, help) }

// FloatVar declares a number option bound to p.
func FloatVar(p *float64, key, help string) *Decl { return bind(Float, p, key, help) }

// StringVar declares a text option bound to p.
func StringVar(p *string, key, help string) *Decl { return bind(String, p, key, help) }

// StringsVar declares a list-of-texts option bound to p.
func StringsVar(p *[]string, key, help string) *Decl { return bind(Strings, p, key, help) }

// FloatsVar declares a list-of-numbers option bound to p.
func FloatsVar(p *[]float64, key, help string) *Decl { return bind(Floats, p, key, help) }

// Func declares an option whose field holds the value in another form:
// get reads the user-facing value back (for checks and the help), set
// stores it (a parse error is reported as the option's problem), unset
// says whether the field holds its zero (unset) value.
func Func(typ Type, key, help string, get func() any, set func(any) error, unset func() bool) *Decl {
	return &Decl{Key: key, Help: help, Type: typ, get: get, set: set, zero: unset}
}

// Error is a problem with one option's value. Err's message follows the
// value: "quality 0: want 1..100".
type Error struct {
	Key   string // batch key
	Value string // the value as given ("" when the problem is not about one value)
	Err   error
}

func (e *Error) Error() string { return e.Key + " " + e.Message() }

// Message is the problem without the key: "0: want 1..100".
func (e *Error) Message() string {
	if e.Value == "" {
		return e.Err.Error()
	}
	return e.Value + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Leaves lists the errors joined in err (errors.Join, nested), each on
// its own; nil for nil.
func Leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// Errors lists the *Error values in err (as made by errors.Join).
func Errors(err error) []*Error {
	var out []*Error
	for _, e := range Leaves(err) {
		var oe *Error
		if errors.As(e, &oe) {
			out = append(out, oe)
		}
	}
	return out
}

// Also adds a check across options, run by Validate after the checks of
// single values; it returns an *Error (or nil).
func (t *Table) Also(rule func(t *Table) error) *Table { t.rules = append(t.rules, rule); return t }

// Named drops the words a parser's message starts with before the quoted
// value (`tile format "gif": want …` → `"gif": want …`): the option's key
// names it instead.
func Named(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	i := strings.Index(msg, `"`)
	if i <= 0 || strings.TrimLeft(msg[:i], "abcdefghijklmnopqrstuvwxyz -") != "" {
		return err
	}
	return errors.New(msg[i:])
}

// Bare drops the value from a parser's message (`device "x": want …` →
// `want …`), for a Check: the option error puts the value first.
func Bare(err error) error {
	if err == nil {
		return nil
	}
	msg := Named(err).Error()
	if strings.HasPrefix(msg, `"`) {
		if i := strings.Index(msg, `": `); i > 0 {
			return errors.New(msg[i+3:])
		}
	}
	return err
}
