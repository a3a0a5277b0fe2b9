package reports

// VideoStream is what a viewer saw of one received video stream. Frames
// are reassembled from RTP at the receiver; a frame is shown when it can
// be decoded (it is a keyframe, or every frame since the last keyframe
// arrived).
type VideoStream struct {
	// FramesReceived counts frames reassembled, shown or not.
	FramesReceived int `json:"frames_received"`
	// FramesShown counts the frames that could be decoded.
	FramesShown int `json:"frames_shown"`
	// FPS is the frames shown over the time the stream should have played
	// (from its first packet on the wire, or first frame, to the end of
	// the call).
	FPS float64 `json:"fps"`
	// HarmonicFPS is libwebrtc's harmonic frame rate: the sum of the gaps
	// between shown frames over the sum of their squares; freezes pull it
	// far below FPS.
	HarmonicFPS float64 `json:"harmonic_fps"`
	// FreezeCount counts freezes: gaps between shown frames of at least
	// max(3 × the mean of the previous 30 gaps, that mean + 150 ms), as
	// libwebrtc defines them; the time from the last frame to the end of
	// the call is a gap too, so a picture frozen until the end is one, and
	// so is the time from the stream's first packet arriving to its first
	// frame (a picture that fails to start).
	FreezeCount int `json:"freeze_count"`
	// FreezeMS is the total duration of the freezes, in ms.
	FreezeMS float64 `json:"freeze_ms"`
	// Freezes lists each freeze (what the freeze timeline plot draws).
	Freezes []FreezeInterval `json:"freezes"`
	// MeanTimeBetweenFreezesMS is the mean playing time between freezes,
	// in ms (the whole playing time when there were none).
	MeanTimeBetweenFreezesMS float64 `json:"mean_time_between_freezes_ms"`
	// TimeToFirstFrameMS is the time from when both ends had joined to the
	// first shown frame, in ms; null when none was shown.
	TimeToFirstFrameMS *float64 `json:"time_to_first_frame_ms"`
	// KeyframeRequests counts the PLIs the receiver sent.
	KeyframeRequests int `json:"keyframe_requests"`
	// KeyframeLatencyMS is the longest time from a keyframe request to the
	// next shown keyframe, in ms; null without requests.
	KeyframeLatencyMS *float64 `json:"keyframe_latency_ms"`
	// PacketsRepaired counts media packets received only as a
	// retransmission (lost on the wire, then repaired).
	PacketsRepaired int64 `json:"packets_repaired"`
	// Layers lists the publisher's simulcast layers (RIDs), lowest first;
	// empty when the track is not simulcast.
	Layers []string `json:"layers"`
	// Layer is the RID of the layer received at the end ("" when not
	// simulcast).
	Layer string `json:"layer"`
	// LayerSwitches lists every change of the received layer.
	LayerSwitches []LayerSwitch `json:"layer_switches"`
	// PSNRDB and SSIM compare the decoded frames with the source clip,
	// frame by frame (luma); null unless measured (it needs ffmpeg).
	PSNRDB *float64 `json:"psnr_db"`
	SSIM   *float64 `json:"ssim"`
}

// FreezeInterval is one freeze of a video stream.
type FreezeInterval struct {
	// StartS is the scenario time of the last frame before it, seconds.
	StartS float64 `json:"start_s"`
	// DurationMS is how long the picture stood still, ms.
	DurationMS float64 `json:"duration_ms"`
}

// LayerSwitch is one change of the simulcast layer a subscriber received.
type LayerSwitch struct {
	// T is the scenario time of the new layer's first packet, seconds.
	T float64 `json:"t"`
	// From and To are the layers' RIDs; From is "" for the first layer.
	From string `json:"from"`
	To   string `json:"to"`
	// WaitMS is how long the SFU waited for a keyframe of the new layer
	// after choosing it, in ms.
	WaitMS float64 `json:"wait_ms"`
}

// AudioStream is what a listener heard of one received audio stream.
type AudioStream struct {
	// PacketsLost counts packets never received (after repair) by the end
	// of the call.
	PacketsLost uint64 `json:"packets_lost"`
	// LatePackets counts packets that came after a later one (reordered):
	// the jitter buffer holds them, so they are not concealed.
	LatePackets uint64 `json:"late_packets"`
	// ConcealmentEvents counts runs of consecutive lost packets the
	// decoder had to conceal (an outage until the end is one).
	ConcealmentEvents int `json:"concealment_events"`
	// LongestGapMS is the longest such run, in ms of audio.
	LongestGapMS float64 `json:"longest_gap_ms"`
	// MouthToEarMS is the delay the E-model charged: the measured
	// network delay from the publisher to the listener (both access
	// links, the SFU, every queue), a jitter buffer of twice the jitter,
	// and the codec's frame and look-ahead, in ms.
	MouthToEarMS float64 `json:"mouth_to_ear_ms"`
	// R is the E-model transmission rating (ITU-T G.107), 0..100.
	R float64 `json:"r_factor"`
	// MOS is the E-model's estimated mean opinion score, 1..4.5.
	MOS float64 `json:"mos"`
}

// Negotiation is the outcome of offering one published track to one
// subscriber through the SFU.
type Negotiation struct {
	// Publisher and Subscriber name the two ends.
	Publisher  string `json:"publisher"`
	Subscriber string `json:"subscriber"`
	// Kind is "audio" or "video".
	Kind string `json:"kind"`
	// Codec is the publisher's codec (MIME type), what the subscriber
	// receives when OK.
	Codec string `json:"codec"`
	// OK is true when the track was offered and negotiated.
	OK bool `json:"ok"`
	// Reason says why not, when OK is false.
	Reason string `json:"reason,omitempty"`
}
