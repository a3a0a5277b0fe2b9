package testpeer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v3"
	"github.com/pion/webrtc/v4"
)

// Data channel labels the peer serves.
const (
	LabelEcho   = "echo"
	LabelSink   = "sink"
	LabelSource = "source"
)

// SinkTrackPrefix marks a remote media track whose packets are dropped
// instead of echoed (track IDs starting with it).
const SinkTrackPrefix = "sink"

// SCTPReceiveWindow is the SCTP receive buffer both ends of a diagnosis
// use (see the comment where it is set).
const SCTPReceiveWindow = 128 * 1024

// OfferPath is where Handler takes offers.
const OfferPath = "/rtclab/v1/offer"

// Config declares a test peer. The zero value works: real network, every
// non-loopback interface.
type Config struct {
	// Net is the network for ICE; nil means the real network.
	Net transport.Net
	// IPs, when set, are the only addresses host candidates are gathered on.
	IPs []net.IP
	// IncludeLoopback gathers loopback candidates too (loopback tests).
	IncludeLoopback bool
	// MaxPeers bounds concurrent peer connections; 0 means DefaultMaxPeers.
	MaxPeers int
	// Reserved of them are kept for invited callers; 0 means a third of
	// MaxPeers, -1 none.
	Reserved int
	// PerCaller bounds the calls one caller (an address, or an invite)
	// holds at once; 0 means DefaultPerCaller.
	PerCaller int
	// Admit says who a request's caller is, or refuses it with an error
	// wrapping ErrInvite; nil keys every caller by its address, uninvited.
	Admit func(r *http.Request) (Caller, error)
	// ConnectTimeout closes a call that has not connected this long after
	// its answer, freeing its slot (an offer nobody follows up held one for
	// ICE's 25 s failure timeout); 0 means 15 s.
	ConnectTimeout time.Duration
	// MaxDuration closes a peer connection after this long; 0 means 60 s.
	MaxDuration time.Duration
	// MaxSend bounds one "send" request of the source channel; 0 means 10 s.
	MaxSend time.Duration
	// MaxOfferBytes bounds the body of one offer; 0 means
	// DefaultMaxOfferBytes. A longer one is refused 413 before parsing.
	MaxOfferBytes int
	// MaxMediaSections bounds the m-lines of one offer; 0 means
	// DefaultMaxMediaSections. More are refused 400 before pion parses
	// them: each costs the answerer a transceiver.
	MaxMediaSections int
	// AnswerTimeout bounds one answer (parsing, gathering); 0 means 10 s.
	// Past it the offer is refused 503: the server's fault.
	AnswerTimeout time.Duration
	// Logger receives connection events; nil discards.
	Logger *slog.Logger
}

// Peer answers offers. Close it to close every peer connection.
type Peer struct {
	cfg    Config
	api    *webrtc.API
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	pcs     map[*webrtc.PeerConnection]Caller
	held    map[string]int // open calls per Caller.Key
	invited int            // open calls of invited callers
	closed  bool
}

// Limits of the test peer (calls at once) and of one offer. A browser's
// offer for audio, video and a data channel has three m-lines and is a
// few KiB with its candidates; 32 offers of 2,650 m-lines (987 KB each,
// under the 1 MiB limit there was) took a server from 36 MB to 1.77 GB.
const (
	DefaultMaxPeers         = 32
	DefaultMaxOfferBytes    = 64 << 10
	DefaultMaxMediaSections = 16
)

// Errors of Answer. ErrOffer is the client's fault (HTTP 400); ErrBusy,
// ErrClosed and a timeout are the server's (HTTP 503).
var (
	ErrBusy   = errors.New("testpeer: too many peer connections")
	ErrClosed = errors.New("testpeer: closed")
	ErrOffer  = errors.New("testpeer: unusable offer")
)

