package stunserver_test

import (
	"context"
	"testing"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/conform"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/stack/stunserver"
)

// TestConform runs every STUN and RFC 5780 check of `rtclab conform`
// against the responder, on its primary and on its alternate address.
// It caught: requests over 1,500 bytes dropped, unknown
// comprehension-required attributes (0x0030, PADDING, RESPONSE-PORT)
// ignored, bad FINGERPRINTs answered, OTHER-ADDRESS naming the alternate
// address in answers sent from it.
func TestConform(t *testing.T) {
	leakcheck.Check(t)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := stunserver.New(stunserver.Config{Net: n, Primary: "127.0.0.1:0", Alternate: "127.0.0.2:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, addr := range []string{srv.Primary().String(), srv.Other().String()} {
		target, err := conform.ParseURL("stun:" + addr)
		if err != nil {
			t.Fatal(err)
		}
		ran := 0
		for _, c := range conform.Checks() {
			if c.TURN {
				continue
			}
			r := conform.RunOne(context.Background(), target, c)
			ran++
			if r.Status != conform.Pass {
				t.Errorf("%s: %s", addr, conform.Line(r))
			}
		}
		if ran < 8 {
			t.Errorf("only %d checks ran", ran)
		}
	}
}
