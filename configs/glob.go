package configs

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// glob is filepath.Glob with one addition: a path segment "**" matches
// any number of folders, none included ("clips/**/*.mp4" finds clips/a.mp4
// and clips/2024/b.mp4). filepath.Glob alone reads "**" as "*", one level.
func glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	segs := strings.Split(filepath.ToSlash(pattern), "/")
	i := slices.Index(segs, "**")
	if i < 0 {
		return filepath.Glob(pattern)
	}
	root := filepath.FromSlash(strings.Join(segs[:i], "/"))
	if root == "" {
		root = "."
		if strings.HasPrefix(pattern, string(filepath.Separator)) {
			root = string(filepath.Separator)
		}
	}
	roots, err := filepath.Glob(root)
	if err != nil {
		return nil, err
	}
	rest := segs[i:]
	var out []string
	for _, r := range roots {
		_ = filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil // unreadable folders are skipped, as filepath.Glob does
			}
			rel, err := filepath.Rel(r, p)
			if err == nil && matchSegments(rest, strings.Split(filepath.ToSlash(rel), "/")) {
				out = append(out, p)
			}
			return nil
		})
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// matchSegments matches path segments against pattern segments, "**"
// standing for zero or more of them.
func matchSegments(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for k := 0; k <= len(name); k++ {
			if matchSegments(pat[1:], name[k:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, _ := filepath.Match(pat[0], name[0])
	return ok && matchSegments(pat[1:], name[1:])
}