// New makes a test peer.
func New(cfg Config) (*Peer, error) {
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	switch {
	case cfg.Reserved == 0:
		cfg.Reserved = cfg.MaxPeers / DefaultReservedFraction
	case cfg.Reserved < 0:
		cfg.Reserved = 0
	}
	cfg.Reserved = min(cfg.Reserved, cfg.MaxPeers-1)
	if cfg.PerCaller <= 0 {
		cfg.PerCaller = DefaultPerCaller
	}
	if cfg.Admit == nil {
		cfg.Admit = callerOf
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = 60 * time.Second
	}
	if cfg.MaxSend <= 0 {
		cfg.MaxSend = 10 * time.Second
	}
	if cfg.MaxOfferBytes <= 0 {
		cfg.MaxOfferBytes = DefaultMaxOfferBytes
	}
	if cfg.MaxMediaSections <= 0 {
		cfg.MaxMediaSections = DefaultMaxMediaSections
	}
	if cfg.AnswerTimeout <= 0 {
		cfg.AnswerTimeout = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	se := webrtc.SettingEngine{LoggerFactory: quiet()}
	if cfg.Net != nil {
		se.SetNet(cfg.Net)
	}
	if len(cfg.IPs) > 0 {
		ips := append([]net.IP(nil), cfg.IPs...)
		se.SetIPFilter(func(ip net.IP) bool {
			for _, want := range ips {
				if want.Equal(ip) {
					return true
				}
			}
			return false
		})
	}
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	// A small SCTP receive window keeps bursts within a default UDP socket
	// buffer (about 200 KB): a larger one overflows it, and each tail loss
	// costs SCTP's 1 s minimum RTO. It caps throughput at 128 KiB per RTT
	// (10 Mbit/s at 100 ms), plenty to judge audio and video.
	se.SetSCTPMaxReceiveBufferSize(SCTPReceiveWindow)
	ctx, cancel := context.WithCancel(context.Background())
	return &Peer{
		cfg:    cfg,
		api:    webrtc.NewAPI(webrtc.WithSettingEngine(se)),
		log:    log,
		ctx:    ctx,
		cancel: cancel,
		pcs:    map[*webrtc.PeerConnection]Caller{},
		held:   map[string]int{},
	}, nil
}

// Answer accepts an offer (with its candidates; no trickle) from an
// anonymous, uninvited caller and returns the answer with the peer's
// candidates.
func (p *Peer) Answer(ctx context.Context, offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	return p.AnswerFor(ctx, offer, Caller{})
}

// AnswerFor is Answer for a known caller, who takes one of the slots its
// kind may use (see Config.Reserved and Config.PerCaller).
func (p *Peer) AnswerFor(ctx context.Context, offer webrtc.SessionDescription, caller Caller) (webrtc.SessionDescription, error) {
	if offer.Type != webrtc.SDPTypeOffer {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: type %q, want offer", ErrOffer, offer.Type)
	}
	if n := mediaSections(offer.SDP); n > p.cfg.MaxMediaSections {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: %d m-lines, at most %d", ErrOffer, n, p.cfg.MaxMediaSections)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return webrtc.SessionDescription{}, ErrClosed
	}
	if err := p.slotsFree(caller); err != nil {
		p.mu.Unlock()
		return webrtc.SessionDescription{}, err
	}
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		p.mu.Unlock()
		return webrtc.SessionDescription{}, fmt.Errorf("testpeer: new peer connection: %w", err)
	}
	p.pcs[pc] = caller
	p.held[caller.Key]++
	if caller.Invited {
		p.invited++
	}
	p.wg.Add(1)
	p.mu.Unlock()

	done := make(chan struct{})
	connected := make(chan struct{})
	var once, connOnce sync.Once
	finish := func() { once.Do(func() { close(done) }) }
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("testpeer: connection state", "state", s.String())
		if s == webrtc.PeerConnectionStateConnected {
			connOnce.Do(func() { close(connected) })
		}
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed ||
			s == webrtc.PeerConnectionStateDisconnected {
			finish()
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) { p.serveChannel(dc, done) })
	echoes := map[webrtc.RTPCodecType]*webrtc.TrackLocalStaticRTP{}
	var echoMu sync.Mutex
	pc.OnTrack(func(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		// The receiver's RTCP must be read for its interceptors to see the
		// caller's sender reports: pion's report interceptor answers an SR
		// with LSR and DLSR only after reading it, and a receiver report
		// with LSR 0 leaves the caller without an RTT (RFC 3550 section
		// 6.4.1; a browser's remote-inbound-rtp roundTripTime stayed 0).
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			drainReceiverRTCP(receiver)
		}()
		echoMu.Lock()
		local := echoes[remote.Kind()]
		echoMu.Unlock()
		if strings.HasPrefix(remote.ID(), SinkTrackPrefix) {
			local = nil
		}
		for {
			pkt, _, err := remote.ReadRTP()
			if err != nil {
				return // the connection closed
			}
			if local != nil {
				_ = local.WriteRTP(pkt)
			}
		}
	})
	// The reaper owns pc from here: it closes it on failure, timeout or Close.
	go func() {
		defer p.wg.Done()
		timer := time.NewTimer(p.cfg.MaxDuration)
		defer timer.Stop()
		connect := time.NewTimer(p.cfg.ConnectTimeout)
		defer connect.Stop()
	wait:
		for {
			select {
			case <-done:
				break wait
			case <-timer.C:
				break wait
			case <-p.ctx.Done():
				break wait
			case <-connected:
				connected = nil // a nil channel: wait for the rest
				connect.Stop()
			case <-connect.C:
				p.log.Debug("testpeer: call did not connect in time", "timeout", p.cfg.ConnectTimeout)
				break wait
			}
		}
		finish()
		_ = pc.Close()
		p.mu.Lock()
		c := p.pcs[pc]
		delete(p.pcs, pc)
		if p.held[c.Key]--; p.held[c.Key] <= 0 {
			delete(p.held, c.Key)
		}
		if c.Invited {
			p.invited--
		}
		p.mu.Unlock()
	}()

	fail := func(err error) (webrtc.SessionDescription, error) {
		finish()
		return webrtc.SessionDescription{}, err
	}
	if err := pc.SetRemoteDescription(offer); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrOffer, err))
	}
	// Media: every audio or video m-line the offer sends gets a track back
	// that echoes what arrives (unless the remote track is a sink).
	for _, tr := range pc.GetTransceivers() {
		kind := tr.Kind()
		if kind != webrtc.RTPCodecTypeAudio && kind != webrtc.RTPCodecTypeVideo {
			continue
		}
		mime := webrtc.MimeTypeOpus
		if kind == webrtc.RTPCodecTypeVideo {
			mime = webrtc.MimeTypeVP8
		}
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime}, "echo-"+kind.String(), "rtclab-testpeer")
		if err != nil {
			return fail(fmt.Errorf("testpeer: echo track: %w", err))
		}
		sender, err := pc.AddTrack(track)
		if err != nil {
			return fail(fmt.Errorf("%w: echo track: %w", ErrOffer, err))
		}
		p.wg.Add(1) // the reaper's count is held: Close cannot be waiting at zero
		go func() {
			defer p.wg.Done()
			drainRTCP(sender)
		}()
		echoMu.Lock()
		echoes[kind] = track
		echoMu.Unlock()
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		// The answer follows from the offer alone.
		return fail(fmt.Errorf("%w: answer: %w", ErrOffer, err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		// E.g. "codec is not supported by remote": the offer has no Opus
		// or VP8 for the echo track.
		return fail(fmt.Errorf("%w: answer: %w", ErrOffer, err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(fmt.Errorf("testpeer: gathering: %w", ctx.Err()))
	}
	return *pc.LocalDescription(), nil
}

// mediaSections counts an SDP's m-lines (RFC 8866 section 5.14) without
// parsing it.
func mediaSections(sdp string) int {
	n := strings.Count(sdp, "\nm=")
	if strings.HasPrefix(sdp, "m=") {
		n++
	}
	return n
}

// Count is the number of open peer connections.
func (p *Peer) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pcs)
}

