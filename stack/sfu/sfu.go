package sfu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/transport/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/stack/peer"
	"github.com/rtclab/rtclab/stack/signaling"
)

// Name is the SFU's participant name in a signaling room.
const Name = "sfu"

// trackSetup is how long after a published track's first packet the SFU
// offers it to subscribers; an odd value keeps it off the media clocks.
const trackSetup = time.Millisecond + 123*time.Nanosecond

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
	// Log receives what the SFU does; nil discards.
	Log *slog.Logger
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
}

// SFU serves one room.
type SFU struct {
	p      Params
	log    *slog.Logger
	sig    *signaling.Client
	events chan func()
	peers  map[string]*subscriber
	tracks []*forward
	wg     sync.WaitGroup
	stats  struct{ fwd, pli, throttled atomic.Uint64 }
}

type subscriber struct {
	name        string
	pc          *peer.PC
	negotiating bool
	pending     bool
	senders     map[*forward]*webrtc.RTPSender
	// early holds candidates that overtook the remote description.
	early []webrtc.ICECandidateInit
}

// addCandidate adds a remote candidate now, or once the remote description
// is set.
func (sub *subscriber) addCandidate(c webrtc.ICECandidateInit) error {
	if sub.pc.RemoteDescription() == nil {
		sub.early = append(sub.early, c)
		return nil
	}
	return sub.pc.AddICECandidate(c)
}

func (sub *subscriber) flushCandidates() error {
	early := sub.early
	sub.early = nil
	for _, c := range early {
		if err := sub.pc.AddICECandidate(c); err != nil {
			return fmt.Errorf("early candidate: %w", err)
		}
	}
	return nil
}

// forward is one published track and its fan-out.
type forward struct {
	publisher string
	pubPC     *peer.PC
	remote    *webrtc.TrackRemote
	local     *webrtc.TrackLocalStaticRTP
	mu        sync.Mutex
	lastPLI   time.Time
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
	return &SFU{p: p, log: log, sig: sig, events: make(chan func(), 64), peers: map[string]*subscriber{}}, nil
}

// Stats returns the SFU's counters.
func (s *SFU) Stats() Stats {
	return Stats{PacketsForwarded: s.stats.fwd.Load(), PLIsForwarded: s.stats.pli.Load(), PLIsThrottled: s.stats.throttled.Load()}
}

