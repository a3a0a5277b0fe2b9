package netem

import (
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// TestTCPUnderOverload writes 500 kbit/s for 10 s into a TCP connection
// whose receiver's downlink carries 300 kbit/s with a 200 ms drop-tail
// queue, as a TURN server relaying a call to a udp-blocked participant
// does. TCP's congestion window keeps what crosses the bottleneck near its
// capacity and the excess in the sender's buffer: the reader gets about
// the link's rate, in order, and few segments are sent twice. The build
// before had no congestion window: every timeout resent everything
// outstanding at the full rate, the queue stayed full of resends, and the
// reader got 14 KB of the 375 KB the link could carry (a TURN/TCP call
// over 300 kbit/s lost 99.6 % of its audio).
func TestTCPUnderOverload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := New(Config{Servers: []string{"s"}, Hosts: []HostConfig{
			{Name: "c", NAT: UDPBlocked, Uplink: Impairment{Delay: 20 * time.Millisecond},
				Downlink: Impairment{Delay: 20 * time.Millisecond, Rate: 300_000, QueueDelay: 200 * time.Millisecond}},
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
		const (
			write    = 1200
			every    = 19200 * time.Microsecond // 500 kbit/s
			duration = 10 * time.Second
		)
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
			buf := make([]byte, write)
			for range int(duration / every) {
				if _, err := conn.Write(buf); err != nil {
					return
				}
				time.Sleep(every)
			}
		}()
		conn, err := c.Net.Dial("tcp4", s.IP.String()+":3478")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		var got int
		buf := make([]byte, 64<<10)
		_ = conn.SetReadDeadline(start.Add(duration))
		for {
			k, err := conn.Read(buf)
			got += k
			if err != nil {
				if err != io.EOF && !isTimeout(err) {
					t.Fatal(err)
				}
				break
			}
		}
		capacity := int(300_000 / 8 * duration.Seconds())
		st := c.Stats(Downlink)
		t.Logf("read %d bytes in %v (the link carries %d), %d segments offered, %d dropped by the queue, %d delivered", got, duration, capacity, st.Packets, st.QueueDrops, st.Packets-st.QueueDrops)
		// The payload is 1460 of every 1500 bytes the link carries.
		if min := capacity * 80 / 100 * mss / 1500; got < min {
			t.Errorf("read %d bytes in %v over a 300 kbit/s link, want at least %d (80 %% of its payload capacity)", got, duration, min)
		}
		if st.QueueDrops*10 > st.Packets {
			t.Errorf("%d of %d segments dropped by the queue: TCP must back off, not resend into a full queue", st.QueueDrops, st.Packets)
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
