package tiles

import (
	"strings"
	"testing"
)

func TestParseZoom(t *testing.T) {
	for _, c := range []struct {
		in     string
		lo, hi int
		err    string
	}{
		{"12", 12, 12, ""}, {"12-16", 12, 16, ""}, {" 0 - 3 ", 0, 3, ""},
		{"16-12", 0, 0, `"16-12" min > max`}, {"12-31", 0, 0, "zooms go from 0 to 24"},
		{"a-3", 0, 0, "want Z or Z0-Z1"}, {"-3", 0, 0, "want Z or Z0-Z1"}, {"", 0, 0, "want Z or Z0-Z1"},
	} {
		z0, z1, err := ParseZoomRange(c.in)
		lo, hi := int(z0), int(z1)
		if c.err == "" && (err != nil || lo != c.lo || hi != c.hi) {
			t.Errorf("ParseZoomRange(%q) = %d, %d, %v", c.in, lo, hi, err)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ParseZoomRange(%q) error %v, want %q", c.in, err, c.err)
		}
	}
}
