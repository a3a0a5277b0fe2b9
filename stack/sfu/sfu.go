package sfu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/transport/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/stack/peer"
	"github.com/rtclab/rtclab/stack/signaling"
)

// Name is the SFU's participant name in a signaling room.
const Name = "sfu"

// trackSetup is how long after a published track's first packet the SFU
// offers it to subscribers: 1 ms, and in virtual time an odd value that
// keeps it off the media clocks.
func (s *SFU) trackSetup() time.Duration { return phase.TrackSetup.For(s.p.Virtual) }

// renegotiateDelay is how long a subscriber's track changes wait for
// more before the SFU offers them (renegotiate).
func (s *SFU) renegotiateDelay() time.Duration { return phase.RenegotiateDelay.For(s.p.Virtual) }

// keyframeInterval is the least time between two PLIs sent to a publisher
// for one track.
const keyframeInterval = 500 * time.Millisecond

// Params declares an SFU.
type Params struct {
	// Net is the SFU host's network (required).
	Net transport.Net
	// SignalURL is the signaling server's WebSocket URL (required).
	SignalURL string
	// HTTPClient reaches the signaling server; nil means http.DefaultClient.
	HTTPClient *http.Client
	// ICEServers are given to every PeerConnection (usually none: the SFU
	// has a public address).
	ICEServers []webrtc.ICEServer
	// InitialBitrate is where each subscriber's bandwidth estimate
	// starts, in bits per second; 0 means peer.DefaultInitialBitrate.
	InitialBitrate int
	// Log receives what the SFU does; nil discards.
	Log *slog.Logger
	// KeyLog, when set, receives DTLS secrets (see peer.Params.KeyLog).
	KeyLog io.Writer
	// Virtual says the SFU runs in virtual time: its PeerConnections and
	// its own ticks take the values derived in package phase (see
	// peer.Params.Virtual).
	Virtual bool
	// OnEvent, when set, is told what happens to participants (kind,
	// participant or "" for the SFU itself, detail): "peer-failed",
	// "peer-removed", "signaling-lost". It is called from the Serve
	// goroutine.
	OnEvent func(kind, peer, detail string)
	// Rejoin, when set, reconnects to signaling when the connection is
	// lost and rejoins the room (rejoin.go); without it the SFU keeps
	// forwarding on the PeerConnections it has and negotiates nothing more.
	Rejoin bool
	// OnMedia, when set, sees every RTP packet the SFU read from a
	// publisher, decrypted, before forwarding it (publisher's name, codec
	// MIME type, packet): what an SFU that terminates DTLS-SRTP can read
	// (the runner's privacy section). It must not keep pkt.
	OnMedia func(publisher, mimeType string, pkt *rtp.Packet)
}

// Stats counts what the SFU did.
type Stats struct {
	// PacketsForwarded is the number of RTP packets written to subscribers'
	// tracks (each written once, fanned out by pion).
	PacketsForwarded uint64
	// PLIsForwarded is the number of keyframe requests sent to publishers.
	PLIsForwarded uint64
	// PLIsThrottled is the number of keyframe requests dropped by the
	// throttle.
	PLIsThrottled uint64
	// Offers and OfferBytes count the offers the SFU sent to subscribers
	// (renegotiations included) and their SDP bytes; Answers and
	// AnswerBytes the answers to participants' offers.
	Offers, OfferBytes, Answers, AnswerBytes uint64
}

// SFU serves one room.
type SFU struct {
	p      Params
	log    *slog.Logger
	sig    *signaling.Client
	room   string
	events chan func()
	// rejoined carries a new signaling connection to Serve (rejoin.go).
	rejoined chan *signaling.Client
	peers    map[string]*subscriber
	tracks   []*published
	wg       sync.WaitGroup
	stats    struct {
		fwd, pli, throttled                      atomic.Uint64
		offers, offerBytes, answers, answerBytes atomic.Uint64
	}
	// sigLost is set once the signaling connection is gone: established
	// PeerConnections keep forwarding, nothing more can be negotiated.
	sigLost bool
	// flushArmed is set while a flush of marked subscribers is due
	// (renegotiate).
	flushArmed bool

	mu           sync.Mutex
	pubs         map[string]*published // by publisher/track ID, all layers
	negotiations []Negotiation
	estimates    map[string]int      // bits per second, by subscriber
	pcs          map[string]*peer.PC // each peer's PeerConnection, for SendLog
	// payloads lets the legs' NACK responders keep one copy of a packet
	// forwarded to every subscriber (stack/peer responder.go).
	payloads *peer.PayloadShare
}

