package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pion/transport/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/peer"
	"github.com/rtclab/rtclab/stack/signaling"
)

// Topologies.
const (
	TopologySFU = "sfu"
	TopologyP2P = "p2p"
)

// Params declares an agent.
type Params struct {
	// Name is the participant's name in the room (required).
	Name string
	// Room to join (required).
	Room string
	// Topology is TopologySFU or TopologyP2P.
	Topology string
	// SFUName is the SFU's participant name (TopologySFU).
	SFUName string
	// Net is the host's network (required).
	Net transport.Net
	// SignalURL and HTTPClient reach the signaling server.
	SignalURL  string
	HTTPClient *http.Client
	// WHEPSlots is how many tracks of each kind a WHEP viewer (StartHTTP)
	// reserves in its offer: recvonly m-lines the SFU fills as
	// publishers come (whip.go); 0 means 1.
	WHEPSlots int
	// SlotSource, when set, names the publisher of a track the session
	// description left unnamed (stream "-": a WHEP slot the SFU filled
	// after its answer), asked with the track's SSRC when its first
	// packet arrives; "" or nil leaves the track the SFU's. The lab
	// asks its embedded SFU (sfu.SFU.SlotSource).
	SlotSource func(ssrc uint32) string
	// ICEServers and RelayOnly configure ICE.
	ICEServers []webrtc.ICEServer
	RelayOnly  bool
	// MDNS hides the agent's host candidates behind .local names
	// (draft-ietf-rtcweb-mdns-ice-candidates), one per PeerConnection
	// (peer.Params.MDNSName).
	MDNS bool
	// Publish lists the clips to send, one track each.
	Publish []*clip.Clip
	// Simulcast, when set, is one more video track sent as simulcast
	// (RFC 8853): one clip per layer, lowest first, sent with the RIDs
	// SimulcastRIDs.
	Simulcast []*clip.Clip
	// Codecs, when set, limits the codecs the agent offers and accepts to
	// these names (peer.Codecs), in order of preference.
	Codecs []string
	// RecordMedia keeps every received frame's bytes, for WriteFrames.
	RecordMedia bool
	// Until, when set, is when publishing stops: no frame due at or after
	// it is sent, so every run with the same timeline sends the same frames.
	Until time.Time
	// Log receives what the agent does; nil discards.
	Log *slog.Logger
	// KeyLog, when set, receives DTLS secrets (see peer.Params.KeyLog).
	KeyLog io.Writer
	// Loopback: the agent is on real sockets and gathers loopback host
	// candidates only (see peer.Params.Loopback).
	Loopback bool
	// Virtual says the agent runs in virtual time: its PeerConnections and
	// its own spacings (PLIs, simulcast layers, track starts) take the
	// values derived in package phase (see peer.Params.Virtual).
	Virtual bool
	// OnEvent, when set, is told about state changes (kind, detail).
	OnEvent func(kind, detail string)
	// E2EE, when set, encrypts every frame the agent sends and decrypts
	// every frame it receives with SFrame (e2ee.go).
	E2EE *E2EE
	// Rejoin makes the agent recover as a real client does (rejoin.go):
	// it reconnects to signaling when the connection is lost and rejoins
	// the room, offers afresh to an SFU that left and came back, and
	// restarts ICE on a connection that stays disconnected or fails.
	// Without it a lost signaling connection is not replaced.
	Rejoin bool
}

// Agent is a running simulated client.
type Agent struct {
	p      Params
	log    *slog.Logger
	events chan func()
	cancel context.CancelFunc
	sealer *sealer // nil without E2EE
	wg     sync.WaitGroup

	// http is the WHIP or WHEP session of an agent that does not signal
	// (whip.go); nil otherwise.
	http *httpSession

	mu    sync.Mutex
	sig   *signaling.Client // replaced by a rejoin
	conns map[string]*Conn  // by remote name; a dropped connection leaves
	order []*Conn           // every connection ever made, dropped ones too
}

