package sfu

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// WHEP slots: how a WHEP session receives tracks published after it was
// made. WHEP (draft-ietf-wish-whep) has no offer from the server and no
// server-initiated renegotiation: the session's SDP is the viewer's offer
// and the SFU's answer, once. So the viewer reserves what it may watch in
// its offer: each recvonly m-line it offers is a slot, which the SFU
// answers sendonly with a placeholder track (its SSRC and codec are then
// negotiated) and fills with a publisher's track when one is published,
// by RTCRtpSender.replaceTrack on the pre-negotiated m-line (as several
// WHEP servers do). A track that finds no
// free slot of its kind is refused with a Negotiation saying so; a slot
// whose publisher leaves takes the placeholder back and is free again.
// The answer names a slot's stream "-" (no stream, RFC 8830 section 2)
// until it is filled: the viewer learns nothing of who fills it.

// slotStream is a placeholder's stream ID (RFC 8830 section 2: "-" is no
// MediaStream).
const slotStream = "-"

// whepSlot is one pre-negotiated sendonly m-line of a WHEP session.
type whepSlot struct {
	kind        webrtc.RTPCodecType
	sender      *webrtc.RTPSender
	placeholder *boundTrack
	// down is the track forwarded into the slot, nil while it is free.
	down atomic.Pointer[downTrack]
	// mung is the numbering of the last track forwarded into the slot:
	// the next continues it, as a simulcast layer switch does, so that
	// the viewer sees one RTP stream on the slot's SSRC (Serve loop).
	mung munger
}

// addSlots answers each m-line of sub's WHEP offer with a sendonly
// placeholder track, then fills the slots with what is published now (a
// replaced track goes into the answer under its publisher's stream). It
// runs after the offer is applied and before the answer is made.
func (s *SFU) addSlots(sub *subscriber) error {
	free := map[webrtc.RTPCodecType]int{}
	for _, t := range sub.pc.GetTransceivers() {
		// pion answers the viewer's recvonly m-line with a sendonly
		// transceiver that has no sender yet.
		if t.Sender() == nil && t.Direction() == webrtc.RTPTransceiverDirectionSendonly {
			free[t.Kind()]++
		}
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		codecs := sub.caps[kind.String()]
		for i := 0; i < free[kind] && len(codecs) > 0; i++ {
			t, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: codecs[0]},
				fmt.Sprintf("slot-%s-%d", kind, i), slotStream)
			if err != nil {
				return fmt.Errorf("placeholder track: %w", err)
			}
			ph := &boundTrack{TrackLocalStaticRTP: t}
			sender, err := sub.pc.AddTrack(ph)
			if err != nil {
				return fmt.Errorf("placeholder track: %w", err)
			}
			sl := &whepSlot{kind: kind, sender: sender, placeholder: ph}
			sub.slots = append(sub.slots, sl)
			s.wg.Add(1)
			go s.readSlotFeedback(sl)
		}
	}
	for _, p := range s.tracks {
		if err := s.fillSlot(sub, p); err != nil {
			return err
		}
	}
	return nil
}

// fillSlot forwards p into a free slot of its kind in sub's session, or
// records why not.
func (s *SFU) fillSlot(sub *subscriber, p *published) error {
	if !s.accepts(sub, p) {
		return nil
	}
	var sl *whepSlot
	for _, x := range sub.slots {
		if x.kind == p.kind && x.down.Load() == nil {
			sl = x
			break
		}
	}
	if sl == nil {
		s.refuseNoSlot(sub, p)
		return nil
	}
	t, err := webrtc.NewTrackLocalStaticRTP(p.codec, p.kind.String(), p.publisher)
	if err != nil {
		return fmt.Errorf("local track: %w", err)
	}
	local := &boundTrack{TrackLocalStaticRTP: t}
	if err := sl.sender.ReplaceTrack(local); err != nil {
		return fmt.Errorf("fill %s's %s slot with %s: %w", sub.name, p.kind, p.publisher, err)
	}
	d := newDownTrack(p, sub, local, 0)
	if sl.mung.started {
		d.mung = sl.mung
		d.mung.clockRate = p.codec.ClockRate
	}
	d.sender = sl.sender
	sub.downs[p] = d
	p.addDown(d)
	sl.down.Store(d)
	s.addNegotiation(Negotiation{Publisher: p.publisher, Subscriber: sub.name, Kind: p.kind.String(), Codec: p.codec.MimeType, OK: true})
	s.event("whep-slot", sub.name, fmt.Sprintf("%s %s from %s", p.kind, p.codec.MimeType, p.publisher))
	if sub.connected.Load() && p.kind == webrtc.RTPCodecTypeVideo {
		s.requestKeyframe(p, 0)
	}
	return nil
}

