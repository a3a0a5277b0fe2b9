package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/stack/peer"
	"github.com/rtclab/rtclab/stack/signaling"
)

// The SFU's offer to one subscriber in the largest room the scenario
// language allows (everyone publishing audio and video) must fit the
// limit, with room to spare: this is the measurement MaxMessage rests on.
func TestMaxMessageFitsLargestRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw, err := netem.New(netem.Config{Seed: 1, Servers: []string{"sfu"}})
		if err != nil {
			t.Fatal(err)
		}
		defer nw.Close()
		h, _ := nw.Host("sfu")
		pc, err := peer.New(peer.Params{Net: h.Net, EstimateBandwidth: true})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		size := func() int {
			offer, err := pc.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(signaling.Message{Type: signaling.TypeOffer, To: "p01", SDP: offer.SDP})
			if err != nil {
				t.Fatal(err)
			}
			return len(data)
		}
		add := func(kind, codec string, i int) {
			tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: codec, ClockRate: map[string]uint32{"audio": 48000, "video": 90000}[kind]}, kind, fmt.Sprintf("p%02d", i))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pc.AddTrack(tr); err != nil {
				t.Fatal(err)
			}
		}
		add("audio", webrtc.MimeTypeOpus, 0)
		base := size()
		add("video", webrtc.MimeTypeVP8, 0)
		perVideo := size() - base
		for i := 1; i < signaling.MaxRoom; i++ {
			add("audio", webrtc.MimeTypeOpus, i)
			add("video", webrtc.MimeTypeVP8, i)
		}
		largest := size()
		t.Logf("offer: %d B with one audio m-section, +%d B per video m-section; %d B for a room of %d (limit %d B)",
			base, perVideo, largest, signaling.MaxRoom, signaling.MaxMessage)
		if largest*2 > signaling.MaxMessage {
			t.Errorf("the SFU's offer in a room of %d is %d B: less than 2x headroom below MaxMessage %d", signaling.MaxRoom, largest, signaling.MaxMessage)
		}
		if largest <= 32<<10 {
			t.Errorf("the offer for a room of %d is only %d B: the 32 KiB default would do, so the measurement is wrong", signaling.MaxRoom, largest)
		}
	})
}

// server runs a signaling server on an in-memory listener.
func server(t *testing.T) (url string, client *http.Client, stop func()) {
	srv := signaling.NewServer(nil)
	pl := signaling.NewPipeListener()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = hs.Serve(pl) }()
	client = &http.Client{Transport: &http.Transport{DialContext: pl.DialContext}}
	return "ws://signaling" + signaling.Path, client, func() {
		_ = hs.Close()
		<-served
		srv.Wait()
		client.CloseIdleConnections()
	}
}

// A message of exactly MaxMessage bytes is relayed; one byte more closes
// the sender's connection with 1009 (RFC 6455 section 7.4.1), and the
// other client stays in the room.
func TestMaxMessageBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		url, client, stop := server(t)
		defer stop()
		alice, err := signaling.Dial(ctx, url, client, "r", "alice")
		if err != nil {
			t.Fatal(err)
		}
		defer alice.Close()
		bob, err := signaling.Dial(ctx, url, client, "r", "bob")
		if err != nil {
			t.Fatal(err)
		}
		defer bob.Close()
		if m, err := alice.Recv(ctx); err != nil || m.Type != signaling.TypePeerJoined {
			t.Fatalf("alice: %v %v", m, err)
		}
		overhead := len(`{"type":"offer","to":"alice","sdp":""}`)
		fits := signaling.Message{Type: signaling.TypeOffer, To: "alice", SDP: strings.Repeat("a", signaling.MaxMessage-overhead)}
		if err := bob.Send(ctx, fits); err != nil {
			t.Fatal(err)
		}
		m, err := alice.Recv(ctx)
		if err != nil || m.Type != signaling.TypeOffer || len(m.SDP) != len(fits.SDP) {
			t.Fatalf("a %d B message: alice got %q (%d B of SDP), %v", signaling.MaxMessage, m.Type, len(m.SDP), err)
		}
		tooBig := fits
		tooBig.SDP += "a"
		if err := bob.Send(ctx, tooBig); err != nil {
			t.Fatal(err)
		}
		_, err = bob.Recv(ctx)
		if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Errorf("a %d B message: bob's connection ended with %v, want status 1009 (message too big)", signaling.MaxMessage+1, err)
		}
		m, err = alice.Recv(ctx)
		if err != nil || m.Type != signaling.TypePeerLeft || m.Name != "bob" {
			t.Errorf("alice got %+v, %v; want bob's peer-left and her connection kept", m, err)
		}
	})
}
