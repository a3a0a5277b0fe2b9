package kernel

import (
	"net"
	"testing"
	"time"

	"github.com/rtclab/rtclab/netem"
)

// BenchmarkRoundTrip is one UDP request and its answer between a host
// behind a full-cone NAT and a server, through both access links (four
// TUN crossings and four passes through netem's link code, none
// impaired): what the kernel backend adds to a round trip.
func BenchmarkRoundTrip(b *testing.B) {
	if err := Check(); err != nil {
		b.Skip(err)
	}
	n, err := New(netem.Config{Servers: []string{"srv"}, Hosts: []netem.HostConfig{{Name: "h", NAT: netem.FullCone}}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	srv, _ := n.Host("srv")
	h, _ := n.Host("h")
	sc, err := srv.Net.ListenUDP("udp4", &net.UDPAddr{IP: srv.IP, Port: 7000})
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			k, from, err := sc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = sc.WriteTo(buf[:k], from)
		}
	}()
	c, err := h.Net.ListenUDP("udp4", &net.UDPAddr{IP: h.IP})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	dst := &net.UDPAddr{IP: srv.IP, Port: 7000}
	msg, buf := make([]byte, 200), make([]byte, 1500)
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.WriteTo(msg, dst); err != nil {
			b.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := c.ReadFrom(buf); err != nil {
			b.Fatal(err)
		}
	}
}
