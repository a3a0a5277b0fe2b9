package diagnose

import (
	"time"

	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
)

// Schema is the version of Result's JSON. Fields are only added within a
// version; a change of meaning makes a new one.
const Schema = "rtclab.diagnose/v1"

// Result is everything one diagnosis found. It is plain data: the text,
// JSON and HTML outputs all render it.
type Result struct {
	// Schema is always the Schema constant.
	Schema string `json:"schema"`
	// Version is the rtclab version that made the diagnosis.
	Version string `json:"version"`
	// Started is when the diagnosis began (UTC).
	Started time.Time `json:"started"`
	// DurationMs is how long the whole diagnosis took.
	DurationMs float64 `json:"duration_ms"`
	// Target describes what was diagnosed (the server URL, or the STUN and
	// TURN URLs given).
	Target string `json:"target"`
	// Verdict is the one-line answer, worst level first.
	Verdict Verdict `json:"verdict"`
	// Findings are the plain-words findings, worst first.
	Findings []Finding `json:"findings"`
	// NAT is the STUN binding and RFC 5780 NAT behaviour; nil when no STUN
	// server was given.
	NAT *NATReport `json:"nat,omitempty"`
	// TURN has one allocation attempt per TURN URL.
	TURN []turnprobe.Result `json:"turn"`
	// Paths has one entry per ICE path kind tried to the test peer.
	Paths []pathprobe.Result `json:"paths"`
	// BestPath is the best kind of path that connected; empty if none.
	BestPath pathprobe.Kind `json:"best_path,omitempty"`
	// Quality has the paced-probe measurements: over the best path and,
	// when the best path is direct, through the relay too.
	Quality []PathQuality `json:"quality"`
	// Bandwidth is upload and download over the best path; nil when no
	// path connected.
	Bandwidth *Bandwidth `json:"bandwidth,omitempty"`
	// Audio is the estimated audio quality over the best path.
	Audio *AudioScore `json:"audio,omitempty"`
	// Video says which resolution the bandwidth carries.
	Video *VideoVerdict `json:"video,omitempty"`
	// Metrics are the graded numbers, one per threshold that applied.
	Metrics []Metric `json:"metrics"`
	// Local is what ICE would reveal about this machine.
	Local LocalReport `json:"local"`
	// Encryption says, for each server on each path that connected,
	// whether the media through it was end-to-end encrypted (a TURN
	// relay) or terminated there (the test peer, as an SFU), derived from
	// the path's selected candidate pair and the DTLS certificate it
	// verified (encryption.go); empty in results written before it
	// existed.
	Encryption []Encryption `json:"encryption,omitempty"`
	// Skipped lists the steps that did not run and why.
	Skipped []string `json:"skipped,omitempty"`
	// Partial is true while a diagnosis is still running: the browser test
	// page posts its result as it goes, so a result that stays partial was
	// cut short (the tab was closed, the network went away).
	Partial bool `json:"partial,omitempty"`
	// Client says what ran the diagnosis; nil in results written before it
	// existed.
	Client *Client `json:"client,omitempty"`
	// Browser is what only the browser test page measures; nil otherwise.
	Browser *Browser `json:"browser,omitempty"`
}

// Client is what ran a diagnosis.
type Client struct {
	// Kind is "cli" (rtclab diagnose) or "browser" (the test page).
	Kind string `json:"kind"`
	// UserAgent is the browser's user agent, or rtclab's version string.
	UserAgent string `json:"user_agent,omitempty"`
	// ObservedAddress is the address the server saw the result come from
	// (filled in by the server that stores it, never by the client).
	ObservedAddress string `json:"observed_address,omitempty"`
}

// Verdict is the answer first.
type Verdict struct {
	// Level is the worst level of any finding.
	Level Level `json:"level"`
	// Summary is one sentence for a person.
	Summary string `json:"summary"`
}

// Finding is one observation in plain words.
type Finding struct {
	// Level grades it (info findings grade nothing).
	Level Level `json:"level"`
	// Area is what it is about: nat, turn, paths, quality, bandwidth,
	// audio, video, privacy.
	Area string `json:"area"`
	// Text says what was found and what it means for calls.
	Text string `json:"text"`
	// Fix says what to change, when there is something to change.
	Fix string `json:"fix,omitempty"`
}

// NATReport is the STUN binding and the NAT behaviour.
type NATReport struct {
	nat.Result
	// Words is the common name for a person ("port-restricted cone NAT").
	Words string `json:"words"`
}

// PathQuality is RTT, jitter and loss over one path.
type PathQuality struct {
	// Path is the kind of path measured.
	Path pathprobe.Kind `json:"path"`
	// Ping is the paced-probe result, with the samples for plots.
	Ping pathprobe.PingResult `json:"ping"`
	// Audio is the estimated audio quality over this path.
	Audio AudioScore `json:"audio"`
}

// Bandwidth is both directions over one path.
type Bandwidth struct {
	// Path is the kind of path measured.
	Path pathprobe.Kind `json:"path"`
	// Up is from this machine to the test peer.
	Up pathprobe.BandwidthResult `json:"up"`
	// Down is from the test peer to this machine.
	Down pathprobe.BandwidthResult `json:"down"`
	// WindowCapKbps is the most one SCTP receive window per RTT can carry
	// on this path (the data channel's ceiling, see docs/diagnose.md).
	WindowCapKbps float64 `json:"window_cap_kbps"`
}

// Metric is one graded number.
type Metric struct {
	// Name is the metric key (rtt, jitter, loss, upload, download, mos).
	Name string `json:"name"`
	// Path is the path it was measured over.
	Path pathprobe.Kind `json:"path"`
	// Value in Unit.
	Value float64 `json:"value"`
	// Unit of Value.
	Unit string `json:"unit"`
	// Level is Value's band.
	Level Level `json:"level"`
	// Rule is the band rule in words ("good < 200 ms, bad > 500 ms").
	Rule string `json:"rule"`
}

// LocalReport is what ICE would show a remote peer about this machine.
type LocalReport struct {
	// Addresses are the local addresses ICE gathers host candidates on.
	Addresses []LocalAddress `json:"addresses"`
	// Mapped is the public address the STUN server saw, if any.
	Mapped string `json:"mapped,omitempty"`
	// Note is the privacy note in words.
	Note string `json:"note"`
	// Exposure says, per kind of client, which of this machine's
	// addresses the other party of a call learns (exposure.go); empty in
	// results written before it existed.
	Exposure []Exposure `json:"exposure,omitempty"`
}

// Exposure is what the other party of a call learns from one kind of
// client on this machine.
type Exposure struct {
	// Client is "host-candidates" (an app that signals its host
	// candidates, as native apps do), "mdns" (host candidates hidden
	// behind .local names, as browsers do:
	// draft-ietf-rtcweb-mdns-ice-candidates) or "relay-only"
	// (iceTransportPolicy relay).
	Client string `json:"client"`
	// Addresses are what the peer learns: IP addresses (with their scope
	// in parentheses), "NAME.local" placeholders, or the relay's address.
	Addresses []string `json:"addresses"`
}

// LocalAddress is one local IP address.
type LocalAddress struct {
	// IP is the address.
	IP string `json:"ip"`
	// Interface is the interface's name.
	Interface string `json:"interface"`
	// Scope is public, private, shared (CGNAT, RFC 6598), link-local or
	// loopback.
	Scope string `json:"scope"`
	// Private is true unless the scope is public.
	Private bool `json:"private"`
}
