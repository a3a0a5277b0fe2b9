package clip

import "errors"

// Sentinel errors returned (wrapped, with the file name) by Open. Test for
// them with errors.Is.
var (
	// ErrUnknownFormat means the file extension names no container this
	// package reads.
	ErrUnknownFormat = errors.New("unknown clip format")

	// ErrUnsupported means the clip uses a codec or container feature this
	// package cannot play, such as an IVF FourCC other than VP80, VP90 or
	// AV01, or an Ogg file with several logical streams.
	ErrUnsupported = errors.New("unsupported codec")

	// ErrMalformed means the container or the codec framing inside it is
	// broken: a bad Ogg page, a missing Opus header, an invalid Opus TOC, a
	// timestamp that goes backwards, and so on.
	ErrMalformed = errors.New("malformed clip")

	// ErrEmpty means the clip holds no media frames.
	ErrEmpty = errors.New("clip has no frames")
)