type subscriber struct {
	name string
	// http is "" for a participant that signals, or whipPeer/whepPeer for
	// one that came over HTTP (whip.go): no trickle, no renegotiation.
	http        string
	pc          *peer.PC
	negotiating bool
	pending     bool
	// dirty marks track changes not offered yet (renegotiate).
	dirty bool
	downs map[*published]*downTrack
	// caps lists the codecs (MIME types) the peer offered, per kind, in
	// its order of preference; nil until its first offer.
	caps map[string][]string
	// slots are a WHEP session's pre-negotiated m-lines (whep.go).
	slots []*whepSlot
	// connected is set while its PeerConnection is connected: packets
	// written before that are lost.
	connected atomic.Bool
	// probe is its bandwidth probing (Serve loop).
	probe probeState
}

// Join connects the SFU to room on the signaling server. Serve must then
// run until the call ends.
func Join(ctx context.Context, p Params, room string) (*SFU, error) {
	if p.Net == nil || p.SignalURL == "" {
		return nil, errors.New("sfu: Params.Net and SignalURL are required")
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sig, err := signaling.Dial(ctx, p.SignalURL, p.HTTPClient, room, Name)
	if err != nil {
		return nil, fmt.Errorf("sfu: %w", err)
	}
	return &SFU{
		p: p, log: log, sig: sig, room: room, events: make(chan func(), 64), rejoined: make(chan *signaling.Client, 1), peers: map[string]*subscriber{},
		pubs: map[string]*published{}, estimates: map[string]int{}, pcs: map[string]*peer.PC{},
		payloads: peer.NewPayloadShare(),
	}, nil
}

// Stats returns the SFU's counters.
func (s *SFU) Stats() Stats {
	return Stats{
		PacketsForwarded: s.stats.fwd.Load(), PLIsForwarded: s.stats.pli.Load(), PLIsThrottled: s.stats.throttled.Load(),
		Offers: s.stats.offers.Load(), OfferBytes: s.stats.offerBytes.Load(),
		Answers: s.stats.answers.Load(), AnswerBytes: s.stats.answerBytes.Load(),
	}
}

// Serve handles signaling until ctx ends, then closes every
// PeerConnection and waits for every goroutine it started. Losing the
// signaling connection does not end it: the PeerConnections already up
// keep forwarding until ctx ends (the error is returned then).
func (s *SFU) Serve(ctx context.Context) error {
	msgs := make(chan signaling.Message)
	readErr := make(chan error, 1)
	s.wg.Add(1)
	go s.read(ctx, s.sig, msgs, readErr)
	alloc := time.NewTicker(s.allocateEvery())
	defer alloc.Stop()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case now := <-alloc.C:
			s.allocate(now)
		case err = <-readErr:
			if ctx.Err() != nil {
				err = nil
				break loop
			}
			s.sigLost = true
			s.log.Warn("sfu: signaling lost; forwarding continues without renegotiation", "err", err)
			s.event("signaling-lost", "", err.Error())
			if s.p.Rejoin {
				s.wg.Add(1)
				go s.rejoin(ctx, msgs, readErr)
				err = nil
			}
		case sig := <-s.rejoined:
			s.swap(ctx, sig, msgs, readErr)
		case m := <-msgs:
			if e := s.handle(ctx, m); e != nil {
				s.log.Warn("sfu: signaling", "type", m.Type, "from", m.From, "err", e)
			}
		case f := <-s.events:
			f()
		}
	}
	_ = s.sig.Close()
	for _, sub := range s.peers {
		_ = sub.pc.Close()
	}
	// Drain events posted by callbacks while PCs were closing.
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	for {
		select {
		case <-s.events:
		case <-done:
			select {
			case sig := <-s.rejoined: // came back as the call ended
				_ = sig.Close()
			default:
			}
			return err
		}
	}
}

func (s *SFU) event(kind, peer, detail string) {
	if s.p.OnEvent != nil {
		s.p.OnEvent(kind, peer, detail)
	}
}

// post runs f on the Serve goroutine.
func (s *SFU) post(ctx context.Context, f func()) {
	select {
	case s.events <- f:
	case <-ctx.Done():
	}
}

