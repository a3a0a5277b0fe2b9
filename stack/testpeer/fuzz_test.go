package testpeer_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/stack/testpeer"
)

// offerSeed is an offer a pion client makes: a data channel, audio and
// video, candidates gathered on loopback.
func offerSeed(f *testing.F) string {
	se := webrtc.SettingEngine{}
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		f.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.CreateDataChannel("echo", nil); err != nil {
		f.Fatal(err)
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k); err != nil {
			f.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		f.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		f.Fatal(err)
	}
	<-gathered
	data, err := json.Marshal(pc.LocalDescription())
	if err != nil {
		f.Fatal(err)
	}
	return string(data)
}

// FuzzOffer posts arbitrary bodies to the test peer's offer endpoint (what
// `rtclab serve` exposes to anyone). It must answer 400 to what it cannot
// use (413 when too large) and 200 with a parseable SDP answer otherwise, never panic, and hold
// no peer connection once closed.
func FuzzOffer(f *testing.F) {
	real := offerSeed(f)
	f.Add(real)
	// An mDNS (.local) host candidate, as browsers send (RFC 8839 §5.1 and
	// draft-ietf-mmusic-mdns-ice-candidates).
	f.Add(strings.Replace(real, `a=end-of-candidates`, `a=candidate:9 1 udp 2130706431 0f1e2d3c-aaaa-bbbb-cccc-0123456789ab.local 50000 typ host\r\na=end-of-candidates`, 1))
	f.Add(`{"type":"offer","sdp":"v=0\r\n"}`)
	f.Add(`{"type":"answer","sdp":""}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 1<<16 {
			return
		}
		peer, err := testpeer.New(testpeer.Config{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, IncludeLoopback: true, MaxDuration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, testpeer.OfferPath, bytes.NewReader([]byte(body)))
		peer.Handler().ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			var answer webrtc.SessionDescription
			if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.Type != webrtc.SDPTypeAnswer {
				t.Fatalf("200 with %q (%v)", rec.Body, err)
			}
			var s sdp.SessionDescription
			if err := s.UnmarshalString(answer.SDP); err != nil {
				t.Fatalf("answer SDP does not parse: %v", err)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if err := peer.Close(); err != nil {
			t.Fatal(err)
		}
		if n := peer.Count(); n != 0 {
			t.Fatalf("%d peer connections left after Close", n)
		}
	})
}
