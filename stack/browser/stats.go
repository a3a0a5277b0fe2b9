package browser

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/chromedp/chromedp"
)

// Stat is one getStats() entry of the types rtclab samples, with the
// fields it reads (W3C webrtc-stats: RTCInboundRtpStreamStats,
// RTCOutboundRtpStreamStats, RTCRemoteInboundRtpStreamStats,
// RTCIceCandidatePairStats, RTCIceCandidateStats, RTCTransportStats).
// Times are in seconds, as getStats gives them.
type Stat struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Timestamp is when the figures were taken, in ms since the Unix
	// epoch; for remote-inbound-rtp, when the receiver report came.
	Timestamp float64 `json:"timestamp"`
	Kind      string  `json:"kind"`
	SSRC      uint32  `json:"ssrc"`
	// From is the participant an inbound-rtp stream comes from: the
	// connection's remote in p2p, the publisher through an SFU (the page
	// reads it from the stream ID the SFU gives the track).
	From string `json:"from"`
	// RTP streams.
	PacketsReceived          uint64  `json:"packetsReceived"`
	PacketsLost              int64   `json:"packetsLost"` // may be negative (duplicates)
	Jitter                   float64 `json:"jitter"`
	PacketsSent              uint64  `json:"packetsSent"`
	BytesSent                uint64  `json:"bytesSent"`
	BytesReceived            uint64  `json:"bytesReceived"`
	RetransmittedPacketsSent uint64  `json:"retransmittedPacketsSent"`
	// RetransmittedPacketsReceived counts RTX packets that arrived
	// (inbound-rtp), each a packet lost once and repaired.
	RetransmittedPacketsReceived uint64 `json:"retransmittedPacketsReceived"`
	NackCount                    uint64 `json:"nackCount"`
	// PliCount counts the PLIs the receiver sent (inbound-rtp).
	PliCount uint64 `json:"pliCount"`
	// RTXSSRC is an outbound-rtp stream's retransmission SSRC (RFC 4588),
	// 0 without.
	RTXSSRC       uint32 `json:"rtxSsrc"`
	FramesDecoded uint64 `json:"framesDecoded"`
	// remote-inbound-rtp: what the remote receiver reported in RTCP.
	RoundTripTime             float64 `json:"roundTripTime"`
	RoundTripTimeMeasurements uint64  `json:"roundTripTimeMeasurements"`
	FractionLost              float64 `json:"fractionLost"`
	LocalID                   string  `json:"localId"`
	// candidate-pair.
	State                string  `json:"state"`
	Nominated            bool    `json:"nominated"`
	CurrentRoundTripTime float64 `json:"currentRoundTripTime"`
	TotalRoundTripTime   float64 `json:"totalRoundTripTime"`
	ResponsesReceived    uint64  `json:"responsesReceived"`
	LocalCandidateID     string  `json:"localCandidateId"`
	RemoteCandidateID    string  `json:"remoteCandidateId"`
	// local-candidate, remote-candidate.
	CandidateType string `json:"candidateType"`
	Address       string `json:"address"`
	Port          int    `json:"port"`
	// transport.
	SelectedCandidatePairID string `json:"selectedCandidatePairId"`
}

// Taken is when the browser took st's figures (its timestamp), or at
// when it has none. Under load a getStats() call returns a good part of
// a second after it took them.
func (st Stat) Taken(at time.Time) time.Time {
	if st.Timestamp <= 0 {
		return at
	}
	return time.UnixMicro(int64(st.Timestamp * 1000))
}

// PeerStats is one RTCPeerConnection's stats.
type PeerStats struct {
	// Remote is the peer the connection goes to.
	Remote string `json:"remote"`
	// State is its connectionState, or "closed" for a connection the page
	// closed (an SFU that left): its stats are those it last had.
	State string `json:"state"`
	Stats []Stat `json:"stats"`
}

// Snapshot is one getStats() of every connection of the page.
type Snapshot struct {
	At    time.Time
	Peers []PeerStats
}

// Stats calls getStats() on every RTCPeerConnection of the page.
func (b *Browser) Stats(ctx context.Context) (Snapshot, error) {
	raw, err := run(ctx, b, chromedp.Evaluate[string]("window.rtclab.stats()", chromedp.EvalAwaitPromise))
	if err != nil {
		return Snapshot{}, fmt.Errorf("browser: getStats: %w", err)
	}
	s := Snapshot{At: time.Now()}
	if err := json.Unmarshal([]byte(raw), &s.Peers); err != nil {
		return Snapshot{}, fmt.Errorf("browser: getStats: %w", err)
	}
	return s, nil
}

