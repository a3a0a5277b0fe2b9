package flow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v3"
	"github.com/pion/webrtc/v4"
	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/stack/peer"
)

// MediaParams declare a congestion-controlled video flow.
type MediaParams struct {
	// Name identifies the flow (track and stream IDs, errors).
	Name string
	// SendNet and RecvNet are the network stacks of the sending and the
	// receiving host (required).
	SendNet, RecvNet transport.Net
	// Codec configures the synthetic encoder.
	Codec CodecParams
	// InitialRate is GCC's starting estimate in bit/s; 0 means the
	// codec's minimum rate (RFC 8867 section 4.3 starts at the minimum).
	// pion's own default, 10 kbps, would spend the first seconds far
	// below any encoder's floor.
	InitialRate int
	// Seed seeds the codec's noise.
	Seed uint64
	// LogPackets keeps a record of every RTP packet sent and received
	// (RFC 8868 section 3.1), read with PacketLog.
	LogPackets bool
	// Settle, when set, is called after GCC has been handed each feedback
	// packet and must return once every goroutine GCC woke with it is
	// idle again (in a testing/synctest bubble: synctest.Wait, one caller
	// at a time). pion's GCC hands a feedback packet to two goroutines,
	// the delay-gradient and the received-rate path
	// (gcc/delay_based_bwe.go), whose order the scheduler otherwise picks
	// anew whenever the feedback reader wakes more goroutines before it
	// blocks; settling right away fixes it and runs repeat exactly.
	Settle func()
	// Virtual says the flow runs in virtual time: its feedback intervals
	// then take the values derived in package phase; unset, pion's.
	Virtual bool
}

// Feedback intervals: pion's defaults are 100 ms, and both tickers start
// on a stream's first packet. Packets arrive on a microsecond grid (pacer
// ticks on a 5 ms grid plus serialisation at round link rates plus
// millisecond delays), and when a tick and an arrival fall on one virtual
// instant, the interceptor's select picks either at random: the packet
// then lands in this feedback or the next, and two runs differ. A few
// hundred microseconds and an odd number of nanoseconds more keep the
// ticks off that grid (on it only every 1000th tick): phase.TWCCInterval
// and phase.FlowNACKInterval, in virtual time (MediaParams.Virtual).

// mtu is the largest RTP packet the packetizer makes. pion's leaky bucket
// pacer copies payloads into 1460-byte buffers.
const mtu = 1200

// Media is one GCC-controlled video flow from a sending PeerConnection to
// a receiving one.
type Media struct {
	p         MediaParams
	send      *webrtc.PeerConnection
	recv      *webrtc.PeerConnection
	track     *webrtc.TrackLocalStaticRTP
	sender    *webrtc.RTPSender
	estimator cc.BandwidthEstimator
	codec     *Codec
	meter     meter
	log       seqLog
	plog      *packetLog

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// NewMedia creates both PeerConnections. The sender's GCC pacer starts
// ticking (every 5 ms) now, so callers stagger the creation of flows.
func NewMedia(p MediaParams) (*Media, error) {
	if p.SendNet == nil || p.RecvNet == nil {
		return nil, fmt.Errorf("flow %s: %w: SendNet and RecvNet are required", p.Name, ErrParams)
	}
	m := &Media{p: p, codec: NewCodec(p.Codec, p.Seed)}
	if p.LogPackets {
		m.plog = &packetLog{on: true}
	}
	if m.p.InitialRate <= 0 {
		m.p.InitialRate = m.codec.Params().MinRate
	}
	var err error
	if m.send, err = m.newSender(); err != nil {
		return nil, err
	}
	if m.recv, err = newReceiver(p.RecvNet, &m.meter, p.Virtual); err != nil {
		_ = m.send.Close()
		return nil, fmt.Errorf("flow %s receiver: %w", p.Name, err)
	}
	m.recv.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		m.wg.Add(1)
		m.mu.Unlock()
		defer m.wg.Done()
		m.receive(tr)
	})
	return m, nil
}

func mediaEngine() (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}},
		},
		PayloadType: 96,
	}, webrtc.RTPCodecTypeVideo)
	if err != nil {
		return nil, fmt.Errorf("register VP8: %w", err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("register transport-cc: %w", err)
	}
	return me, nil
}

func settings(n transport.Net) webrtc.SettingEngine {
	se := webrtc.SettingEngine{}
	se.SetNet(n)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(false)
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	se.LoggerFactory = lf
	return se
}

