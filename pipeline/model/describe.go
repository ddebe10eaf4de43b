package model

import (
	"fmt"
	"io"
	"sort"
)

// Describe prints what the engine decided about its model, and why.
func Describe(w io.Writer, e *Engine, lib, version string) error {
	c := e.Conv
	m := e.Model
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("model:          %s\n", e.opt.Model)
	p("graph:          opset %d, %d nodes: %s\n", m.OpsetVersion(), len(m.Proto.GetGraph().GetNode()), m.OpSummary())
	p("input:          %s (%s)\n", c.InputName, elem(c.Float16))
	p("output:         %s\n", c.OutputName)
	p("layout:         %s  [%s]\n", c.Layout, c.Why["layout"])
	order := "RGB"
	if c.BGR {
		order = "BGR"
	}
	p("channel order:  %s  [%s]\n", order, c.Why["channel_order"])
	p("input range:    %s  [%s]\n", c.InputRange, c.Why["input_range"])
	p("output range:   %s  [%s]\n", c.OutputRange, c.Why["output_range"])
	if c.FixedW > 0 {
		p("size:           fixed %dx%d  [%s]\n", c.FixedW, c.FixedH, c.Why["size"])
	} else {
		p("size:           any  [%s]\n", c.Why["size"])
	}
	p("size multiple:  %d  [%s]\n", c.SizeMultiple, c.Why["size_multiple"])
	p("border margin:  %d px reflect padding  [%s]\n", c.Margin, c.Why["margin"])
	if s := e.Style(); s != nil {
		describeStyle(p, s)
	}
	p("device:         %s\n", e.Device())
	if version != "" {
		p("onnxruntime:    %s (%s)\n", version, lib)
	}
	md := m.Metadata()
	if len(md) > 0 {
		keys := make([]string, 0, len(md))
		for k := range md {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		p("metadata_props:\n")
		for _, k := range keys {
			p("  %s = %s\n", k, md[k])
		}
	}
	return nil
}

func elem(f16 bool) string {
	if f16 {
		return "float16, cast to float32 at the boundary"
	}
	return "float32"
}
