package tiles

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/pipeline/testenv"
)

// BenchmarkIdentityRun is the pipeline overhead: Anholt z12–14 with the
// identity model (compare with TestFigures' plain read-decode-encode-write).
func BenchmarkIdentityRun(b *testing.B) {
	src := testenv.SharedFile(b, "tiles/anholt_osmbright")
	eng := openEngine(b, "builtin:identity")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Run(context.Background(), eng, Options{Source: src, Output: filepath.Join(b.TempDir(), "id"), MinZoom: 12, MaxZoom: 14, Overviews: -1, Quiet: true}); err != nil {
			b.Fatal(err)
		}
	}
}
