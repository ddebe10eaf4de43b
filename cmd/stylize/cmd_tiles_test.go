package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stylize/stylize/pipeline/testenv"
)

func TestTilesUsage(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	os.MkdirAll(filepath.Join(src, "5", "1"), 0o755)
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no arguments", []string{"tiles"}, 2, "--source, -o and --zoom are required"},
		{"zoom order", []string{"tiles", "--source", src, "-o", "x", "--zoom", "13-10"}, 2, "min > max"},
		{"bbox order", []string{"tiles", "--source", src, "-o", "x", "--zoom", "5", "--bbox", "10,60,20,50"}, 2, "south 60 is above north 50"},
		{"gif out", []string{"tiles", "--source", src, "-o", "x", "--zoom", "5", "--format", "gif"}, 2, "want png, jpg or webp"},
		{"overviews", []string{"tiles", "--source", src, "-o", "x", "--zoom", "5", "--overviews", "6"}, 2, "want a zoom below"},
		{"osm", []string{"tiles", "--source", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "-o", filepath.Join(t.TempDir(), "o"), "--zoom", "5", "--bbox", "0,0,1,1"}, 1, "tile usage policy"},
		{"eval seams usage", []string{"eval", "seams"}, 2, "want one tile set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := stylizeCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.msg)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 && tc.code != 2 {
				t.Errorf("error is %d lines", n+1)
			}
		})
	}
}

// TestTilesKillResume kills a run with SIGKILL halfway and re-runs it: the
// output must be byte-identical to an uninterrupted run's.
func TestTilesKillResume(t *testing.T) {
	testenv.ORT(t)
	src := testenv.SharedFile(t, "tiles/anholt_osmbright")
	for _, name := range []string{"folder", "out.pmtiles", "out.mbtiles"} {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && name != "folder" {
				t.Skip("-short: one output kind (folder) is enough")
			}
			dir := t.TempDir()
			args := func(out string) []string {
				return []string{"tiles", "-m", "builtin:ink", "--source", src, "-o", out, "--zoom", "13-14", "--overviews", "12", "--quiet", "--metatile", "2"}
			}
			// The same file name in two folders: the name is in the
			// output's metadata.
			whole := filepath.Join(dir, "whole", name)
			killed := filepath.Join(dir, "killed", name)
			for _, d := range []string{filepath.Dir(whole), filepath.Dir(killed)} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if _, stderr, code := stylizeCmd(t, args(whole)...); code != 0 {
				t.Fatalf("uninterrupted run: exit %d: %s", code, stderr)
			}
			cmd := exec.Command(bin, args(killed)...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait for the staging store to hold some tiles, then kill.
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				if st, err := os.Stat(killed + ".partial"); err == nil && st.Size() > 200_000 {
					break
				}
				if n := len(files(t, killed)); name == "folder" && n > 40 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			if st, err := os.Stat(killed); err == nil && !st.IsDir() {
				t.Skip("the run finished before it could be killed")
			}
			if _, stderr, code := stylizeCmd(t, args(killed)...); code != 0 {
				t.Fatalf("resumed run: exit %d: %s", code, stderr)
			}
			a, b := files(t, whole), files(t, killed)
			if len(a) == 0 || len(a) != len(b) {
				t.Fatalf("resumed output has %d files, uninterrupted %d", len(b), len(a))
			}
			for k, v := range a {
				if !bytes.Equal(v, b[k]) {
					t.Fatalf("resumed output differs: %s", k)
				}
			}
			if _, err := os.Stat(killed + ".partial"); err == nil {
				t.Error("staging file left behind")
			}
			out, stderr, code := stylizeCmd(t, "eval", "seams", killed, "--zoom", "12-14")
			if code != 0 || strings.Count(out, "seam ratio") != 3 {
				t.Fatalf("eval seams: exit %d, %q %q", code, out, stderr)
			}
		})
	}
}

// files maps the files under p (or p itself) to their contents.
func files(t *testing.T, p string) map[string][]byte {
	out := map[string][]byte{}
	filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil {
			out[strings.TrimPrefix(path, p)] = b
		}
		return nil
	})
	return out
}

// TestTilesPaint paints a real z10 block (2×2 tiles, one metatile) with
// --method paint: every tile is written and the report names the method;
// bad paint flags are usage errors.
func TestTilesPaint(t *testing.T) {
	testenv.ORT(t)
	net := paintNet(t)
	src := testenv.SharedFile(t, "tiles/berlin.mbtiles")
	style := testenv.SharedFile(t, "media/images/la_muse.jpg")
	dir := t.TempDir()
	out, rep := filepath.Join(dir, "out"), filepath.Join(dir, "rep.json")
	_, se, code := stylizeCmd(t, "tiles", "--method", "paint", "--style", style, "--net", net, "--iterations", "3",
		"--threads", "2", "--source", src, "--zoom", "10", "--quiet", "--report", rep, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	tiles, _ := filepath.Glob(filepath.Join(out, "10", "*", "*.png"))
	b, _ := os.ReadFile(rep)
	if len(tiles) != 4 || !bytes.Contains(b, []byte(`"model": "paint la_muse"`)) {
		t.Errorf("%d tiles written (want 4); report %s", len(tiles), b)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--method", "paint"}, "--style a style picture is required with method paint"},
		{[]string{"--method", "paint", "--style", style, "--workers", "2"}, "--workers 2: the paint method paints one metatile at a time"},
		{[]string{"--method", "paint", "--style", style, "--iterations", "0"}, "--iterations 0: want 1.."},
	} {
		args := append([]string{"tiles", "--net", net, "--source", src, "--zoom", "10", "-o", filepath.Join(dir, "bad")}, c.args...)
		if _, se, code := stylizeCmd(t, args...); code != 2 || !strings.Contains(se, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, se, c.msg)
		}
	}
}
