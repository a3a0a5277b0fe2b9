package agent

import (
	"time"

	"github.com/pion/rtp"

	"github.com/rtclab/rtclab/seqnum"
	"github.com/rtclab/rtclab/stack/peer"
)

// assembled is one frame the assembler hands out.
type assembled struct {
	timestamp uint32
	data      []byte
	// lostBefore counts packets given up on since the previous frame.
	lostBefore int
}

// assembler rebuilds frames from RTP packets the way a receiver's jitter
// buffer does, standing in for pion's samplebuilder, which cannot do the
// one thing a real receiver must: start again at a keyframe.
//
// A frame is the packets from a partition head to a partition tail (for
// video, the marker bit, RFC 3550 section 5.1; every audio packet is a
// frame). Frames come out in sequence-number order once complete. A
// missing packet holds later frames back (it may still be repaired by
// retransmission) until either a complete keyframe arrives after it — the
// receiver then jumps to that keyframe, dropping what lies between — or it
// has been missing for giveUp, when the receiver skips to the next frame
// start and reports the loss, so its decoder knows the picture broke.
type assembler struct {
	newDepacketizer func() rtp.Depacketizer
	// probe answers IsPartitionHead and IsPartitionTail, which look at
	// one packet only; each frame's Unmarshal gets a depacketizer of its
	// own (H.264's and AV1's keep fragments between calls).
	probe      rtp.Depacketizer
	isKeyframe func([]byte) bool
	giveUp     time.Duration

	started   bool
	emitted   bool
	unwrapper seqnum.Unwrapper
	next      int64 // first sequence number not yet consumed
	highest   int64
	pkts      map[int64]*rtp.Packet
	// gapSince is when the packet at next was first found missing.
	gapSince time.Time
	lost     int

	// free holds packets done with, for packet to hand out again with
	// their payload storage; frames and keyData are reused storage of
	// the frames pop hands out and of keyframeAfter's trial frame.
	free    []*rtp.Packet
	frames  []byte
	keyData []byte
}

func newAssembler(newDepacketizer func() rtp.Depacketizer, isKeyframe func([]byte) bool, giveUp time.Duration) *assembler {
	return &assembler{newDepacketizer: newDepacketizer, probe: newDepacketizer(), isKeyframe: isKeyframe, giveUp: giveUp, pkts: map[int64]*rtp.Packet{}}
}

// maxFree bounds the packets kept for reuse.
const maxFree = 256

// packet returns a packet for the caller to fill and push: one the
// assembler is done with (its Payload, emptied, is storage to reuse), or
// a new one.
func (a *assembler) packet() *rtp.Packet {
	if n := len(a.free); n > 0 {
		p := a.free[n-1]
		a.free[n-1] = nil
		a.free = a.free[:n-1]
		p.Payload = p.Payload[:0]
		return p
	}
	return &rtp.Packet{}
}

// recycle takes back a packet nothing refers to any more.
func (a *assembler) recycle(p *rtp.Packet) {
	if len(a.free) < maxFree {
		a.free = append(a.free, p)
	}
}

// maxBuffered bounds the packets held while a gap is open.
const maxBuffered = 4096

// push adds a packet that arrived at now and returns the frames it
// completes, in order. The assembler owns p from now on; the frames'
// data is valid until the next push.
func (a *assembler) push(p *rtp.Packet, now time.Time) []assembled {
	seq := a.unwrapper.Unwrap(p.SequenceNumber)
	if !a.started {
		a.started = true
		a.next, a.highest = seq, seq
	}
	if seq < a.next {
		if a.emitted {
			a.recycle(p)
			return a.pop(now) // late duplicate or too late
		}
		a.next = seq // reordered before the first frame came out
	}
	if _, dup := a.pkts[seq]; !dup {
		a.pkts[seq] = p
	} else {
		a.recycle(p)
	}
	a.highest = max(a.highest, seq)
	return a.pop(now)
}

