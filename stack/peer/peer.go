package peer

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/transport/v3"
	"github.com/pion/webrtc/v4"
	"github.com/rtclab/rtclab/phase"
)

// Params declares a PeerConnection.
type Params struct {
	// Net is the network stack to use (required).
	Net transport.Net
	// ICEServers are the STUN/TURN servers.
	ICEServers []webrtc.ICEServer
	// RelayOnly sets iceTransportPolicy "relay".
	RelayOnly bool
	// NAT1To1IPs, when set, replaces host candidate addresses (an SFU with
	// a known public address).
	NAT1To1IPs []string
	// Codecs, when set, limits the codecs this PeerConnection offers and
	// accepts to these names (see Codecs), in order of preference.
	Codecs []string
	// EstimateBandwidth adds transport-wide sequence numbers to what this
	// PeerConnection sends and runs a send-side bandwidth estimator (GCC)
	// on the TWCC feedback that comes back; read it with PC.Estimate.
	EstimateBandwidth bool
	// InitialBitrate is the estimator's starting point in bits per second;
	// 0 means DefaultInitialBitrate.
	InitialBitrate int
	// KeyLog, when set, receives the DTLS session secrets in the NSS key
	// log format (SSLKEYLOGFILE), so Wireshark can decrypt the DTLS of a
	// capture. It must be safe for concurrent use.
	KeyLog io.Writer
	// MDNSName, when set, hides the PC's host candidates behind this
	// .local name (draft-ietf-rtcweb-mdns-ice-candidates; MDNSName makes
	// one): PC.Conceal rewrites what is signaled, and the PC answers
	// multicast DNS queries for the name on its host's LAN. Every PC
	// resolves remote .local candidates, whether or not it has a name.
	MDNSName string
	// OnMDNSLookup, when set, is told how each resolution of a remote
	// .local candidate ended (err nil: resolved).
	OnMDNSLookup func(name string, err error)
	// Loopback gathers host candidates on loopback addresses only: a peer
	// on real sockets (pion's stdnet) that a real program on the same
	// machine (a browser) must reach, with no real network address in
	// its candidates.
	Loopback bool
	// NoStats leaves out pion's stats interceptor: PC.Stats is then nil.
	// It records every RTP and RTCP packet on its own goroutine per
	// stream; nothing reads the SFU's, and on an SFU's PeerConnections it
	// cost about 5 % of a conference run's CPU (issue #21). It sends
	// nothing, so what reaches the wire is the same with or without it.
	NoStats bool
	// PayloadShare, when set, lets the NACK responders of every
	// PeerConnection given the same share keep one copy of a payload
	// they all send (responder.go): an SFU's legs.
	PayloadShare *PayloadShare
	// Virtual says the PeerConnection runs in virtual time (a synctest
	// bubble), where events at one instant run in any order: its timers
	// then take the periods derived in package phase, and its DTLS
	// certificate is one whose handshake messages have the same size in
	// every run (virtual.go). Unset (real time), pion's defaults apply.
	Virtual bool
}

// DefaultInitialBitrate is where the bandwidth estimate starts: GCC's own
// default (10 kbps) would hold every subscriber on the lowest simulcast
// layer for tens of seconds.
const DefaultInitialBitrate = 1_000_000

// MaxBitrate caps the bandwidth estimate. Without probe clusters pion's
// GCC keeps raising its estimate on an idle path (to 33 Mbit/s in 45 s
// towards a subscriber that receives 500 kbit/s); no rtclab stream needs
// more than this.
const MaxBitrate = 5_000_000

// SRTPReplayWindow is the SRTP and SRTCP replay window, in packets, of
// every PeerConnection: the browsers' (see New).
const SRTPReplayWindow = 1024

// PC is a PeerConnection with its RTP statistics.
type PC struct {
	*webrtc.PeerConnection
	// Stats reads per-SSRC RTP statistics of this connection.
	Stats stats.Getter

	estimator cc.BandwidthEstimator
	tags      *tags
	wire      *wire
	fold      *rtxFold                  // see Read
	early     []webrtc.ICECandidateInit // see AddRemoteCandidate
	mdns      *mdnsState                // mdns.go
}

// Estimate returns the send-side bandwidth estimate in bits per second,
// and false when Params.EstimateBandwidth was not set.
func (pc *PC) Estimate() (int, bool) {
	if pc.estimator == nil {
		return 0, false
	}
	return pc.estimator.GetTargetBitrate(), true
}