func (s *SFU) handle(ctx context.Context, m signaling.Message) error {
	switch m.Type {
	case signaling.TypeOffer:
		return s.onOffer(ctx, m)
	case signaling.TypeAnswer:
		sub := s.peers[m.From]
		if sub == nil {
			return fmt.Errorf("answer from unknown peer")
		}
		if err := sub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return fmt.Errorf("set answer: %w", err)
		}
		if err := sub.pc.FlushCandidates(); err != nil {
			return err
		}
		if sub.connected.Load() {
			// The tracks this answer accepted start at a keyframe; asked
			// for at subscribe, it could come before the offer went out
			// (renegotiate holds it) and be lost.
			s.startDownTracks(sub)
		}
		sub.negotiating = false
		if sub.pending {
			sub.pending = false
			return s.negotiate(ctx, sub)
		}
	case signaling.TypeCandidate:
		sub := s.peers[m.From]
		if sub == nil {
			return fmt.Errorf("candidate from unknown peer")
		}
		var c webrtc.ICECandidateInit
		if err := json.Unmarshal(m.Candidate, &c); err != nil {
			return fmt.Errorf("candidate: %w", err)
		}
		return sub.pc.AddRemoteCandidate(c)
	case signaling.TypePeerLeft:
		if s.peers[m.Name] != nil {
			s.event("peer-removed", m.Name, "left signaling")
		}
		s.removePeer(ctx, m.Name)
	}
	return nil
}

func (s *SFU) onOffer(ctx context.Context, m signaling.Message) error {
	sub := s.peers[m.From]
	if sub == nil {
		var err error
		if sub, err = s.addPeer(ctx, m.From); err != nil {
			return err
		}
	}
	pc := sub.pc
	if pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		// Glare (RFC 8829 section 4.1.8.1): the SFU is the impolite end of
		// perfect negotiation; the client rolls its offer back and answers
		// ours, then offers again (stack/agent glare.go).
		s.event("glare", sub.name, "ignored its offer, ours is outstanding")
		return nil
	}
	if caps := offeredCodecs(m.SDP); sub.caps == nil || len(caps) > 0 {
		sub.caps = caps
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	if err := sub.pc.FlushCandidates(); err != nil {
		return err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w", err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("set answer: %w", err)
	}
	if err := s.sig.Send(ctx, signaling.Message{Type: signaling.TypeAnswer, To: sub.name, SDP: answer.SDP}); err != nil {
		return err
	}
	s.stats.answers.Add(1)
	s.stats.answerBytes.Add(uint64(len(answer.SDP)))
	// Tracks published before this peer arrived need an offer of our own.
	added := false
	for _, p := range s.tracks {
		if p.publisher != sub.name && sub.downs[p] == nil && !s.refused(p, sub) {
			ok, err := s.subscribe(ctx, sub, p)
			if err != nil {
				return err
			}
			added = added || ok
		}
	}
	if added {
		s.renegotiate(ctx, sub)
	}
	return nil
}

