package testpeer_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/stack/testpeer"
)

func TestBadOfferAndBusy(t *testing.T) {
	leakcheck.Check(t)
	peer, err := testpeer.New(testpeer.Config{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, IncludeLoopback: true, MaxPeers: 1, MaxDuration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(peer.Handler())
	resp, err := http.Post(web.URL+testpeer.OfferPath, "application/json", strings.NewReader("not json"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad offer: %s", resp.Status)
	}

	// One real offer fills the peer; the next is refused as busy.
	// The client stays on loopback: no other interface, no mDNS.
	se := webrtc.SettingEngine{}
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.CreateDataChannel("echo", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := peer.Answer(ctx, *pc.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.Answer(ctx, *pc.LocalDescription()); !errors.Is(err, testpeer.ErrBusy) {
		t.Errorf("second offer: %v, want ErrBusy", err)
	}
	web.Close()
	peer.Close()
	if _, err := peer.Answer(ctx, offer); !errors.Is(err, testpeer.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if peer.Count() != 0 {
		t.Errorf("%d peer connections left after Close", peer.Count())
	}
	pc.Close()
}

// TestMediaEcho sends Opus RTP and expects it back on the echo track.
func TestMediaEcho(t *testing.T) {
	leakcheck.Check(t)
	peer, err := testpeer.New(testpeer.Config{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	se := webrtc.SettingEngine{}
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	echoed := make(chan struct{}, 1)
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if _, _, err := remote.ReadRTP(); err == nil {
			echoed <- struct{}{}
		}
	})
	gathered := webrtc.GatheringCompletePromise(pc)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	answer, err := peer.Answer(context.Background(), *pc.LocalDescription())
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(answer); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 80)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(5 * time.Second)
	for i := 0; ; i++ {
		select {
		case <-echoed:
			return
		case <-timeout:
			t.Fatal("no RTP came back")
		case <-tick.C:
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: payload})
		}
	}
}