// Peer returns the stats of the connection to remote.
func (s Snapshot) Peer(remote string) (PeerStats, bool) {
	for _, p := range s.Peers {
		if p.Remote == remote {
			return p, true
		}
	}
	return PeerStats{}, false
}

// All returns every entry of type typ (and kind, when not "").
func (p PeerStats) All(typ, kind string) []Stat {
	var out []Stat
	for _, st := range p.Stats {
		if st.Type == typ && (kind == "" || st.Kind == kind) {
			out = append(out, st)
		}
	}
	return out
}

// Find returns the first entry of type typ (and kind, when not "").
func (p PeerStats) Find(typ, kind string) (Stat, bool) {
	for _, st := range p.Stats {
		if st.Type == typ && (kind == "" || st.Kind == kind) {
			return st, true
		}
	}
	return Stat{}, false
}

func (p PeerStats) byID(id string) (Stat, bool) {
	for _, st := range p.Stats {
		if st.ID == id {
			return st, true
		}
	}
	return Stat{}, false
}

// Selected returns the transport's selected candidate pair and its local
// and remote candidates.
func (p PeerStats) Selected() (pair, local, remote Stat, ok bool) {
	tr, ok := p.Find("transport", "")
	if !ok || tr.SelectedCandidatePairID == "" {
		return Stat{}, Stat{}, Stat{}, false
	}
	pair, ok = p.byID(tr.SelectedCandidatePairID)
	if !ok {
		return Stat{}, Stat{}, Stat{}, false
	}
	local, _ = p.byID(pair.LocalCandidateID)
	remote, _ = p.byID(pair.RemoteCandidateID)
	return pair, local, remote, true
}

// SampleFunc receives one sample: the shape of probes.Recorder.Sample.
type SampleFunc func(now time.Time, name, metric, unit string, v float64)

// Sample calls getStats() every interval until ctx ends or Chromium
// exits, hands each connection's figures to sample under names that
// start with name (the participant), and returns the last snapshot
// taken: what a report shows when the run ends early.
func (b *Browser) Sample(ctx context.Context, name string, every time.Duration, sample SampleFunc) (Snapshot, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last Snapshot
	for {
		select {
		case <-ctx.Done():
			return last, nil
		case <-b.exited:
			return last, ErrExited
		case <-t.C:
		}
		s, err := b.Stats(ctx)
		if err != nil {
			if ctx.Err() != nil && !errors.Is(err, ErrExited) {
				return last, nil
			}
			return last, err
		}
		last = s
		s.record(name, sample)
	}
}

// record hands one snapshot's figures to sample.
func (s Snapshot) record(name string, sample SampleFunc) {
	for _, p := range s.Peers {
		if p.State == "closed" {
			continue // a retired connection's figures stopped
		}
		for _, kind := range []string{"audio", "video"} {
			for _, in := range p.All("inbound-rtp", kind) {
				from := cmp.Or(in.From, p.Remote)
				pre := fmt.Sprintf("getstats %s<-%s %s ", name, from, kind)
				at := in.Taken(s.At)
				sample(at, pre+"packets_received", "getstats_packets_received", "packets", float64(in.PacketsReceived))
				sample(at, pre+"packets_lost", "getstats_packets_lost", "packets", float64(in.PacketsLost))
				sample(at, pre+"jitter", "getstats_jitter_ms", "ms", in.Jitter*1000)
			}
			pre := fmt.Sprintf("getstats %s->%s %s ", name, p.Remote, kind)
			if out, ok := p.Find("outbound-rtp", kind); ok {
				sample(out.Taken(s.At), pre+"packets_sent", "getstats_packets_sent", "packets", float64(out.PacketsSent))
			}
			if ri, ok := p.Find("remote-inbound-rtp", kind); ok {
				sample(s.At, pre+"remote_packets_lost", "getstats_packets_lost", "packets", float64(ri.PacketsLost))
				sample(s.At, pre+"remote_jitter", "getstats_jitter_ms", "ms", ri.Jitter*1000)
				sample(s.At, pre+"rtt", "getstats_rtt_ms", "ms", ri.RoundTripTime*1000)
			}
		}
		if pair, _, _, ok := p.Selected(); ok {
			sample(s.At, fmt.Sprintf("getstats %s-%s pair rtt", name, p.Remote), "getstats_rtt_ms", "ms", pair.CurrentRoundTripTime*1000)
		}
	}
}
