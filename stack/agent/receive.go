package agent

import (
	"strings"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/stack/clip"
)

// Frame is one frame the receiver reassembled from RTP.
type Frame struct {
	// At is when its last packet arrived (the frame became complete).
	At time.Time
	// Timestamp is its RTP timestamp.
	Timestamp uint32
	// Keyframe reports a frame that decodes on its own.
	Keyframe bool
	// Decodable is false for a frame whose references were lost: after a
	// lost frame nothing decodes until the next keyframe, as in a real
	// decoder. Only decodable frames are shown.
	Decodable bool
	// Size is the frame's encoded size in bytes.
	Size int
	// LostBefore counts packets given up on just before this frame.
	LostBefore int
	// Data is the encoded frame, kept only with Params.RecordMedia.
	Data []byte
}

// Frame assembly parameters.
const (
	// frameGiveUp is how long the receiver waits for a missing packet
	// (a retransmission) before it gives the frame up; 300 ms covers a
	// NACK round trip on any link in the scenario limits but the worst.
	frameGiveUp = 300 * time.Millisecond
)

// frameLog is what a Receiver reassembled (guarded by Receiver.mu).
type frameLog struct {
	mime      string
	clockRate uint32
	record    bool
	broken    bool // a reference was lost: wait for a keyframe
	started   bool
	frames    frameStore
	plis      []time.Time
	lastPLI   time.Time
}

func (f *frameLog) init(mime string, clockRate uint32, record bool) {
	f.mime, f.clockRate, f.record, f.broken = mime, clockRate, record, true
	f.frames.record = record
}

// depacketizer returns a constructor of the codec's depacketizer, or nil.
func depacketizer(mime string) func() rtp.Depacketizer {
	switch strings.ToLower(mime) {
	case "video/vp8":
		return func() rtp.Depacketizer { return &codecs.VP8Packet{} }
	case "video/vp9":
		return func() rtp.Depacketizer { return &codecs.VP9Packet{} }
	case "video/h264":
		return func() rtp.Depacketizer { return &codecs.H264Packet{} }
	case "video/av1":
		return func() rtp.Depacketizer { return &codecs.AV1Depacketizer{} }
	case "audio/opus":
		return func() rtp.Depacketizer { return &codecs.OpusPacket{} }
	}
	return nil
}

// receive reads one track: it counts sequence numbers (loss after repair),
// reassembles frames, and asks for a keyframe when the picture breaks.
func (a *Agent) receive(c *Conn, t *webrtc.TrackRemote, r *Receiver) {
	defer a.wg.Done()
	var asm *assembler
	var open *opener
	if a.p.E2EE != nil {
		var err error
		if open, err = newOpener(a.p.E2EE); err != nil {
			a.log.Warn("e2ee", "err", err)
			return
		}
	}
	if d := depacketizer(r.Codec); d != nil {
		asm = newAssembler(d, func(b []byte) bool { return clip.IsKeyframe(r.Codec, b) }, frameGiveUp)
	}
	// One read buffer for the track: pion's ReadRTP allocates a full MTU
	// per packet. Only what the assembler keeps is copied.
	buf := make([]byte, readBuffer)
	var scratch rtp.Packet
	for {
		n, attr, err := c.PC.Read(t, buf)
		if err != nil {
			return
		}
		pkt := &scratch
		var own []byte
		if asm != nil {
			// kept by the assembler until its frame is out; its
			// payload is copied into storage of the packet's own
			pkt = asm.packet()
			own = pkt.Payload[:0]
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			if asm != nil {
				pkt.Payload = own
				asm.recycle(pkt)
			}
			continue // not RTP: nothing to count
		}
		if asm != nil {
			pkt.Payload = append(own, pkt.Payload...)
			pkt.Extensions, pkt.CSRC = pkt.Extensions[:0], nil // only the payload is kept
		}
		now := time.Now()
		media := len(pkt.Payload)
		padding := isProbe(pkt)
		if padding {
			media = 0 // a bandwidth probe: counted as a packet, not as media
		}
		r.mu.Lock()
		r.seq.add(pkt.SequenceNumber, media)
		r.arrivals.Append(analysis.Packet{
			Seq: pkt.SequenceNumber, Timestamp: pkt.Timestamp, At: now, Size: len(pkt.Payload),
			RTX: attr != nil && attr.Get(webrtc.AttributeRtxSsrc) != nil, Padding: padding,
		})
		r.mu.Unlock()
		if asm == nil {
			continue
		}
		needKey := false
		for _, f := range asm.push(pkt, now) {
			data, sealed := f.data, false
			if open != nil {
				plain, err := open.open(r.Codec, f.data)
				if err != nil {
					r.mu.Lock()
					r.undecrypted++
					r.mu.Unlock()
					sealed = true
				} else {
					data = plain
				}
			}
			r.mu.Lock()
			if r.frames.add(now, f.timestamp, data, f.lostBefore, sealed) {
				needKey = true
			}
			r.mu.Unlock()
		}
		if needKey && r.Kind == "video" {
			a.requestKeyframe(c, r, now)
		}
	}
}

