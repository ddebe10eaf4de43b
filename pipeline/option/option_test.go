package option

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

type opts struct {
	Quality int
	Name    string
	On      bool
	Styles  []string
	Weights []float64
	Margin  int // −1 = none, 0 = default
}

func (o *opts) table() *Table {
	return New(
		IntVar(&o.Quality, "quality", "quality").Default(92).Range(1, 100, ""),
		StringVar(&o.Name, "name", "name").Alias("n").OneOf("a", "b"),
		BoolVar(&o.On, "on_off", "switch"),
		StringsVar(&o.Styles, "style", "styles"),
		FloatsVar(&o.Weights, "style_weights", "weights"),
		Func(Int, "margin", "margin", func() any { return max(o.Margin, 0) },
			func(v any) error {
				if o.Margin = v.(int); o.Margin == 0 {
					o.Margin = -1
				}
				return nil
			}, func() bool { return o.Margin == 0 }).Range(0, 10, " px"),
	).Also(func(t *Table) error {
		if t.IsSet("style_weights") && len(o.Weights) != len(o.Styles) {
			return &Error{Key: "style_weights", Err: errors.New("want one per style")}
		}
		return nil
	})
}

func TestFlags(t *testing.T) {
	var o opts
	tab := o.table()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tab.AddFlags(fs)
	err := fs.Parse([]string{"-n", "a", "--on-off", "--style", "s1", "--style", "s2", "--style-weights", "1,2", "--margin", "0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.Validate(); err != nil {
		t.Fatal(err)
	}
	tab.ApplyDefaults()
	if o.Quality != 92 || o.Name != "a" || !o.On || len(o.Styles) != 2 || o.Weights[1] != 2 || o.Margin != -1 {
		t.Errorf("options %+v", o)
	}
	if tab.IsSet("quality") || !tab.IsSet("margin") {
		t.Error("set tracking wrong")
	}
	if err := fs.Parse([]string{"--quality", "x"}); err == nil || !strings.Contains(err.Error(), "want an integer") {
		t.Errorf("bad int: %v", err)
	}
}

// TestValidateAll: every bad value is reported, each an *Error with its key.
func TestValidateAll(t *testing.T) {
	var o opts
	tab := o.table()
	for k, v := range map[string]any{"quality": 0, "name": "c", "margin": 11, "style_weights": []float64{1}} {
		if err := tab.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	errs := Errors(tab.Validate())
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{`quality 0: want 1..100`, `name "c": want a or b`, `margin 11: want 0..10 px`, `style_weights want one per style`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := tab.Set("quality", "high"); err == nil {
		t.Error("a string for an int option: no error")
	}
}

// TestMarkNonZero: options filled in by a program are checked where set,
// and zero means unset.
func TestMarkNonZero(t *testing.T) {
	o := opts{Quality: 101}
	tab := o.table()
	tab.MarkNonZero()
	errs := Errors(tab.Validate())
	if len(errs) != 1 || errs[0].Key != "quality" {
		t.Errorf("errors %v", errs)
	}
}

func TestJoinReplaces(t *testing.T) {
	var a, b int
	tab := Join(New(IntVar(&a, "margin", "model margin")), New(IntVar(&b, "margin", "tile margin")))
	if len(tab.Decls()) != 1 {
		t.Fatalf("%d decls", len(tab.Decls()))
	}
	_ = tab.Set("margin", 5)
	if a != 0 || b != 5 {
		t.Errorf("a %d b %d: want the later declaration", a, b)
	}
}

func TestNamedBare(t *testing.T) {
	err := errors.New(`tile format "gif": want png`)
	if got := Named(err).Error(); got != `"gif": want png` {
		t.Errorf("Named: %s", got)
	}
	if got := Bare(err).Error(); got != `want png` {
		t.Errorf("Bare: %s", got)
	}
	if got := Named(errors.New(`"16-12" min > max`)).Error(); got != `"16-12" min > max` {
		t.Errorf("Named kept: %s", got)
	}
}