// New creates a PeerConnection as p declares.
func New(p Params) (*PC, error) {
	if p.Net == nil {
		return nil, fmt.Errorf("peer: Params.Net is required")
	}
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m, p.Codecs); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, fmt.Errorf("peer simulcast: %w", err)
	}
	ir := &interceptor.Registry{}
	// First of all on the read side: every interceptor above finds each
	// packet's header parsed (rtpheader.go).
	ir.Add(headerCacheFactory{})
	wr := &wire{streams: map[uint32]*wireStream{}}
	// First of all, so it sits next to the transport and logs only what
	// reached the wire.
	ir.Add(&wireFactory{w: wr})
	getter := make(chan stats.Getter, 1)
	if p.NoStats {
		getter <- nil
	} else {
		sf, err := stats.NewInterceptor()
		if err != nil {
			return nil, fmt.Errorf("peer stats: %w", err)
		}
		sf.OnNewPeerConnection(func(_ string, g stats.Getter) { getter <- g })
		ir.Add(sf) // before the others, so it sees what every later interceptor sends
	}
	tg := &tags{m: map[uint32]streamTag{}}
	// Next to the stats interceptor, so it also tags the retransmissions
	// the NACK responder writes.
	ir.Add(&taggerFactory{tags: tg})
	if err := configureInterceptors(m, ir, p.Virtual, usesTURN(p.ICEServers), p.PayloadShare); err != nil {
		return nil, err
	}
	estimator := make(chan cc.BandwidthEstimator, 1)
	if p.EstimateBandwidth {
		if err := configureEstimator(ir, p.InitialBitrate, estimator); err != nil {
			return nil, err
		}
	}
	// Last, so that it reads what every other interceptor passed (rtx.go).
	folds := make(chan *rtxFold, 1)
	ir.Add(rtxFoldFactory{out: folds})
	// Last of all on the send side: the outermost writer (attrs.go).
	ir.Add(writeAttrsFactory{})

	se := webrtc.SettingEngine{}
	se.SetNet(p.Net)
	if p.KeyLog != nil {
		se.SetDTLSKeyLogWriter(p.KeyLog)
	}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(p.Loopback)
	if p.Loopback {
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	// The SRTP and SRTCP replay windows of the browsers (RFC 3711 section
	// 3.3.2 leaves the size to the implementation): libwebrtc's
	// pc/srtp_session.cc and Firefox's SrtpFlow both set libsrtp's
	// window_size to 1024. pion/srtp's default is 64, so an original an
	// SFU forwarded more than 64 packets late (it got it from the
	// publisher over RTX after an outage) reached the receiver's socket
	// and was dropped as a replay: the report called it "never arrived
	// as an original" where the capture and a browser saw it arrive.
	se.SetSRTPReplayProtectionWindow(SRTPReplayWindow)
	se.SetSRTCPReplayProtectionWindow(SRTPReplayWindow)
	// pion/dtls v3.0.9 as a DTLS server answers the first ClientHello with
	// a HelloVerifyRequest and drops every retransmission of that
	// ClientHello as a duplicate (pion/dtls#479): when the
	// HelloVerifyRequest is lost, the client resends into silence and the
	// call never connects (an SFU call with 2 % uplink loss, seed 5: 0
	// streams, TestLostServerFlightConnects). The cookie exchange only
	// defends a server against spoofed sources (RFC 6347 section 4.2.1),
	// which ICE's connectivity checks already rule out for WebRTC; the
	// server answers with its ServerHello flight at once, which it
	// retransmits on loss.
	se.SetDTLSInsecureSkipHelloVerify(true)
	if len(p.NAT1To1IPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        p.NAT1To1IPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, fmt.Errorf("peer address rewrite: %w", err)
		}
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	se.LoggerFactory = lf
	// pion v4.2.1 negotiates codecs per m-section by default: every
	// SetRemoteDescription re-reads the codecs of every m-section, and
	// sdp's GetCodecForPayloadType rebuilds the section's whole codec map
	// for each payload type. An SFU leg in a 10-person room has 20
	// m-sections and is renegotiated at every track a newcomer
	// publishes: that was 7 % of a conference-10 run's CPU and a third of
	// its allocations (issue #21; BenchmarkRenegotiate: 64,174 allocations
	// a round before, 10,922 after). Every rtclab endpoint offers the
	// same codecs in every m-section of a kind, so the first section's
	// negotiation holds for the rest (reports unchanged on every built-in
	// scenario). pion keeps the setting until at least v4.2.
	se.DisableMediaEngineMultipleCodecs(true)

	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	cfg := webrtc.Configuration{ICEServers: p.ICEServers}
	if p.Virtual {
		cert, err := VirtualCertificate()
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []webrtc.Certificate{cert}
	}
	if p.RelayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	select {
	case g := <-getter:
		out := &PC{PeerConnection: pc, Stats: g, tags: tg, wire: wr, mdns: newMDNS(p)}
		select {
		case out.fold = <-folds:
		default:
			_ = pc.Close()
			return nil, fmt.Errorf("peer: RTX fold was not bound")
		}
		if p.EstimateBandwidth {
			select {
			case out.estimator = <-estimator:
			default:
				_ = pc.Close()
				return nil, fmt.Errorf("peer: bandwidth estimator was not bound")
			}
		}
		return out, nil
	default:
		_ = pc.Close()
		return nil, fmt.Errorf("peer: stats interceptor was not bound")
	}
}