// pop hands out every frame that can be handed out now.
func (a *assembler) pop(now time.Time) []assembled {
	var out []assembled
	a.frames = a.frames[:0]
	for a.next <= a.highest {
		p, ok := a.pkts[a.next]
		if ok && (len(p.Payload) == 0 || isProbe(p)) {
			// padding only, or an SFU's bandwidth probe: no media, no loss
			delete(a.pkts, a.next)
			a.recycle(p)
			a.next++
			a.gapSince = time.Time{}
			continue
		}
		head := ok && a.probe.IsPartitionHead(p.Payload)
		if head {
			end, complete := a.frameEnd(a.next)
			if complete {
				f := assembled{timestamp: p.Timestamp, lostBefore: a.lost}
				d := a.newDepacketizer()
				from := len(a.frames)
				for s := a.next; s <= end; s++ {
					q := a.pkts[s]
					if payload, err := d.Unmarshal(q.Payload); err == nil {
						a.frames = append(a.frames, payload...)
					}
					delete(a.pkts, s)
					a.recycle(q)
				}
				// Frames of one pop share a.frames; one that grew it
				// keeps the earlier storage, which stays valid.
				f.data = a.frames[from:len(a.frames):len(a.frames)]
				a.lost, a.next, a.gapSince, a.emitted = 0, end+1, time.Time{}, true
				out = append(out, f)
				continue
			}
			if end < 0 && a.firstMissing(a.next) > a.highest {
				break // every packet so far is here; the tail is still to come
			}
		}
		// A packet is missing at or inside the frame at next, or next is
		// not a frame's start: jump to a complete keyframe after it, give
		// up on it, or wait for a retransmission.
		if k, ok := a.keyframeAfter(a.next + 1); ok {
			a.skipTo(k)
			continue
		}
		if a.gapSince.IsZero() {
			a.gapSince = now
		}
		if now.Sub(a.gapSince) < a.giveUp && len(a.pkts) < maxBuffered {
			break
		}
		if ok && !head {
			a.skipTo(a.nextHead(a.next + 1)) // the rest of a frame whose start was lost
			continue
		}
		a.skipTo(a.nextHead(a.firstMissing(a.next) + 1))
	}
	return out
}

// frameEnd returns the sequence number of the tail of the frame starting
// at head, and whether every packet in between is here. end is -1 when no
// tail has arrived yet.
func (a *assembler) frameEnd(head int64) (end int64, complete bool) {
	complete = true
	for s := head; s <= a.highest; s++ {
		p, ok := a.pkts[s]
		if !ok {
			complete = false
			continue
		}
		if s > head && p.Timestamp != a.pkts[head].Timestamp {
			// the next frame started: this one's tail was lost
			return s - 1, false
		}
		if a.probe.IsPartitionTail(p.Marker, p.Payload) {
			return s, complete
		}
	}
	return -1, false
}

func (a *assembler) firstMissing(from int64) int64 {
	for s := from; s <= a.highest; s++ {
		if _, ok := a.pkts[s]; !ok {
			return s
		}
	}
	return a.highest + 1
}

// keyframeAfter finds a complete keyframe starting after from.
func (a *assembler) keyframeAfter(from int64) (int64, bool) {
	for s := from; s <= a.highest; s++ {
		p, ok := a.pkts[s]
		if !ok || !a.probe.IsPartitionHead(p.Payload) {
			continue
		}
		end, complete := a.frameEnd(s)
		if !complete || end < 0 {
			continue
		}
		d := a.newDepacketizer()
		data := a.keyData[:0]
		for i := s; i <= end; i++ {
			if payload, err := d.Unmarshal(a.pkts[i].Payload); err == nil {
				data = append(data, payload...)
			}
		}
		a.keyData = data
		if a.isKeyframe(data) {
			return s, true
		}
	}
	return 0, false
}

// nextHead is the first buffered partition head at or after from, or
// highest+1.
func (a *assembler) nextHead(from int64) int64 {
	for s := from; s <= a.highest; s++ {
		if p, ok := a.pkts[s]; ok && a.probe.IsPartitionHead(p.Payload) {
			return s
		}
	}
	return a.highest + 1
}

// skipTo gives up every packet before to, counting the missing ones as
// lost.
func (a *assembler) skipTo(to int64) {
	for s := a.next; s < to; s++ {
		if p, ok := a.pkts[s]; ok {
			delete(a.pkts, s)
			a.recycle(p)
		}
		a.lost++
	}
	a.next = to
	a.gapSince = time.Time{}
}

// isProbe reports an SFU bandwidth probe (stack/sfu probe.go): a packet
// of padding only.
func isProbe(p *rtp.Packet) bool { return peer.IsPadding(&p.Header, p.Payload) }
