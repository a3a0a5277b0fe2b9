package signaling_test

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/rtclab/rtclab/stack/signaling"
)

const url = "ws://signaling" + signaling.Path

// serve starts a Server on a PipeListener inside the current bubble and
// returns a client that reaches it; the server is closed and waited for
// when the test ends.
func serve(t *testing.T) *http.Client {
	t.Helper()
	return serveWith(t, signaling.NewServer(nil))
}

// serveWith is serve with a Server the test made (to crash it, or set its
// fields before it serves).
func serveWith(t *testing.T, srv *signaling.Server) *http.Client {
	t.Helper()
	pl := signaling.NewPipeListener()
	// net/http recovers a panicking handler and only logs it: fail on it.
	hs := &http.Server{Handler: srv.Handler(), ErrorLog: log.New(panicLog{t}, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(pl)
	}()
	client := &http.Client{Transport: &http.Transport{DialContext: pl.DialContext}}
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
		srv.Wait()
		client.CloseIdleConnections()
	})
	return client
}

// panicLog fails the test when the HTTP server logs a recovered panic.
type panicLog struct{ t *testing.T }

func (p panicLog) Write(b []byte) (int, error) {
	if strings.Contains(string(b), "panic") {
		p.t.Errorf("signaling server: %s", b)
	}
	return len(b), nil
}

func dial(t *testing.T, hc *http.Client, room, name string) *signaling.Client {
	t.Helper()
	c, err := signaling.Dial(context.Background(), url, hc, room, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recv reads one message within a second of virtual time.
func recv(t *testing.T, c *signaling.Client) signaling.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return m
}

// silent checks that nothing arrives at c within a second of virtual time.
func silent(t *testing.T, c *signaling.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if m, err := c.Recv(ctx); err == nil {
		t.Errorf("unexpected %+v", m)
	}
}

// TestRoomRelay follows two clients through a room: join, peer-joined,
// offer/answer/candidate relayed with "from" set, peer-left; a client in
// another room (with a name already used in the first) sees none of it.
func TestRoomRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := serve(t)
		alice := dial(t, hc, "r", "alice")
		if len(alice.Joined.Peers) != 0 || alice.Joined.Room != "r" || alice.Joined.Name != "alice" {
			t.Errorf("alice joined %+v", alice.Joined)
		}
		bob := dial(t, hc, "r", "bob")
		defer bob.Close()
		if got := bob.Joined.Peers; len(got) != 1 || got[0] != "alice" {
			t.Errorf("bob joined with peers %v, want [alice]", got)
		}
		if m := recv(t, alice); m.Type != signaling.TypePeerJoined || m.Name != "bob" {
			t.Errorf("alice got %+v, want peer-joined bob", m)
		}
		other := dial(t, hc, "other", "alice")
		defer other.Close()
		if len(other.Joined.Peers) != 0 {
			t.Errorf("another room's peers leak in: %v", other.Joined.Peers)
		}

		ctx := context.Background()
		cand := json.RawMessage(`{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}`)
		steps := []struct {
			from, to *signaling.Client
			fromName string
			m        signaling.Message
		}{
			{alice, bob, "alice", signaling.Message{Type: signaling.TypeOffer, To: "bob", SDP: "v=0 offer"}},
			{bob, alice, "bob", signaling.Message{Type: signaling.TypeAnswer, To: "alice", SDP: "v=0 answer"}},
			{bob, alice, "bob", signaling.Message{Type: signaling.TypeCandidate, To: "alice", Candidate: cand}},
		}
		for _, s := range steps {
			if err := s.from.Send(ctx, s.m); err != nil {
				t.Fatal(err)
			}
			got := recv(t, s.to)
			if got.Type != s.m.Type || got.From != s.fromName || got.SDP != s.m.SDP || string(got.Candidate) != string(s.m.Candidate) {
				t.Errorf("%s sent %+v, received %+v", s.fromName, s.m, got)
			}
		}
		silent(t, other)

		if err := alice.Close(); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, bob); m.Type != signaling.TypePeerLeft || m.Name != "alice" {
			t.Errorf("bob got %+v, want peer-left alice", m)
		}
		// alice's name is free again once she has left.
		again := dial(t, hc, "r", "alice")
		defer again.Close()
		if got := again.Joined.Peers; len(got) != 1 || got[0] != "bob" {
			t.Errorf("rejoin: peers %v, want [bob]", got)
		}
	})
}

