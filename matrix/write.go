package matrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rtclab/rtclab/reports"
)

// Output file names in a matrix run's directory.
const (
	JSONFile    = "matrix.json"
	HeatmapFile = "heatmap.png"
	HTMLFile    = "report.html"
)

// Write writes matrix.json, heatmap.png and report.html into dir and
// returns their paths.
func Write(dir string, r *Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("matrix json: %w", err)
	}
	png, err := Heatmap(r)
	if err != nil {
		return nil, err
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, r, png); err != nil {
		return nil, fmt.Errorf("matrix html: %w", err)
	}
	var files []string
	for _, f := range []struct {
		name string
		data []byte
	}{{JSONFile, append(js, '\n')}, {HeatmapFile, png}, {HTMLFile, page.Bytes()}} {
		path := filepath.Join(dir, f.name)
		if err := reports.WriteFileAtomic(path, f.data); err != nil {
			return files, fmt.Errorf("write %s: %w", f.name, err)
		}
		files = append(files, path)
	}
	return files, nil
}

// ReadJSON reads a matrix.json.
func ReadJSON(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return &r, nil
}