func (s *SFU) addPeer(ctx context.Context, name string) (*subscriber, error) {
	pc, err := peer.New(peer.Params{Net: s.p.Net, ICEServers: s.p.ICEServers, EstimateBandwidth: true, InitialBitrate: s.p.InitialBitrate, KeyLog: s.p.KeyLog, Virtual: s.p.Virtual, NoStats: true, PayloadShare: s.payloads})
	if err != nil {
		return nil, fmt.Errorf("sfu peer %s: %w", name, err)
	}
	sub := &subscriber{name: name, pc: pc, downs: map[*published]*downTrack{}}
	s.peers[name] = sub
	s.mu.Lock()
	s.pcs[name] = pc
	s.mu.Unlock()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil || sub.http != "" { // WHIP/WHEP: every candidate is in the answer
			return
		}
		data, err := json.Marshal(c.ToJSON())
		if err != nil {
			return
		}
		// Sent from the Serve loop, so never ahead of the offer or answer.
		s.post(ctx, func() {
			_ = s.sig.Send(ctx, signaling.Message{Type: signaling.TypeCandidate, To: name, Candidate: data})
		})
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("sfu: connection state", "peer", name, "state", st.String())
		sub.connected.Store(st == webrtc.PeerConnectionStateConnected)
		switch st {
		case webrtc.PeerConnectionStateConnected:
			s.post(ctx, func() { s.startDownTracks(sub) })
		case webrtc.PeerConnectionStateFailed:
			// Only this peer goes: its tracks leave the others' offers.
			s.post(ctx, func() {
				if s.peers[name] == sub {
					s.event("peer-failed", name, "PeerConnection failed (ICE or DTLS)")
					s.removePeer(ctx, name)
				}
			})
		}
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		s.wg.Add(1)
		go func() { // drained so the receiver's interceptors run
			defer s.wg.Done()
			rid := remote.RID()
			read := receiver.Read
			if rid != "" { // one reader per simulcast layer
				read = func(b []byte) (int, interceptor.Attributes, error) { return receiver.ReadSimulcast(b, rid) }
			}
			buf := make([]byte, peer.ReceiveMTU)
			for {
				if _, err := peer.ReadRTCP(read, buf); err != nil {
					return
				}
			}
		}()
		key := name + "/" + remote.ID()
		s.mu.Lock()
		p := s.pubs[key]
		first := p == nil
		if first {
			p = &published{publisher: name, pubPC: pc, id: remote.ID(), kind: remote.Kind(), codec: remote.Codec().RTPCodecCapability}
			s.pubs[key] = p
		}
		s.mu.Unlock()
		l := p.addLayer(remote.RID(), remote)
		s.wg.Add(1)
		go s.pump(p, l)
		if !first {
			return // a further simulcast layer of a track already offered
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// A track is offered to subscribers trackSetup after its first
			// packet, not in the same instant: in virtual time the whole
			// signaling round trip takes no time, so the subscriber's
			// binding would land exactly on a packet arrival, and which of
			// the two ran first (so the first packet forwarded) would vary.
			select {
			case <-time.After(s.trackSetup()):
				s.post(ctx, func() { s.publish(ctx, p) })
			case <-ctx.Done():
			}
		}()
	})
	return sub, nil
}

// publish adds a new published track to every other peer.
func (s *SFU) publish(ctx context.Context, p *published) {
	if s.peers[p.publisher] == nil {
		return // left meanwhile
	}
	s.tracks = append(s.tracks, p)
	s.log.Debug("sfu: track", "publisher", p.publisher, "kind", p.kind.String(), "codec", p.codec.MimeType)
	for _, name := range s.peerNames() {
		sub := s.peers[name]
		if sub.name == p.publisher || sub.http == whipPeer {
			continue // a WHIP publisher receives nothing
		}
		if sub.http == whepPeer { // no renegotiation: into a slot
			if err := s.fillSlot(sub, p); err != nil {
				s.log.Warn("sfu: whep slot", "peer", sub.name, "err", err)
			}
			continue
		}
		ok, err := s.subscribe(ctx, sub, p)
		if err != nil {
			s.log.Warn("sfu: subscribe", "peer", sub.name, "err", err)
			continue
		}
		if ok {
			s.renegotiate(ctx, sub)
		}
	}
}

// renegotiate marks sub's tracks changed; every marked subscriber gets
// one offer renegotiateDelay after the first change (flush), covering
// every change since (a browser coalesces the changes of one task into
// one negotiationneeded event, W3C WebRTC "update the negotiation-needed
// flag"; this stretches the task to a window). A join changes every
// subscriber's tracks twice (the newcomer's audio, then its video, about
// 20 ms later) and the participants of a room join within milliseconds
// of each other, each offer carrying an m-section per track of the room:
// offered at once, a 10-person room sent 180 offers (1.6 MB of SDP) and
// spent 6 % of its CPU in pion's SDP code.
func (s *SFU) renegotiate(ctx context.Context, sub *subscriber) {
	sub.dirty = true
	if s.flushArmed {
		return
	}
	s.flushArmed = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-time.After(s.renegotiateDelay()):
			s.post(ctx, func() { s.flush(ctx) })
		case <-ctx.Done():
		}
	}()
}

// flush offers every subscriber marked by renegotiate its changes, in
// name order (Serve goroutine).
func (s *SFU) flush(ctx context.Context) {
	s.flushArmed = false
	for _, name := range s.peerNames() {
		sub := s.peers[name]
		if !sub.dirty {
			continue
		}
		sub.dirty = false
		if err := s.negotiate(ctx, sub); err != nil {
			s.log.Warn("sfu: negotiate", "peer", sub.name, "err", err)
		}
	}
}