// Conn is the agent's PeerConnection to one remote (the SFU or a peer).
type Conn struct {
	// Remote names the other end.
	Remote string
	// PC is the PeerConnection with its stats.
	PC *peer.PC

	// cancel stops its senders when the connection is dropped.
	cancel context.CancelFunc
	// restarting is set while a watchdog restarts its ICE (rejoin.go).
	restarting bool
	// offeredRestart is set while our outstanding offer restarts ICE
	// (loop only; glare.go).
	offeredRestart bool

	// closed is closed once pion has reported the PeerConnection closed
	// (its state handler runs on a goroutine of its own: Close waits for
	// it, so the last "closed" event is recorded on every run).
	closed     chan struct{}
	closedOnce sync.Once

	mu          sync.Mutex
	connectedAt time.Time
	senders     []*Sender
	receivers   []*Receiver
}

// Sender is one published track.
type Sender struct {
	// Clip is the clip sent (the lowest layer's when simulcast).
	Clip *clip.Clip
	// RTP is the pion sender.
	RTP *webrtc.RTPSender
	// Track is the track of the first (lowest) layer.
	Track *webrtc.TrackLocalStaticSample

	layers []*sendLayer
	ssrc   uint32 // the first encoding's, fixed when the track is added

	mu     sync.Mutex
	plis   uint64
	nacks  uint64
	frames uint64
}

// sendLayer is one encoding of a Sender: the whole track, or one
// simulcast layer.
type sendLayer struct {
	rid    string
	clip   *clip.Clip
	track  *webrtc.TrackLocalStaticSample
	player *clip.Player
	base   uint32
	// keyframe is set by a keyframe request and cleared when the next
	// frame sent is a keyframe (guarded by Sender.mu).
	keyframe bool
	// sent lists the clip frame index of every sample sent (Sender.mu).
	sent frameRuns
}

// SimulcastRIDs are the RIDs of the simulcast layers, lowest first.
var SimulcastRIDs = []string{"q", "h", "f"}

// Layers returns the RIDs of the sender's encodings; one "" when it does
// not simulcast.
func (s *Sender) Layers() []string {
	out := make([]string, len(s.layers))
	for i, l := range s.layers {
		out[i] = l.rid
	}
	return out
}

// TimestampBase returns the RTP timestamp of the first sample of layer i:
// sample n of the track carries TimestampBase + n × the frame duration in
// clock-rate units, so a receiver can tell which sample a frame was.
func (s *Sender) TimestampBase(i int) uint32 { return s.layers[i].base }

// SentFrames returns, for every sample sent on layer i so far, the index
// of the clip frame it carried: frames skip ahead when a keyframe request
// is answered.
func (s *Sender) SentFrames(i int) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.layers[i].sent.all()
}

// Receiver is one received track.
type Receiver struct {
	// From is the publisher (the stream ID the SFU sets, or the p2p peer).
	From string
	// Kind is "audio" or "video".
	Kind string
	// Codec is the negotiated MIME type.
	Codec string
	// SSRC of the received stream.
	SSRC uint32

	mu          sync.Mutex
	undecrypted int // frames E2EE could not open
	seq         seqCounter
	frames      frameLog
	arrivals    analysis.PacketLog // compact: it grows with the call
}

// Counts returns what the application received so far, after
// retransmissions (RTX) were folded back into the stream.
func (r *Receiver) Counts() SeqCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq.counts()
}

// Feedback returns how many PLIs and NACK packets the publisher received for
// this track.
func (s *Sender) Feedback() (plis, nacks uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plis, s.nacks
}

