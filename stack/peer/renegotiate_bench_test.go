package peer_test

import (
	"fmt"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/stack/peer"
)

// BenchmarkRenegotiate measures one offer/answer round of an SFU leg in
// a 10-person room: 18 tracks sent (9 publishers' audio and video), each
// renegotiation re-reading every m-section. With pion v4.2.1's default
// multi-codec negotiation each SetRemoteDescription rebuilt the codec map
// of every m-section once per payload type (sdp GetCodecForPayloadType);
// peer.New turns that off (peer.go).
func BenchmarkRenegotiate(b *testing.B) {
	n, err := netem.New(netem.Config{Hosts: []netem.HostConfig{{Name: "sfu"}, {Name: "sub"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	hs, _ := n.Host("sfu")
	hb, _ := n.Host("sub")
	sfu, err := peer.New(peer.Params{Net: hs.Net, EstimateBandwidth: true, NoStats: true})
	if err != nil {
		b.Fatal(err)
	}
	defer sfu.Close()
	sub, err := peer.New(peer.Params{Net: hb.Net})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	for i := range 9 {
		for _, c := range []webrtc.RTPCodecCapability{{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, {MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}} {
			tr, err := webrtc.NewTrackLocalStaticRTP(c, fmt.Sprintf("%s-%d", c.MimeType, i), fmt.Sprintf("p%d", i))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := sfu.AddTrack(tr); err != nil {
				b.Fatal(err)
			}
		}
	}
	round := func() {
		offer, err := sfu.CreateOffer(nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := sfu.SetLocalDescription(offer); err != nil {
			b.Fatal(err)
		}
		if err := sub.SetRemoteDescription(offer); err != nil {
			b.Fatal(err)
		}
		answer, err := sub.CreateAnswer(nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := sub.SetLocalDescription(answer); err != nil {
			b.Fatal(err)
		}
		if err := sfu.SetRemoteDescription(answer); err != nil {
			b.Fatal(err)
		}
	}
	round()
	b.ReportAllocs()
	for b.Loop() {
		round()
	}
}
