package verify

import (
	"fmt"

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
	RTP
}

type rtcpRecord struct {
	At  time.Time
	Out bool
	RTCP
}

// readCapture reads DIR/HOST.pcap and decrypts what the key log (client
// random -> master secret) opens.
func readCapture(dir, host string, keys map[string][]byte) (*capture, error) {
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
	c.self = selfAddr(dgs)
	sessions := map[flowKey]*dtlsSession{}
	type sealed struct {
		flow flowKey
		from netip.AddrPort
		raw  []byte
	}
	var raws []sealed
	for _, d := range dgs {
		out := d.Src.Addr() == c.self
		rtp, rtcp, dtls := demux(d.Payload)
		switch {
		case rtp != nil:
			c.rtp = append(c.rtp, rtpRecord{At: d.At, Out: out, RTP: *rtp})
			raws = append(raws, sealed{flowOf(d.Src, d.Dst), d.Src, unwrapTURN(d.Payload)})
		case rtcp != nil:
			c.rtcp = append(c.rtcp, rtcpRecord{At: d.At, Out: out, RTCP: *rtcp})
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
	type way struct {
		flow       flowKey
		fromClient bool
	}
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
	for i, r := range raws {
		s := sessions[r.flow]
		if s == nil {
			continue
		}
		if ctx := ctxs[way{r.flow, r.from == s.client}]; ctx != nil {
			c.rtp[i].decrypt(ctx, r.raw)
		}
	}
	return c, nil
}

// selfAddr is the address found in the most datagrams, at either end.
func selfAddr(dgs []Datagram) netip.Addr {
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
	return best
}