// NACKRetries is how many times the NACK generator asks for one packet.
// pion's default asks every interval for as long as the packet is missing:
// on a congested link the retransmissions themselves keep the link
// congested (measured: a subscriber cut to 300 kbps froze for 9 s).
// libwebrtc also bounds its retries (modules/video_coding/nack_requester.cc,
// kMaxNackRetries).
const NACKRetries = 4

// configureInterceptors registers NACK repair (nack.go: the generator
// and an RTT gate for pion's responder, registered before the responder so
// that it trims the NACKs the responder reads), RTCP sender/receiver
// reports and TWCC feedback, after the stats interceptor.
func configureInterceptors(m *webrtc.MediaEngine, ir *interceptor.Registry, virtual, turn bool, share *PayloadShare) error {
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	// pion's NACK interval is 100 ms, on a ticker started by a stream's
	// first packet: every fifth 20 ms audio arrival then falls on a tick,
	// and in virtual time two events at one instant run in either order,
	// so the NACK count differed between runs with one seed. Virtual time
	// takes phase's derived interval (100 ms plus an odd sub-millisecond
	// offset).
	ir.Add(&nackRepairFactory{interval: phase.NACKInterval.For(virtual), retries: NACKRetries})
	// Between the two: the responder (and pion's track writer above it)
	// hold locks while they write; egress.go takes the write off them
	// when a write can wait on a TURN transaction (usesTURN).
	if turn {
		ir.Add(egressFactory{})
	}
	// Above egress, so that its queue takes the bursts in their order:
	// resendorder.go puts the responder's bursts of different streams on
	// different instants (virtual time only).
	if virtual {
		ir.Add(resendOrderFactory{})
	}
	ir.Add(responderFactory{share: share}) // responder.go
	// Reports and TWCC feedback as webrtc.ConfigureRTCPReports and
	// ConfigureTWCCSender set them up, with intervals from package phase
	// (pion's own in real time).
	receiver, err := report.NewReceiverInterceptor(report.ReceiverInterval(phase.ReceiverReportInterval.For(virtual)))
	if err != nil {
		return fmt.Errorf("peer rtcp receiver reports: %w", err)
	}
	sender, err := report.NewSenderInterceptor(report.SenderInterval(phase.SenderReportInterval.For(virtual)))
	if err != nil {
		return fmt.Errorf("peer rtcp sender reports: %w", err)
	}
	ir.Add(receiver)
	ir.Add(sender)
	if err := webrtc.ConfigureTWCCSender(m, &interceptor.Registry{}); err != nil { // feedback and header extension only
		return fmt.Errorf("peer twcc: %w", err)
	}
	ir.Add(twccFeedbackFactory{interval: phase.PeerTWCCInterval.For(virtual)}) // twccfeedback.go
	return nil
}

// usesTURN reports whether servers include a TURN server, so that the
// PeerConnection may gather relay candidates and a media write may wait
// on a TURN transaction (egress.go). Without one every write goes to a
// UDP socket and never waits: the SFU (which has no ICE servers) and
// agents without TURN write in place (issue #21: the egress goroutine's
// hand-over of every packet cost the SFU's legs CPU for nothing).
func usesTURN(servers []webrtc.ICEServer) bool {
	for _, s := range servers {
		for _, u := range s.URLs {
			if u = strings.ToLower(u); strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
				return true
			}
		}
	}
	return false
}

// configureEstimator adds TWCC sequence numbers to outgoing packets
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 2) and a GCC
// send-side estimator fed by the feedback. GCC runs without its pacer:
// packets leave when written, as pion sends them anyway, and the pacer's
// 5 ms ticker would add same-instant coincidences in virtual time.
func configureEstimator(ir *interceptor.Registry, initial int, out chan<- cc.BandwidthEstimator) error {
	if initial <= 0 {
		initial = DefaultInitialBitrate
	}
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(initial),
			gcc.SendSideBWEMinBitrate(30_000),
			gcc.SendSideBWEMaxBitrate(MaxBitrate),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
		)
	})
	if err != nil {
		return fmt.Errorf("peer bandwidth estimator: %w", err)
	}
	f.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) {
		select {
		case out <- e:
		default:
		}
	})
	ir.Add(f)
	// Added after the estimator, so it wraps it: pion chains local
	// streams with the last interceptor first, and the estimator must see
	// the sequence number this one writes.
	hdr, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return fmt.Errorf("peer twcc header: %w", err)
	}
	ir.Add(hdr)
	return nil
}

// Congested reports whether the bandwidth estimator sees the path as
// full: its delay detector signals overuse (growing queues), or the
// average loss it sees is above 5 %. False without an estimator.
func (pc *PC) Congested() bool {
	if pc.estimator == nil {
		return false
	}
	st := pc.estimator.GetStats()
	if u, ok := st["usage"].(string); ok && u == "overuse" {
		return true
	}
	loss, ok := st["averageLoss"].(float64)
	return ok && loss > 0.05
}
