package diagnose

// Rung is one resolution a call can carry, with the bitrate it needs.
type Rung struct {
	// Name is the resolution's common name, e.g. "720p".
	Name string `json:"name"`
	// Width and Height in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Kbps is the bitrate it needs at 30 fps.
	Kbps float64 `json:"kbps"`
}

// Ladder lists resolutions best first with the target bitrates libwebrtc
// gives each simulcast resolution (kSimulcastFormats in libwebrtc's
// video/config/simulcast.cc: 1080p 4 Mbit/s, 720p 2.5, 540p 1.2, 360p 0.5,
// 270p 0.35, 180p 0.15), the same order as the usual "720p needs about
// 2.5 Mbit/s" advice.
var Ladder = []Rung{
	{"1080p", 1920, 1080, 4000},
	{"720p", 1280, 720, 2500},
	{"540p", 960, 540, 1200},
	{"360p", 640, 360, 500},
	{"270p", 480, 270, 350},
	{"180p", 320, 180, 150},
}

// AudioOnly is the verdict when not even the lowest rung fits.
const AudioOnly = "audio only"

// Resolution names the best rung that fits in kbps, or AudioOnly.
func Resolution(kbps float64) string {
	for _, r := range Ladder {
		if kbps >= r.Kbps {
			return r.Name
		}
	}
	return AudioOnly
}

// VideoVerdict says which resolution the network carries each way.
type VideoVerdict struct {
	// Send is the best resolution the upload carries ("audio only" if none).
	Send string `json:"send"`
	// Receive is the best resolution the download carries.
	Receive string `json:"receive"`
	// UpKbps and DownKbps are the measured bandwidths used.
	UpKbps   float64 `json:"up_kbps"`
	DownKbps float64 `json:"down_kbps"`
}
