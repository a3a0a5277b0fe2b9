package runner

import (
	"maps"
	"slices"
	"testing"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/clip"
)

// TestOpenClipsOpensWhatIsSent: a run opens the clips its participants
// send and no others, each file once (one VP8 clip serves "video",
// "video/vp8" and the full simulcast layer), and runs that share a
// library share the clips.
func TestOpenClipsOpensWhatIsSent(t *testing.T) {
	for _, tc := range []struct {
		name string
		ps   []scenarios.Participant
		want []string
	}{
		{"quickstart", []scenarios.Participant{{Name: "alice", Publish: []string{"audio", "video"}}, {Name: "bob", Publish: []string{"audio", "video"}}}, []string{"audio", "video"}},
		{"receive only", []scenarios.Participant{{Name: "carol"}}, nil},
		{"codecs and simulcast", []scenarios.Participant{
			{Name: "a", Publish: []string{"video"}, Video: "vp8"},
			{Name: "b", Publish: []string{"video"}, Video: "av1"},
			{Name: "c", Publish: []string{"video"}},
			{Name: "d", Publish: []string{"video"}, Simulcast: true},
		}, []string{"simulcast/f", "simulcast/h", "simulcast/q", "video", "video/av1", "video/vp8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib := clip.NewLibrary(rtclab.Clips)
			got, err := openClips(lib, tc.ps)
			if err != nil {
				t.Fatal(err)
			}
			if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, tc.want) {
				t.Fatalf("opened %v, want %v", keys, tc.want)
			}
			files := map[string]*clip.Clip{}
			for media, c := range got {
				if prev, ok := files[clipFiles[media]]; ok && prev != c {
					t.Errorf("%s opened twice", clipFiles[media])
				}
				files[clipFiles[media]] = c
			}
			again, err := openClips(lib, tc.ps)
			if err != nil {
				t.Fatal(err)
			}
			for media, c := range again {
				if got[media] != c {
					t.Errorf("a second run sharing the library opened %s again", media)
				}
			}
		})
	}
}
