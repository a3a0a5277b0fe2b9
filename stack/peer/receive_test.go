package peer

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/rtclab/rtclab/netem"
)

// A PeerConnection that sends VP8 simulcast offers it on a sendrecv
// m-line; the answerer puts its own plain VP8 track on the same m-line
// and answers "a=simulcast:recv q;h;f". The offerer must still receive
// that plain track (issue #23). Without PC.SetRemoteDescription's rewrite
// pion v4.2.1 takes the recv RIDs for incoming layers and never fires
// OnTrack: the second case checks that this is still so, and fails once
// an upgraded pion gets it right, when sendSimulcastOnly can go.
func TestSimulcastSenderReceivesPlainStream(t *testing.T) {
	tests := []struct {
		name      string
		rewrite   bool
		wantTrack bool
	}{
		{"with the rewrite", true, true},
		{"pion alone still drops it", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				if got := plainTrackReachesSimulcastSender(t, tt.rewrite); got != tt.wantTrack {
					t.Errorf("OnTrack for the plain stream: %v, want %v", got, tt.wantTrack)
				}
			})
		})
	}
}

// plainTrackReachesSimulcastSender connects a simulcast sender (offerer)
// with a plain VP8 sender and reports whether the first's OnTrack saw the
// second's video within 3 s.
func plainTrackReachesSimulcastSender(t *testing.T, rewrite bool) bool {
	t.Helper()
	nw, err := netem.New(netem.Config{Seed: 1, Servers: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = nw.Close() }()
	ha, _ := nw.Host("a")
	hb, _ := nw.Host("b")
	a, err := New(Params{Net: ha.Net})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	b, err := New(Params{Net: hb.Net})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()

	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	var layers []*webrtc.TrackLocalStaticSample
	var sender *webrtc.RTPSender
	for i, rid := range []string{"q", "h", "f"} {
		tr, err := webrtc.NewTrackLocalStaticSample(vp8, "video", "a", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			sender, err = a.AddTrack(tr)
		} else {
			err = sender.AddEncoding(tr)
		}
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, tr)
	}
	plain, err := webrtc.NewTrackLocalStaticSample(vp8, "video", "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddTrack(plain); err != nil {
		t.Fatal(err)
	}
	got := make(chan *webrtc.TrackRemote, 1)
	a.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		select {
		case got <- tr:
		default:
		}
	})

	// Full descriptions (candidates gathered), so no trickle is needed.
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
	setRemote := a.SetRemoteDescription
	if !rewrite {
		setRemote = a.PeerConnection.SetRemoteDescription
	}
	if err := setRemote(*b.LocalDescription()); err != nil {
		t.Fatal(err)
	}

	// Send frames on every track until a's OnTrack fires or 3 s pass.
	frame := media.Sample{Data: []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}, Duration: 33 * time.Millisecond}
	tick := time.NewTicker(frame.Duration)
	defer tick.Stop()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case tr := <-got:
			return tr.Kind() == webrtc.RTPCodecTypeVideo && tr.RID() == "" && tr.StreamID() == "b"
		case <-deadline:
			if st := a.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
				t.Fatalf("connection %s: the test proves nothing unless it connects", st)
			}
			return false
		case <-tick.C:
			_ = plain.WriteSample(frame)
			for _, l := range layers {
				_ = l.WriteSample(frame)
			}
		}
	}
}
