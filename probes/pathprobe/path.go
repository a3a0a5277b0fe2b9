package pathprobe

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/stack/testpeer"
)

// Kind is a kind of ICE path.
type Kind string

// Path kinds, best first.
const (
	Host     Kind = "host"
	Srflx    Kind = "srflx"
	RelayUDP Kind = "relay-udp"
	RelayTCP Kind = "relay-tcp"
	RelayTLS Kind = "relay-tls"
)

// Kinds lists every kind, best first.
var Kinds = []Kind{Host, Srflx, RelayUDP, RelayTCP, RelayTLS}

// IsRelay says whether k goes through TURN.
func (k Kind) IsRelay() bool { return strings.HasPrefix(string(k), "relay") }

// Signal sends an offer to the test peer and returns its answer.
type Signal func(ctx context.Context, offer webrtc.SessionDescription) (webrtc.SessionDescription, error)

// HTTPSignal signals over rtclab serve's HTTP endpoint at base (e.g.
// "http://turn.example.com:8080").
func HTTPSignal(client *http.Client, base string) Signal {
	if client == nil {
		client = http.DefaultClient
	}
	url := strings.TrimRight(base, "/") + testpeer.OfferPath
	return func(ctx context.Context, offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
		body, err := json.Marshal(offer)
		if err != nil {
			return webrtc.SessionDescription{}, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return webrtc.SessionDescription{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return webrtc.SessionDescription{}, fmt.Errorf("signal %s: %w", url, err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return webrtc.SessionDescription{}, fmt.Errorf("signal %s: %w", url, err)
		}
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
			return webrtc.SessionDescription{}, fmt.Errorf("%w: signal %s: %s: %s (retry after %s s)",
				ErrServerBusy, url, resp.Status, strings.TrimSpace(string(data)), resp.Header.Get("Retry-After"))
		}
		if resp.StatusCode != http.StatusOK {
			return webrtc.SessionDescription{}, fmt.Errorf("signal %s: %s: %s", url, resp.Status, strings.TrimSpace(string(data)))
		}
		var answer webrtc.SessionDescription
		if err := json.Unmarshal(data, &answer); err != nil {
			return webrtc.SessionDescription{}, fmt.Errorf("signal %s: bad answer: %w", url, err)
		}
		return answer, nil
	}
}

// Params says how to connect.
type Params struct {
	// Kind is the path to force.
	Kind Kind
	// Signal reaches the test peer (required).
	Signal Signal
	// Net is the network; nil means the real one.
	Net transport.Net
	// STUN is the STUN URL for Srflx, e.g. "stun:198.51.100.1:3478".
	STUN string
	// TURN is the TURN URL for the relay kinds, with its credentials.
	TURN, Username, Password string
	// TLSConfig is for RelayTLS; nil means system roots and the URL's host.
	TLSConfig *tls.Config
	// IncludeLoopback gathers loopback host candidates (loopback tests).
	IncludeLoopback bool
	// IPs, when set, are the only local addresses ICE uses.
	IPs []net.IP
	// Timeout bounds gathering plus connecting; 0 means 6 s.
	Timeout time.Duration
}

// Result says whether a path connected.
type Result struct {
	// Kind is the path kind tried.
	Kind Kind `json:"kind"`
	// OK says whether the data channels opened over this kind of path.
	OK bool `json:"ok"`
	// Ms is the time from creating the offer to the open echo channel.
	Ms float64 `json:"ms"`
	// Local is the selected local candidate, "type proto address".
	Local string `json:"local,omitempty"`
	// Remote is the selected remote candidate, "type proto address".
	Remote string `json:"remote,omitempty"`
	// Reason says why it did not connect; empty on success.
	Reason string `json:"reason,omitempty"`
	// Relay is the TURN URL the media went through: set when the selected
	// local candidate is a relayed one (RFC 8656), empty on a direct path.
	Relay string `json:"relay,omitempty"`
	// DTLSFingerprint is the fingerprint ("sha-256 AB:CD:...") of the
	// certificate the DTLS handshake on this path verified (RFC 8122
	// section 5): whoever holds its key terminated DTLS and holds the
	// SRTP keys derived from it (RFC 5764 section 4.2).
	DTLSFingerprint string `json:"dtls_fingerprint,omitempty"`
	// PeerFingerprint is the a=fingerprint the test peer put in its
	// answer (RFC 8842 section 5), the certificate it said it would use.
	PeerFingerprint string `json:"peer_fingerprint,omitempty"`
	// ServerBusy says the path was not tried: the test peer's server
	// refused the offer for its own state (503: every slot in use, or it
	// timed out; 429: this address asked too often). It says nothing
	// about the network.
	ServerBusy bool `json:"server_busy,omitempty"`
}

// Conn is a connected path to the test peer. Close it.
type Conn struct {
	pc                    *webrtc.PeerConnection
	echo, sink, source    *webrtc.DataChannel
	echoIn, sinkIn, srcIn chan webrtc.DataChannelMessage
	// Kind is the path kind.
	Kind Kind
}

// ErrParams is returned for unusable Params.
var ErrParams = errors.New("pathprobe: bad params")

// ErrServerBusy is wrapped by a Signal's error when the test peer's server
// refused the offer for its own state, not the client's offer or network.
var ErrServerBusy = errors.New("test peer busy")

// Connect tries one kind of path. A path that does not connect is a Result
// with OK false and a nil Conn; the error is for unusable Params only.
func Connect(ctx context.Context, p Params) (*Conn, Result, error) {
	res := Result{Kind: p.Kind}
	if p.Signal == nil {
		return nil, res, fmt.Errorf("%w: Signal is required", ErrParams)
	}
	if p.Timeout <= 0 {
		p.Timeout = 6 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	se := webrtc.SettingEngine{LoggerFactory: quiet()}
	if p.Net != nil {
		se.SetNet(p.Net)
	}
	se.SetIncludeLoopbackCandidate(p.IncludeLoopback)
	if len(p.IPs) > 0 {
		ips := append([]net.IP(nil), p.IPs...)
		se.SetIPFilter(func(ip net.IP) bool {
			for _, want := range ips {
				if want.Equal(ip) {
					return true
				}
			}
			return false
		})
	}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetSTUNGatherTimeout(2 * time.Second)
	// Only one kind of candidate is gathered per connection: nominate the
	// first pair that works instead of waiting for better ones.
	se.SetHostAcceptanceMinWait(0)
	se.SetSrflxAcceptanceMinWait(0)
	se.SetPrflxAcceptanceMinWait(0)
	se.SetRelayAcceptanceMinWait(0)
	// A small SCTP receive window keeps bursts within a default UDP socket
	// buffer (about 200 KB): a larger one overflows it, and each tail loss
	// costs SCTP's 1 s minimum RTO. It caps throughput at 128 KiB per RTT
	// (10 Mbit/s at 100 ms), plenty to judge audio and video.
	se.SetSCTPMaxReceiveBufferSize(testpeer.SCTPReceiveWindow)
	cfg := webrtc.Configuration{}
	switch p.Kind {
	case Host:
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	case Srflx:
		if p.STUN == "" {
			return nil, res, fmt.Errorf("%w: srflx needs a STUN URL", ErrParams)
		}
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		cfg.ICEServers = []webrtc.ICEServer{{URLs: []string{p.STUN}}}
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyNoHost
	case RelayUDP, RelayTCP, RelayTLS:
		if p.TURN == "" {
			return nil, res, fmt.Errorf("%w: %s needs a TURN URL", ErrParams, p.Kind)
		}
		cfg.ICEServers = []webrtc.ICEServer{{URLs: []string{p.TURN}, Username: p.Username, Credential: p.Password}}
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
		if p.Kind == RelayTLS {
			// pion's ICE agent verifies TURN TLS only against system roots;
			// a proxy dialer that does the TLS itself honours TLSConfig.
			se.SetICEProxyDialer(&tlsDialer{net: p.Net, cfg: p.TLSConfig, ctx: ctx})
		}
	default:
		return nil, res, fmt.Errorf("%w: unknown path kind %q", ErrParams, p.Kind)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, res, fmt.Errorf("pathprobe: %w", err)
	}
	c, err := newConn(pc, p.Kind)
	if err != nil {
		_ = pc.Close()
		return nil, res, err
	}
	start := time.Now()
	fail := func(reason string) (*Conn, Result, error) {
		res.Reason = reason
		res.Ms = msSince(start)
		_ = c.Close()
		return nil, res, nil
	}
	failed, opened := newSignal(), newSignal()
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed {
			failed.fire()
		}
	})
	c.echo.OnOpen(opened.fire)

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fail("create offer: " + err.Error())
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fail("set offer: " + err.Error())
	}
	// Wait for every candidate, but not past half the budget: a TURN
	// server that does not answer would hold gathering for many seconds.
	gatherWait, gcancel := context.WithTimeout(ctx, p.Timeout/2)
	select {
	case <-gathered:
	case <-gatherWait.Done():
	}
	gcancel()
	local := pc.LocalDescription()
	if want := wantCandidate(p.Kind); !strings.Contains(local.SDP, want) {
		return fail("no " + strings.TrimPrefix(want, "typ ") + " candidate was gathered" + gatherHint(p.Kind))
	}
	answer, err := p.Signal(ctx, *local)
	if err != nil {
		res.ServerBusy = errors.Is(err, ErrServerBusy)
		return fail("signaling: " + err.Error())
	}
	if err := pc.SetRemoteDescription(answer); err != nil {
		return fail("answer: " + err.Error())
	}
	select {
	case <-opened.ch:
	case <-failed.ch:
		return fail("ICE connectivity checks failed")
	case <-ctx.Done():
		return fail(fmt.Sprintf("not connected within %s", p.Timeout))
	}
	res.OK = true
	res.Ms = msSince(start)
	if pair := selectedPair(pc); pair != nil {
		res.Local = describe(pair.Local)
		res.Remote = describe(pair.Remote)
		if pair.Local != nil && pair.Local.Typ == webrtc.ICECandidateTypeRelay {
			res.Relay = p.TURN
		}
	}
	if sctp := pc.SCTP(); sctp != nil && sctp.Transport() != nil {
		res.DTLSFingerprint = Fingerprint(sctp.Transport().GetRemoteCertificate())
	}
	res.PeerFingerprint = answerFingerprint(answer.SDP)
	return c, res, nil
}

