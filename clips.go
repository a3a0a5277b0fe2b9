package rtclab

import "embed"

// Clips holds the committed media clips made by testdata/make-clips.sh, at
// paths such as "testdata/clips/video-vp8.ivf" and
// "testdata/clips/audio-opus.ogg". See testdata/README.md for what each
// clip contains. Open one with clip.Open(rtclab.Clips, path) from package
// github.com/rtclab/rtclab/stack/clip.
//
// An embed.FS is read-only, so sharing this variable is safe.
//
//go:embed testdata/clips
var Clips embed.FS