// Serve handles signaling until ctx ends, then closes every
// PeerConnection and waits for every goroutine it started.
func (s *SFU) Serve(ctx context.Context) error {
	msgs := make(chan signaling.Message)
	readErr := make(chan error, 1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			m, err := s.sig.Recv(ctx)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-readErr:
			if ctx.Err() != nil {
				err = nil
			}
			break loop
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
			return err
		}
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
		if err := sub.flushCandidates(); err != nil {
			return err
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
		return sub.addCandidate(c)
	case signaling.TypePeerLeft:
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
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	if err := sub.flushCandidates(); err != nil {
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
	// Tracks published before this peer arrived need an offer of our own.
	added := false
	for _, f := range s.tracks {
		if f.publisher != sub.name && sub.senders[f] == nil {
			if err := s.subscribe(ctx, sub, f); err != nil {
				return err
			}
			added = true
		}
	}
	if added {
		return s.negotiate(ctx, sub)
	}
	return nil
}

func (s *SFU) addPeer(ctx context.Context, name string) (*subscriber, error) {
	pc, err := peer.New(peer.Params{Net: s.p.Net, ICEServers: s.p.ICEServers})
	if err != nil {
		return nil, fmt.Errorf("sfu peer %s: %w", name, err)
	}
	sub := &subscriber{name: name, pc: pc, senders: map[*forward]*webrtc.RTPSender{}}
	s.peers[name] = sub
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
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
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		s.wg.Add(1)
		go func() { // drained so the receiver's interceptors run
			defer s.wg.Done()
			for {
				if _, _, err := receiver.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, remote.Kind().String(), name)
		if err != nil {
			s.log.Warn("sfu: local track", "err", err)
			return
		}
		f := &forward{publisher: name, pubPC: pc, remote: remote, local: local}
		s.wg.Add(2)
		go s.pump(f)
		go func() {
			defer s.wg.Done()
			// A track is offered to subscribers trackSetup after its first
			// packet, not in the same instant: in virtual time the whole
			// signaling round trip takes no time, so the subscriber's
			// binding would land exactly on a packet arrival, and which of
			// the two ran first (so the first packet forwarded) would vary.
			select {
			case <-time.After(trackSetup):
				s.post(ctx, func() { s.publish(ctx, f) })
			case <-ctx.Done():
			}
		}()
	})
	return sub, nil
}

// publish adds a new published track to every other peer.
func (s *SFU) publish(ctx context.Context, f *forward) {
	if s.peers[f.publisher] == nil {
		return // left meanwhile
	}
	s.tracks = append(s.tracks, f)
	s.log.Debug("sfu: track", "publisher", f.publisher, "kind", f.remote.Kind().String(), "codec", f.remote.Codec().MimeType)
	for _, sub := range s.peers {
		if sub.name == f.publisher {
			continue
		}
		if err := s.subscribe(ctx, sub, f); err != nil {
			s.log.Warn("sfu: subscribe", "peer", sub.name, "err", err)
			continue
		}
		if err := s.negotiate(ctx, sub); err != nil {
			s.log.Warn("sfu: negotiate", "peer", sub.name, "err", err)
		}
	}
}

func (s *SFU) subscribe(_ context.Context, sub *subscriber, f *forward) error {
	sender, err := sub.pc.AddTrack(f.local)
	if err != nil {
		return fmt.Errorf("add track: %w", err)
	}
	sub.senders[f] = sender
	s.wg.Add(1)
	go s.readFeedback(sender, f)
	return nil
}

// negotiate sends an offer to sub now, or once the offer in flight is
// answered.
func (s *SFU) negotiate(ctx context.Context, sub *subscriber) error {
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
	return s.sig.Send(ctx, signaling.Message{Type: signaling.TypeOffer, To: sub.name, SDP: offer.SDP})
}

func (s *SFU) removePeer(ctx context.Context, name string) {
	sub := s.peers[name]
	if sub == nil {
		return
	}
	delete(s.peers, name)
	_ = sub.pc.Close()
	kept := s.tracks[:0]
	var gone []*forward
	for _, f := range s.tracks {
		if f.publisher == name {
			gone = append(gone, f)
		} else {
			kept = append(kept, f)
		}
	}
	s.tracks = kept
	for _, other := range s.peers {
		changed := false
		for _, f := range gone {
			if sender := other.senders[f]; sender != nil {
				_ = other.pc.RemoveTrack(sender)
				delete(other.senders, f)
				changed = true
			}
		}
		if changed {
			if err := s.negotiate(ctx, other); err != nil {
				s.log.Warn("sfu: negotiate", "peer", other.name, "err", err)
			}
		}
	}
}

// pump copies the publisher's RTP to the fan-out track until the track ends.
func (s *SFU) pump(f *forward) {
	defer s.wg.Done()
	for {
		pkt, _, err := f.remote.ReadRTP()
		if err != nil {
			return
		}
		if err := f.local.WriteRTP(pkt); err == nil {
			s.stats.fwd.Add(1)
		}
	}
}

// readFeedback drains a subscriber's RTCP for one track (pion needs it read
// for its interceptors to run) and sends keyframe requests on.
func (s *SFU) readFeedback(sender *webrtc.RTPSender, f *forward) {
	defer s.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.requestKeyframe(f)
			}
		}
	}
}

func (s *SFU) requestKeyframe(f *forward) {
	f.mu.Lock()
	now := time.Now()
	if !f.lastPLI.IsZero() && now.Sub(f.lastPLI) < keyframeInterval {
		f.mu.Unlock()
		s.stats.throttled.Add(1)
		return
	}
	f.lastPLI = now
	f.mu.Unlock()
	if err := f.pubPC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(f.remote.SSRC())}}); err == nil {
		s.stats.pli.Add(1)
	}
}
