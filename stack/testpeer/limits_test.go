package testpeer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/stack/testpeer"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		err   error
		code  int
		retry bool
	}{
		{fmt.Errorf("%w: 3000 m-lines", testpeer.ErrOffer), http.StatusBadRequest, false},
		{testpeer.ErrBusy, http.StatusServiceUnavailable, true},
		{testpeer.ErrClosed, http.StatusServiceUnavailable, true},
		// A server that did not answer in time is not the client's fault:
		// it was 400 "context deadline exceeded" (issue #17).
		{fmt.Errorf("testpeer: gathering: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, true},
		{errors.New("testpeer: new peer connection: out of sockets"), http.StatusInternalServerError, false},
	}
	for _, tt := range tests {
		code, retry := testpeer.Status(tt.err)
		if code != tt.code || (retry > 0) != tt.retry {
			t.Errorf("Status(%v) = %d, retry %v; want %d, retry %v", tt.err, code, retry, tt.code, tt.retry)
		}
	}
}

// manyMLines is an offer of n audio m-lines, as the 987 KB offers that
// took serve to 1.77 GB were (2,650 m-lines).
func manyMLines(n int) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE")
	for i := range n {
		fmt.Fprintf(&b, " %d", i)
	}
	b.WriteString("\r\n")
	for i := range n {
		fmt.Fprintf(&b, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"+
			"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"+
			"a=setup:actpass\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n", i)
	}
	data, _ := json.Marshal(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: b.String()})
	return string(data)
}

// TestOfferLimits posts what a client must be refused for, and a busy
// peer, and checks the status: the client's fault is 4xx before any
// parsing, the server's state is 503 with Retry-After.
func TestOfferLimits(t *testing.T) {
	leakcheck.Check(t)
	peer, err := testpeer.New(testpeer.Config{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, IncludeLoopback: true, MaxDuration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	post := func(body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		peer.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, testpeer.OfferPath, strings.NewReader(body)))
		return rec
	}
	big := manyMLines(3000)
	if len(big) < 900_000 || len(big) >= 1<<20 {
		t.Fatalf("the big offer is %d bytes, want about 940 KB: under the old 1 MiB limit", len(big))
	}
	tests := []struct {
		name, body string
		code       int
		says       string
	}{
		{"940 KB, 3,000 m-lines", big, http.StatusRequestEntityTooLarge, "larger than"},
		{"17 m-lines under the size limit", manyMLines(17), http.StatusBadRequest, "17 m-lines, at most 16"},
		{"an answer", `{"type":"answer","sdp":"v=0\r\n"}`, http.StatusBadRequest, "want offer"},
		{"not JSON", "{", http.StatusBadRequest, "bad offer"},
	}
	for _, tt := range tests {
		rec := post(tt.body)
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.says) {
			t.Errorf("%s: %d %q, want %d saying %q", tt.name, rec.Code, rec.Body, tt.code, tt.says)
		}
	}
	if n := peer.Count(); n != 0 {
		t.Errorf("%d peer connections held after refused offers", n)
	}
}

// TestBusyIs503 fills the peer and checks the next offer gets 503 with
// Retry-After, not 400.
func TestBusyIs503(t *testing.T) {
	leakcheck.Check(t)
	peer, err := testpeer.New(testpeer.Config{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, IncludeLoopback: true, MaxPeers: 1, MaxDuration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	offer := loopbackOffer(t)
	if _, err := peer.Answer(context.Background(), offer); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(offer)
	rec := httptest.NewRecorder()
	peer.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, testpeer.OfferPath, strings.NewReader(string(body))))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("busy: %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// loopbackOffer is a pion client's offer with a data channel, on loopback;
// the client is closed at cleanup.
func loopbackOffer(t *testing.T) webrtc.SessionDescription {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
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
	return *pc.LocalDescription()
}

// TestMaxDurationEndsCalls: a call that stays connected is closed by the
// peer at MaxDuration (60 s by default), freeing its slot.
//
// MaxDuration counts from the answer, so it must leave room for ICE, DTLS
// and SCTP on a loaded machine: at 500 ms the data channel once never
// opened in CI (stop 28) because the peer ended the call first.
func TestMaxDurationEndsCalls(t *testing.T) {
	leakcheck.Check(t)
	peer, err := testpeer.New(testpeer.Config{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, IncludeLoopback: true, MaxPeers: 1, MaxDuration: 3 * time.Second})
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
	dc, err := pc.CreateDataChannel(testpeer.LabelEcho, nil)
	if err != nil {
		t.Fatal(err)
	}
	opened, closed := make(chan struct{}), make(chan struct{})
	dc.OnOpen(func() { close(opened) })
	dc.OnClose(func() { close(closed) })
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
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not connect")
	}
	// The client holds on; the peer ends the call.
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("the call is still open long after MaxDuration (%d calls held)", peer.Count())
	}
	deadline := time.Now().Add(5 * time.Second)
	for peer.Count() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := peer.Count(); n != 0 {
		t.Errorf("%d calls held after MaxDuration", n)
	}
}
