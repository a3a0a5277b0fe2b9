package conform

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"
)

// peer is a UDP listener the suite runs itself, on a peer address of the
// target or on loopback: relaying is proven by a token arriving here, and a
// bypass of the relay policy by one arriving where it must not.
type peer struct {
	pc net.PacketConn
}

var errNoPeer = errors.New("no --peer-ip: the relaying checks need an address of this machine the server may relay to")

// listen opens a peer on ip, port chosen by the system.
func (e *env) listen(ip net.IP) (*peer, error) {
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return nil, fmt.Errorf("peer listen %s: %w", ip, err)
	}
	e.closers = append(e.closers, func() { _ = pc.Close() })
	return &peer{pc: pc}, nil
}

// peerOn opens a peer on the target's i-th peer address.
func (e *env) peerOn(i int) (*peer, error) {
	if i >= len(e.t.PeerIPs) {
		if i == 0 {
			return nil, errNoPeer
		}
		return nil, fmt.Errorf("%w (this check needs %d of them)", errNoPeer, i+1)
	}
	return e.listen(e.t.PeerIPs[i])
}

func (p *peer) addr() *net.UDPAddr { return p.pc.LocalAddr().(*net.UDPAddr) }

// wait returns the source of the first datagram equal to want within d.
func (p *peer) wait(want []byte, d time.Duration) (*net.UDPAddr, bool) {
	end := time.Now().Add(d)
	buf := make([]byte, 64*1024)
	for {
		_ = p.pc.SetReadDeadline(end)
		n, from, err := p.pc.ReadFrom(buf)
		if err != nil {
			return nil, false
		}
		if string(buf[:n]) == string(want) {
			return from.(*net.UDPAddr), true
		}
	}
}

// sendTo sends b from this peer to addr.
func (p *peer) sendTo(b []byte, addr *net.UDPAddr) error {
	_, err := p.pc.WriteTo(b, addr)
	return err
}

// payload is a unique payload, so that a datagram is recognised wherever it
// lands.
func payload(what string) []byte {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return []byte("rtclab-conform " + what + " " + hex.EncodeToString(b))
}
