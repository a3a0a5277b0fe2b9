package peer

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/rtclab/rtclab/netem"
)

// After a half-second outage of the receiver's downlink at 200 packets
// per second the sender answers the NACKs with about 100 retransmissions
// at once (an outage shorter than the sender's 1 s history, history.go). Read through PC.ReadRTP every one reaches the application
// (rtxFold), also when no media follows them (the sender stops one packet
// after the outage). Read through pion's TrackRemote.ReadRTP alone, its
// 50-slot repair channel drops what does not fit, and repairs wait unread
// while the reader waits for media: the "pion alone" cases check that
// this is still so, and fail once an upgraded pion delivers every repair,
// when rtxFold can go.
func TestRepairBurstReachesReader(t *testing.T) {
	fold := func(pc *PC, tr *webrtc.TrackRemote) (uint16, error) {
		p, _, err := pc.ReadRTP(tr)
		if err != nil {
			return 0, err
		}
		return p.SequenceNumber, nil
	}
	pion := func(_ *PC, tr *webrtc.TrackRemote) (uint16, error) {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return 0, err
		}
		return p.SequenceNumber, nil
	}
	tests := []struct {
		name    string
		read    func(*PC, *webrtc.TrackRemote) (uint16, error)
		after   int // packets sent after the outage
		wantAll bool
	}{
		{"PC.ReadRTP, media after the repairs", fold, 100, true},
		{"PC.ReadRTP, no media after the repairs", fold, 1, true},
		{"pion alone drops repairs beyond 50", pion, 100, false},
		{"pion alone leaves repairs unread", pion, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sent, got, lost := repairBurst(t, tt.read, tt.after)
				if lost < 2*50 {
					t.Fatalf("the outage lost %d packets; the test proves nothing below 100 (twice pion's channel)", lost)
				}
				if all := got == sent; all != tt.wantAll {
					t.Errorf("%d of %d packets reached the reader (%d lost in the outage); all: %v, want %v", got, sent, lost, all, tt.wantAll)
				}
			})
		})
	}
}

// repairBurst sends 200+after VP8 packets from a to b, 5 ms apart, with
// b's downlink down from the 100th to the 200th, and returns how many were
// sent, how many distinct sequence numbers b's reader saw by 2 s after the
// last, and how many the outage dropped.
func repairBurst(t *testing.T, read func(*PC, *webrtc.TrackRemote) (uint16, error), after int) (sent, got, lost int) {
	t.Helper()
	nw, err := netem.New(netem.Config{Seed: 1, Servers: []string{"a"}, Hosts: []netem.HostConfig{{Name: "b", NAT: netem.FullCone}}})
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
	track, err := webrtc.NewTrackLocalStaticSample(vp8, "video", "a")
	if err != nil {
		t.Fatal(err)
	}
	snd, err := a.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	// Reading RTCP drives pion's interceptors: the NACK responder.
	go func() {
		for {
			if _, _, err := snd.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	seen := make(chan uint16, 1024)
	b.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			seq, err := read(b, tr)
			if err != nil {
				return
			}
			seen <- seq
		}
	})
	connect(t, a, b)

	// A keyframe header, so every sample is one small packet.
	frame := media.Sample{Data: []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}, Duration: 5 * time.Millisecond}
	for i := range 200 + after {
		switch i {
		case 100:
			if err := hb.SetImpairment(netem.Downlink, netem.Impairment{Down: true}); err != nil {
				t.Fatal(err)
			}
		case 200:
			if err := hb.SetImpairment(netem.Downlink, netem.Impairment{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := track.WriteSample(frame); err != nil {
			t.Fatal(err)
		}
		time.Sleep(frame.Duration)
	}
	time.Sleep(2 * time.Second)
	distinct := map[uint16]bool{}
	for len(seen) > 0 {
		distinct[<-seen] = true
	}
	return 200 + after, len(distinct), int(hb.Stats(netem.Downlink).Down)
}

// connect negotiates a as offerer and b as answerer with full
// descriptions (no trickle) and waits until both are connected.
func connect(t *testing.T, a, b *PC) {
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
	for range 50 {
		if a.ConnectionState() == webrtc.PeerConnectionStateConnected && b.ConnectionState() == webrtc.PeerConnectionStateConnected {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not connected: %s / %s", a.ConnectionState(), b.ConnectionState())
}
