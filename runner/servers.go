package runner

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/stack/sfu"
	"github.com/rtclab/rtclab/stack/signaling"
	"github.com/rtclab/rtclab/stack/turn"
)

// The embedded servers of a call, each restartable by a timeline step
// (faults.go): a restart crashes the running instance, dropping its state,
// and later starts a fresh one on the same address.

// signalingService is the signaling server behind one URL that survives
// restarts: in virtual time an in-memory listener (dials made while the
// server is down fail, as a refused TCP connection does), in real time
// loopback TCP on a fixed port.
type signalingService struct {
	log     *slog.Logger
	virtual bool
	onRelay func(signaling.Message) // every server's Server.OnRelay
	mdns    signaling.MDNSMode      // every server's Server.MDNS

	url    string
	client *http.Client

	mu   sync.Mutex
	addr string                  // real time: the loopback address kept across restarts
	pl   *signaling.PipeListener // virtual time: nil while down
	srv  *signaling.Server
	hs   *http.Server
	done chan struct{}
}

func newSignalingService(log *slog.Logger, virtual bool, onRelay func(signaling.Message), mdns signaling.MDNSMode) (*signalingService, error) {
	s := &signalingService{log: log, virtual: virtual, onRelay: onRelay, mdns: mdns}
	if virtual {
		s.client = &http.Client{Transport: &http.Transport{DialContext: s.dialPipe}}
		s.url = "ws://signaling" + signaling.Path
	} else {
		s.client = &http.Client{Transport: &http.Transport{}}
		s.addr = "127.0.0.1:0"
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	if !virtual {
		s.url = "ws://" + s.addr + signaling.Path
	}
	return s, nil
}

// start serves a fresh server.
func (s *signalingService) start() error {
	srv := signaling.NewServer(s.log)
	srv.OnRelay = s.onRelay
	srv.MDNS = s.mdns
	if s.virtual {
		srv.Latency = phase.SignalingLatencyOf
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	var ln net.Listener
	if s.virtual {
		pl := signaling.NewPipeListener()
		ln = pl
		s.mu.Lock()
		s.pl = pl
		s.mu.Unlock()
	} else {
		tl, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("signaling listen: %w", err)
		}
		ln = tl
		s.addr = tl.Addr().String()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	s.mu.Lock()
	s.srv, s.hs, s.done = srv, hs, done
	s.mu.Unlock()
	return nil
}

func (s *signalingService) dialPipe(ctx context.Context, network, addr string) (net.Conn, error) {
	s.mu.Lock()
	pl := s.pl
	s.mu.Unlock()
	if pl == nil {
		return nil, fmt.Errorf("signaling: %w", net.ErrClosed)
	}
	return pl.DialContext(ctx, network, addr)
}

// crash stops the server as a dying process does: the listener closes,
// every session ends without a goodbye, the rooms are forgotten.
func (s *signalingService) crash() {
	s.mu.Lock()
	srv, hs, done := s.srv, s.hs, s.done
	s.pl = nil
	s.mu.Unlock()
	_ = hs.Close()
	<-done
	srv.Crash()
	s.client.CloseIdleConnections()
}

// stop ends the last server at the end of the run.
func (s *signalingService) stop() {
	s.mu.Lock()
	srv, hs, done := s.srv, s.hs, s.done
	s.mu.Unlock()
	_ = hs.Close()
	<-done
	srv.Wait()
	s.client.CloseIdleConnections()
}

// turnService is the TURN server on its fixed address.
type turnService struct {
	cfg turn.Config
	mu  sync.Mutex
	srv *turn.Server // nil while down
}

func newTURNService(cfg turn.Config) (*turnService, error) {
	t := &turnService{cfg: cfg}
	return t, t.start()
}

func (t *turnService) start() error {
	srv, err := turn.New(t.cfg)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.srv = srv
	t.mu.Unlock()
	return nil
}

// stop closes the running server: its sockets, and every allocation with
// its relayed address. It returns how many allocations it held.
func (t *turnService) stop() (int, error) {
	t.mu.Lock()
	srv := t.srv
	t.srv = nil
	t.mu.Unlock()
	if srv == nil {
		return 0, nil
	}
	n := srv.AllocationCount()
	return n, srv.Close()
}

// sfuService runs the SFU; a restart is a new SFU joining the room.
type sfuService struct {
	r      *run
	params sfu.Params
	wg     *sync.WaitGroup

	mu     sync.Mutex
	sfu    *sfu.SFU // the latest; nil before the first start
	cancel context.CancelFunc
	done   chan struct{}
}

// start joins a fresh SFU to the room and serves it until ctx ends or
// stop.
func (f *sfuService) start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	sf, err := sfu.Join(ctx, f.params, room)
	if err != nil {
		cancel()
		return err
	}
	done := make(chan struct{})
	f.mu.Lock()
	f.sfu, f.cancel, f.done = sf, cancel, done
	f.mu.Unlock()
	f.r.setSFU(sf)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(done)
		if err := sf.Serve(ctx); err != nil {
			f.r.event("sfu", "error", err.Error())
		}
	}()
	return nil
}

// stop ends the running SFU: its PeerConnections close and it leaves the
// room.
func (f *sfuService) stop() {
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}
