package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/pipeline/ort"
	"github.com/stylize/stylize/pipeline/testenv"
)

// readmeCommands returns the command lines of README.md's sh blocks, in
// order, but for `make` (CI runs make test; make demo is the demo itself).
func readmeCommands(t *testing.T, readme string) []string {
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "make "):
			cmds = append(cmds, line)
		}
	}
	return cmds
}

// TestReadmeCommands runs every command of the README, in
// order, in a scratch copy of the repository's layout (with ../shared beside
// it when there is one), so the README cannot rot. `make demo` and
// `make test` are run by CI itself.
func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the README's commands include the whole demo and the long figure runs")
	}
	testenv.ORT(t)
	testenv.FFmpeg(t)
	root := testenv.Root(t)
	cmds := readmeCommands(t, filepath.Join(root, "README.md"))
	if len(cmds) < 10 {
		t.Fatalf("found only %d bin/stylize commands in README.md", len(cmds))
	}
	top := t.TempDir()
	repo := filepath.Join(top, "repo")
	for _, d := range []string{"bin", "cmd/stylize/testdata", "configs"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(root, "cmd/stylize/testdata/sample.jpg"), filepath.Join(repo, "cmd/stylize/testdata/sample.jpg"))
	ymls, _ := filepath.Glob(filepath.Join(root, "configs", "*.yaml"))
	for _, y := range ymls {
		copyFile(t, y, filepath.Join(repo, "configs", filepath.Base(y)))
	}
	if err := os.Symlink(bin, filepath.Join(repo, "bin", "stylize")); err != nil {
		t.Fatal(err)
	}
	haveShared := false
	if sh := filepath.Join(root, "..", "shared"); dirExists(sh) {
		haveShared = os.Symlink(sh, filepath.Join(top, "shared")) == nil
	}
	lib, err := ort.FindLibrary()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if strings.Contains(c, "../shared") && !haveShared {
			t.Logf("skipped (no ../shared): %s", c)
			continue
		}
		cmd := exec.Command("bash", "-c", c)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), ort.LibEnv+"="+lib)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", c, err, out)
			continue
		}
		t.Logf("ok: %s", c)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
