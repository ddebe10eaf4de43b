package model

import (
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline/option"
)

// TestOptionsValidateAll: every bad option is reported, each with its key.
func TestOptionsValidateAll(t *testing.T) {
	o := Options{ContentMix: 2, Style: []string{"a.png"}, StyleWeights: []float64{1, -2}, StyleSize: 20,
		Conventions: Overrides{Layout: "NCWH", Margin: func() *int { m := 5000; return &m }()}}
	var got []string
	for _, e := range option.Errors(o.Validate()) {
		got = append(got, e.Error())
	}
	want := []string{
		"strength -1: want 0..1",
		"style_weights 1,-2: want weights of 0 or more",
		"style_size 20: want 64..4096 px, or 0 for the default",
		"style_weights 2: want one weight per style picture (1)",
		`layout "NCWH": want NCHW or NHWC`,
		"margin 5000: want 0..4096 px",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero options: %v", err)
	}
}
