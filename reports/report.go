package reports

import (
	"fmt"
	"slices"
)

import "github.com/rtclab/rtclab/analysis"

// Schema is the value of Report.Schema for this version of the format.
// Fields are only ever added within a version.
const Schema = "rtclab.report/v1"

// Report is the outcome of one scenario run. It is plain data; report.json is
// this struct encoded as JSON.
type Report struct {
	// Schema is always "rtclab.report/v1".
	Schema string `json:"schema"`
	// Tool names the program and its version, e.g. "rtclab dev".
	Tool string `json:"tool"`
	// ToolBuild is the tool's build: version and VCS revision (absent in
	// reports written before it was recorded).
	ToolBuild *ToolBuild `json:"tool_build,omitempty"`
	// Scenario describes what was run.
	Scenario ScenarioInfo `json:"scenario"`
	// StartedAt is the wall-clock start of the run (RFC 3339).
	StartedAt string `json:"started_at"`
	// WallSeconds is how long the run took on the wall clock.
	WallSeconds float64 `json:"wall_seconds"`
	// Verdict is "pass" when every check passed, else "fail".
	Verdict string `json:"verdict"`
	// Partial is true when the run was interrupted or aborted before the
	// scenario's end; the numbers cover only the part that ran.
	Partial bool `json:"partial"`
	// Error says why the run stopped early (empty for a complete run).
	Error string `json:"error,omitempty"`
	// Participants lists every simulated client.
	Participants []Participant `json:"participants"`
	// Streams lists every media stream as seen by its receiver.
	Streams []Stream `json:"streams"`
	// Checks are the scenario's expectations, evaluated.
	Checks []analysis.Check `json:"checks"`
	// Series are the time series sampled every 100 ms of scenario time.
	Series []analysis.Series `json:"series"`
	// Events are timestamped happenings (state changes, errors).
	Events []analysis.Event `json:"events"`
	// Bandwidth holds the flows and bottleneck links of a bandwidth test
	// case (topology "flows", RFC 8867) with their RFC 8868 metrics;
	// absent for other topologies.
	Bandwidth *Bandwidth `json:"bandwidth,omitempty"`
	// Negotiations lists, in the sfu topology, every published track
	// offered to every subscriber and whether a codec both accept was
	// found; absent in the p2p topology.
	Negotiations []Negotiation `json:"negotiations,omitempty"`
	// Privacy is what each party of the call saw (privacy.go); absent
	// in the flows topology and in reports written before it existed.
	Privacy *Privacy `json:"privacy,omitempty"`
	// Browsers holds, for each Chromium participant, its own getStats
	// figures beside rtclab's capture of the same streams (browser.go);
	// absent when no participant is a browser.
	Browsers []BrowserCheck `json:"browsers,omitempty"`
}

// ScenarioInfo says what was run and how.
type ScenarioInfo struct {
	// Name is the scenario's name field.
	Name string `json:"name"`
	// File is the path of the scenario file, or "embedded:NAME.yaml" for a
	// scenario built into the binary.
	File string `json:"file"`
	// Description is the scenario's free-text description.
	Description string `json:"description,omitempty"`
	// Topology is "sfu" or "p2p".
	Topology string `json:"topology"`
	// Clock is "virtual" (testing/synctest bubble) or "real" (wall clock).
	Clock string `json:"clock"`
	// Backend is "kernel" when the network was built from Linux network
	// namespaces (scenario field backend); absent for the in-process one.
	Backend string `json:"backend,omitempty"`
	// Seed seeds every random choice of the emulated network.
	Seed int64 `json:"seed"`
	// DurationS is the scenario's media duration in seconds.
	DurationS float64 `json:"duration_s"`
	// CountedAt is, for a real-clock run, the wall-clock instant (RFC
	// 3339, UTC) the final counts were read, a drain after the media
	// stopped: a recount from captures (rtclab verify) counts up to it.
	// Absent for a virtual-clock run, whose instant follows from the
	// duration.
	CountedAt string `json:"counted_at,omitempty"`
	// Expectations is the number of expect entries the scenario declares
	// (the implicit media checks not counted); absent when not recorded.
	// A run with none says "no checks" in its verdict line.
	Expectations *int `json:"expectations,omitempty"`
}

