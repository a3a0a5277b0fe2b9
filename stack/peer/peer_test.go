package peer_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/stack/peer"
)

// TestStatsSeeFeedback sends VP8 for 5 s from a to b over a path with
// 40 ms round trip and 5 % loss towards b, through PeerConnections made by
// peer.New, and reads both ends' stats.Getter. It is the guard on the
// interceptor order (stats first, then NACK, RTCP reports, TWCC; see
// DESIGN.md "Known traps"): registered in another order, the stats
// interceptor does not see the NACKs and receiver reports, and the NACK
// counts and the round-trip time stay 0.
func TestStatsSeeFeedback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const oneWay = 20 * time.Millisecond
		n, err := netem.New(netem.Config{Seed: 1, Hosts: []netem.HostConfig{
			{Name: "a"},
			{Name: "b", Uplink: netem.Impairment{Delay: oneWay}, Downlink: netem.Impairment{Delay: oneWay, Loss: 0.05}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		ha, _ := n.Host("a")
		hb, _ := n.Host("b")
		a := newPC(t, ha.Net)
		defer a.Close()
		b := newPC(t, hb.Net)
		defer b.Close()

		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "a")
		if err != nil {
			t.Fatal(err)
		}
		sender, err := a.AddTrack(track)
		if err != nil {
			t.Fatal(err)
		}
		go drainRTCP(sender.Read)
		remoteSSRC := make(chan uint32, 1)
		b.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
			remoteSSRC <- uint32(tr.SSRC())
			go drainRTCP(r.Read)
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		})
		connect(t, a, b)

		ssrc := uint32(sender.GetParameters().Encodings[0].SSRC)
		payload := make([]byte, 1000)
		payload[0] = 0x10 // VP8 payload descriptor: start of partition
		for i := range 250 {
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{
				Version: 2, Marker: true, SequenceNumber: uint16(i), Timestamp: uint32(i * 1800),
			}, Payload: payload})
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Second) // the last reports and NACKs arrive
		var got uint32
		select {
		case got = <-remoteSSRC:
		default:
			t.Fatal("b never got the track")
		}
		if got != ssrc {
			t.Fatalf("b received SSRC %d, a sent %d", got, ssrc)
		}

		as, bs := get(t, a.Stats, ssrc), get(t, b.Stats, ssrc)
		out, rtt, in := as.OutboundRTPStreamStats, as.RemoteInboundRTPStreamStats, bs.InboundRTPStreamStats
		t.Logf("sent %d, received %d, lost %d; NACKs sent %d, received %d; RTT %v over %d measurements",
			out.PacketsSent, in.PacketsReceived, in.PacketsLost, in.NACKCount, out.NACKCount,
			rtt.RoundTripTime, rtt.RoundTripTimeMeasurements)
		if out.PacketsSent < 250 || in.PacketsReceived == 0 {
			t.Fatalf("sent %d received %d: no call to measure", out.PacketsSent, in.PacketsReceived)
		}
		// Receiver side: the NACK generator's packets, seen by stats.
		if in.NACKCount == 0 {
			t.Error("b's stats count no NACK sent: stats interceptor is not ahead of the NACK generator")
		}
		// Sender side: the NACKs that came back, seen by stats.
		if out.NACKCount == 0 {
			t.Error("a's stats count no NACK received")
		}
		// RTT from b's receiver reports (RFC 3550 section 6.4.1: LSR and
		// DLSR): the path's 2 × 20 ms, plus at most a few ms of netem's
		// per-link skew.
		if rtt.RoundTripTimeMeasurements == 0 || rtt.RoundTripTime < 2*oneWay || rtt.RoundTripTime > 2*oneWay+5*time.Millisecond {
			t.Errorf("RTT %v over %d measurements, want 40..45 ms", rtt.RoundTripTime, rtt.RoundTripTimeMeasurements)
		}
	})
}

// connect does one offer/answer exchange with complete gathering.
func connect(t *testing.T, a, b *peer.PC) {
	t.Helper()
	offer, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(a.PeerConnection)
	if err := a.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(b.PeerConnection)
	if err := b.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := a.SetRemoteDescription(*b.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, pc := range []*peer.PC{a, b} {
		for pc.ICEConnectionState() != webrtc.ICEConnectionStateConnected && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("not connected: %s / %s", a.ICEConnectionState(), b.ICEConnectionState())
	}
}

func get(t *testing.T, g stats.Getter, ssrc uint32) *stats.Stats {
	t.Helper()
	s := g.Get(ssrc)
	if s == nil {
		t.Fatalf("no stats for SSRC %d", ssrc)
	}
	return s
}

// drainRTCP reads RTCP until the PeerConnection closes: pion's
// interceptors process RTCP only as it is read.
func drainRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}

func TestNewRefusesBadParams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := netem.New(netem.Config{Hosts: []netem.HostConfig{{Name: "a"}}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		h, _ := n.Host("a")
		tests := []struct {
			name string
			p    peer.Params
			want string
		}{
			{"no net", peer.Params{}, "Params.Net is required"},
			{"unknown codec", peer.Params{Net: h.Net, Codecs: []string{"vp8", "theora"}}, `unknown codec "theora"`},
		}
		for _, tt := range tests {
			pc, err := peer.New(tt.p)
			if err == nil {
				_ = pc.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
			}
		}
	})
}

// Params.Codecs narrows and orders what is offered (RFC 3264 section 5.1:
// the m= line lists formats in order of preference), each video codec
// followed by its RTX.
func TestCodecsNarrowTheOffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := netem.New(netem.Config{Hosts: []netem.HostConfig{{Name: "a"}}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		h, _ := n.Host("a")
		tests := []struct {
			codecs []string
			video  string // payload types of the m=video line
		}{
			{nil, "96 97 98 99 102 103 45 46"},
			{[]string{"vp9", "vp8"}, "98 99 96 97"},
			{[]string{"AV1", "opus"}, "45 46"},
		}
		for _, tt := range tests {
			pc, err := peer.New(peer.Params{Net: h.Net, Codecs: tt.codecs})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
			offer, err := pc.CreateOffer(nil)
			_ = pc.Close()
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, line := range strings.Split(offer.SDP, "\r\n") {
				if rest, ok := strings.CutPrefix(line, "m=video 9 UDP/TLS/RTP/SAVPF "); ok {
					got = rest
				}
			}
			if got != tt.video {
				t.Errorf("codecs %v: m=video payload types %q, want %q", tt.codecs, got, tt.video)
			}
		}
	})
}
