package demo

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/testenv"
)

func TestPyramid(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for i := range src.Pix {
		src.Pix[i] = 200
		if i%4 == 3 {
			src.Pix[i] = 255 // opaque
		}
	}
	dir := filepath.Join(t.TempDir(), "tiles")
	if err := Pyramid(src, dir); err != nil {
		t.Fatal(err)
	}
	want := map[int]int{TopZoom: TopCols * TopRows, MinZoom: 4} // z2: x 2..3, y 1..2
	for z, n := range want {
		got, _ := filepath.Glob(filepath.Join(dir, itoa(z), "*", "*.png"))
		if len(got) != n {
			t.Errorf("zoom %d: %d tiles, want %d", z, len(got), n)
		}
	}
	// z2 tile (2,2) has children only in its top half (rows 4 of z3): the
	// bottom half stays transparent, the top is opaque.
	img, err := imageio.Read(filepath.Join(dir, "2", "2", "2.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, a := img.At(10, 10).RGBA(); a != 0xffff {
		t.Errorf("top half alpha %#x, want opaque", a)
	}
	if _, _, _, a := img.At(10, 200).RGBA(); a != 0 {
		t.Errorf("bottom half alpha %#x, want transparent", a)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".tiles.tmp-*")); len(leftovers) > 0 {
		t.Errorf("temporary folders left: %v", leftovers)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestInputs(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	pic := filepath.Join(testenv.Root(t), "cmd", "stylize", "testdata", "sample.jpg")
	if err := Inputs(context.Background(), dir, Options{Picture: pic}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, Clip))
	if err != nil || st.Size() == 0 {
		t.Fatalf("clip: %v", err)
	}
	// A second run keeps what is there (the batch skips on unchanged inputs).
	if err := Inputs(context.Background(), dir, Options{Picture: pic}); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(filepath.Join(dir, Clip))
	if !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("clip was rewritten on the second run")
	}
	if err := Inputs(context.Background(), t.TempDir(), Options{Picture: pic, FFmpeg: "no-such-ffmpeg"}); err == nil {
		t.Errorf("missing ffmpeg: no error")
	}
}
