package configs

import (
	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/model"
	"github.com/stylize/stylize/pipeline/option"
	"github.com/stylize/stylize/temporal"
	"github.com/stylize/stylize/tiles"
	"github.com/stylize/stylize/video"
)

// testSchemas are the kinds' option tables as the command composes them
// (cmd/stylize kinds.go), from the domain packages' declarations.
func testSchemas() map[Kind]Schema {
	return map[Kind]Schema{
		KindImage: func() *option.Table {
			var m model.Options
			var p imageio.Options
			return option.Join(m.Table(), p.Table())
		},
		KindVideo: func() *option.Table {
			var m model.Options
			var v video.Options
			var t temporal.Options
			return option.Join(m.Table(), v.Table(), t.Table())
		},
		KindTiles: func() *option.Table {
			var m model.Options
			o := tiles.NewOptions()
			return option.Join(m.Table(), o.Table())
		},
	}
}
