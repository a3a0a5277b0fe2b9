package netem

import (
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// TestTCPLinkDown: a link that is down carries nothing, TCP included.
// Bytes written during an outage arrive only after the link returns, at
// the next retransmission timeout (RFC 6298 section 5.5: the backed-off
// timer), and a connection opened during the outage is set up only after
// it, by a SYN retransmission.
func TestTCPLinkDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const oneWay = 10 * time.Millisecond
		n, err := New(Config{Servers: []string{"s"}, Hosts: []HostConfig{
			{Name: "c", NAT: UDPBlocked, Uplink: Impairment{Delay: oneWay}, Downlink: Impairment{Delay: oneWay}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		s, _ := n.Host("s")
		c, _ := n.Host("c")
		ln, err := s.Net.ListenTCP("tcp4", &net.TCPAddr{Port: 3478})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 2)
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- conn
			}
		}()
		conn, err := c.Net.Dial("tcp4", s.IP.String()+":3478")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		srv := <-accepted
		defer srv.Close()

		const outage = 2500 * time.Millisecond
		cut := func(down bool) {
			for _, d := range []Direction{Uplink, Downlink} {
				if err := c.SetImpairment(d, Impairment{Delay: oneWay, Down: down}); err != nil {
					t.Fatal(err)
				}
			}
		}
		cut(true)
		start := time.Now()
		back := make(chan struct{})
		go func() {
			time.Sleep(outage)
			cut(false)
			close(back)
		}()
		if _, err := conn.Write([]byte("during the outage")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 17)
		if _, err := io.ReadFull(srv, buf); err != nil {
			t.Fatal(err)
		}
		// RTO 200 ms (the least, RFC 6298 section 2.4 as Linux), doubled
		// on each timeout: resent at 0.2, 0.6 and 1.4 s into the outage,
		// then at 3.0 s, when the link is back.
		if got, least := time.Since(start), 3*time.Second+oneWay; got < least || got > least+time.Millisecond {
			t.Errorf("bytes written in a %v outage arrived after %v: want at the fourth retransmission, %v plus the stacks' latency", outage, got, least)
		}
		if st := c.Stats(Uplink); st.Down == 0 {
			t.Errorf("uplink stats %+v: want segments dropped while down", st)
		}

		// Dialing while the link is down: the SYN is lost and resent.
		<-back
		cut(true)
		start = time.Now()
		back = make(chan struct{})
		go func() {
			time.Sleep(outage)
			cut(false)
			close(back)
		}()
		defer func() { <-back }()
		conn2, err := c.Net.Dial("tcp4", s.IP.String()+":3478")
		if err != nil {
			t.Fatalf("dial across an outage that ends: %v", err)
		}
		defer conn2.Close()
		srv2 := <-accepted
		defer srv2.Close()
		// SYNs at 0 and 1 s are lost, the one at 3 s (RFC 6298 section
		// 2.1's 1 s timeout, doubled) connects.
		if got, least := time.Since(start), 3*time.Second+2*oneWay; got < least || got > least+time.Millisecond {
			t.Errorf("connected %v into a %v outage, want at %v (a link that is down carries no SYN; resent after 1 s, then 2 s)", got, outage, least)
		}
	})
}