// Participant is one simulated client and how it connected.
type Participant struct {
	// Name is the participant's name from the scenario.
	Name string `json:"name"`
	// NAT is the NAT behaviour in front of it (e.g. "symmetric").
	NAT string `json:"nat"`
	// Address is its private (host) IP address on the emulated network.
	Address string `json:"address"`
	// Connected is true when its PeerConnection reached "connected" and
	// stayed connected to the scenario's end (see ConnectedFraction and
	// Dropped for partial presence).
	Connected bool `json:"connected"`
	// ConnectedFraction is the share of the scenario's duration (0..1)
	// its PeerConnection was connected and, through the SFU, served.
	ConnectedFraction float64 `json:"connected_fraction"`
	// Dropped says when and why it first left the call before the end;
	// absent when it never did.
	Dropped *Drop `json:"dropped,omitempty"`
	// TimeToConnectMS is the time from joining to "connected", in ms;
	// null when it never connected.
	TimeToConnectMS *float64 `json:"time_to_connect_ms"`
	// Peer names the other end of its PeerConnection ("sfu" or a participant).
	Peer string `json:"peer"`
	// SelectedPair is the ICE candidate pair in use; null when none.
	SelectedPair *CandidatePair `json:"selected_pair"`
	// Candidates counts the ICE candidates it gathered, by type; absent
	// when not measured (the run ended before its PeerConnection existed).
	Candidates *CandidateCounts `json:"candidates,omitempty"`
	// RemoteCandidates counts the other end's candidates it knew of, by
	// type: the signalled ones plus the peer-reflexive ones it learned from
	// incoming checks (RFC 8445 section 7.3.1.3); absent when not measured.
	RemoteCandidates *CandidateCounts `json:"remote_candidates,omitempty"`
	// ChecksSent is the number of STUN Binding requests its ICE agent sent
	// on all candidate pairs: connectivity checks (RFC 8445 section 7.2.4)
	// and, on the selected pair, keepalives; absent when not measured.
	ChecksSent *uint64 `json:"checks_sent,omitempty"`
	// AddressesExposed is the number of distinct addresses of its own
	// (relay addresses not counted) another participant saw (see
	// Privacy); absent when not measured.
	AddressesExposed *int `json:"addresses_exposed,omitempty"`
}

// Drop is when and why a participant left the call before the end.
type Drop struct {
	// AtS is the scenario time in seconds.
	AtS float64 `json:"at_s"`
	// Reason is what ended it ("PeerConnection failed", "SFU
	// peer-removed: left signaling after signaling lost at 5.000s").
	Reason string `json:"reason"`
}

// CandidateCounts counts ICE candidates by type (RFC 8445 section 5.1.1).
type CandidateCounts struct {
	// Host counts host candidates (the interface's own address).
	Host int `json:"host"`
	// Srflx counts server-reflexive candidates (the NAT's outside address,
	// learned from a STUN server).
	Srflx int `json:"srflx"`
	// Prflx counts peer-reflexive candidates (an address learned from a
	// connectivity check).
	Prflx int `json:"prflx"`
	// Relay counts relayed candidates (an address on a TURN server).
	Relay int `json:"relay"`
}

// CandidatePair is the selected ICE candidate pair of a PeerConnection.
type CandidatePair struct {
	// Local is the local candidate type: host, srflx, prflx or relay.
	Local string `json:"local"`
	// Remote is the remote candidate type: host, srflx, prflx or relay.
	Remote string `json:"remote"`
	// Protocol is the transport protocol, "udp" or "tcp".
	Protocol string `json:"protocol"`
	// RelayProtocol is how the local relay candidate reaches its TURN
	// server, "udp", "tcp" or "tls"; empty when the local candidate is
	// not a relay.
	RelayProtocol string `json:"relay_protocol,omitempty"`
	// LocalAddress is the local candidate's address:port.
	LocalAddress string `json:"local_address"`
	// RemoteAddress is the remote candidate's address:port.
	RemoteAddress string `json:"remote_address"`
	// RemoteSignalled is set when Remote is "prflx" although the other end
	// also signalled a candidate at RemoteAddress: that candidate's type
	// (host, srflx or relay). ICE calls an address peer-reflexive when a
	// check from it arrives before the candidate (RFC 8445 section
	// 7.3.1.3), so this says the path is the signalled one and only the
	// order differed. Empty otherwise.
	RemoteSignalled string `json:"remote_signalled,omitempty"`
}

