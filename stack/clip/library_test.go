package clip

import (
	"io/fs"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/rtclab/rtclab"
)

// TestLibraryOpensOnce: every caller of one name gets the same clip, read
// once; a name that fails to open fails each time and is not kept.
func TestLibraryOpensOnce(t *testing.T) {
	audio, err := fs.ReadFile(rtclab.Clips, "testdata/clips/audio-opus.ogg")
	if err != nil {
		t.Fatal(err)
	}
	lib := NewLibrary(fstest.MapFS{"a.ogg": {Data: audio}, "bad.ivf": {Data: []byte("not an ivf")}})
	var wg sync.WaitGroup
	got := make([]*Clip, 8)
	for i := range got {
		wg.Go(func() {
			c, err := lib.Open("a.ogg")
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		})
	}
	wg.Wait()
	for _, c := range got {
		if c == nil || c != got[0] {
			t.Fatalf("callers got different clips: %p and %p", c, got[0])
		}
	}
	for range 2 {
		if _, err := lib.Open("bad.ivf"); err == nil {
			t.Fatal("a malformed clip opened")
		}
	}
	if len(lib.clips) != 1 {
		t.Fatalf("library keeps %d clips, want 1", len(lib.clips))
	}
}