// Start joins the room and begins signaling; it returns once joined. The
// agent runs until ctx ends; then call Close.
func Start(ctx context.Context, p Params) (*Agent, error) {
	if p.Name == "" || p.Room == "" || p.Net == nil || p.SignalURL == "" {
		return nil, errors.New("agent: Name, Room, Net and SignalURL are required")
	}
	if p.Topology == "" {
		p.Topology = TopologySFU
	}
	if p.SFUName == "" {
		p.SFUName = "sfu"
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var seal *sealer
	if p.E2EE != nil {
		var err error
		if seal, err = newSealer(p.E2EE); err != nil {
			return nil, fmt.Errorf("agent %s: %w", p.Name, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &Agent{p: p, log: log.With("agent", p.Name), events: make(chan func(), 64), conns: map[string]*Conn{}, cancel: cancel, sealer: seal}
	sig, err := signaling.Dial(ctx, p.SignalURL, p.HTTPClient, p.Room, p.Name)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("agent %s: %w", p.Name, err)
	}
	a.sig = sig
	a.wg.Add(1)
	go a.loop(ctx)
	return a, nil
}

// Conns returns the agent's connections in creation order.
func (a *Agent) Conns() []*Conn {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Conn(nil), a.order...)
}

// Close stops publishing, closes every PeerConnection and waits for every
// goroutine the agent started.
func (a *Agent) Close() {
	a.cancel()
	if sig := a.signal(); sig != nil {
		_ = sig.Close()
	} else {
		a.endHTTP() // WHIP/WHEP: DELETE the session (whip.go)
	}
	conns := a.Conns()
	for _, c := range conns {
		_ = c.PC.Close()
	}
	// pion reports the closed state from a goroutine it does not wait
	// for: without this wait, whether the last agent's "closed" event
	// made the report depended on how busy the machine was. Bounded, for
	// a PeerConnection whose close pion never reports.
	for _, c := range conns {
		select {
		case <-c.closed:
		case <-time.After(closeReported):
		}
	}
	a.wg.Wait()
}

// closeReported bounds how long Close waits for pion to report a
// PeerConnection closed (it reports it at once; virtual time skips the
// rest).
const closeReported = time.Second

func (a *Agent) event(kind, detail string) {
	if a.p.OnEvent != nil {
		a.p.OnEvent(kind, detail)
	}
}

// loop owns signaling state: it handles server messages and callbacks.
func (a *Agent) loop(ctx context.Context) {
	defer a.wg.Done()
	msgs := make(chan signaling.Message)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			m, err := a.signal().Recv(ctx)
			if err != nil {
				if ctx.Err() == nil {
					// Media already negotiated keeps flowing; nothing
					// more can be negotiated until a rejoin.
					a.event("signaling-lost", err.Error())
				}
				if a.p.Rejoin && a.reconnect(ctx) {
					continue
				}
				close(msgs)
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				close(msgs)
				return
			}
		}
	}()
	if err := a.onJoined(ctx, a.signal().Joined.Peers); err != nil {
		a.event("error", err.Error())
	}
	for {
		select {
		case <-ctx.Done():
			for range msgs { // let the reader finish
			}
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			if err := a.handle(ctx, m); err != nil {
				a.log.Warn("signaling", "type", m.Type, "from", m.From, "err", err)
				a.event("error", fmt.Sprintf("%s from %s: %v", m.Type, m.From, err))
			}
		case f := <-a.events:
			f()
		}
	}
}

// post runs f on the signaling loop.
func (a *Agent) post(ctx context.Context, f func()) {
	select {
	case a.events <- f:
	case <-ctx.Done():
	}
}

func (a *Agent) onJoined(ctx context.Context, peers []string) error {
	if a.p.Topology == TopologySFU {
		for _, name := range peers {
			if name == a.p.SFUName {
				return a.offer(ctx, name)
			}
		}
		return fmt.Errorf("no SFU %q in room %q", a.p.SFUName, a.p.Room)
	}
	return nil // p2p: those already here offer to us
}

func (a *Agent) handle(ctx context.Context, m signaling.Message) error {
	switch m.Type {
	case signaling.TypePeerJoined:
		if a.p.Rejoin {
			return a.peerJoined(ctx, m.Name)
		}
		if a.p.Topology == TopologyP2P && m.Name != a.p.SFUName {
			return a.offer(ctx, m.Name)
		}
	case signaling.TypePeerLeft:
		if a.p.Rejoin {
			a.peerLeft(m.Name)
		}
	case signaling.TypeOffer:
		return a.onOffer(ctx, m)
	case signaling.TypeAnswer:
		c := a.existing(m.From)
		if c == nil {
			return errors.New("answer from unknown peer")
		}
		if err := c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return fmt.Errorf("set answer: %w", err)
		}
		c.offeredRestart = false
		c.tagSimulcast()
		return c.PC.FlushCandidates()
	case signaling.TypeCandidate:
		// A candidate may come before the offer it belongs to.
		c, err := a.conn(ctx, m.From)
		if err != nil {
			return err
		}
		var ci webrtc.ICECandidateInit
		if err := json.Unmarshal(m.Candidate, &ci); err != nil {
			return fmt.Errorf("candidate: %w", err)
		}
		// Not in the instant it arrives, which in virtual time is the
		// instant of the description before it (see phase.CandidateDelay).
		time.Sleep(phase.CandidateDelay.For(a.p.Virtual))
		return c.PC.AddRemoteCandidate(ci)
	case signaling.TypeError:
		return errors.New(m.Error)
	}
	return nil
}

