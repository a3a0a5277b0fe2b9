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
	// MaxPeers bounds concurrent peer connections; 0 means 32.
	MaxPeers int
	// MaxDuration closes a peer connection after this long; 0 means 60 s.
	MaxDuration time.Duration
	// MaxSend bounds one "send" request of the source channel; 0 means 10 s.
	MaxSend time.Duration
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

	mu     sync.Mutex
	pcs    map[*webrtc.PeerConnection]struct{}
	closed bool
}

// Errors of Answer.
var (
	ErrBusy   = errors.New("testpeer: too many peer connections")
	ErrClosed = errors.New("testpeer: closed")
)

// New makes a test peer.
func New(cfg Config) (*Peer, error) {
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = 32
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = 60 * time.Second
	}
	if cfg.MaxSend <= 0 {
		cfg.MaxSend = 10 * time.Second
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
		pcs:    map[*webrtc.PeerConnection]struct{}{},
	}, nil
}

// Answer accepts an offer (with its candidates; no trickle) and returns the
// answer with the peer's candidates.
func (p *Peer) Answer(ctx context.Context, offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return webrtc.SessionDescription{}, ErrClosed
	}
	if len(p.pcs) >= p.cfg.MaxPeers {
		p.mu.Unlock()
		return webrtc.SessionDescription{}, ErrBusy
	}
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		p.mu.Unlock()
		return webrtc.SessionDescription{}, fmt.Errorf("testpeer: new peer connection: %w", err)
	}
	p.pcs[pc] = struct{}{}
	p.wg.Add(1)
	p.mu.Unlock()

	done := make(chan struct{})
	var once sync.Once
	finish := func() { once.Do(func() { close(done) }) }
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("testpeer: connection state", "state", s.String())
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed ||
			s == webrtc.PeerConnectionStateDisconnected {
			finish()
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) { p.serveChannel(dc, done) })
	echoes := map[webrtc.RTPCodecType]*webrtc.TrackLocalStaticRTP{}
	var echoMu sync.Mutex
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
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
		select {
		case <-done:
		case <-timer.C:
		case <-p.ctx.Done():
		}
		finish()
		_ = pc.Close()
		p.mu.Lock()
		delete(p.pcs, pc)
		p.mu.Unlock()
	}()

	fail := func(err error) (webrtc.SessionDescription, error) {
		finish()
		return webrtc.SessionDescription{}, err
	}
	if err := pc.SetRemoteDescription(offer); err != nil {
		return fail(fmt.Errorf("testpeer: offer: %w", err))
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
			return fail(fmt.Errorf("testpeer: echo track: %w", err))
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
		return fail(fmt.Errorf("testpeer: answer: %w", err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("testpeer: answer: %w", err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(fmt.Errorf("testpeer: gathering: %w", ctx.Err()))
	}
	return *pc.LocalDescription(), nil
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

// Handler serves POST OfferPath: a JSON webrtc.SessionDescription in, the
// answer out.
func (p *Peer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+OfferPath, func(w http.ResponseWriter, r *http.Request) {
		var offer webrtc.SessionDescription
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&offer); err != nil {
			http.Error(w, "bad offer: "+err.Error(), http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		answer, err := p.Answer(ctx, offer)
		switch {
		case errors.Is(err, ErrBusy):
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
	return mux
}

func quiet() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}
