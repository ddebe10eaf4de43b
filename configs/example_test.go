package configs_test

import (
	"context"
	"fmt"

	"github.com/stylize/stylize/configs"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/option"
	"github.com/stylize/stylize/tiles"
)

func ExampleParse() {
	src := []byte(`defaults:
  strenght: 0.5
jobs:
  - name: city
    kind: tiles
    source: https://tiles.example.org/{z}/{x}/{y}.png
    output: out/city.pmtiles
    zoom: "16-12"
  - name: clip
    kind: imag
`)
	// The kinds' options, as the command declares them (cmd/stylize kinds.go).
	schemas := map[configs.Kind]configs.Schema{
		configs.KindImage: func() *option.Table { var m model.Options; return m.Table() },
		configs.KindTiles: func() *option.Table {
			var m model.Options
			t := tiles.NewOptions()
			return option.Join(m.Table(), t.Table())
		},
	}
	_, err := configs.Parse(context.Background(), "batch.yaml", src, configs.LoadOptions{Schemas: schemas})
	fmt.Println(err)
	// Output:
	// batch.yaml:2:3: defaults.strenght: unknown key "strenght" (did you mean strength?)
	// batch.yaml:8:11: jobs[0].zoom: "16-12" min > max
	// batch.yaml:10:11: jobs[1].kind: unknown kind "imag": want image, video or tiles (did you mean image?)
}