func (a *Agent) offer(ctx context.Context, remote string) error {
	c, err := a.conn(ctx, remote)
	if err != nil {
		return err
	}
	o, err := c.PC.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	if err := c.PC.SetLocalDescription(o); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	return a.signal().Send(ctx, signaling.Message{Type: signaling.TypeOffer, To: remote, SDP: c.PC.ConcealSDP(o.SDP)})
}

func (a *Agent) existing(remote string) *Conn {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.conns[remote]
}

// conn returns the connection to remote, creating it (with the published
// tracks) on first use.
func (a *Agent) conn(ctx context.Context, remote string) (*Conn, error) {
	if c := a.existing(remote); c != nil {
		return c, nil
	}
	pp := peer.Params{Net: a.p.Net, ICEServers: a.p.ICEServers, RelayOnly: a.p.RelayOnly, Codecs: a.p.Codecs, KeyLog: a.p.KeyLog, Virtual: a.p.Virtual, Loopback: a.p.Loopback}
	if a.p.MDNS {
		pp.MDNSName = peer.MDNSName(a.p.Room + "/" + a.p.Name + "/" + remote)
	}
	pp.OnMDNSLookup = func(name string, err error) {
		if err != nil {
			a.event("mdns-unresolved", remote+": "+name+": "+err.Error())
			return
		}
		a.event("mdns-resolved", remote+": "+name)
	}
	pc, err := peer.New(pp)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", a.p.Name, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Conn{Remote: remote, PC: pc, cancel: cancel, closed: make(chan struct{})}
	a.mu.Lock()
	a.conns[remote] = c
	a.order = append(a.order, c)
	a.mu.Unlock()

	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if a.http != nil { // WHIP/WHEP: the offer carries every candidate; a restart trickles
			a.post(ctx, func() { a.trickleHTTP(ctx, c, ic) }) // whip.go
			return
		}
		if ic == nil {
			return
		}
		ci, ok := pc.Conceal(ic.ToJSON())
		if !ok {
			a.event("mdns-not-exposed", remote+": a host candidate, for want of multicast on the host's network")
			return
		}
		data, err := json.Marshal(ci)
		if err != nil {
			return
		}
		// Sent from the signaling loop, so never ahead of the offer or
		// answer the loop is sending.
		a.post(ctx, func() {
			_ = a.signal().Send(ctx, signaling.Message{Type: signaling.TypeCandidate, To: remote, Candidate: data})
		})
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		a.event("connection-state", remote+": "+st.String())
		if st == webrtc.PeerConnectionStateClosed {
			c.closedOnce.Do(func() { close(c.closed) })
		}
		if a.p.Rejoin {
			a.watch(ctx, c, st)
		}
		if st == webrtc.PeerConnectionStateConnected {
			c.mu.Lock()
			if c.connectedAt.IsZero() {
				c.connectedAt = time.Now()
			}
			c.mu.Unlock()
		}
	})
	if a.p.Rejoin {
		a.wg.Add(1)
		go a.watchMedia(ctx, c)
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
		from := remote
		// "-" is no stream (RFC 8830 section 2): a WHEP slot the SFU
		// filled after the answer does not say whose it is.
		if a.p.Topology == TopologySFU && t.StreamID() != "" && t.StreamID() != "-" {
			from = t.StreamID()
		} else if t.StreamID() == "-" && a.p.SlotSource != nil {
			from = cmp.Or(a.p.SlotSource(uint32(t.SSRC())), from)
		}
		r := &Receiver{From: from, Kind: t.Kind().String(), Codec: t.Codec().MimeType, SSRC: uint32(t.SSRC())}
		r.frames.init(r.Codec, t.Codec().ClockRate, a.p.RecordMedia)
		c.mu.Lock()
		c.receivers = append(c.receivers, r)
		c.mu.Unlock()
		a.event("track", fmt.Sprintf("receiving %s %s from %s", r.Kind, r.Codec, from))
		a.wg.Add(2)
		go a.receive(c, t, r)
		go func() {
			defer a.wg.Done()
			buf := make([]byte, peer.ReceiveMTU)
			for {
				if _, err := peer.ReadRTCP(rr.Read, buf); err != nil {
					return
				}
			}
		}()
	})

	for _, cl := range a.p.Publish {
		if err := a.addSender(ctx, c, []*clip.Clip{cl}); err != nil {
			return nil, err
		}
	}
	if len(a.p.Simulcast) > 0 {
		if err := a.addSender(ctx, c, a.p.Simulcast); err != nil {
			return nil, err
		}
	}
	if a.p.Topology == TopologySFU {
		// Receive what we do not send too: a transceiver per missing kind
		// puts our codecs for it in the offer (as a browser does), so the
		// SFU knows what we can decode.
		sends := map[string]bool{}
		for _, s := range c.senders {
			sends[s.Clip.Kind()] = true
		}
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			if sends[kind.String()] {
				continue
			}
			if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				return nil, fmt.Errorf("agent %s receive %s: %w", a.p.Name, kind, err)
			}
		}
	}
	return c, nil
}