// peerNames returns the peers' names in a fixed order, so that what the
// SFU does for several peers in one instant happens in the same order on
// every run.
func (s *SFU) peerNames() []string {
	names := make([]string, 0, len(s.peers))
	for n := range s.peers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// subscribe gives sub its own copy of p, when sub can decode p's codec;
// it reports whether a track was added (then sub needs an offer).
func (s *SFU) subscribe(_ context.Context, sub *subscriber, p *published) (bool, error) {
	neg := Negotiation{Publisher: p.publisher, Subscriber: sub.name, Kind: p.kind.String(), Codec: p.codec.MimeType}
	if accepted, known := sub.caps[neg.Kind]; known && !containsFold(accepted, p.codec.MimeType) {
		neg.Reason = fmt.Sprintf("no common codec: %s publishes %s; %s accepts %s",
			p.publisher, p.codec.MimeType, sub.name, strings.Join(accepted, ", "))
		s.addNegotiation(neg)
		s.log.Debug("sfu: refused", "reason", neg.Reason)
		return false, nil
	}
	rtpTrack, err := webrtc.NewTrackLocalStaticRTP(p.codec, p.kind.String(), p.publisher)
	if err != nil {
		return false, fmt.Errorf("local track: %w", err)
	}
	local := &boundTrack{TrackLocalStaticRTP: rtpTrack}
	sender, err := sub.pc.AddTrack(local)
	if err != nil {
		return false, fmt.Errorf("add track: %w", err)
	}
	d := newDownTrack(p, sub, local, 0)
	d.sender = sender
	sub.downs[p] = d
	p.addDown(d)
	neg.OK = true
	s.addNegotiation(neg)
	s.wg.Add(1)
	go s.readFeedback(d)
	// Its keyframe is asked for once sub has the track: when sub answers
	// the offer that carries it (handle), or connects (startDownTracks).
	return true, nil
}

// startDownTracks asks for a keyframe of every video track sub waits for,
// once sub is connected: one asked for earlier would have been forwarded
// into a connection that could not carry it, and the throttle would hold
// back the next request.
func (s *SFU) startDownTracks(sub *subscriber) {
	for _, p := range s.tracks {
		d := sub.downs[p]
		if d == nil || p.kind != webrtc.RTPCodecTypeVideo {
			continue
		}
		if i, wait := d.waiting(); wait {
			s.requestKeyframe(p, i)
		}
	}
}

// refused reports whether sub was already refused p for want of a codec.
func (s *SFU) refused(p *published, sub *subscriber) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.negotiations {
		if n.Publisher == p.publisher && n.Subscriber == sub.name && n.Kind == p.kind.String() && !n.OK {
			return true
		}
	}
	return false
}

// negotiate sends an offer to sub now, or once the offer in flight is
// answered.
func (s *SFU) negotiate(ctx context.Context, sub *subscriber) error {
	if s.sigLost {
		return nil // nobody to send an offer to
	}
	if sub.negotiating || sub.pc.SignalingState() != webrtc.SignalingStateStable {
		sub.pending = true
		return nil
	}
	offer, err := sub.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	if err := sub.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	sub.negotiating = true
	s.stats.offers.Add(1)
	s.stats.offerBytes.Add(uint64(len(offer.SDP)))
	return s.sig.Send(ctx, signaling.Message{Type: signaling.TypeOffer, To: sub.name, SDP: offer.SDP})
}

func (s *SFU) removePeer(ctx context.Context, name string) {
	sub := s.peers[name]
	if sub == nil {
		return
	}
	delete(s.peers, name)
	for p, d := range sub.downs {
		p.removeDown(d)
	}
	_ = sub.pc.Close()
	kept := s.tracks[:0]
	var gone []*published
	for _, p := range s.tracks {
		if p.publisher == name {
			gone = append(gone, p)
		} else {
			kept = append(kept, p)
		}
	}
	s.tracks = kept
	s.mu.Lock()
	for k, p := range s.pubs {
		if p.publisher == name {
			delete(s.pubs, k)
		}
	}
	s.mu.Unlock()
	for _, oname := range s.peerNames() {
		other := s.peers[oname]
		changed := false
		for _, p := range gone {
			if d := other.downs[p]; d != nil && other.http == whepPeer {
				s.freeSlot(other, d) // its m-line stays, as negotiated
				delete(other.downs, p)
			} else if d != nil {
				if d.sender != nil {
					_ = other.pc.RemoveTrack(d.sender)
				}
				delete(other.downs, p)
				changed = true
			}
		}
		if changed {
			s.renegotiate(ctx, other)
		}
	}
}
