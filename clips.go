// Package rtclab is the root of the rtclab module. It holds only data that
// must be embedded from the module root: Go packages cannot live inside a
// testdata directory, and embed patterns cannot reach a parent directory
// with "..", so the committed media clips are embedded here.
//
// This package imports nothing from the rest of the module, so any package
// may import it without creating a cycle.
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