// SlotSource returns the publisher whose track fills subscriber's WHEP
// slot with SSRC ssrc now, and false when the slot is free, unknown, or
// ctx ends first. The viewer's session description cannot say (the
// answer named the slot's stream "-"); the lab's report asks here, when
// the slot's first packet arrives, so that the stream is credited to its
// publisher as a slot filled at the answer is. A slot that another
// publisher fills later keeps the SSRC, so it keeps the first name.
func (s *SFU) SlotSource(ctx context.Context, subscriber string, ssrc uint32) (string, bool) {
	type answer struct {
		name string
		ok   bool
	}
	done := make(chan answer, 1)
	s.post(ctx, func() {
		if sub := s.peers[subscriber]; sub != nil {
			for _, sl := range sub.slots {
				enc := sl.sender.GetParameters().Encodings
				if d := sl.down.Load(); d != nil && len(enc) > 0 && uint32(enc[0].SSRC) == ssrc {
					done <- answer{d.pub.publisher, true}
					return
				}
			}
		}
		done <- answer{}
	})
	select {
	case a := <-done:
		return a.name, a.ok
	case <-ctx.Done():
		return "", false
	}
}

// freeSlot takes the placeholder back into the slot d was forwarded to.
func (s *SFU) freeSlot(sub *subscriber, d *downTrack) {
	for _, sl := range sub.slots {
		if sl.down.Load() != d {
			continue
		}
		sl.down.Store(nil)
		d.mu.Lock()
		sl.mung = d.mung
		d.mu.Unlock()
		if err := sl.sender.ReplaceTrack(sl.placeholder); err != nil {
			s.log.Warn("sfu: free slot", "peer", sub.name, "err", err)
		}
		s.event("whep-slot", sub.name, fmt.Sprintf("%s freed by %s", sl.kind, d.pub.publisher))
		return
	}
}

// readSlotFeedback drains a placeholder slot's RTCP and sends keyframe
// requests to the publisher forwarded into it at the time.
func (s *SFU) readSlotFeedback(sl *whepSlot) {
	defer s.wg.Done()
	for {
		pkts, _, err := sl.sender.ReadRTCP()
		if err != nil {
			return
		}
		d := sl.down.Load()
		if d == nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				i, _ := d.waiting()
				s.requestKeyframe(d.pub, i)
			}
		}
	}
}

// refuseNoSlot records that p found no free slot in sub's session.
func (s *SFU) refuseNoSlot(sub *subscriber, p *published) {
	n := 0
	for _, sl := range sub.slots {
		if sl.kind == p.kind {
			n++
		}
	}
	reason := fmt.Sprintf("no free %s slot: %s's WHEP offer reserved %d %s m-line(s), all in use", p.kind, sub.name, n, p.kind)
	s.addNegotiation(Negotiation{Publisher: p.publisher, Subscriber: sub.name, Kind: p.kind.String(), Codec: p.codec.MimeType, Reason: reason})
	s.event("whep-slot", sub.name, "refused "+p.publisher+"'s "+p.kind.String()+": "+reason)
}

// accepts reports whether sub offered p's codec, and records the
// refusal when it did not.
func (s *SFU) accepts(sub *subscriber, p *published) bool {
	accepted, known := sub.caps[p.kind.String()]
	if !known || containsFold(accepted, p.codec.MimeType) {
		return true
	}
	reason := fmt.Sprintf("no common codec: %s publishes %s; %s accepts %s",
		p.publisher, p.codec.MimeType, sub.name, strings.Join(accepted, ", "))
	s.addNegotiation(Negotiation{Publisher: p.publisher, Subscriber: sub.name, Kind: p.kind.String(), Codec: p.codec.MimeType, Reason: reason})
	return false
}
