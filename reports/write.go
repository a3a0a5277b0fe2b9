package reports

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File names Write uses inside a report directory. Plot files are named by
// Plots (e.g. "bitrate.png").
const (
	JSONFile  = "report.json"
	HTMLFile  = "report.html"
	JUnitFile = "junit.xml"
)

// Write renders r into dir, creating it if needed: report.json, one PNG
// per plot, report.html and junit.xml, each replaced atomically. It
// returns the paths it wrote, in that order; on error, the paths written
// before it.
func Write(dir string, r *Report) (files []string, err error) {
	if r == nil {
		return nil, errors.New("write report: nil report")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create report dir %s: %w", dir, err)
	}

	path := filepath.Join(dir, JSONFile)
	if err := WriteJSON(path, r); err != nil {
		return files, err // already names the path
	}
	files = append(files, path)

	plots, err := Plots(r)
	if err != nil {
		return files, fmt.Errorf("render plots for %s: %w", dir, err)
	}
	for _, p := range plots {
		path := filepath.Join(dir, p.File)
		if err := WriteFileAtomic(path, p.PNG); err != nil {
			return files, fmt.Errorf("write plot %s: %w", path, err)
		}
		files = append(files, path)
	}

	var html bytes.Buffer
	if err := WriteHTML(&html, r, plots); err != nil {
		return files, err
	}
	path = filepath.Join(dir, HTMLFile)
	if err := WriteFileAtomic(path, html.Bytes()); err != nil {
		return files, fmt.Errorf("write html %s: %w", path, err)
	}
	files = append(files, path)

	var junit bytes.Buffer
	if err := WriteJUnit(&junit, r); err != nil {
		return files, err
	}
	path = filepath.Join(dir, JUnitFile)
	if err := WriteFileAtomic(path, junit.Bytes()); err != nil {
		return files, fmt.Errorf("write junit %s: %w", path, err)
	}
	return append(files, path), nil
}

// WriteFileAtomic writes data to a temporary file in path's directory and
// renames it over path, so path never holds a partial file.
func WriteFileAtomic(path string, data []byte) error {
	f, err := CreateFile(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Abort()
		return err
	}
	return f.Close()
}

// File is an output written as a run goes on (a packet capture, an RTP
// log) under a hidden temporary name in its final folder, and renamed to
// its final name by Close: a run that crashes leaves no half file under
// a name that says it is whole, only a ".NAME.partial*" file beside.
type File struct {
	f    *os.File
	path string
}

// CreateFile starts path's temporary file. Close it to publish it.
func CreateFile(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".partial*")
	if err != nil {
		return nil, err
	}
	return &File{f: f, path: path}, nil
}

// Write appends to the temporary file.
func (f *File) Write(p []byte) (int, error) { return f.f.Write(p) }

// Name is the final name.
func (f *File) Name() string { return f.path }

// Close flushes the file to disk and renames it to its final name; on
// error the temporary file is removed. Closing twice is a no-op.
func (f *File) Close() (err error) {
	if f.f == nil {
		return nil
	}
	tmp := f.f.Name()
	defer func() {
		f.f = nil
		if err != nil {
			_ = os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", f.path, err)
		}
	}()
	if err := f.f.Chmod(0o644); err != nil {
		_ = f.f.Close()
		return err
	}
	if err := f.f.Sync(); err != nil {
		_ = f.f.Close()
		return err
	}
	if err := f.f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, f.path)
}

// Abort closes and removes the temporary file: nothing is published.
func (f *File) Abort() error {
	if f.f == nil {
		return nil
	}
	tmp := f.f.Name()
	err := errors.Join(f.f.Close(), os.Remove(tmp))
	f.f = nil
	return err
}