// readBuffer holds any packet pion delivers (its receive MTU is 1460).
const readBuffer = 1500

// add records one frame and reports whether the picture is broken (the
// receiver should ask for a keyframe). A sealed frame is one end-to-end
// encryption could not open: the decoder never gets it, so it and the
// frames that refer to it are not shown; a keyframe request would not
// help (the next keyframe would not open either), so none is asked for.
func (f *frameLog) add(at time.Time, ts uint32, data []byte, lostBefore int, sealed bool) bool {
	key := clip.IsKeyframe(f.mime, data)
	if lostBefore > 0 && f.started {
		f.broken = true
	}
	if key && !sealed {
		f.broken = false
	}
	f.started = true
	fr := Frame{At: at, Timestamp: ts, Keyframe: key, Decodable: !f.broken && !sealed, Size: len(data), LostBefore: lostBefore}
	if f.record {
		fr.Data = append([]byte(nil), data...)
	}
	f.frames.add(fr)
	if sealed {
		f.broken = true
		return false
	}
	return f.broken
}

// requestKeyframe sends a PLI (RFC 4585 section 6.3.1) for r, at most one
// per phase.PLIEvery (derived to stay off other clocks in virtual time).
func (a *Agent) requestKeyframe(c *Conn, r *Receiver, now time.Time) {
	r.mu.Lock()
	if !r.frames.lastPLI.IsZero() && now.Sub(r.frames.lastPLI) < phase.PLIEvery.For(a.p.Virtual) {
		r.mu.Unlock()
		return
	}
	r.frames.lastPLI = now
	r.frames.plis = append(r.frames.plis, now)
	r.mu.Unlock()
	if err := c.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: r.SSRC}}); err != nil {
		a.log.Debug("pli", "err", err)
	}
}

// Arrivals returns the arrival log: every packet the track delivered, in
// arrival order, retransmissions (RFC 4588, folded back to the original
// sequence number by pion) and padding marked. An error means the log
// could not be read back from its spill file.
func (r *Receiver) Arrivals() ([]analysis.Packet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.arrivals.Packets()
}

// ArrivalView is the arrival log as it is now, to be decoded later
// (analysis.PacketView): the runner's report reads one stream at a time.
func (r *Receiver) ArrivalView() analysis.PacketView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.arrivals.View()
}

// ShownWithin counts the decodable frames that became complete less than
// window (at most maxShownWindow) before now, without decoding the frame
// log (the runner samples frames per second of every stream ten times a
// second); started reports
// whether a frame has arrived at all.
func (r *Receiver) ShownWithin(now time.Time, window time.Duration) (shown int, started bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	frames := r.frames.frames.recent
	window = min(window, maxShownWindow)
	for i := len(frames) - 1; i >= 0 && now.Sub(frames[i].At) < window; i-- {
		if frames[i].Decodable {
			shown++
		}
	}
	return shown, r.frames.frames.n > 0
}

// Frames returns every frame reassembled so far, in order. An error means
// the log could not be read back from its spill file.
func (r *Receiver) Frames() ([]Frame, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames.frames.all()
}

// Undecrypted counts the frames end-to-end encryption could not open
// (Params.E2EE): another secret, a modified frame, a replay.
func (r *Receiver) Undecrypted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.undecrypted
}

// KeyframeRequests returns when the receiver sent each PLI.
func (r *Receiver) KeyframeRequests() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.frames.plis...)
}

// ClockRate returns the RTP clock rate of the received codec.
func (r *Receiver) ClockRate() uint32 { return r.frames.clockRate }
