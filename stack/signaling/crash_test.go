package signaling_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab/stack/signaling"
)

// A crashed server ends every session without a goodbye: the clients
// read an error, not peer-left (so nobody tears down a call because the
// server died), and it accepts no more joins; a restart is a new Server.
func TestCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := signaling.NewServer(nil)
		hc := serveWith(t, srv)
		alice := dial(t, hc, "r", "alice")
		defer alice.Close()
		bob := dial(t, hc, "r", "bob")
		defer bob.Close()
		if m := recv(t, alice); m.Type != signaling.TypePeerJoined {
			t.Fatalf("alice got %+v", m)
		}

		srv.Crash()
		for name, c := range map[string]*signaling.Client{"alice": alice, "bob": bob} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			m, err := c.Recv(ctx)
			cancel()
			if err == nil {
				t.Errorf("%s got %+v after the crash, want the connection gone", name, m)
			}
		}
		_, err := signaling.Dial(context.Background(), url, hc, "r", "carol")
		if err == nil || !strings.Contains(err.Error(), "server stopped") {
			t.Errorf("join after the crash: %v, want refused", err)
		}
	})
}
