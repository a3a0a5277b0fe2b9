package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rtclab/rtclab/reports"
)

// manifestFile, inside an output folder, claims the folder for one run and
// lists what that run wrote there, so that --overwrite clears exactly that
// and nothing the user put beside it.
const manifestFile = ".rtclab-run.json"

// defaultOutRoot holds the timestamped folders of runs without --out.
const defaultOutRoot = "rtclab-out"

// maxSuffix bounds the "-2", "-3", ... suffixes tried for a unique name.
const maxSuffix = 1000

// manifest is the content of manifestFile.
type manifest struct {
	Tool string `json:"tool"`
	PID  int    `json:"pid"`
	// State is "running" while the run writes, then "done".
	State string `json:"state"`
	// Entries are the names rtclab created directly in the folder (files
	// and report sub-folders).
	Entries []string `json:"entries"`
}

// outDir is an output folder claimed by this run and no other.
type outDir struct {
	path string
	m    manifest
}

// claimDefaultOut creates a folder of its own under root named prefix and
// now (to the second), with a "-2", "-3", ... suffix when another run took the
// name first: os.Mkdir fails for all but one creator of a name, so two runs
// started in the same second never share a folder.
func claimDefaultOut(root, prefix string, now time.Time, tool string) (*outDir, error) {
	// As for --out: a folder that cannot be made stops it before it runs.
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, &UsageError{Err: fmt.Errorf("cannot create the output folder (name one with --out): %w", err)}
	}
	base := filepath.Join(root, prefix+now.Format("20060102-150405"))
	dir, err := mkdirUnique(base)
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("%w (name a folder with --out)", err)}
	}
	return newOutDir(dir, tool)
}

// mkdirUnique creates base, or base-2, base-3, ... if it exists, and
// returns the path it created.
func mkdirUnique(base string) (string, error) {
	for i := 1; i <= maxSuffix; i++ {
		p := base
		if i > 1 {
			p = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(p, 0o755)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("output directory: %w", err)
		}
	}
	return "", fmt.Errorf("output directory: %s and %d suffixed names all exist", base, maxSuffix-1)
}

// claimOut claims the folder the user named with --out. A missing folder
// is created; an empty one is claimed by creating its manifest exclusively;
// a non-empty one is refused (a usage error), unless overwrite is set and
// an earlier rtclab run that has finished (or died) left its manifest
// there: then exactly what that run wrote is removed first.
func claimOut(out string, overwrite bool, tool string) (*outDir, error) {
	// A folder that cannot be made is unusable input, found before
	// anything runs (exit 2), not a failed run.
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, &UsageError{Err: fmt.Errorf("--out %s: cannot create the folder: %w", out, err)}
	}
	err := os.Mkdir(out, 0o755)
	if err == nil {
		return newOutDir(out, tool)
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, &UsageError{Err: fmt.Errorf("--out %s: cannot create the folder: %w", out, err)}
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, usagef("--out %s: %v", out, err)
	}
	if len(entries) == 0 {
		return newOutDir(out, tool)
	}
	if !overwrite {
		return nil, usagef("--out %s: the folder is not empty (%d entries, e.g. %q); name a new folder, or add --overwrite to replace what an earlier rtclab run wrote there",
			out, len(entries), entries[0].Name())
	}
	mpath := filepath.Join(out, manifestFile)
	old, err := readManifest(mpath)
	if err != nil {
		return nil, usagef("--out %s: --overwrite clears only what rtclab wrote, and %s cannot tell what that is: %v", out, manifestFile, err)
	}
	if old.State == "running" && old.PID != os.Getpid() && processAlive(old.PID) {
		return nil, usagef("--out %s: rtclab process %d is writing into it now; name another folder", out, old.PID)
	}
	// Renaming is atomic: of two runs clearing the folder at once, one
	// gets the manifest and the other an error.
	taken := mpath + fmt.Sprintf(".clearing-%d", os.Getpid())
	if err := os.Rename(mpath, taken); err != nil {
		return nil, usagef("--out %s: another rtclab run is taking it over: %v", out, err)
	}
	for _, e := range old.Entries {
		if !localName(e) {
			continue // never follow a name out of the folder
		}
		if err := os.RemoveAll(filepath.Join(out, e)); err != nil {
			return nil, fmt.Errorf("--overwrite: %w", err)
		}
	}
	if err := os.Remove(taken); err != nil {
		return nil, fmt.Errorf("--overwrite: %w", err)
	}
	return newOutDir(out, tool)
}

// localName reports whether name is a plain entry name inside a folder.
func localName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`) && name != manifestFile
}

func readManifest(path string) (manifest, error) {
	var m manifest
	data, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// processAlive reports whether a process with this id exists (signal 0).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// newOutDir claims dir by creating its manifest exclusively: of two runs
// given the same empty folder, only one succeeds.
func newOutDir(dir, tool string) (*outDir, error) {
	o := &outDir{path: dir, m: manifest{Tool: tool, PID: os.Getpid(), State: "running", Entries: []string{}}}
	data, err := json.MarshalIndent(o.m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, manifestFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, usagef("--out %s: another rtclab run has claimed this folder", dir)
		}
		return nil, &UsageError{Err: fmt.Errorf("--out %s: cannot write into the folder: %w", dir, err)}
	}
	_, werr := f.Write(append(data, '\n'))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("manifest: %w", werr)
	}
	return o, nil
}

// record adds names rtclab created directly in the folder to the manifest.
func (o *outDir) record(names ...string) error {
	for _, n := range names {
		if !slices.Contains(o.m.Entries, n) {
			o.m.Entries = append(o.m.Entries, n)
		}
	}
	return o.save()
}

// finish records the files a writer created (paths; their names go in
// the manifest, in one save) and, when the writer succeeded (werr nil),
// marks the run done; werr is returned as it is.
func (o *outDir) finish(files []string, werr error) error {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	if err := o.record(names...); err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	return o.done()
}

// done marks the run finished in the manifest.
func (o *outDir) done() error {
	o.m.State = "done"
	return o.save()
}

func (o *outDir) save() error {
	data, err := json.MarshalIndent(o.m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return reports.WriteFileAtomic(filepath.Join(o.path, manifestFile), append(data, '\n'))
}

// sub creates a report folder of its own for one scenario of a set, named
// after the scenario (made safe as a file name), with a "-2", "-3", ...
// suffix when two scenarios of the set share a name.
func (o *outDir) sub(name string) (string, error) {
	dir, err := mkdirUnique(filepath.Join(o.path, safeName(name)))
	if err != nil {
		return "", err
	}
	return dir, o.record(filepath.Base(dir))
}

// safeName turns a scenario name into one folder name: separators and
// characters shells trip on become "_".
func safeName(name string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
	s = strings.TrimLeft(s, ".")
	if s == "" {
		s = "scenario"
	}
	return s
}
