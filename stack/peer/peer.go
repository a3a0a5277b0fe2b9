package peer

import (
	"fmt"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/logging"
	"github.com/pion/transport/v3"
	"github.com/pion/webrtc/v4"
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
}

// PC is a PeerConnection with its RTP statistics.
type PC struct {
	*webrtc.PeerConnection
	// Stats reads per-SSRC RTP statistics of this connection.
	Stats stats.Getter
}

// New creates a PeerConnection as p declares.
func New(p Params) (*PC, error) {
	if p.Net == nil {
		return nil, fmt.Errorf("peer: Params.Net is required")
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("peer codecs: %w", err)
	}
	ir := &interceptor.Registry{}
	sf, err := stats.NewInterceptor()
	if err != nil {
		return nil, fmt.Errorf("peer stats: %w", err)
	}
	getter := make(chan stats.Getter, 1)
	sf.OnNewPeerConnection(func(_ string, g stats.Getter) { getter <- g })
	ir.Add(sf) // first, so it sees what every later interceptor sends
	if err := configureInterceptors(m, ir); err != nil {
		return nil, err
	}

	se := webrtc.SettingEngine{}
	se.SetNet(p.Net)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(false)
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
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

	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	cfg := webrtc.Configuration{ICEServers: p.ICEServers}
	if p.RelayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	select {
	case g := <-getter:
		return &PC{PeerConnection: pc, Stats: g}, nil
	default:
		_ = pc.Close()
		return nil, fmt.Errorf("peer: stats interceptor was not bound")
	}
}

// NACKInterval is how often the NACK generator reports missing packets.
// pion's default is 100 ms, and its ticker starts on a stream's first
// packet: with 20 ms audio every fifth arrival then falls on a tick, and in
// virtual time two events at one instant run in either order, so the NACK
// count differed between runs with one seed. 371.001 µs more makes ticks
// and 20 ms / 33.3 ms frame arrivals meet only after hours.
const NACKInterval = 100*time.Millisecond + 371001*time.Nanosecond

// configureInterceptors registers NACK (generator and responder, as
// webrtc.ConfigureNack does but with NACKInterval), RTCP sender/receiver
// reports and TWCC feedback, after the stats interceptor.
func configureInterceptors(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	generator, err := nack.NewGeneratorInterceptor(nack.GeneratorInterval(NACKInterval))
	if err != nil {
		return fmt.Errorf("peer nack generator: %w", err)
	}
	responder, err := nack.NewResponderInterceptor()
	if err != nil {
		return fmt.Errorf("peer nack responder: %w", err)
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(responder)
	ir.Add(generator)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return fmt.Errorf("peer rtcp reports: %w", err)
	}
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return fmt.Errorf("peer twcc: %w", err)
	}
	return nil
}
