package diagnose

// Browser is what the browser test page learned that `rtclab diagnose`
// has no counterpart for: the browser's own view of ICE and of media
// (WebRTC statistics, W3C webrtc-stats).
type Browser struct {
	// Candidates are the ICE candidates the browser gathered with the
	// server's STUN server.
	Candidates BrowserCandidates `json:"candidates"`
	// Pair is the candidate pair ICE selected to the test peer (all
	// candidate kinds allowed); nil if none was.
	Pair *BrowserPair `json:"pair,omitempty"`
	// Media is the camera/microphone send test; nil when it did not run.
	Media *BrowserMedia `json:"media,omitempty"`
	// UpSentBytes is what the browser sent on the upload channel
	// (RTCDataChannelStats bytesSent); the upload's bytes are what the test
	// peer received of it.
	UpSentBytes int64 `json:"up_sent_bytes,omitempty"`
	// DownSentBytes is what the test peer says it sent for the download
	// (its "end BYTES" marker); the download's bytes are what arrived.
	DownSentBytes int64 `json:"down_sent_bytes,omitempty"`
}

// BrowserCandidates counts what the browser shows a remote peer.
type BrowserCandidates struct {
	// Host are host candidates with a raw IP address (the browser was
	// allowed to show them, e.g. after a camera permission).
	Host []string `json:"host,omitempty"`
	// MDNS is how many host candidates were hidden behind an mDNS .local
	// name (RFC 9500 hides them by default).
	MDNS int `json:"mdns"`
	// Srflx are the public addresses STUN saw (server-reflexive).
	Srflx []string `json:"srflx,omitempty"`
}

// BrowserPair is a selected candidate pair (webrtc-stats
// RTCIceCandidatePairStats with its two candidates).
type BrowserPair struct {
	// Local and Remote are the candidates' types: host, srflx, prflx, relay.
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// Protocol is udp or tcp between the browser and the first hop.
	Protocol string `json:"protocol"`
	// RelayProtocol is how a relay candidate reaches TURN (udp, tcp, tls).
	RelayProtocol string `json:"relay_protocol,omitempty"`
	// RTTMs is the pair's current round-trip time from STUN checks.
	RTTMs float64 `json:"rtt_ms"`
}

// BrowserMedia is a few seconds of camera and microphone sent to the test
// peer, from the sender's statistics.
type BrowserMedia struct {
	// DurationMs is how long media was sent.
	DurationMs float64 `json:"duration_ms"`
	// Video and Audio are the outbound streams; nil when not sent.
	Video *BrowserStream `json:"video,omitempty"`
	Audio *BrowserStream `json:"audio,omitempty"`
	// AvailableOutgoingKbps is the selected pair's
	// availableOutgoingBitrate, the browser's bandwidth estimate.
	AvailableOutgoingKbps float64 `json:"available_outgoing_kbps"`
	// Error says why media could not be sent (no camera, permission).
	Error string `json:"error,omitempty"`
}

// BrowserStream is one outbound-rtp stream and its remote-inbound-rtp
// (what the test peer's RTCP receiver reports said).
type BrowserStream struct {
	// Kbps is the bytes sent over the duration.
	Kbps float64 `json:"kbps"`
	// PacketsSent is outbound-rtp packetsSent.
	PacketsSent int64 `json:"packets_sent"`
	// FramesPerSecond and Resolution are the video sent ("640x480").
	FramesPerSecond float64 `json:"fps,omitempty"`
	Resolution      string  `json:"resolution,omitempty"`
	// QualityLimitation is outbound-rtp qualityLimitationReason (none,
	// bandwidth, cpu, other).
	QualityLimitation string `json:"quality_limitation,omitempty"`
	// RemoteLossPct, RemoteJitterMs and RTTMs are remote-inbound-rtp's
	// fractionLost, jitter and roundTripTime; 0 when no report came.
	RemoteLossPct  float64 `json:"remote_loss_pct"`
	RemoteJitterMs float64 `json:"remote_jitter_ms"`
	RTTMs          float64 `json:"rtt_ms"`
}