// TestRefusals: what the server answers with an error, and that the
// connection keeps working after a refused relay.
func TestRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := serve(t)
		alice := dial(t, hc, "r", "alice")
		defer alice.Close()

		if _, err := signaling.Dial(context.Background(), url, hc, "r", "alice"); err == nil || !strings.Contains(err.Error(), `name "alice" is taken`) {
			t.Errorf("second alice: %v", err)
		}
		if _, err := signaling.Dial(context.Background(), url, hc, "r", ""); err == nil || !strings.Contains(err.Error(), "first message must be") {
			t.Errorf("join without a name: %v", err)
		}

		ctx := context.Background()
		tests := []struct {
			m    signaling.Message
			want string
		}{
			{signaling.Message{Type: signaling.TypeOffer, To: "nobody", SDP: "v=0"}, signaling.ErrNoPeer.Error()},
			{signaling.Message{Type: "dance"}, `unknown message type "dance"`},
			{signaling.Message{Type: signaling.TypeJoin, Room: "r2", Name: "x"}, `unknown message type "join"`},
		}
		for _, tt := range tests {
			if err := alice.Send(ctx, tt.m); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, alice); m.Type != signaling.TypeError || !strings.Contains(m.Error, tt.want) {
				t.Errorf("%+v: got %+v, want an error with %q", tt.m, m, tt.want)
			}
		}
		// Still in the room: a newcomer sees alice, and alice sees it.
		bob := dial(t, hc, "r", "bob")
		defer bob.Close()
		if got := bob.Joined.Peers; len(got) != 1 || got[0] != "alice" {
			t.Errorf("after refusals bob sees %v", got)
		}
		if m := recv(t, alice); m.Type != signaling.TypePeerJoined {
			t.Errorf("alice got %+v", m)
		}
	})
}

// TestFirstMessageMustBeJoin speaks raw WebSocket: anything but a join
// first is answered with an error and the connection is closed.
func TestFirstMessageMustBeJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := serve(t)
		ctx := context.Background()
		ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"offer","to":"bob","sdp":"v=0"}`)); err != nil {
			t.Fatal(err)
		}
		_, data, err := ws.Read(ctx)
		if err != nil || !strings.Contains(string(data), `"type":"error"`) {
			t.Fatalf("got %s, %v", data, err)
		}
		if _, _, err := ws.Read(ctx); err == nil {
			t.Error("connection stayed open after a refused first message")
		}
	})
}

// TestSlowClientDisconnected: a client that stops reading is cut off once
// its queue is full, and the room is told it left; the sender is not held
// up.
func TestSlowClientDisconnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := serve(t)
		alice := dial(t, hc, "r", "alice")
		defer alice.Close()
		bob := dial(t, hc, "r", "bob") // never reads again
		defer bob.Close()
		if m := recv(t, alice); m.Type != signaling.TypePeerJoined {
			t.Fatalf("alice got %+v", m)
		}
		ctx := context.Background()
		// bob's queue holds 256 messages and his writer one more; alice
		// sends 300 without reading, so fewer than 256 errors come back
		// to her (more would cut her off too).
		big := strings.Repeat("a", 4096)
		for range 300 {
			if err := alice.Send(ctx, signaling.Message{Type: signaling.TypeOffer, To: "bob", SDP: big}); err != nil {
				t.Fatal(err)
			}
		}
		var m signaling.Message
		for m.Type != signaling.TypePeerLeft {
			m = recv(t, alice) // errors for offers sent after bob was gone
			if m.Type == signaling.TypeError && !strings.Contains(m.Error, signaling.ErrNoPeer.Error()) {
				t.Fatalf("alice got %+v", m)
			}
		}
		if m.Name != "bob" {
			t.Errorf("peer-left %+v, want bob", m)
		}
	})
}

// TestPipeListenerClose: once closed, dials and accepts fail with
// net.ErrClosed, and Close may be called again.
func TestPipeListenerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pl := signaling.NewPipeListener()
		if err := pl.Close(); err != nil {
			t.Fatal(err)
		}
		if err := pl.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := pl.DialContext(context.Background(), "tcp", "x"); !errors.Is(err, net.ErrClosed) {
			t.Errorf("dial after Close: %v", err)
		}
		if _, err := pl.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("accept after Close: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := signaling.NewPipeListener().DialContext(ctx, "tcp", "x"); !errors.Is(err, context.Canceled) {
			t.Errorf("dial with a cancelled context and no Accept: %v", err)
		}
	})
}
