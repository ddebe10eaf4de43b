package configs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/configs/demo"
	"github.com/stylize/stylize/pipeline/testenv"
)

// acceptAll stands in for the kind executors: this test checks the
// shipped files against the schema and the files they name; the command's
// tests run them through the real executors' checks.
type acceptAll struct{}

func (acceptAll) Check(context.Context, *Job) []error { return nil }
func (acceptAll) Run(context.Context, Task) error     { return nil }

// TestExamples validates every configs/*.yaml. Files that read ../shared
// skip when it is absent; demo.yaml is validated against its inputs made
// by demo.Inputs in a temporary folder laid out as the repository is.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("configs/*.yaml: %v %v", files, err)
	}
	execs := map[Kind]Executor{KindImage: acceptAll{}, KindVideo: acceptAll{}, KindTiles: acceptAll{}}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			opt := LoadOptions{Executors: execs, Schemas: testSchemas()}
			if strings.Contains(string(src), "../../shared/") {
				testenv.Shared(t)
			}
			if f == "demo.yaml" {
				testenv.FFmpeg(t)
				root := t.TempDir()
				pic := filepath.Join(testenv.Root(t), "cmd", "stylize", "testdata", "sample.jpg")
				if err := demo.Inputs(context.Background(), filepath.Join(root, "out", "demo-inputs"), demo.Options{Picture: pic}); err != nil {
					t.Fatal(err)
				}
				opt.BaseDir = filepath.Join(root, "configs")
			}
			b, err := Parse(context.Background(), f, src, opt)
			if err != nil {
				t.Fatal(err)
			}
			var plan bytes.Buffer
			b.Plan(&plan)
			for _, j := range b.Jobs {
				if len(j.Items) == 0 {
					t.Errorf("job %s: no items", j.Name)
				}
			}
			t.Logf("%s", plan.String())
		})
	}
}
