package peer_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/netem"
)

// TestSendLogIsTheWire checks that PC.SendLog holds what reached the
// wire: packets written before DTLS-SRTP is up (pion drops them, and its
// stats interceptor counts them as sent) are not in it; on a clean path
// every logged packet arrives; a padding-only packet is marked.
func TestSendLogIsTheWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := netem.New(netem.Config{Seed: 1, Hosts: []netem.HostConfig{
			{Name: "a"}, {Name: "b", Downlink: netem.Impairment{Delay: 10 * time.Millisecond}},
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
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "a")
		if err != nil {
			t.Fatal(err)
		}
		sender, err := a.AddTrack(track)
		if err != nil {
			t.Fatal(err)
		}
		go drainRTCP(sender.Read)
		received := make(chan int, 1)
		b.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
			go drainRTCP(r.Read)
			got := 0
			defer func() { received <- got }()
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				got++
			}
		})
		seq := uint16(0)
		write := func(padding bool, gap time.Duration) {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{0xfc, 1, 2, 3}}
			if padding {
				p.Header.Padding, p.Header.PaddingSize, p.Payload = true, 1, make([]byte, 20)
			}
			seq++
			_ = track.WriteRTP(p)
			time.Sleep(gap)
		}
		connect(t, a, b) // ICE is up; DTLS-SRTP is not yet
		for range 5 {
			write(false, 0) // before DTLS-SRTP: dropped by pion
		}
		for a.ConnectionState() != webrtc.PeerConnectionStateConnected {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		for range 100 {
			write(false, 20*time.Millisecond)
		}
		write(true, 20*time.Millisecond)
		time.Sleep(time.Second)
		ssrc := uint32(sender.GetParameters().Encodings[0].SSRC)
		log, _, ok, err := a.SendLog(ssrc)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Fatal("no send log")
		}
		sent := analysis.CountSent(log)
		pion := get(t, a.Stats, ssrc).OutboundRTPStreamStats.PacketsSent
		_ = a.Close()
		_ = b.Close()
		got := <-received
		t.Logf("written 106, pion's stats %d, on the wire %+v, received %d", pion, sent, got)
		if sent.Media+sent.Padding != got || sent.Padding != 1 || sent.RTX != 0 {
			t.Errorf("send log %+v, received %d: the log is not the wire", sent, got)
		}
		if sent.Media != 100 || pion != 106 {
			t.Errorf("send log has %d media packets (pion's stats %d), want the 100 written after DTLS-SRTP and none of the 5 before", sent.Media, pion)
		}
	})
}
