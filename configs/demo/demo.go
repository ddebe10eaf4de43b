// Package demo makes the inputs of configs/demo.yaml (`stylize
// demo-inputs DIR`): a short clip panning over the picture, a small
// XYZ tile pyramid cut from a picture, and a copy of that picture, so the
// demo runs on a fresh machine with nothing but the repository.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/image/draw"

	"github.com/stylize/stylize/pipeline"
	"github.com/stylize/stylize/pipeline/imageio"
)

// The files Inputs makes inside its folder.
const (
	Clip    = "clip.mp4"    // 4 s, 320×180, 25 fps pan over the picture, H.264 + AAC sine tone
	Picture = "picture.jpg" // the picture, copied
	Tiles   = "tiles"       // XYZ folder tiles/{z}/{x}/{y}.png
)

// The tile pyramid: the picture covers TopCols×TopRows tiles of 256 px at
// TopZoom, from tile (TopX, TopY); zooms down to MinZoom are made by 2×2
// downsampling (as gdal2tiles does). TopX and TopY are multiples of
// 2^(TopZoom−MinZoom) so the block stays aligned at every zoom.
const (
	MinZoom = 2
	TopZoom = 3
	TopX    = 4
	TopY    = 2
	TopCols = 4
	TopRows = 3
	tile    = 256
)

// Options configure Inputs.
type Options struct {
	Picture string // the picture to copy and cut into tiles (required)
	FFmpeg  string // the ffmpeg program; default "ffmpeg" from PATH
}

// Inputs makes the demo inputs in dir. Files already there are kept, so a
// second run changes nothing and the batch run skips its finished work.
func Inputs(ctx context.Context, dir string, o Options) error {
	if o.Picture == "" {
		return errors.New("demo inputs: no picture given")
	}
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo inputs %s: %w", dir, err)
	}
	img, err := imageio.Read(o.Picture)
	if err != nil {
		return err
	}
	if err := copyPicture(o.Picture, filepath.Join(dir, Picture)); err != nil {
		return err
	}
	if err := Pyramid(img, filepath.Join(dir, Tiles)); err != nil {
		return err
	}
	return MakeClip(ctx, o.FFmpeg, o.Picture, filepath.Join(dir, Clip))
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func copyPicture(src, dst string) error {
	if exists(dst) {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("picture %s: %w", src, err)
	}
	return pipeline.WriteFileAtomic(dst, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// MakeClip writes a 4 s 320×180 clip that pans across the picture (a
// camera move over real content, which is where per-frame style transfer
// flickers) with a 440 Hz tone, H.264 yuv420p + AAC (atomically; kept when
// it exists). The picture must be at least 320×180.
func MakeClip(ctx context.Context, ffmpeg, picture, out string) error {
	if exists(out) {
		return nil
	}
	a, err := pipeline.CreateAtomic(out)
	if err != nil {
		return err
	}
	defer a.Abort()
	a.Close() // ffmpeg writes the temporary file by name
	cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-loop", "1", "-framerate", "25", "-t", "4", "-i", picture,
		"-f", "lavfi", "-i", "sine=frequency=440:duration=4",
		// A 320×180 window moving right and a little down over the picture,
		// ending at its edge: about 1.9 px and 0.6 px per frame.
		"-vf", "crop=320:180:x='(iw-320)*n/99':y='(ih-180)*(0.2+0.6*n/99)',format=yuv420p",
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
		"-f", "mp4", a.TempPath())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("demo clip %s: ffmpeg not found: install it (make deps)", out)
		}
		return fmt.Errorf("demo clip %s: ffmpeg: %v: %s", out, err, strings.TrimSpace(stderr.String()))
	}
	f, err := os.OpenFile(a.TempPath(), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("demo clip %s: %w", out, err)
	}
	a.File = f // reopened so Commit can sync and close it
	return a.Commit()
}

// Pyramid cuts img into the demo's XYZ tiles under dir (kept when dir
// exists). The folder is built beside dir and renamed into place, so an
// interrupted run leaves no partial pyramid.
func Pyramid(img image.Image, dir string) error {
	if exists(dir) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("demo tiles %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return fmt.Errorf("demo tiles %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("demo tiles %s: %w", dir, err)
	}
	if err := cutPyramid(img, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("demo tiles %s: %w", dir, err)
	}
	return nil
}

func cutPyramid(img image.Image, dir string) error {
	// Cover the block (scale to fill, centre crop), as a map would be.
	w, h := TopCols*tile, TopRows*tile
	b := img.Bounds()
	scale := max(float64(w)/float64(b.Dx()), float64(h)/float64(b.Dy()))
	sw, sh := int(float64(b.Dx())*scale+0.5), int(float64(b.Dy())*scale+0.5)
	scaled := image.NewRGBA(image.Rect(0, 0, sw, sh))
	draw.CatmullRom.Scale(scaled, scaled.Bounds(), img, b, draw.Src, nil)
	ox, oy := (sw-w)/2, (sh-h)/2
	level := map[[2]int]*image.RGBA{}
	for ty := 0; ty < TopRows; ty++ {
		for tx := 0; tx < TopCols; tx++ {
			t := image.NewRGBA(image.Rect(0, 0, tile, tile))
			draw.Draw(t, t.Bounds(), scaled, image.Pt(ox+tx*tile, oy+ty*tile), draw.Src)
			level[[2]int{TopX + tx, TopY + ty}] = t
		}
	}
	for z := TopZoom; ; z-- {
		for xy, t := range level {
			if err := writeTile(dir, z, xy[0], xy[1], t); err != nil {
				return err
			}
		}
		if z == MinZoom {
			return nil
		}
		level = downsample(level)
	}
}

// downsample makes the next zoom out: each tile from its 2×2 children,
// missing children left transparent.
func downsample(children map[[2]int]*image.RGBA) map[[2]int]*image.RGBA {
	parents := map[[2]int]*image.RGBA{}
	for xy, c := range children {
		pxy := [2]int{xy[0] / 2, xy[1] / 2}
		p := parents[pxy]
		if p == nil {
			p = image.NewRGBA(image.Rect(0, 0, tile, tile))
			parents[pxy] = p
		}
		dx, dy := (xy[0]%2)*tile/2, (xy[1]%2)*tile/2
		draw.BiLinear.Scale(p, image.Rect(dx, dy, dx+tile/2, dy+tile/2), c, c.Bounds(), draw.Src, nil)
	}
	return parents
}

func writeTile(dir string, z, x, y int, t image.Image) error {
	d := filepath.Join(dir, fmt.Sprint(z), fmt.Sprint(x))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("demo tiles %s: %w", dir, err)
	}
	return pipeline.WriteFileAtomic(filepath.Join(d, fmt.Sprintf("%d.png", y)), func(w io.Writer) error {
		return png.Encode(w, t)
	})
}