// Close closes every peer connection and waits for their goroutines.
func (p *Peer) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	return nil
}

func (p *Peer) serveChannel(dc *webrtc.DataChannel, done <-chan struct{}) {
	switch dc.Label() {
	case LabelEcho:
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			if m.IsString {
				_ = dc.SendText(string(m.Data))
			} else {
				_ = dc.Send(m.Data)
			}
		})
	case LabelSink:
		p.serveSink(dc, done)
	case LabelSource:
		p.serveSource(dc, done)
	default:
		_ = dc.Close()
	}
}

// serveSink counts bytes and reports "rx BYTES MS" every 100 ms, MS being
// the time since the first byte.
func (p *Peer) serveSink(dc *webrtc.DataChannel, done <-chan struct{}) {
	var (
		mu    sync.Mutex
		total int64
		first time.Time
	)
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		mu.Lock()
		if first.IsZero() {
			first = time.Now()
		}
		total += int64(len(m.Data))
		mu.Unlock()
	})
	dc.OnOpen(func() {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-p.ctx.Done():
					return
				case <-tick.C:
				}
				mu.Lock()
				n, f := total, first
				mu.Unlock()
				if f.IsZero() {
					continue
				}
				ms := time.Since(f).Milliseconds()
				if err := dc.SendText(fmt.Sprintf("rx %d %d", n, ms)); err != nil {
					return
				}
			}
		}()
	})
}