// addSender publishes one track: a single clip, or simulcast layers
// (lowest first) with the RIDs SimulcastRIDs.
func (a *Agent) addSender(ctx context.Context, c *Conn, clips []*clip.Clip) error {
	first := clips[0]
	s := &Sender{Clip: first}
	for i, cl := range clips {
		rid := ""
		opts := []func(*webrtc.TrackLocalStaticRTP){}
		if len(clips) > 1 {
			rid = SimulcastRIDs[i]
			opts = append(opts, webrtc.WithRTPStreamID(rid))
		}
		base := timestampBase(a.p.Name, cl.Kind(), rid)
		opts = append(opts, webrtc.WithRTPTimestamp(base))
		opts = append(opts, withPayloader(cl.MimeType())...)
		track, err := webrtc.NewTrackLocalStaticSample(cl.Capability(), cl.Kind(), a.p.Name, opts...)
		if err != nil {
			return fmt.Errorf("agent %s track: %w", a.p.Name, err)
		}
		if i == 0 {
			rs, err := c.PC.AddTrack(track)
			if err != nil {
				return fmt.Errorf("agent %s add track: %w", a.p.Name, err)
			}
			s.RTP, s.Track = rs, track
		} else if err := s.RTP.AddEncoding(track); err != nil {
			return fmt.Errorf("agent %s simulcast layer %s: %w", a.p.Name, rid, err)
		}
		s.layers = append(s.layers, &sendLayer{rid: rid, clip: cl, track: track, player: cl.Player(), base: base})
	}
	if enc := s.RTP.GetParameters().Encodings; len(enc) > 0 {
		s.ssrc = uint32(enc[0].SSRC)
	}
	c.senders = append(c.senders, s)
	a.wg.Add(1 + len(s.layers))
	for _, l := range s.layers {
		go a.drainSender(s, l)
	}
	go a.play(ctx, c, s)
	return nil
}

// SSRC returns the SSRC of the sender's first encoding (RFC 3550 section
// 8), which pion chooses when the track is added and never changes. Ask
// it rather than RTP.GetParameters, which rebuilds the codec list, parsing
// every fmtp line, on each call: the runner's 100 ms samples made that
// 2 % of a quickstart run's allocation.
func (s *Sender) SSRC() uint32 { return s.ssrc }

// tagSimulcast has every simulcast layer's packets carry its MID and RID
// once negotiation gave them SSRCs and a MID.
func (c *Conn) tagSimulcast() {
	for _, s := range c.Senders() {
		if len(s.layers) < 2 {
			continue
		}
		mid := ""
		for _, t := range c.PC.GetTransceivers() {
			if t.Sender() == s.RTP {
				mid = t.Mid()
			}
		}
		for _, enc := range s.RTP.GetParameters().Encodings {
			c.PC.TagSimulcast(uint32(enc.SSRC), uint32(enc.RTX.SSRC), mid, enc.RID)
		}
	}
}

// ConnectedAt returns when the connection first reached "connected", and
// false if it never did.
func (c *Conn) ConnectedAt() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connectedAt, !c.connectedAt.IsZero()
}

// Senders returns the published tracks.
func (c *Conn) Senders() []*Sender {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Sender(nil), c.senders...)
}

// Receivers returns the received tracks.
func (c *Conn) Receivers() []*Receiver {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Receiver(nil), c.receivers...)
}
