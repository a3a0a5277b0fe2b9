package verify

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/pion/srtp/v3"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// capture is one host's pcap, parsed.
type capture struct {
	host string
	path string
	// self is the host's own address: the one every datagram has at one
	// end (netem writes each host's inside address).
	self netip.Addr
	rtp  []rtpRecord
	rtcp []rtcpRecord
	// srtpProfile is the profile a ServerHello in this capture chose, 0
	// when none was seen.
	srtpProfile uint16
	last        time.Time
}

type rtpRecord struct {
	At  time.Time
	Out bool // sent by this host
	// Port is the host's own UDP port of the datagram.
	Port uint16
	RTP
}

type rtcpRecord struct {
	At  time.Time
	Out bool
	RTCP
	// Decrypted is true when the compound packet could be decrypted; then
	// NACKs and PLIs list the media SSRC of each generic NACK and each
	// PLI/FIR in it (RFC 4585 section 6.1: the media source field).
	Decrypted   bool
	NACKs, PLIs []uint32
}

// readCapture reads DIR/HOST.pcap and decrypts what the key log (client
// random -> master secret) opens.
func readCapture(dir, host string, addr netip.Addr, keys map[string][]byte) (*capture, error) {
	path := filepath.Join(dir, host+".pcap")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dgs, err := ReadPcap(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &capture{host: host, path: path}
	c.self = selfAddr(dgs, addr)
	sessions := map[flowKey]*dtlsSession{}
	type sealed struct {
		flow flowKey
		from netip.AddrPort
		raw  []byte
	}
	var raws, rtcpRaws []sealed
	for _, d := range dgs {
		out := d.Src.Addr() == c.self
		rtp, rtcp, dtls := demux(d.Payload)
		switch {
		case rtp != nil:
			port := d.Dst.Port()
			if out {
				port = d.Src.Port()
			}
			c.rtp = append(c.rtp, rtpRecord{At: d.At, Out: out, Port: port, RTP: *rtp})
			raws = append(raws, sealed{flowOf(d.Src, d.Dst), d.Src, unwrapTURN(d.Payload)})
		case rtcp != nil:
			c.rtcp = append(c.rtcp, rtcpRecord{At: d.At, Out: out, RTCP: *rtcp})
			rtcpRaws = append(rtcpRaws, sealed{flowOf(d.Src, d.Dst), d.Src, unwrapTURN(d.Payload)})
		case dtls != nil:
			f := flowOf(d.Src, d.Dst)
			for _, h := range parseHellos(dtls) {
				s := sessions[f]
				if s == nil {
					s = &dtlsSession{}
					sessions[f] = s
				}
				if h.typ == 1 {
					s.client, s.clientRandom = d.Src, h.random
				} else {
					s.serverRandom, s.suite, s.profile = h.random, h.suite, h.profile
					if c.srtpProfile == 0 {
						c.srtpProfile = h.profile
					}
				}
			}
		}
		if d.At.After(c.last) {
			c.last = d.At
		}
	}
	// Decrypt, each direction of each flow with its own context, in
	// capture order (SRTP's rollover counter follows the sequence).
	ctxs := map[way]*srtp.Context{}
	for f, s := range sessions {
		master := keys[string(s.clientRandom)]
		if master == nil || s.serverRandom == nil || s.profile == 0 {
			continue
		}
		if cc, sc, ok := s.srtpContexts(master); ok {
			ctxs[way{f, true}], ctxs[way{f, false}] = cc, sc
		}
	}
	// A DTLS association outlives its flow: after an ICE restart (or a
	// NAT rebinding, or a new TURN allocation) its SRTP goes on over a
	// new 5-tuple with no handshake on it. A packet of a flow without a
	// session of its own tries every session's contexts (a wrong key
	// fails SRTP's authentication, RFC 3711 section 3.3, and changes no
	// state); the flow then keeps that session, the end that sent the
	// packet as that direction and its other end as the other one (the
	// flow's first packet was often media one way, and its feedback the
	// other way had been tried with the media's direction: after an ICE
	// restart a WHEP viewer's whole SRTCP went undecrypted).
	type adoption struct {
		w    way
		from netip.AddrPort // the end whose packets w decrypts
	}
	adopted := map[flowKey]adoption{}
	pick := func(flow flowKey, from netip.AddrPort, try func(*srtp.Context) bool) {
		if s := sessions[flow]; s != nil {
			if ctx := ctxs[way{flow, from == s.client}]; ctx != nil {
				try(ctx)
			}
			return
		}
		if a, ok := adopted[flow]; ok {
			w := a.w
			if from != a.from {
				w.fromClient = !w.fromClient
			}
			if ctx := ctxs[w]; ctx != nil {
				try(ctx)
			}
			return
		}
		for _, w := range sortedWays(ctxs) {
			if try(ctxs[w]) {
				adopted[flow] = adoption{w, from}
				return
			}
		}
	}
	for i, r := range raws {
		pick(r.flow, r.from, func(ctx *srtp.Context) bool { return c.rtp[i].decrypt(ctx, r.raw) })
	}
	// SRTCP has its own index and replay state in the same contexts.
	for i, r := range rtcpRaws {
		pick(r.flow, r.from, func(ctx *srtp.Context) bool { return c.rtcp[i].decrypt(ctx, r.raw) })
	}
	return c, nil
}

// decrypt reads the feedback packets of a decrypted SRTCP compound.
func (r *rtcpRecord) decrypt(ctx *srtp.Context, raw []byte) bool {
	dec, err := ctx.DecryptRTCP(nil, raw, nil)
	if err != nil {
		return false
	}
	r.Decrypted = true
	for len(dec) >= 4 {
		n := 4 * (int(binary.BigEndian.Uint16(dec[2:])) + 1)
		if n > len(dec) {
			return true
		}
		if n >= 12 {
			media := binary.BigEndian.Uint32(dec[8:])
			switch pt, fmt := dec[1], dec[0]&0x1f; {
			case pt == 205 && fmt == 1:
				r.NACKs = append(r.NACKs, media)
			case pt == 206 && fmt == 1:
				r.PLIs = append(r.PLIs, media)
			case pt == 206 && fmt == 4 && n >= 16: // FIR: the SSRC is in the FCI
				r.PLIs = append(r.PLIs, binary.BigEndian.Uint32(dec[12:]))
			}
		}
		dec = dec[n:]
	}
	return true
}

// selfAddr is the address found in the most datagrams, at either end.
func selfAddr(dgs []Datagram, want netip.Addr) netip.Addr {
	n := map[netip.Addr]int{}
	var best netip.Addr
	for _, d := range dgs {
		for _, a := range []netip.Addr{d.Src.Addr(), d.Dst.Addr()} {
			n[a]++
			if n[a] > n[best] {
				best = a
			}
		}
	}
	// The host the report names is at one end of every datagram of its
	// capture; so is a server it talks to alone (bob's TURN/TCP relay is
	// his only peer when UDP is blocked), and the count cannot tell the
	// two apart: the report's address decides a tie.
	if want.IsValid() && n[want] == n[best] {
		return want
	}
	return best
}

// way is one direction of a flow's DTLS-SRTP session.
type way struct {
	flow       flowKey
	fromClient bool
}

// sortedWays lists the ways of ctxs in a fixed order, so that a packet
// that more than one context would take (none, but for a collision of
// the 80-bit tag) takes the same one in every recount.
func sortedWays(ctxs map[way]*srtp.Context) []way {
	ws := make([]way, 0, len(ctxs))
	for w := range ctxs {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, func(x, y way) int {
		if c := x.flow.a.Compare(y.flow.a); c != 0 {
			return c
		}
		if c := x.flow.b.Compare(y.flow.b); c != 0 {
			return c
		}
		switch {
		case x.fromClient == y.fromClient:
			return 0
		case x.fromClient:
			return -1
		}
		return 1
	})
	return ws
}
