package testpeer_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/stack/testpeer"
)

// TestSlots fills a peer of 4 slots, 2 kept for invited callers and 2 per
// caller, in order, and checks who gets a call: before slots were bound to
// invites, bare offers filled every slot and the browser test page was
// refused (issue #13).
func TestSlots(t *testing.T) {
	leakcheck.Check(t)
	peer, err := testpeer.New(testpeer.Config{
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, IncludeLoopback: true,
		MaxPeers: 4, Reserved: 2, PerCaller: 2, MaxDuration: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	a := testpeer.Caller{Key: "ip:192.0.2.1"}
	b := testpeer.Caller{Key: "ip:192.0.2.2"}
	x := testpeer.Caller{Key: "invite:x", Invited: true}
	y := testpeer.Caller{Key: "invite:y", Invited: true}
	steps := []struct {
		caller testpeer.Caller
		want   error
	}{
		{a, nil},
		{a, nil},
		{a, testpeer.ErrBusyCaller}, // a's share
		{b, testpeer.ErrBusy},       // the uninvited slots are full
		{x, nil},                    // a reserved slot
		{x, nil},
		{x, testpeer.ErrBusyCaller},
		{y, testpeer.ErrBusy}, // every slot is taken
	}
	for i, s := range steps {
		_, err := peer.AnswerFor(context.Background(), loopbackOffer(t), s.caller)
		if (s.want == nil) != (err == nil) || (s.want != nil && !errors.Is(err, s.want)) {
			t.Errorf("step %d (%s): %v, want %v", i, s.caller.Key, err, s.want)
		}
	}
	if n := peer.Count(); n != 4 {
		t.Errorf("%d calls open, want 4", n)
	}
}

// TestUnconnectedCallsFreeTheirSlot: an offer nobody follows up holds its
// slot for ConnectTimeout, not for ICE's 25 s failure timeout.
func TestUnconnectedCallsFreeTheirSlot(t *testing.T) {
	leakcheck.Check(t)
	peer, err := testpeer.New(testpeer.Config{
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, IncludeLoopback: true,
		MaxPeers: 1, ConnectTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := peer.Answer(context.Background(), loopbackOffer(t)); err != nil {
		t.Fatal(err)
	}
	// ICE would hold it 25 s; a loaded machine may take a few to close it.
	deadline := time.Now().Add(10 * time.Second)
	for peer.Count() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := peer.Count(); n != 0 {
		t.Errorf("%d calls held 10 s after an offer nobody connected (ConnectTimeout 300 ms)", n)
	}
}