// Stream is one media stream from a publisher to a receiver, measured at
// the receiver (and, for RTT and sender counts, at the sender).
type Stream struct {
	// From is the publishing participant.
	From string `json:"from"`
	// To is the receiving participant.
	To string `json:"to"`
	// Kind is "audio" or "video".
	Kind string `json:"kind"`
	// Codec is the negotiated codec's MIME type, e.g. "video/VP8".
	Codec string `json:"codec"`
	// Connection numbers the stream's incarnations when the receiver got
	// it on more than one connection (after an SFU restart, a timeline
	// fault): 2 for the second, and so on; absent (0) for the first.
	Connection int `json:"connection,omitempty"`
	// PacketsSent is the number of original media RTP packets the
	// publisher put on the wire on this track (in the sfu topology: to the
	// SFU), every simulcast layer counted; packets written before
	// DTLS-SRTP was up (never sent), retransmissions and padding are not.
	PacketsSent uint64 `json:"packets_sent"`
	// PacketsReceived is the number of distinct media RTP packets the
	// receiver's application got (repairs included; duplicates and
	// padding-only probes not).
	PacketsReceived uint64 `json:"packets_received"`
	// PacketsExpected is the number of media packets the receiver should
	// have got by the end of the call: every sequence number from the first
	// to the highest its last sender (the SFU, or the publisher in p2p) put
	// on the wire, or received, minus those padding took.
	PacketsExpected uint64 `json:"packets_expected"`
	// PacketsLost is PacketsExpected − PacketsReceived: never received,
	// even by repair, by the end of the call.
	PacketsLost uint64 `json:"packets_lost"`
	// LossFraction is PacketsLost / PacketsExpected, 0..1: loss after
	// retransmissions (NACK/RTX) repaired what they could, over the whole
	// call, so an outage until the end counts.
	LossFraction float64 `json:"loss_fraction"`
	// RawLossFraction is the fraction of expected media packets that did
	// not arrive as originals (lost before repair), 0..1. Without
	// retransmission it equals LossFraction.
	RawLossFraction float64 `json:"raw_loss_fraction"`
	// JitterMS is the interarrival jitter (RFC 3550 section 6.4.1, as in
	// appendix A.8) computed by rtclab from the arrival log of the original
	// media packets, in arrival order, at the end of the run, in ms.
	JitterMS float64 `json:"jitter_ms"`
	// PionJitterMS is pion's stats-interceptor figure for the same stream
	// (a second difference of transit times, not RFC 3550's estimator;
	// kept for comparison only), in ms.
	PionJitterMS float64 `json:"pion_jitter_ms"`
	// Wire is the per-SSRC record a recount from a capture needs.
	Wire *StreamWire `json:"wire,omitempty"`
	// RTTMS is the round-trip time seen by the receiver's hop from RTCP, in ms
	// (the last hop's when relayed by an SFU); null when not measured.
	RTTMS *float64 `json:"rtt_ms"`
	// BitrateKbps is the mean received media bitrate in kbit/s.
	BitrateKbps float64 `json:"bitrate_kbps"`
	// NACKCount is the number of NACK packets the receiver sent.
	NACKCount uint64 `json:"nack_count"`
	// PLICount is the number of PLI packets the receiver sent.
	PLICount uint64 `json:"pli_count"`
	// RecoveryMS is, for a scenario with timeline faults that affect the
	// stream, the longest time from a fault to the first media packet
	// after the interruption it caused, in ms; absent without such a
	// fault, or when media never came back (a "not-recovered" event says
	// so).
	RecoveryMS *float64 `json:"recovery_ms,omitempty"`
	// Missing names the figures of this stream (their JSON names, e.g.
	// "packets_sent") that no source had: a browser keeps no send log,
	// and what its capture cannot tell is not known. Their fields hold 0,
	// which means nothing: reports print "—" for them, never 0.
	Missing []string `json:"missing,omitempty"`
	// Sources says where figures that did not come from rtclab's own
	// logs came from, by JSON name: "capture" (the capture of a
	// browser's link, with the sender's log for payload sizes) or
	// "getstats" (the browser's own getStats).
	Sources map[string]string `json:"sources,omitempty"`
	// Video is what a viewer saw (frames, freezes, layers, quality);
	// present for video streams of runs that reassemble frames.
	Video *VideoStream `json:"video,omitempty"`
	// Audio is what a listener heard (concealment, E-model MOS); present
	// for audio streams of such runs.
	Audio *AudioStream `json:"audio,omitempty"`
}

