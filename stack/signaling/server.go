package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Path is where the WebSocket endpoint is served.
const Path = "/ws"

// sendQueue is how many messages may wait for a slow client before it is
// disconnected.
const sendQueue = 256

// Server relays signaling messages between clients in rooms.
type Server struct {
	log   *slog.Logger
	mu    sync.Mutex
	rooms map[string]map[string]*client
	wg    sync.WaitGroup
	// crashed is set by Crash: sessions end without goodbyes.
	crashed bool
	// OnRelay, when set before serving, sees every message the server
	// relays (offer, answer, candidate, with From set): what a signaling
	// server learns of its clients (the runner's privacy section). A
	// message the MDNS mode dropped or cut comes first as received, with
	// To empty (the server learnt it; nobody else did).
	OnRelay func(Message)
	// MDNS, when set before serving, is how the server treats .local
	// ICE candidates (mdns.go).
	MDNS MDNSMode
	// Latency, when set before serving, is how long what the server sends
	// a client takes to reach it: each message, and the end of its
	// session (the connection closes that much later). It is per client
	// name. In virtual time the in-memory pipes take no time at all, so
	// that a message the server sends to several clients at once
	// (peer-joined, peer-left) or a crash that ends every session reached
	// them all at one instant, and the scheduler picked the order in
	// which they acted: which client rejoined first after a restart, and
	// so which peers each found. A real server's messages reach its
	// clients over paths of their own length; in virtual time the runner
	// sets one per name (phase.SignalingLatency), in real time none.
	Latency func(name string) time.Duration
}

type client struct {
	name, room string
	out        chan queued
	// cancel ends the session: the WebSocket library closes the
	// connection as soon as the context of a read or write ends.
	cancel  context.CancelFunc
	latency time.Duration // Server.Latency's, for this client
}

// queued is a message waiting for a client's writer, with when it was
// sent.
type queued struct {
	m  Message
	at time.Time
}

// NewServer returns a server; a nil logger discards.
func NewServer(log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{log: log, rooms: map[string]map[string]*client{}}
}

// Handler returns the HTTP handler that serves Path.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Path, s.serveWS)
	return mux
}

// Wait blocks until every connection handler has returned.
func (s *Server) Wait() { s.wg.Wait() }

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Warn("signaling: accept", "err", err)
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(MaxMessage)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	var first Message
	if err := readJSON(ctx, ws, &first); err != nil {
		return
	}
	if first.Type != TypeJoin || first.Name == "" || first.Room == "" {
		_ = writeJSON(ctx, ws, Message{Type: TypeError, Error: `first message must be {"type":"join","room":...,"name":...}`})
		return
	}
	c := &client{name: first.Name, room: first.Room, out: make(chan queued, sendQueue), cancel: cancel}
	if s.Latency != nil {
		c.latency = s.Latency(c.name)
	}
	peers, err := s.join(c)
	if err != nil {
		_ = writeJSON(ctx, ws, Message{Type: TypeError, Error: err.Error()})
		return
	}
	defer s.leave(c)
	c.send(Message{Type: TypeJoined, Room: c.room, Name: c.name, Peers: peers})

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			select {
			case <-ctx.Done():
				return
			case q := <-c.out:
				if !wait(ctx, q.at.Add(c.latency)) {
					return
				}
				if err := writeJSON(ctx, ws, q.m); err != nil {
					cancel()
					return
				}
			}
		}
	}()
	defer func() { cancel(); <-writerDone }()

	for {
		var m Message
		if err := readJSON(ctx, ws, &m); err != nil {
			return
		}
		switch m.Type {
		case TypeLeave:
			return
		case TypeOffer, TypeAnswer, TypeCandidate:
			m.From = c.name
			if err := s.relay(c.room, m); err != nil {
				c.send(Message{Type: TypeError, Error: err.Error()})
			}
		default:
			c.send(Message{Type: TypeError, Error: fmt.Sprintf("unknown message type %q", m.Type)})
		}
	}
}

func (s *Server) join(c *client) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	room := s.rooms[c.room]
	if room == nil {
		room = map[string]*client{}
		s.rooms[c.room] = room
	}
	if s.crashed {
		return nil, errors.New("server stopped")
	}
	if _, taken := room[c.name]; taken {
		return nil, fmt.Errorf("name %q is taken in room %q", c.name, c.room)
	}
	peers := make([]string, 0, len(room))
	for name, other := range room {
		peers = append(peers, name)
		other.send(Message{Type: TypePeerJoined, Room: c.room, Name: c.name})
	}
	room[c.name] = c
	slices.Sort(peers)
	s.log.Debug("signaling: join", "room", c.room, "name", c.name)
	return peers, nil
}

func (s *Server) leave(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	room := s.rooms[c.room]
	if room[c.name] != c { // gone, or the rooms were dropped by Crash
		return
	}
	delete(room, c.name)
	if len(room) == 0 {
		delete(s.rooms, c.room)
	}
	for _, other := range room {
		other.send(Message{Type: TypePeerLeft, Room: c.room, Name: c.name})
	}
	s.log.Debug("signaling: leave", "room", c.room, "name", c.name)
}

// Disconnect cuts name's connection in room, as a failing network would
// (no close handshake reaches the client first); the others are told
// peer-left. It reports whether name was there.
func (s *Server) Disconnect(room, name string) bool {
	s.mu.Lock()
	c := s.rooms[room][name]
	s.mu.Unlock()
	if c == nil {
		return false
	}
	c.hangUp()
	return true
}

// Crash ends every session at once, as a server process dying does: no
// one is told peer-left, every room is forgotten, and joins are refused.
// It returns when every connection handler has. A restart is a new Server.
func (s *Server) Crash() {
	s.mu.Lock()
	s.crashed = true
	var all []*client
	for _, room := range s.rooms {
		for _, c := range room {
			all = append(all, c)
		}
	}
	s.rooms = map[string]map[string]*client{}
	s.mu.Unlock()
	for _, c := range all {
		c.hangUp()
	}
	s.wg.Wait()
}

// ErrNoPeer is returned when a message is addressed to nobody in the room.
var ErrNoPeer = errors.New("no such peer in the room")

func (s *Server) relay(room string, m Message) error {
	s.mu.Lock()
	to := s.rooms[room][m.To]
	s.mu.Unlock()
	if to == nil {
		return fmt.Errorf("%s to %q: %w", m.Type, m.To, ErrNoPeer)
	}
	out, ok, err := s.MDNS.screen(m)
	if s.OnRelay != nil && (!ok || out.SDP != m.SDP) {
		// What the server learnt and did not pass on: To cleared.
		dropped := m
		dropped.To = ""
		s.OnRelay(dropped)
	}
	if !ok {
		return err
	}
	m = out
	if s.OnRelay != nil {
		s.OnRelay(m)
	}
	to.send(m)
	return nil
}

// hangUp ends c's session as the server's side of the connection going
// away does: the client sees it after its latency.
func (c *client) hangUp() {
	if c.latency <= 0 {
		c.cancel()
		return
	}
	time.AfterFunc(c.latency, c.cancel)
}

// send queues m; a client too slow to drain its queue is disconnected.
func (c *client) send(m Message) {
	select {
	case c.out <- queued{m: m, at: time.Now()}:
	default:
		c.cancel()
	}
}

// wait waits until t; false if ctx ended first.
func wait(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func readJSON(ctx context.Context, ws *websocket.Conn, v any) error {
	_, data, err := ws.Read(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func writeJSON(ctx context.Context, ws *websocket.Conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return ws.Write(ctx, websocket.MessageText, data)
}
