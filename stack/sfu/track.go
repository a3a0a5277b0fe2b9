package sfu

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/stack/peer"
)

// published is one track a participant publishes: one layer, or several
// simulcast layers (one RTP stream each, told apart by RID, RFC 8852).
type published struct {
	publisher string
	pubPC     *peer.PC
	id        string
	kind      webrtc.RTPCodecType
	codec     webrtc.RTPCodecCapability

	mu     sync.RWMutex
	layers []*layer     // lowest first
	downs  []*downTrack // copied on removal, so readers may keep a snapshot
}

// layer is one received RTP stream of a published track.
type layer struct {
	rid    string
	remote *webrtc.TrackRemote
	ssrc   uint32
	bytes  atomic.Uint64
	// rate is the layer's measured bitrate in bits per second (Serve loop).
	rate     float64
	lastSeen uint64

	plMu    sync.Mutex
	lastPLI time.Time
}

// ridRank orders simulcast layers from lowest to highest by the RIDs
// browsers and rtclab agents use ("q"uarter, "h"alf, "f"ull; RFC 8853
// leaves the names to the application).
func ridRank(rid string) int {
	switch rid {
	case "q", "l", "low":
		return 0
	case "h", "m", "mid":
		return 1
	case "f", "high":
		return 2
	}
	return 3
}

// addLayer inserts a layer in rank order and returns it.
func (p *published) addLayer(rid string, remote *webrtc.TrackRemote) *layer {
	l := &layer{rid: rid, remote: remote, ssrc: uint32(remote.SSRC())}
	p.mu.Lock()
	p.layers = append(p.layers, l)
	sort.SliceStable(p.layers, func(i, j int) bool { return ridRank(p.layers[i].rid) < ridRank(p.layers[j].rid) })
	p.mu.Unlock()
	return l
}

// layerIndex returns l's index, or -1.
func (p *published) layerIndex(l *layer) int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for i, x := range p.layers {
		if x == l {
			return i
		}
	}
	return -1
}

// simulcast reports whether the track has more than one layer.
func (p *published) simulcast() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.layers) > 1
}

// rates returns every layer's measured bitrate, lowest layer first.
func (p *published) rates() []float64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]float64, len(p.layers))
	for i, l := range p.layers {
		out[i] = l.rate
	}
	return out
}

func (p *published) rid(i int) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if i < 0 || i >= len(p.layers) {
		return ""
	}
	return p.layers[i].rid
}

func (p *published) addDown(d *downTrack) {
	p.mu.Lock()
	p.downs = append(p.downs, d)
	p.mu.Unlock()
}

func (p *published) removeDown(d *downTrack) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.downs {
		if x == d {
			// A new slice: pump reads p.downs without copying it.
			p.downs = slices.Delete(slices.Clone(p.downs), i, i+1)
			return
		}
	}
}

// pump reads one layer and hands every packet to every subscriber's
// downTrack until the layer ends. It reads every packet into the same
// storage: nothing below keeps a packet once its write returns (each
// downTrack writes a copy of the header, pion's interceptors copy what
// they keep, egress copies what it queues).
func (s *SFU) pump(p *published, l *layer) {
	defer s.wg.Done()
	buf := make([]byte, peer.ReceiveMTU)
	var scratch rtp.Packet
	for {
		pkt := &scratch
		if _, err := p.pubPC.ReadRTPInto(l.remote, buf, pkt); err != nil {
			return
		}
		l.bytes.Add(uint64(len(pkt.Payload)))
		if s.p.OnMedia != nil {
			s.p.OnMedia(p.publisher, p.codec.MimeType, pkt)
		}
		now := time.Now()
		idx := p.layerIndex(l)
		p.mu.RLock()
		downs := p.downs // never changed in place (addDown, removeDown)
		p.mu.RUnlock()
		for _, d := range downs {
			if d.writeRTP(idx, pkt, now) {
				s.stats.fwd.Add(1)
			}
		}
	}
}

// requestKeyframe sends a PLI (RFC 4585 section 6.3.1) for layer i to the
// publisher, at most one per keyframeInterval per layer, whoever asks:
// subscribers' PLIs and FIRs, layer switches and new subscribers all come
// here, so a room full of subscribers cannot flood the publisher.
func (s *SFU) requestKeyframe(p *published, i int) {
	p.mu.RLock()
	if i < 0 || i >= len(p.layers) {
		p.mu.RUnlock()
		return
	}
	l := p.layers[i]
	p.mu.RUnlock()
	l.plMu.Lock()
	now := time.Now()
	if !l.lastPLI.IsZero() && now.Sub(l.lastPLI) < keyframeInterval {
		l.plMu.Unlock()
		s.stats.throttled.Add(1)
		return
	}
	l.lastPLI = now
	l.plMu.Unlock()
	if err := p.pubPC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}}); err == nil {
		s.stats.pli.Add(1)
	}
}

// copyPacket returns a packet the caller may change: a header of its own
// without the publisher's header extensions (their IDs were negotiated
// with the publisher, not the subscriber), sharing the payload. It is a
// value: pion's TrackLocalStaticRTP.WriteRTP copies what it writes into
// a packet of its own pool, so the copy need not live on the heap (one
// allocation per forwarded packet).
func copyPacket(pkt *rtp.Packet) rtp.Packet {
	h := pkt.Header
	h.Extension = false
	h.Extensions = nil
	h.ExtensionProfile = 0
	h.CSRC = append([]uint32(nil), pkt.CSRC...)
	return rtp.Packet{Header: h, Payload: pkt.Payload}
}
