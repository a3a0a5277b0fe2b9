package peer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/transport/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/stack/mdns"
)

// mDNS ICE candidates (draft-ietf-rtcweb-mdns-ice-candidates-02). pion
// runs with mDNS disabled (its pion/mdns needs kernel sockets: see
// package mdns), and the PC does the draft's two procedures around it:
// Conceal on every local candidate before it is signaled (section 3.1),
// and AddRemoteCandidate resolving remote .local candidates (section 3.2).

// MDNSName returns a name for Params.MDNSName made from key: a version 4
// UUID (RFC 4122 section 4.4) followed by ".local", as section 3.1 asks,
// but derived from key instead of drawn at random, so that a run repeats.
func MDNSName(key string) string {
	b := sha256.Sum256([]byte("rtclab mdns " + key))
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x.local", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// mdnsState is a PC's mDNS side: the name it answers for (empty: it only
// resolves) and the responder, opened on first use.
type mdnsState struct {
	name     string
	net      transport.Net
	virtual  bool
	onLookup func(name string, err error)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	conn       *mdns.Conn
	listenErr  error
	registered string // the address the name stands for
}

func newMDNS(p Params) *mdnsState {
	ctx, cancel := context.WithCancel(context.Background())
	return &mdnsState{name: p.MDNSName, net: p.Net, virtual: p.Virtual, onLookup: p.OnMDNSLookup, ctx: ctx, cancel: cancel}
}

// responder opens the responder once (RFC 6762 on the host's LAN).
func (m *mdnsState) responder() (*mdns.Conn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return nil, m.ctx.Err() // the PC closed: open nothing it would not close
	}
	if m.conn == nil && m.listenErr == nil {
		m.conn, m.listenErr = mdns.Listen(mdns.Params{Net: m.net, QueryInterval: phase.MDNSQueryInterval.For(m.virtual)})
	}
	return m.conn, m.listenErr
}

func (m *mdnsState) close() {
	m.cancel()
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != nil {
		_ = m.conn.Close()
	}
}

// Conceal returns the candidate as it may be signaled: with
// Params.MDNSName set, a host candidate's address is replaced by the name,
// registered for that address (section 3.1, steps 3 and 6), and a server-
// or peer-reflexive candidate's related address by 0.0.0.0 port 0. It
// returns false for a host candidate whose name could not be registered
// (no multicast on the host's network: step 4, the candidate is not
// exposed). Without a name it returns c as it is.
func (pc *PC) Conceal(c webrtc.ICECandidateInit) (webrtc.ICECandidateInit, bool) {
	if pc.mdns == nil || pc.mdns.name == "" {
		return c, true
	}
	f := strings.Fields(c.Candidate)
	if len(f) < 8 || f[6] != "typ" {
		return c, true
	}
	switch f[7] {
	case "host":
		ip := net.ParseIP(f[4])
		if ip == nil {
			return c, true // already a name
		}
		conn, err := pc.mdns.responder()
		if err != nil {
			return c, false
		}
		pc.mdns.mu.Lock()
		if pc.mdns.registered == "" {
			if err := conn.Register(pc.mdns.name, ip); err == nil {
				pc.mdns.registered = f[4]
			}
		}
		ok := pc.mdns.registered == f[4] // one name per address
		pc.mdns.mu.Unlock()
		if !ok {
			return c, false
		}
		f[4] = pc.mdns.name
	case "srflx", "prflx":
		for i := 8; i+1 < len(f); i++ {
			switch f[i] {
			case "raddr":
				f[i+1] = "0.0.0.0"
			case "rport":
				f[i+1] = "0"
			}
		}
	default:
		return c, true
	}
	c.Candidate = strings.Join(f, " ")
	return c, true
}

// ConcealSDP applies Conceal to every candidate line of a session
// description (section 3.1: a local description must carry the same
// candidates as gathering gave).
func (pc *PC) ConcealSDP(sdp string) string {
	if pc.mdns == nil || pc.mdns.name == "" || !strings.Contains(sdp, "a=candidate:") {
		return sdp
	}
	lines := strings.Split(sdp, "\r\n")
	out := lines[:0]
	for _, l := range lines {
		if strings.HasPrefix(l, "a=candidate:") {
			c, ok := pc.Conceal(webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(l, "a=")})
			if !ok {
				continue
			}
			l = "a=" + c.Candidate
		}
		out = append(out, l)
	}
	return strings.Join(out, "\r\n")
}

// addCandidate adds a remote candidate; a .local one is resolved first
// (section 3.2), on a goroutine of its own, and ignored when no host of
// the LAN answers.
func (pc *PC) addCandidate(c webrtc.ICECandidateInit) error {
	f := strings.Fields(c.Candidate)
	if len(f) < 8 || !mdns.IsLocal(f[4]) {
		return pc.AddICECandidate(c)
	}
	m := pc.mdns
	name := f[4]
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		conn, err := m.responder()
		var ip net.IP
		if err == nil {
			ip, err = conn.Resolve(m.ctx, name)
		}
		if m.ctx.Err() != nil {
			return // closed meanwhile
		}
		if m.onLookup != nil {
			m.onLookup(name, err)
		}
		if err != nil {
			return
		}
		if m.virtual {
			d := phase.MDNSResolvedDelay
			time.Sleep(phase.Derive(d.Base, d.Spread, d.Name+"/"+name))
		}
		f[4] = ip.String()
		c.Candidate = strings.Join(f, " ")
		_ = pc.AddICECandidate(c)
	}()
	return nil
}

// Close closes the PeerConnection, then ends its mDNS lookups and
// responder.
func (pc *PC) Close() error {
	if pc.mdns == nil {
		return pc.PeerConnection.Close()
	}
	pc.mdns.cancel()
	err := pc.PeerConnection.Close()
	pc.mdns.close()
	return err
}
