package sfu_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/stack/agent"
	"github.com/rtclab/rtclab/stack/clip"
)

// One participant's signaling is cut mid-call: the SFU drops that
// participant only, and the others' media keeps flowing both ways.
func TestSignalingCutAffectsOneParticipant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r, stop := newRoom(t, ctx, "alice", "bob", "carol")
		defer stop()
		alice := r.join(ctx, "alice", true)
		bob := r.join(ctx, "bob", true)
		carol := r.join(ctx, "carol", true)
		defer alice.Close()
		defer bob.Close()
		defer carol.Close()
		time.Sleep(3 * time.Second)
		cut := time.Now()
		if !r.srv.Disconnect("r", "bob") {
			t.Fatal("bob was not in the room")
		}
		time.Sleep(3 * time.Second)
		for _, pair := range [][2]string{{"alice", "carol"}, {"carol", "alice"}} {
			sub := carol
			if pair[1] == "alice" {
				sub = alice
			}
			n, last := shown(sub, pair[0])
			if n < 160 || time.Since(last) > 100*time.Millisecond {
				t.Errorf("%s -> %s: %d frames, last %v ago; want the whole 6 s call to flow after bob's signaling was cut", pair[0], pair[1], n, time.Since(last))
			}
		}
		if _, last := shown(carol, "bob"); last.After(cut.Add(200 * time.Millisecond)) {
			t.Errorf("bob -> carol still flowed %v after bob was dropped", last.Sub(cut))
		}
		if ev := r.sfuEvents(); !slices.Contains(ev, "peer-removed bob") {
			t.Errorf("SFU events %v: want bob's removal", ev)
		}
	})
}

// The SFU's own signaling is cut: the calls already up keep their media
// (nothing can be renegotiated any more), and the SFU says so.
func TestSFUSignalingLossKeepsMedia(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r, stop := newRoom(t, ctx, "alice", "bob")
		defer stop()
		alice := r.join(ctx, "alice", true)
		bob := r.join(ctx, "bob", true)
		defer alice.Close()
		defer bob.Close()
		time.Sleep(2 * time.Second)
		if !r.srv.Disconnect("r", "sfu") {
			t.Fatal("the SFU was not in the room")
		}
		time.Sleep(3 * time.Second)
		if n, last := shown(bob, "alice"); n < 130 || time.Since(last) > 100*time.Millisecond {
			t.Errorf("alice -> bob: %d frames, last %v ago; want media through the 5 s call", n, time.Since(last))
		}
		if n, last := shown(alice, "bob"); n < 130 || time.Since(last) > 100*time.Millisecond {
			t.Errorf("bob -> alice: %d frames, last %v ago; want media through the 5 s call", n, time.Since(last))
		}
		if ev := r.sfuEvents(); !slices.Contains(ev, "signaling-lost ") {
			t.Errorf("SFU events %v: want signaling-lost", ev)
		}
	})
}

// A join's renegotiation is bounded: the newcomer gets one offer for the
// tracks already there, each participant already there one for all the
// tracks the newcomer publishes (its audio and video, held together by
// the SFU's renegotiation delay; offered as they came, two). Offers grow with
// the room (one m-section per track), so a join's bytes grow with the
// square of the room; the test prints them.
func TestJoinRenegotiationIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		names := []string{"p1", "p2", "p3", "p4", "p5", "p6"}
		r, stop := newRoom(t, ctx, names...)
		defer stop()
		audio, err := clip.Open(rtclab.Clips, "testdata/clips/audio-opus.ogg")
		if err != nil {
			t.Fatal(err)
		}
		var want, total uint64
		for i, name := range names {
			before := r.sfu.Stats()
			h, _ := r.nw.Host(name)
			a, err := agent.Start(ctx, agent.Params{Name: name, Room: "r", Net: h.Net, SignalURL: r.url, HTTPClient: r.client,
				Publish: []*clip.Clip{audio, r.video}})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			time.Sleep(time.Second)
			after := r.sfu.Stats()
			offers, bytes := after.Offers-before.Offers, after.OfferBytes-before.OfferBytes
			t.Logf("join %d: %d offers, %d B of SDP, %d answers", i+1, offers, bytes, after.Answers-before.Answers)
			if i > 0 {
				want += 1 + uint64(i)
			}
			total += offers
		}
		if total > want {
			t.Errorf("%d joins: the SFU sent %d offers, want at most %d", len(names), total, want)
		}
	})
}
