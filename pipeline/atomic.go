package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// AtomicFile is an output being written: a temporary file in the target's
// folder that becomes the target only on Commit, so a failed or interrupted
// run never leaves a half-written output behind.
type AtomicFile struct {
	*os.File
	target string
	done   bool
}

// CreateAtomic starts writing path. The folder must exist: a missing folder
// is reported as such rather than created, since it is usually a typo.
func CreateAtomic(path string) (*AtomicFile, error) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("output %s: folder %s does not exist", path, dir)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("output %s: %s is not a folder", path, dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", path, err)
	}
	return &AtomicFile{File: f, target: path}, nil
}

// TempPath is the name of the temporary file (for tools such as ffmpeg that
// want a path rather than a writer).
func (a *AtomicFile) TempPath() string { return a.File.Name() }

// Commit closes the file and renames it onto the target.
func (a *AtomicFile) Commit() error {
	if a.done {
		return nil
	}
	a.done = true
	if err := a.File.Sync(); err != nil {
		a.File.Close()
		os.Remove(a.File.Name())
		return fmt.Errorf("output %s: %w", a.target, err)
	}
	if err := a.File.Close(); err != nil {
		os.Remove(a.File.Name())
		return fmt.Errorf("output %s: %w", a.target, err)
	}
	if err := os.Chmod(a.File.Name(), 0o644); err != nil {
		os.Remove(a.File.Name())
		return fmt.Errorf("output %s: %w", a.target, err)
	}
	if err := os.Rename(a.File.Name(), a.target); err != nil {
		os.Remove(a.File.Name())
		return fmt.Errorf("output %s: %w", a.target, err)
	}
	return nil
}

// Abort discards the temporary file; it is a no-op after Commit, so
// `defer a.Abort()` is the usual pattern.
func (a *AtomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.File.Close()
	os.Remove(a.File.Name())
}

// WriteFileAtomic writes path through write, atomically.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	a, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	defer a.Abort()
	if err := write(a); err != nil {
		return err
	}
	return a.Commit()
}

// WriteJSON writes v as indented JSON to path, atomically (run reports).
func WriteJSON(path string, v any) error {
	return WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}
