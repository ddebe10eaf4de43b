package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline/imageio"
	"github.com/stylize/stylize/pipeline/testenv"
)

// writePan writes n crops of src moving by step px per frame (the content
// moves by −step), with uniform noise of ±noise grey levels.
func writePan(t *testing.T, dir string, src image.Image, n, step, noise int, seed uint64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	const w, h = 128, 96
	for i := 0; i < n; i++ {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, b, _ := src.At(40+x+i*step, 60+y).RGBA()
				for c, v := range []uint32{r >> 8, g >> 8, b >> 8} {
					d := 0
					if noise > 0 {
						d = rng.IntN(2*noise+1) - noise
					}
					img.Pix[4*(y*w+x)+c] = uint8(min(255, max(0, int(v)+d)))
				}
				img.Pix[4*(y*w+x)+3] = 255
			}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%05d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

func TestEvalTemporal(t *testing.T) {
	src, err := imageio.Read(sampleJPG(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, calm, noisy := filepath.Join(dir, "in"), filepath.Join(dir, "calm"), filepath.Join(dir, "noisy")
	writePan(t, in, src, 5, 2, 0, 1)
	writePan(t, calm, src, 5, 2, 0, 1)
	writePan(t, noisy, src, 5, 2, 20, 2)
	for _, flow := range []string{"true-shift:-2,0", "estimated"} {
		t.Run(flow, func(t *testing.T) {
			get := func(out string) evalTemporalResult {
				so, se, code := stylizeCmd(t, "eval", "temporal", "--json", "--flow", flow, in, out)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, se)
				}
				var r evalTemporalResult
				if err := json.Unmarshal([]byte(so), &r); err != nil {
					t.Fatalf("%v: %q", err, so)
				}
				return r
			}
			c, n := get(calm), get(noisy)
			t.Logf("calm %+v, noisy %+v", c, n)
			if c.Frames != 5 || c.Coverage < 0.8 {
				t.Errorf("frames %d, non-occluded %.2f: want 5 and most of the picture", c.Frames, c.Coverage)
			}
			// A copy of the input flickers as little as the input; ±20
			// uniform noise adds 2·(20·21/3)/255² ≈ 0.0043.
			if c.EWarp > 0.001 {
				t.Errorf("E_warp of a copy of the input %.5f, want ≈ 0", c.EWarp)
			}
			if n.EWarp < 0.003 || n.EWarp > 0.008 {
				t.Errorf("E_warp with ±20 noise %.5f, want ≈ 0.0043", n.EWarp)
			}
		})
	}
	if _, se, code := stylizeCmd(t, "eval", "temporal", in); code != 2 {
		t.Errorf("one argument: exit %d (%s), want 2", code, se)
	}
	if _, se, code := stylizeCmd(t, "eval", "temporal", "--flow", "sideways", in, calm); code != 2 {
		t.Errorf("bad --flow: exit %d (%s), want 2", code, se)
	}
	if _, se, code := stylizeCmd(t, "eval", "temporal", in, filepath.Join(dir, "missing")); code != 1 {
		t.Errorf("missing OUT: exit %d (%s), want 1", code, se)
	}
}

// TestEvalTemporalVideos measures video files directly: the per-frame
// stylization of a moving clip flickers more than the temporal one, and
// clips of different lengths are refused.
func TestEvalTemporalVideos(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: flow over three clips is long; TestEvalTemporal is the fast case")
	}
	testenv.ORT(t)
	dir := t.TempDir()
	in := clip(t, dir, "1")
	measure := func(out string) float64 {
		var so bytes.Buffer
		if err := runEvalTemporal(context.Background(), []string{"--json", in, out}, &so, io.Discard); err != nil {
			t.Fatal(err)
		}
		var r evalTemporalResult
		if err := json.Unmarshal(so.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Frames != 24 {
			t.Errorf("%s: %d frames, want 24", out, r.Frames)
		}
		return r.EWarp
	}
	off, on := filepath.Join(dir, "off.mp4"), filepath.Join(dir, "on.mp4")
	for _, a := range [][]string{{"--temporal", "off", "-o", off}, {"-o", on}} {
		if err := runVideo(context.Background(), append(a, "-m", "builtin:ink", "--quiet", in), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	eOff, eOn := measure(off), measure(on)
	t.Logf("E_warp per-frame %.5f, temporal %.5f", eOff, eOn)
	if eOn >= eOff {
		t.Errorf("temporal output flickers as much as per-frame: %.5f vs %.5f", eOn, eOff)
	}
	short := filepath.Join(dir, "short.mp4")
	if err := runVideo(context.Background(), []string{"--duration", "0.5", "--quiet", "-o", short, in}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	err := runEvalTemporal(context.Background(), []string{in, short}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "more frames") {
		t.Errorf("different lengths: %v", err)
	}
}
