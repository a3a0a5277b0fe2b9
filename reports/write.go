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