// Fingerprint is the SHA-256 fingerprint of a DER certificate as SDP
// writes it (RFC 8122 section 5: "sha-256" and upper-case hex pairs
// joined by colons); empty for no certificate.
func Fingerprint(der []byte) string {
	if len(der) == 0 {
		return ""
	}
	sum := sha256.Sum256(der)
	var b strings.Builder
	b.WriteString("sha-256 ")
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// answerFingerprint is the first sha-256 a=fingerprint of an SDP, at
// session or media level (RFC 8842 section 5), read with pion's SDP
// parser; empty if there is none.
func answerFingerprint(raw string) string {
	var d sdp.SessionDescription
	if d.Unmarshal([]byte(raw)) != nil {
		return ""
	}
	values := []string{}
	if v, ok := d.Attribute("fingerprint"); ok {
		values = append(values, v)
	}
	for _, m := range d.MediaDescriptions {
		if v, ok := m.Attribute("fingerprint"); ok {
			values = append(values, v)
		}
	}
	for _, v := range values {
		if alg, hash, ok := strings.Cut(strings.TrimSpace(v), " "); ok && strings.EqualFold(alg, "sha-256") {
			return "sha-256 " + strings.ToUpper(strings.TrimSpace(hash))
		}
	}
	return ""
}

func wantCandidate(k Kind) string {
	switch k {
	case Host:
		return "typ host"
	case Srflx:
		return "typ srflx"
	}
	return "typ relay"
}

func gatherHint(k Kind) string {
	switch k {
	case Srflx:
		return " (the STUN server did not answer, or the mapped address equals the local one)"
	case Host:
		return " (no usable local interface)"
	}
	return " (the TURN allocation failed)"
}

func newConn(pc *webrtc.PeerConnection, k Kind) (*Conn, error) {
	unordered, zero := false, uint16(0)
	echo, err := pc.CreateDataChannel(testpeer.LabelEcho, &webrtc.DataChannelInit{Ordered: &unordered, MaxRetransmits: &zero})
	if err != nil {
		return nil, fmt.Errorf("pathprobe: data channel: %w", err)
	}
	sink, err := pc.CreateDataChannel(testpeer.LabelSink, nil)
	if err != nil {
		return nil, fmt.Errorf("pathprobe: data channel: %w", err)
	}
	source, err := pc.CreateDataChannel(testpeer.LabelSource, nil)
	if err != nil {
		return nil, fmt.Errorf("pathprobe: data channel: %w", err)
	}
	c := &Conn{
		pc: pc, echo: echo, sink: sink, source: source, Kind: k,
		echoIn: make(chan webrtc.DataChannelMessage, 1024),
		sinkIn: make(chan webrtc.DataChannelMessage, 256),
		srcIn:  make(chan webrtc.DataChannelMessage, 4096),
	}
	forward := func(dc *webrtc.DataChannel, ch chan webrtc.DataChannelMessage) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			select {
			case ch <- m:
			default: // a full buffer counts as loss; never block SCTP
			}
		})
	}
	forward(echo, c.echoIn)
	forward(sink, c.sinkIn)
	forward(source, c.srcIn)
	return c, nil
}

