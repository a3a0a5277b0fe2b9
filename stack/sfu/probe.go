package sfu

import (
	"time"

	"github.com/pion/rtp"
)

// Probing: GCC never raises its estimate above 1.5 times the rate it sees
// acknowledged (interceptor/pkg/gcc rate controller), so a subscriber held
// on a low layer could never earn a higher one. When a higher layer is
// wanted, the SFU sends probe packets on the subscriber's video: if the
// path carries them, the acknowledged rate and so the estimate rise; if it
// does not, delay and loss grow, GCC reports overuse, and probing stops
// and backs off. A probe lasts until the layer is reached, the path
// congests, or probeLength passes: pion's GCC raises its estimate by about
// 8 % a second whatever the probe shows (it has no probe clusters), and
// the estimate falls back to 1.5 times the media rate as soon as the probe
// stops, so probing goes on while the selector holds before moving up.
const (
	probeLength  = 30 * time.Second
	probeBackoff = 5 * time.Second
	probePacket  = 1000 // bytes per probe packet
	maxProbeRate = 1_500_000
)

// probeState is one subscriber's probing (Serve loop only).
type probeState struct {
	until, next time.Time
	lastEst     int
}

// probe decides whether to probe for sub and queues this period's probe
// packets on its first simulcast track.
func (s *SFU) probe(sub *subscriber, est int, simul []*downTrack, now time.Time) {
	ps := &sub.probe
	if sub.pc.Congested() || (ps.lastEst > 0 && est < ps.lastEst*7/10) {
		// the path is full: stop and back off (a smaller fall is the
		// estimate following the media rate, not congestion)
		ps.until, ps.next = time.Time{}, now.Add(probeBackoff)
	}
	ps.lastEst = est
	if len(simul) == 0 {
		return
	}
	// How much more the higher layers need than what is sent now.
	var need float64
	for _, d := range simul {
		rates := d.pub.rates()
		top := len(rates) - 1
		for top > 0 && rates[top] == 0 {
			top--
		}
		cur := d.sel.layer
		if cur < 0 || cur >= top {
			continue
		}
		need += rates[top]*upHeadroom - rates[cur]
	}
	if need <= 0 {
		ps.until = time.Time{}
		return // every track at its top layer
	}
	if now.Before(ps.next) {
		return
	}
	if ps.until.IsZero() {
		ps.until = now.Add(probeLength)
	}
	if now.After(ps.until) {
		ps.until, ps.next = time.Time{}, now.Add(probeBackoff)
		return
	}
	n := int(min(need, maxProbeRate) * s.allocateEvery().Seconds() / 8 / probePacket)
	simul[0].pad(n, probePacket)
}

// pad queues n probe packets of size bytes for the subscriber's
// copy of the track; they are sent after the next packet that ends a
// frame (padding never lands inside a frame), so they follow the media's
// pace instead of leaving in one burst.
func (d *downTrack) pad(n, size int) {
	d.mu.Lock()
	d.padding, d.padSize = n, size
	// spread over the frames of one period (30 fps: about 6)
	d.padPerFrame = max(1, (n+5)/6)
	d.mu.Unlock()
}

// sendPadding sends the queued probe packets, numbered after the last
// packet sent. A probe packet has the padding bit set (RFC 3550 section
// 5.1) and carries zero bytes before its one padding byte: pion's GCC
// counts only payload bytes, so a padding-only packet would not raise the
// rate it sees. rtclab's receivers recognise the zeros and skip the packet
// (peer.IsPadding), and the SFU does not resend one a
// subscriber NACKs (stack/peer nack.go).
func (d *downTrack) sendPadding() {
	for sent := 0; ; sent++ {
		d.mu.Lock()
		if d.padding <= 0 || d.frameOpen || sent >= d.padPerFrame {
			d.mu.Unlock()
			return
		}
		d.padding--
		seq, ts, ok := d.mung.pad()
		size := d.padSize
		d.mu.Unlock()
		if !ok {
			return
		}
		_ = d.local.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, Padding: true, SequenceNumber: seq, Timestamp: ts, PaddingSize: 1},
			Payload: make([]byte, size),
		})
	}
}