// StreamWire is what each end of a stream put on or took off the wire,
// per SSRC, so that a capture can recount it (rtclab verify).
type StreamWire struct {
	// PublisherSSRCs are the media SSRCs the publisher sent the track on
	// (one per simulcast layer, lowest first), PublisherRTXSSRCs their
	// retransmission SSRCs (0 without).
	PublisherSSRCs    []uint32 `json:"publisher_ssrcs"`
	PublisherRTXSSRCs []uint32 `json:"publisher_rtx_ssrcs"`
	// PublisherMediaBytes is the payload of the publisher's original
	// media packets (packets_sent), every layer; PublisherRTX counts its
	// retransmissions, every layer.
	PublisherMediaBytes uint64 `json:"publisher_media_bytes"`
	PublisherRTX        uint64 `json:"publisher_rtx"`
	// Sender is the last hop's sender: "sfu" or the publisher.
	Sender string `json:"sender"`
	// SSRC is the media SSRC the receiver got the stream on, RTXSSRC its
	// retransmission SSRC (0 without).
	SSRC    uint32 `json:"ssrc"`
	RTXSSRC uint32 `json:"rtx_ssrc"`
	// Media, MediaBytes, Padding and RTX count what the last hop's sender
	// put on the wire on SSRC and RTXSSRC: original media packets and
	// their payload bytes, padding-only probes, retransmissions.
	Media      uint64 `json:"media_sent"`
	MediaBytes uint64 `json:"media_bytes_sent"`
	Padding    uint64 `json:"padding_sent"`
	RTX        uint64 `json:"rtx_sent"`
	// ReceivedRTX and ReceivedPadding count retransmissions (duplicates
	// included) and padding-only packets the receiver got; Repaired the
	// media packets it got only by retransmission; Late those that came
	// after a higher sequence number (reordered, not lost); Duplicates
	// media packets received more than once.
	ReceivedRTX     uint64 `json:"rtx_received"`
	ReceivedPadding uint64 `json:"padding_received"`
	Repaired        uint64 `json:"repaired"`
	Late            uint64 `json:"late"`
	Duplicates      uint64 `json:"duplicates"`
}

// streamPath names a stream's way, "alice->bob", with its connection
// number after the first ("alice->bob #2").
func streamPath(s Stream) string { return connectionOf(s.From+"->"+s.To, s.Connection) }

// connectionOf appends " #N" to name for a stream's Nth connection.
func connectionOf(name string, connection int) string {
	if connection > 1 {
		return fmt.Sprintf("%s #%d", name, connection)
	}
	return name
}

// Has reports whether the stream has a value for the figure named (its
// JSON name): false when it is in Missing.
func (s Stream) Has(figure string) bool {
	return !slices.Contains(s.Missing, figure)
}

// Sources of a browser's stream figures (Stream.Sources).
const (
	SourceCapture  = "capture"  // the capture of the browser's link
	SourceGetStats = "getstats" // the browser's own getStats
)