// newSender builds the sending PeerConnection. Interceptors wrap local
// streams with the last registered outermost, so a packet written to the
// track passes: NACK responder (keeps it for repair) -> TWCC sequence
// number -> GCC (its leaky-bucket pacer, then the feedback adapter's send
// time) -> the probe that stamps the send time -> SRTP and the network.
// Repairs thus get their own transport-wide sequence number and are
// paced like everything else.
func (m *Media) newSender() (*webrtc.PeerConnection, error) {
	me, err := mediaEngine()
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	ir.Add(probeFactory{m})
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(m.p.InitialRate))
	})
	if err != nil {
		return nil, fmt.Errorf("flow %s gcc: %w", m.p.Name, err)
	}
	ccf.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { m.estimator = e })
	if m.p.Settle != nil {
		ccf, err = cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
			e, err := gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(m.p.InitialRate))
			if err != nil {
				return nil, err
			}
			return settled{e, m.p.Settle}, nil
		})
		if err != nil {
			return nil, fmt.Errorf("flow %s gcc: %w", m.p.Name, err)
		}
		ccf.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { m.estimator = e })
	}
	ir.Add(ccf)
	hdr, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, fmt.Errorf("flow %s twcc: %w", m.p.Name, err)
	}
	ir.Add(hdr)
	resp, err := nack.NewResponderInterceptor()
	if err != nil {
		return nil, fmt.Errorf("flow %s nack: %w", m.p.Name, err)
	}
	ir.Add(resp)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(settings(m.p.SendNet)))
	cfg, err := configuration(m.p.Virtual)
	if err != nil {
		return nil, fmt.Errorf("flow %s sender: %w", m.p.Name, err)
	}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("flow %s sender: %w", m.p.Name, err)
	}
	if m.estimator == nil {
		_ = pc.Close()
		return nil, fmt.Errorf("flow %s: %w: GCC was not bound", m.p.Name, ErrParams)
	}
	m.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", m.p.Name)
	if err == nil {
		m.sender, err = pc.AddTrack(m.track)
	}
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("flow %s track: %w", m.p.Name, err)
	}
	return pc, nil
}

// newReceiver builds the receiving PeerConnection: NACK generator and
// TWCC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01),
// with the feedback's size counted into mt.
func newReceiver(n transport.Net, mt *meter, virtual bool) (*webrtc.PeerConnection, error) {
	me, err := mediaEngine()
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	// First in the registry: innermost, it sees every RTCP packet the
	// others write.
	ir.Add(feedbackFactory{mt})
	gen, err := nack.NewGeneratorInterceptor(nack.GeneratorInterval(phase.FlowNACKInterval.For(virtual)), nack.GeneratorMaxNacksPerPacket(1))
	if err != nil {
		return nil, fmt.Errorf("nack: %w", err)
	}
	ir.Add(gen)
	fb, err := twcc.NewSenderInterceptor(twcc.SendInterval(phase.TWCCInterval.For(virtual)))
	if err != nil {
		return nil, fmt.Errorf("twcc feedback: %w", err)
	}
	ir.Add(fb)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(settings(n)))
	cfg, err := configuration(virtual)
	if err != nil {
		return nil, err
	}
	return api.NewPeerConnection(cfg)
}

// configuration is a flow PeerConnection's: in virtual time with the DTLS
// certificate whose handshake has one size in every run
// (peer.VirtualCertificate), else pion's own.
func configuration(virtual bool) (webrtc.Configuration, error) {
	if !virtual {
		return webrtc.Configuration{}, nil
	}
	cert, err := peer.VirtualCertificate()
	if err != nil {
		return webrtc.Configuration{}, err
	}
	return webrtc.Configuration{Certificates: []webrtc.Certificate{cert}}, nil
}

// Connect negotiates the two PeerConnections in memory (offer and answer
// with every candidate gathered) and waits until both are connected.
func (m *Media) Connect(ctx context.Context) error {
	up := make(chan struct{}, 2)
	for _, pc := range []*webrtc.PeerConnection{m.send, m.recv} {
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateConnected {
				select { // a reconnection later finds nobody waiting
				case up <- struct{}{}:
				default:
				}
			}
		})
	}
	if err := negotiate(m.send, m.recv); err != nil {
		return fmt.Errorf("flow %s: %w", m.p.Name, err)
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		buf := make([]byte, 1500)
		for {
			// Reading RTCP lets the interceptors (GCC, NACK) see it.
			if _, _, err := m.sender.Read(buf); err != nil {
				return
			}
		}
	}()
	for range 2 {
		select {
		case <-up:
		case <-ctx.Done():
			return fmt.Errorf("flow %s connect: %w", m.p.Name, ctx.Err())
		}
	}
	return nil
}

func negotiate(offerer, answerer *webrtc.PeerConnection) error {
	offer, err := offerer.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(offerer)
	if err := offerer.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	<-gathered
	if err := answerer.SetRemoteDescription(*offerer.LocalDescription()); err != nil {
		return fmt.Errorf("remote offer: %w", err)
	}
	answer, err := answerer.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	gathered = webrtc.GatheringCompletePromise(answerer)
	if err := answerer.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("set answer: %w", err)
	}
	<-gathered
	if err := offerer.SetRemoteDescription(*answerer.LocalDescription()); err != nil {
		return fmt.Errorf("remote answer: %w", err)
	}
	return nil
}

// Pause is a time span in which the encoder sends nothing.
type Pause struct{ From, To time.Time }

