package netem

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func TestTCP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := New(Config{Servers: []string{"s"}, Hosts: []HostConfig{
			{Name: "c", NAT: UDPBlocked, Uplink: Impairment{Delay: 10 * time.Millisecond, Loss: 0.5}, Downlink: Impairment{Delay: 30 * time.Millisecond}},
			{Name: "d", NAT: Symmetric},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		s, _ := n.Host("s")
		c, _ := n.Host("c")
		d, _ := n.Host("d")
		ln, err := s.Net.ListenTCP("tcp4", &net.TCPAddr{Port: 3478})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		seen := make(chan net.Addr, 1)
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			seen <- conn.RemoteAddr()
			_, _ = io.Copy(conn, conn) // echo until the client closes
			conn.Close()
		}()

		start := time.Now()
		conn, err := c.Net.Dial("tcp4", s.IP.String()+":3478")
		if err != nil {
			t.Fatalf("a udp-blocked host must still reach TCP: %v", err)
		}
		if rtt := time.Since(start); rtt != 40*time.Millisecond+2*streamLatency {
			t.Errorf("connect took %v, want one round trip (40ms + stack latency)", rtt)
		}
		if got := (<-seen).(*net.TCPAddr); !got.IP.Equal(c.PublicIP) {
			t.Errorf("server saw %v, want the NAT's public %v", got, c.PublicIP)
		}
		msg := make([]byte, 10000)
		for i := range msg {
			msg[i] = byte(i)
		}
		start = time.Now()
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(msg) {
			t.Error("echo corrupted: TCP must be reliable and in order despite 50% uplink loss")
		}
		// 7 segments at 50% loss: some were repaired, each after at least
		// one retransmission timeout.
		if rtt, least := time.Since(start), 40*time.Millisecond+minRTO; rtt < least {
			t.Errorf("echo over a 50%%-loss uplink took %v, want at least %v (one RTT and one retransmission timeout)", rtt, least)
		}
		if st := c.Stats(Uplink); st.Lost == 0 || st.Packets < 8 {
			t.Errorf("uplink stats %+v: want lost segments, and their retransmissions offered again", st)
		}
		// Without loss the echo takes one round trip, on a new connection:
		// the first one's congestion window is still small after its
		// timeouts (RFC 5681 section 3.1), so its echo takes more.
		if err := c.SetImpairment(Uplink, Impairment{Delay: 10 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.Copy(conn, conn)
			conn.Close()
		}()
		if conn, err = c.Net.Dial("tcp4", s.IP.String()+":3478"); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(conn, got); err != nil {
			t.Fatal(err)
		}
		// The 7 segments leave at one instant; a FIFO link spaces them 1 ns.
		segs := (len(msg) + mss - 1) / mss
		if rtt, want := time.Since(start), 40*time.Millisecond+2*streamLatency+c.up.skew+s.down.skew+s.up.skew+c.down.skew+time.Duration(segs-1); rtt != want {
			t.Errorf("echo took %v, want %v (40ms + stack latency + the links' skews + 1 ns per segment after the first)", rtt, want)
		}
		conn.Close()

		// Nothing comes in through a NAT.
		dl, err := d.Net.ListenTCP("tcp4", &net.TCPAddr{Port: 5000})
		if err != nil {
			t.Fatal(err)
		}
		defer dl.Close()
		if _, err := c.Net.Dial("tcp4", d.PublicIP.String()+":5000"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial into a NAT: err = %v, want connection refused", err)
		}
	})
}
