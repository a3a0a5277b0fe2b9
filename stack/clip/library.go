package clip

import (
	"io/fs"
	"sync"
)

// Library opens clips from one file system, each once, and hands the same
// *Clip to every caller: a Clip is immutable, so the runs of one process
// (rtclab bench, a sweep) can share it instead of reading and parsing the
// file again for each run. Safe for concurrent use. A failed Open is not
// remembered.
type Library struct {
	fsys  fs.FS
	mu    sync.Mutex
	clips map[string]*Clip
}

// NewLibrary returns an empty library of the clips in fsys.
func NewLibrary(fsys fs.FS) *Library {
	return &Library{fsys: fsys, clips: map[string]*Clip{}}
}

// Open returns the clip name, opening it (Open) the first time.
func (l *Library) Open(name string) (*Clip, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.clips[name]; ok {
		return c, nil
	}
	c, err := Open(l.fsys, name)
	if err != nil {
		return nil, err
	}
	l.clips[name] = c
	return c, nil
}
