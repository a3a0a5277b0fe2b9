package signaling_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/rtclab/rtclab/stack/signaling"
)

// FuzzServer sends two arbitrary WebSocket text messages (meant as the
// join and the one after it) to a signaling server in a room where bob
// waits. Whatever they hold, the server must not panic; bob may only get
// relayed messages from a client that joined his room, stamped with its
// name (never a "from" it chose), gets the relayed message when it is a
// valid offer/answer/candidate for him, sees the client leave when it goes,
// and a fresh client can still reach him afterwards.
func FuzzServer(f *testing.F) {
	join := `{"type":"join","room":"r","name":"mallory"}`
	for _, seed := range [][2]string{
		{join, `{"type":"offer","to":"bob","sdp":"v=0"}`},
		{join, `{"type":"candidate","to":"bob","from":"alice","candidate":{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}}`},
		{join, `{"type":"answer","to":"nobody","sdp":"v=0"}`},
		{join, `{"type":"leave"}`},
		{join, `{"type":"nonsense"}`},
		{`{"type":"join","room":"r","name":"bob"}`, `{"type":"offer","to":"bob"}`},
		{`{"type":"join","room":"other","name":"x"}`, `{"type":"offer","to":"bob","sdp":"v=0"}`},
		{`{"type":"offer","to":"bob"}`, ``},
		{`not json`, `{`},
		{`{"type":"join","room":"r","name":"m","peers":["a"]}`, `{"type":"candidate","to":"bob","candidate":"x"}`},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		if len(first) > 4096 || len(second) > 4096 {
			return // the server reads messages up to 32 KiB; keep to well under
		}
		var j, m signaling.Message
		joined := json.Unmarshal(first, &j) == nil && j.Type == signaling.TypeJoin &&
			j.Room == "r" && j.Name != "" && j.Name != "bob"
		relayed := joined && json.Unmarshal(second, &m) == nil && m.To == "bob" &&
			(m.Type == signaling.TypeOffer || m.Type == signaling.TypeAnswer || m.Type == signaling.TypeCandidate)
		synctest.Test(t, func(t *testing.T) {
			hc := serve(t)
			bob := dial(t, hc, "r", "bob")
			defer bob.Close()
			ctx := context.Background()
			// One reader for bob, without deadlines: a Recv whose context
			// expires closes the connection.
			inbox := make(chan signaling.Message, 64)
			go func() {
				defer close(inbox)
				for {
					got, err := bob.Recv(ctx)
					if err != nil {
						return
					}
					inbox <- got
				}
			}()
			next := func() (signaling.Message, bool) {
				select {
				case got, ok := <-inbox:
					return got, ok
				case <-time.After(time.Second):
					return signaling.Message{}, false
				}
			}
			ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
			if err != nil {
				t.Fatal(err)
			}
			go func() { // drain what the server sends back
				for {
					if _, _, err := ws.Read(ctx); err != nil {
						return
					}
				}
			}()
			_ = ws.Write(ctx, websocket.MessageText, first)
			_ = ws.Write(ctx, websocket.MessageText, second)
			time.Sleep(time.Second)
			ws.CloseNow()

			var gotRelay, gotLeft bool
			for {
				got, ok := next()
				if !ok {
					break
				}
				switch got.Type {
				case signaling.TypeOffer, signaling.TypeAnswer, signaling.TypeCandidate:
					if !joined || got.From != j.Name {
						t.Fatalf("bob got %+v from a client that joined %+v", got, j)
					}
					gotRelay = gotRelay || (relayed && got.Type == m.Type && got.SDP == m.SDP)
				case signaling.TypePeerLeft:
					gotLeft = gotLeft || (joined && got.Name == j.Name)
				}
			}
			if relayed && !gotRelay {
				t.Errorf("bob did not get %+v from %q", m, j.Name)
			}
			if joined && !gotLeft {
				t.Errorf("bob was not told %q left", j.Name)
			}
			// The server still relays between well-behaved clients.
			carol := dial(t, hc, "r", "carol-"+j.Name)
			defer carol.Close()
			if err := carol.Send(ctx, signaling.Message{Type: signaling.TypeOffer, To: "bob", SDP: "v=0 probe"}); err != nil {
				t.Fatal(err)
			}
			for {
				got, ok := next()
				if !ok {
					t.Fatal("bob did not get the probe offer")
				}
				if got.Type == signaling.TypeOffer && got.SDP == "v=0 probe" {
					if got.From != carol.Joined.Name {
						t.Errorf("probe from %q, want %q", got.From, carol.Joined.Name)
					}
					break
				}
			}
		})
	})
}