// Close closes the peer connection.
func (c *Conn) Close() error { return c.pc.Close() }

func selectedPair(pc *webrtc.PeerConnection) *webrtc.ICECandidatePair {
	sctp := pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return nil
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil {
		return nil
	}
	return pair
}

func describe(c *webrtc.ICECandidate) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s %s %s", c.Typ, c.Protocol, net.JoinHostPort(c.Address, fmt.Sprint(c.Port)))
}

// tlsDialer is an ICE proxy dialer that connects to the TURN server over
// TLS with the given config. proxy.Dialer has no context parameter, so the
// dialer carries the one of the Connect call that made it.
type tlsDialer struct {
	net transport.Net
	cfg *tls.Config
	ctx context.Context
}

func (d *tlsDialer) Dial(network, addr string) (net.Conn, error) {
	var (
		c   net.Conn
		err error
	)
	if d.net != nil {
		c, err = d.net.Dial(network, addr)
	} else {
		var dialer net.Dialer
		c, err = dialer.DialContext(d.ctx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{}
	if d.cfg != nil {
		cfg = d.cfg.Clone()
	}
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(d.ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return tc, nil
}

// signal is a channel closed once, from any goroutine.
type signal struct {
	ch   chan struct{}
	once sync.Once
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }
func (s *signal) fire()  { s.once.Do(func() { close(s.ch) }) }

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

func quiet() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}
