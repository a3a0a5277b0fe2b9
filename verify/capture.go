package verify

import (
	"fmt"
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

// readCapture reads DIR/HOST.pcap.
func readCapture(dir, host string) (*capture, error) {
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
	for _, d := range dgs {
		out := d.Src.Addr() == c.self
		rtp, rtcp, dtls := demux(d.Payload)
		switch {
		case rtp != nil:
			c.rtp = append(c.rtp, rtpRecord{At: d.At, Out: out, RTP: *rtp})
		case rtcp != nil:
			c.rtcp = append(c.rtcp, rtcpRecord{At: d.At, Out: out, RTCP: *rtcp})
		case dtls != nil && c.srtpProfile == 0:
			if p, ok := serverHelloSRTP(dtls); ok {
				c.srtpProfile = p
			}
		}
		if d.At.After(c.last) {
			c.last = d.At
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