// serveSource sends binary messages on "send MS" for MS milliseconds.
func (p *Peer) serveSource(dc *webrtc.DataChannel, done <-chan struct{}) {
	const (
		chunk = 16 * 1024
		high  = 1 << 20
		low   = 256 * 1024
	)
	drained := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(low)
	dc.OnBufferedAmountLow(func() {
		select {
		case drained <- struct{}{}:
		default:
		}
	})
	requests := make(chan time.Duration, 1)
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		f := strings.Fields(string(m.Data))
		if !m.IsString || len(f) != 2 || f[0] != "send" {
			return
		}
		ms, err := strconv.Atoi(f[1])
		if err != nil || ms <= 0 {
			return
		}
		d := min(time.Duration(ms)*time.Millisecond, p.cfg.MaxSend)
		select {
		case requests <- d:
		default: // one at a time
		}
	})
	dc.OnOpen(func() {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			buf := make([]byte, chunk)
			for {
				var d time.Duration
				select {
				case <-done:
					return
				case <-p.ctx.Done():
					return
				case d = <-requests:
				}
				var sent int64
				end := time.Now().Add(d)
				for time.Now().Before(end) {
					if dc.BufferedAmount() > high {
						select {
						case <-drained:
						case <-time.After(time.Until(end)):
						case <-done:
							return
						case <-p.ctx.Done():
							return
						}
						continue
					}
					if err := dc.Send(buf); err != nil {
						return
					}
					sent += chunk
				}
				if err := dc.SendText(fmt.Sprintf("end %d", sent)); err != nil {
					return
				}
			}
		}()
	})
}

// drainRTCP reads a sender's RTCP so that its interceptors run; it ends
// when the connection closes.
func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// drainReceiverRTCP reads a receiver's RTCP (the caller's sender reports)
// so that its interceptors run; it ends when the connection closes.
func drainReceiverRTCP(r *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}

// Handler serves POST OfferPath: a JSON webrtc.SessionDescription in, the
// answer out.
func (p *Peer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+OfferPath, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(p.cfg.MaxOfferBytes)+1))
		if err != nil {
			// The body did not arrive (the client went away or was too
			// slow for the server's read timeout): nobody reads a reply.
			http.Error(w, "reading the offer: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > p.cfg.MaxOfferBytes {
			http.Error(w, fmt.Sprintf("offer larger than %d bytes", p.cfg.MaxOfferBytes), http.StatusRequestEntityTooLarge)
			return
		}
		var offer webrtc.SessionDescription
		if err := json.Unmarshal(body, &offer); err != nil {
			http.Error(w, "bad offer: "+err.Error(), http.StatusBadRequest)
			return
		}
		caller, err := p.cfg.Admit(r)
		if err != nil {
			code, _ := Status(err)
			http.Error(w, err.Error(), code)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), p.cfg.AnswerTimeout)
		defer cancel()
		answer, err := p.AnswerFor(ctx, offer, caller)
		if err != nil {
			code, retry := Status(err)
			if retry > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
			}
			http.Error(w, err.Error(), code)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
	return mux
}

// Status is the HTTP status for an error of Answer and, for the server's
// own states, how long the client should wait before trying again
// (Retry-After, RFC 9110 section 10.2.3). A client is blamed (4xx) only
// for its offer, its invite or the calls it holds itself; a full or
// closing peer or a timeout is 503.
func Status(err error) (code int, retryAfter time.Duration) {
	switch {
	case errors.Is(err, ErrOffer):
		return http.StatusBadRequest, 0
	case errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable, 10 * time.Second
	case errors.Is(err, ErrBusyCaller):
		// RFC 6585 section 4: this caller's own calls fill its share.
		return http.StatusTooManyRequests, 10 * time.Second
	case errors.Is(err, ErrInvite):
		return http.StatusForbidden, 0
	case errors.Is(err, ErrClosed), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, 5 * time.Second
	default:
		return http.StatusInternalServerError, 0
	}
}

func quiet() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}