// Run encodes frames from start until stop or until ctx ends, following
// GCC's target bitrate, and sends them as RTP video (VP8 packetization,
// RFC 7741). Frames fall on start + k/FPS; nothing is sent during pauses,
// and the first frame after one is a key frame.
func (m *Media) Run(ctx context.Context, start, stop time.Time, pauses []Pause) error {
	pk := rtp.NewPacketizer(mtu, 96, 0, &codecs.VP8Payloader{}, rtp.NewFixedSequencer(1), 90000)
	interval := m.codec.Interval()
	samples := uint32(90000 / m.codec.Params().FPS)
	payload := make([]byte, 0, 64<<10)
	timer := time.NewTimer(time.Until(start))
	defer timer.Stop()
	paused := false
	for k := 1; ; k++ {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now := time.Now()
		if !now.Before(stop) {
			return nil
		}
		timer.Reset(time.Until(start.Add(time.Duration(k) * interval)))
		if inPause(now, pauses) {
			if !paused {
				paused = true
				m.codec.RequestKeyframe()
			}
			continue
		}
		paused = false
		size, _ := m.codec.Frame(now, m.estimator.GetTargetBitrate())
		if cap(payload) < size {
			payload = make([]byte, 0, size)
		}
		for _, p := range pk.Packetize(payload[:size], samples) {
			if err := m.track.WriteRTP(p); err != nil {
				if errors.Is(err, ctx.Err()) {
					return nil
				}
				return fmt.Errorf("flow %s write: %w", m.p.Name, err)
			}
		}
	}
}

func inPause(t time.Time, pauses []Pause) bool {
	for _, p := range pauses {
		if !t.Before(p.From) && t.Before(p.To) {
			return true
		}
	}
	return false
}

// receive reads the track until the PeerConnection closes.
func (m *Media) receive(tr *webrtc.TrackRemote) {
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		sent, first, ok := m.log.received(p.SequenceNumber)
		if !ok {
			continue
		}
		m.meter.received(p.MarshalSize(), sent, now, first)
		m.plog.add(false, PacketRecord{At: now, PayloadType: p.PayloadType, SSRC: p.SSRC, Seq: p.SequenceNumber, Timestamp: p.Timestamp, Marker: p.Marker, PayloadSize: len(p.Payload)})
	}
}

// PacketLog returns the records of every packet sent (retransmissions
// included) and received so far; nil unless MediaParams.LogPackets.
func (m *Media) PacketLog() (sent, received []PacketRecord) { return m.plog.records() }

// SSRC is the SSRC of the flow's video stream, as its RTP and SRTCP
// packets carry it in the clear (RFC 3711 section 3.1): the runner finds
// the flow's packets on the wire by it.
func (m *Media) SSRC() uint32 {
	if enc := m.sender.GetParameters().Encodings; len(enc) > 0 {
		return uint32(enc[0].SSRC)
	}
	return 0
}

// Counters returns what the flow measured so far, with GCC's current
// target bitrate as the estimate.
func (m *Media) Counters() Counters {
	c := m.meter.counters()
	c.Estimate = m.estimator.GetTargetBitrate()
	return c
}

// TakeDelays returns the one-way delays of packets that arrived on their
// first transmission since the last call.
func (m *Media) TakeDelays() []Delay { return m.meter.takeDelays() }

// Loss counts the fates of packets first sent before cutoff.
func (m *Media) Loss(cutoff time.Time) Loss { return m.log.loss(cutoff) }

// Close closes both PeerConnections and waits for the flow's goroutines.
func (m *Media) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	err := errors.Join(m.send.Close(), m.recv.Close())
	m.wg.Wait()
	if err != nil {
		return fmt.Errorf("flow %s close: %w", m.p.Name, err)
	}
	return nil
}

// probeFactory builds the innermost interceptor of the sender: it sees
// every packet as it leaves for the network, after pacing.
type probeFactory struct{ m *Media }

func (f probeFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &probe{m: f.m}, nil
}

type probe struct {
	interceptor.NoOp
	m *Media
}

func (p *probe) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		now := time.Now()
		p.m.log.sent(h.SequenceNumber, now)
		p.m.meter.sentRTP(h.MarshalSize()+len(payload), len(payload))
		p.m.plog.add(true, PacketRecord{At: now, PayloadType: h.PayloadType, SSRC: h.SSRC, Seq: h.SequenceNumber, Timestamp: h.Timestamp, Marker: h.Marker, PayloadSize: len(payload)})
		return w.Write(h, payload, a)
	})
}

// feedbackFactory counts the receiver's RTCP (RFC 8867 section 4.1 item
// 1.D, feedback message overhead).
type feedbackFactory struct{ mt *meter }

func (f feedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &feedbackCounter{mt: f.mt}, nil
}

type feedbackCounter struct {
	interceptor.NoOp
	mt *meter
}

func (f *feedbackCounter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			f.mt.feedback(p.MarshalSize())
		}
		return w.Write(pkts, a)
	})
}

// settled is GCC with a settle call after each feedback (see
// MediaParams.Settle).
type settled struct {
	*gcc.SendSideBWE
	settle func()
}

func (s settled) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	err := s.SendSideBWE.WriteRTCP(pkts, a)
	s.settle()
	return err
}
