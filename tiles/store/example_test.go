package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/paulmach/orb/maptile"

	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/tiles/internal/tiletest"
	"github.com/stylize/stylize/tiles/store"
)

// Tiles written to a sink and read back from the finished MBTiles file.
func Example() {
	dir, err := os.MkdirTemp("", "store-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "map.mbtiles")
	sink, err := store.OpenSink(out, imageio.PNG)
	if err != nil {
		fmt.Println(err)
		return
	}
	var batch []store.Encoded
	for _, t := range []maptile.Tile{maptile.New(3, 2, 3), maptile.New(2, 2, 3)} {
		batch = append(batch, store.Encoded{Tile: t, Data: tiletest.PNGTile(t, 16, false)})
	}
	if err := sink.Write(batch); err != nil {
		fmt.Println(err)
		return
	}
	if err := sink.Finish(store.Metadata{Name: "map", MinZoom: 3, MaxZoom: 3}); err != nil {
		fmt.Println(err)
		return
	}
	sink.Close()

	ctx := context.Background()
	src, err := store.OpenSource(ctx, out, store.SourceOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	ts, _ := src.List(ctx, 0, 30)
	for _, t := range ts {
		b, _ := src.Get(ctx, t)
		fmt.Println(store.TileString(t), store.Sniff(b))
	}
	md := src.Metadata()
	fmt.Println(md.Name, md.Version, md.Format)
	// Output:
	// 3/2/2 png
	// 3/3/2 png
	// map 1.0.0 png
}
