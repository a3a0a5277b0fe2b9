package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// LayerSwitch is one change of the simulcast layer a subscriber receives.
type LayerSwitch struct {
	// At is when the first packet of the new layer was forwarded.
	At time.Time
	// From and To are the layers' RIDs; From is "" for the first layer.
	From, To string
	// Index is the new layer's position, 0 for the lowest.
	Index int
	// Requested is when the selector asked for this layer (the switch
	// waits for a keyframe of it).
	Requested time.Time
}

// downTrack is one subscriber's copy of one published track: its own
// TrackLocalStaticRTP, so that each subscriber can receive a different
// layer with its own sequence numbers and timestamps.
type downTrack struct {
	pub    *published
	sub    *subscriber
	local  *boundTrack
	sender *webrtc.RTPSender
	sel    selector // Serve loop only

	mu          sync.Mutex
	current     int // layer forwarded now, -1 before the first keyframe
	target      int // layer wanted
	requestedAt time.Time
	mung        munger
	switches    []LayerSwitch
	// frameOpen is true after a packet without the marker bit: padding
	// must not land inside a frame.
	frameOpen bool
	// padding is the number of probe padding packets still to send, of
	// padSize bytes each.
	padding, padSize, padPerFrame int
}

func newDownTrack(pub *published, sub *subscriber, local *boundTrack, target int) *downTrack {
	return &downTrack{
		pub: pub, sub: sub, local: local, sel: newSelector(),
		current: -1, target: target, requestedAt: time.Now(),
		mung: munger{clockRate: pub.codec.ClockRate},
	}
}

// writeRTP forwards pkt of layer idx when it belongs to the layer being
// sent, switching to the target layer at its first keyframe packet. It
// reports whether the packet was forwarded.
func (d *downTrack) writeRTP(idx int, pkt *rtp.Packet, now time.Time) bool {
	if !d.local.bound.Load() || !d.sub.connected.Load() {
		// Not negotiated or not connected yet: pion would drop the packet,
		// and a keyframe forwarded now would be lost to the subscriber.
		return false
	}
	d.mu.Lock()
	if idx == d.target && d.target != d.current && keyframeStart(d.pub.codec.MimeType, pkt.Payload) {
		d.switches = append(d.switches, LayerSwitch{
			At: now, From: d.pub.rid(d.current), To: d.pub.rid(idx), Index: idx, Requested: d.requestedAt,
		})
		d.current = idx
		d.mung.switchTo(pkt.SequenceNumber, pkt.Timestamp, now)
	}
	if idx != d.current {
		d.mu.Unlock()
		return false
	}
	seq, ts, ok := d.mung.rewrite(pkt.SequenceNumber, pkt.Timestamp, now)
	if ok {
		d.frameOpen = !pkt.Marker
	}
	d.mu.Unlock()
	if !ok {
		return false
	}
	out := copyPacket(pkt)
	out.SequenceNumber, out.Timestamp = seq, ts
	err := d.local.WriteRTP(&out)
	if pkt.Marker {
		d.sendPadding()
	}
	return err == nil
}

// setTarget asks for layer i; it reports whether that is a change (the
// caller then requests a keyframe of layer i).
func (d *downTrack) setTarget(i int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.target == i {
		return false
	}
	d.target = i
	d.requestedAt = time.Now()
	return d.target != d.current
}

// waiting reports whether the downTrack waits for a keyframe of its
// target layer, and which.
func (d *downTrack) waiting() (int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.target, d.target != d.current
}

// DownTrack describes what one subscriber receives of one published track.
type DownTrack struct {
	// Publisher and Subscriber name the two ends.
	Publisher, Subscriber string
	// Kind is "audio" or "video".
	Kind string
	// Codec is the MIME type forwarded.
	Codec string
	// Layers lists the publisher's layers (RIDs), lowest first; one ""
	// when the track is not simulcast.
	Layers []string
	// Layer is the index of the layer forwarded now, -1 before the first.
	Layer int
	// Target is the index of the layer the SFU wants to forward.
	Target int
	// Switches lists every layer change, the first layer included.
	Switches []LayerSwitch
}

func (d *downTrack) info() DownTrack {
	d.pub.mu.RLock()
	layers := make([]string, len(d.pub.layers))
	for i, l := range d.pub.layers {
		layers[i] = l.rid
	}
	d.pub.mu.RUnlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	return DownTrack{
		Publisher: d.pub.publisher, Subscriber: d.sub.name, Kind: d.pub.kind.String(), Codec: d.pub.codec.MimeType,
		Layers: layers, Layer: d.current, Target: d.target, Switches: append([]LayerSwitch(nil), d.switches...),
	}
}

// boundTrack is a TrackLocalStaticRTP that knows whether a PeerConnection
// has bound it (negotiation finished), so the SFU starts a subscriber's
// stream with a keyframe it will actually receive.
type boundTrack struct {
	*webrtc.TrackLocalStaticRTP
	bound atomic.Bool
}

// Bind is called by pion when negotiation binds the track.
func (t *boundTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.TrackLocalStaticRTP.Bind(ctx)
	if err == nil {
		t.bound.Store(true)
	}
	return p, err
}

// Unbind is called by pion when the track is removed.
func (t *boundTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	t.bound.Store(false)
	return t.TrackLocalStaticRTP.Unbind(ctx)
}
