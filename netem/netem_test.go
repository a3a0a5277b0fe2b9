package netem

import (
	"errors"
	"math"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// echo runs a UDP server on host h:port that answers every datagram with
// the source address it saw, until the network closes.
func echo(t *testing.T, h *Host, port int) *net.UDPAddr {
	t.Helper()
	addr := &net.UDPAddr{IP: h.IP, Port: port}
	c, err := h.Net.ListenUDP("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			_, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteTo([]byte(from.String()), from)
		}
	}()
	t.Cleanup(func() { c.Close() })
	return addr
}

func mapped(t *testing.T, c net.PacketConn, to *net.UDPAddr) string {
	t.Helper()
	if _, err := c.WriteTo([]byte("x"), to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// Mapping behaviour (RFC 4787 section 4.1): the address a server sees
// is the same for two destinations exactly when mapping is
// endpoint-independent.
func TestNATMapping(t *testing.T) {
	tests := []struct {
		nat         NAT
		independent bool
	}{
		{Open, true}, {FullCone, true}, {RestrictedCone, true}, {PortRestrictedCone, true}, {Symmetric, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.nat), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n, err := New(Config{Servers: []string{"s1", "s2"}, Hosts: []HostConfig{{Name: "c", NAT: tt.nat}}})
				if err != nil {
					t.Fatal(err)
				}
				defer n.Close()
				s1, _ := n.Host("s1")
				s2, _ := n.Host("s2")
				c, _ := n.Host("c")
				a1, a2 := echo(t, s1, 7000), echo(t, s2, 7000)
				conn, err := c.Net.ListenPacket("udp4", "0.0.0.0:0")
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				m1, m2 := mapped(t, conn, a1), mapped(t, conn, a2)
				if m1 == "" || m2 == "" {
					t.Fatalf("no answer: %q %q", m1, m2)
				}
				if host, _, _ := net.SplitHostPort(m1); !net.ParseIP(host).Equal(c.PublicIP) {
					t.Errorf("mapped %s, want the NAT's public %s", m1, c.PublicIP)
				}
				if (m1 == m2) != tt.independent {
					t.Errorf("mapped %s then %s; endpoint-independent = %v", m1, m2, tt.independent)
				}
			})
		})
	}
}

// Configured loss vs measured loss over 10,000 packets: the standard error
// of a 3 % Bernoulli estimate is sqrt(0.03*0.97/10000) = 0.0017; ±0.5
// percentage points is about 3 of them.
func TestLossFidelityAndDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const sent = 10000
		n, err := New(Config{Seed: 7, Servers: []string{"s"}, Hosts: []HostConfig{{
			Name: "c", NAT: FullCone, Downlink: Impairment{Loss: 0.03, Delay: 40 * time.Millisecond},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		s, _ := n.Host("s")
		c, _ := n.Host("c")
		srv, err := s.Net.ListenPacket("udp4", s.IP.String()+":9000")
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		cl, err := c.Net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		// Open the NAT mapping, learn the client's public address.
		if _, err := cl.WriteTo([]byte("hi"), &net.UDPAddr{IP: s.IP, Port: 9000}); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		_, from, err := srv.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		got, delays := 0, 0.0
		done := make(chan struct{})
		go func() {
			defer close(done)
			rb := make([]byte, 100)
			for {
				_ = cl.SetReadDeadline(time.Now().Add(time.Second))
				m, _, err := cl.ReadFrom(rb)
				if err != nil {
					return
				}
				var at int64
				for _, b := range rb[:m] {
					at = at*10 + int64(b-'0')
				}
				delays += float64(time.Now().UnixNano()-at) / 1e6
				got++
			}
		}()
		for i := 0; i < sent; i++ {
			stamp := []byte(itoa(time.Now().UnixNano()))
			if _, err := srv.WriteTo(stamp, from); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		<-done
		loss := 1 - float64(got)/sent
		if math.Abs(loss-0.03) > 0.005 {
			t.Errorf("measured loss %.4f, configured 0.03", loss)
		}
		if mean := delays / float64(got); math.Abs(mean-40) > 1 {
			t.Errorf("mean one-way delay %.2f ms, configured 40", mean)
		}
		st := c.Stats(Downlink)
		if st.Packets != sent || st.Lost+st.Delivered != st.Packets {
			t.Errorf("link stats %+v", st)
		}
	})
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

// The n-th packet of a stream meets the same fate for the same seed,
// whatever else shares the link.
func TestFatesDependOnIdentityNotOrder(t *testing.T) {
	rtp := func(pt byte, seq uint16) []byte {
		p := make([]byte, 20)
		p[0], p[1] = 0x80, pt
		p[2], p[3] = byte(seq>>8), byte(seq)
		p[11] = pt
		return p
	}
	drops := func(order []int) map[int]bool {
		f := newFates(1, "h/downlink")
		out := map[int]bool{}
		for _, i := range order {
			pt := byte(96 + i%2)
			c, idx := f.identity(rtp(pt, uint16(1000+i/2)))
			out[i] = f.uniform(c, idx, 0) < 0.3
		}
		return out
	}
	var fwd, rev []int
	for i := 0; i < 200; i++ {
		fwd = append(fwd, i)
	}
	for i := 0; i < 200; i += 2 { // same streams, other interleaving
		rev = append(rev, i+1, i)
	}
	a, b := drops(fwd), drops(rev)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("packet %d: fate depends on interleaving", i)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []Config{
		{Hosts: []HostConfig{{Name: "a", NAT: "cone"}}},
		{Hosts: []HostConfig{{Name: "a", Downlink: Impairment{Loss: 2}}}},
		{Hosts: []HostConfig{{Name: "a", Uplink: Impairment{Delay: -1}}}},
		{Hosts: []HostConfig{{Name: "a"}, {Name: "a"}}},
	}
	for i, cfg := range tests {
		synctest.Test(t, func(t *testing.T) {
			if n, err := New(cfg); err == nil {
				n.Close()
				t.Errorf("config %d accepted", i)
			}
		})
	}
}

// A double NAT maps twice: the server sees the carrier-grade NAT's public
// address, and the home NAT's outside address is an RFC 6598 one.
func TestDoubleNAT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := New(Config{Servers: []string{"s"}, Hosts: []HostConfig{{Name: "c", NAT: DoubleNAT}}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		s, _ := n.Host("s")
		c, _ := n.Host("c")
		conn, err := c.Net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		m := mapped(t, conn, echo(t, s, 7000))
		host, _, _ := net.SplitHostPort(m)
		if !net.ParseIP(host).Equal(c.PublicIP) {
			t.Errorf("server saw %s, want the CGN's public %s", m, c.PublicIP)
		}
		if c.Behaviour == "" || !strings.Contains(c.Behaviour, "carrier-grade") {
			t.Errorf("behaviour %q", c.Behaviour)
		}
	})
}

// udp-blocked drops all UDP; a firewall can still let UDP reach named
// servers.
func TestFirewall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := New(Config{Servers: []string{"turn", "other"}, Hosts: []HostConfig{
			{Name: "blocked", NAT: UDPBlocked},
			{Name: "allowed", NAT: PortRestrictedCone, Firewall: &Firewall{BlockUDP: true, AllowUDPTo: []string{"turn"}}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		turn, _ := n.Host("turn")
		other, _ := n.Host("other")
		tAddr, oAddr := echo(t, turn, 3478), echo(t, other, 3478)
		for _, tt := range []struct {
			host    string
			to      *net.UDPAddr
			answers bool
		}{{"blocked", tAddr, false}, {"allowed", tAddr, true}, {"allowed", oAddr, false}} {
			h, _ := n.Host(tt.host)
			conn, err := h.Net.ListenPacket("udp4", "0.0.0.0:0")
			if err != nil {
				t.Fatal(err)
			}
			if got := mapped(t, conn, tt.to) != ""; got != tt.answers {
				t.Errorf("%s -> %s answered %v, want %v", tt.host, tt.to, got, tt.answers)
			}
			conn.Close()
		}
		if h, _ := n.Host("blocked"); h.Stats(Uplink).Firewalled == 0 {
			t.Error("firewall drops not counted")
		}
	})
}

// A mapping idle for longer than its lifetime expires: the next packet
// gets a new external port (RFC 4787 REQ-5/6; only outbound refreshes).
func TestMappingLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := New(Config{Servers: []string{"s"}, Hosts: []HostConfig{{Name: "c",
			HomeNAT: &NATConfig{Mapping: EndpointIndependent, Filtering: EndpointIndependent, Lifetime: 30 * time.Second}}}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		s, _ := n.Host("s")
		c, _ := n.Host("c")
		a := echo(t, s, 7000)
		conn, err := c.Net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		first := mapped(t, conn, a)
		time.Sleep(20 * time.Second)
		if again := mapped(t, conn, a); again != first {
			t.Errorf("mapping changed within its lifetime: %s -> %s", first, again)
		}
		time.Sleep(31 * time.Second)
		if later := mapped(t, conn, a); later == first {
			t.Errorf("mapping %s survived 31 s idle with a 30 s lifetime", first)
		}
	})
}

func TestUnsupportedNATRefused(t *testing.T) {
	for _, cfg := range []NATConfig{
		{Mapping: EndpointIndependent, Filtering: EndpointIndependent, Hairpinning: true},
		{Mapping: EndpointIndependent, Filtering: EndpointIndependent, PortPreservation: true},
	} {
		synctest.Test(t, func(t *testing.T) {
			_, err := New(Config{Hosts: []HostConfig{{Name: "c", HomeNAT: &cfg}}})
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("%+v: err = %v, want ErrUnsupported", cfg, err)
			}
		})
	}
}

// Jitter with reordering allowed does reorder; the same link with
// Reorder false never does (TestFidelity).
func TestJitterReorders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fidelityCase{name: "reorder", imp: Impairment{Delay: 20 * time.Millisecond, Jitter: 10 * time.Millisecond, Reorder: true},
			packets: 2000, size: 100, interval: time.Millisecond}
		m, err := probe(1, c)
		if err != nil {
			t.Fatal(err)
		}
		if r := judgeNoReorder(c, m)[0]; r.Measured == 0 {
			t.Error("no packet was reordered by 10 ms jitter at 1 ms spacing")
		}
	})
}

func TestParseTrace(t *testing.T) {
	tr, err := ParseTrace("t", strings.NewReader("1\n1\n3\n\n5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Opportunities() != 4 || tr.Period() != 5*time.Millisecond {
		t.Errorf("opps %d period %v", tr.Opportunities(), tr.Period())
	}
	// The second pass starts after 5 ms.
	if got := tr.at(4); got != 6*time.Millisecond {
		t.Errorf("opportunity 4 at %v, want 6ms", got)
	}
	if k := tr.first(3 * time.Millisecond); k != 2 {
		t.Errorf("first at 3ms = %d, want 2", k)
	}
	for _, bad := range []string{"", "x\n", "5\n3\n", "-1\n"} {
		if _, err := ParseTrace("bad", strings.NewReader(bad)); !errors.Is(err, ErrTrace) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// pion resends every retry of a lost packet as the same RTX packet: a
// resend must meet a fate of its own, or a packet whose first
// retransmission is lost could never be repaired.
func TestResendGetsItsOwnFate(t *testing.T) {
	f := newFates(1, "h/downlink")
	pkt := make([]byte, 20)
	pkt[0], pkt[1] = 0x80, 97
	lost := 0
	for range 1000 {
		c, i := f.identity(pkt)
		if n := f.occurrence(c, i); n > 0 {
			i ^= n * 0x9E3779B97F4A7C15
		}
		if f.uniform(c, i, drawLoss) < 0.5 {
			lost++
		}
	}
	if lost < 400 || lost > 600 {
		t.Errorf("%d of 1000 identical resends lost at 50%% loss: resends must draw independently", lost)
	}
}

// A socket a program leaves open (pion/ice v4.1.0 leaks one when an agent
// closes while gathering) is closed with the network: without that, its
// read loop stays blocked and the synctest bubble panics with a deadlock.
func TestCloseFreesSocketsLeftOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := New(Config{Servers: []string{"s"}, Hosts: []HostConfig{{Name: "c"}}})
		if err != nil {
			t.Fatal(err)
		}
		h, _ := n.Host("c")
		if _, err := h.Net.ListenUDP("udp4", &net.UDPAddr{IP: h.IP}); err != nil {
			t.Fatal(err)
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// Datagrams wait in pooled buffers while they cross the links (conn.go,
// bufPool): every packet must come out with its own bytes — duplicated,
// reordered, dropped, larger than a pooled buffer, and sent from a buffer
// the sender overwrites at once.
func TestPooledBuffersKeepEveryPacket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		imp := Impairment{Loss: 0.1, Duplicate: 0.3, Delay: 20 * time.Millisecond, Jitter: 15 * time.Millisecond, Reorder: true}
		n, err := New(Config{Seed: 3, Servers: []string{"s"}, Hosts: []HostConfig{{Name: "c", NAT: FullCone, Uplink: imp, Downlink: imp}}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		s, _ := n.Host("s")
		c, _ := n.Host("c")
		srv, err := s.Net.ListenPacket("udp4", s.IP.String()+":9000")
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		cl, err := c.Net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		// payload i: its index, then a byte pattern of it; sizes up to
		// past a pooled buffer.
		payload := func(buf []byte, i int) []byte {
			size := 8 + (i*37)%(pooledSize+600)
			b := buf[:size]
			for k := range b {
				b[k] = byte(i*31 + k)
			}
			b[0], b[1] = byte(i>>8), byte(i)
			return b
		}
		const sent = 3000
		seen := make([]int, sent)
		done := make(chan struct{})
		go func() {
			defer close(done)
			rb, want := make([]byte, 4096), make([]byte, 4096)
			for {
				_ = srv.SetReadDeadline(time.Now().Add(time.Second))
				m, _, err := srv.ReadFrom(rb)
				if err != nil {
					return
				}
				i := int(rb[0])<<8 | int(rb[1])
				if i >= sent || string(rb[:m]) != string(payload(want, i)) {
					t.Errorf("packet %d came out with other bytes (%d bytes)", i, m)
					continue
				}
				seen[i]++
				// Overwrite the reader's buffer as a program would.
				clear(rb)
			}
		}()
		wb := make([]byte, 4096)
		to := &net.UDPAddr{IP: s.IP, Port: 9000}
		for i := range sent {
			if _, err := cl.WriteTo(payload(wb, i), to); err != nil {
				t.Fatal(err)
			}
			clear(wb) // the sender reuses its buffer at once
			time.Sleep(time.Millisecond)
		}
		<-done
		got, twice := 0, 0
		for _, k := range seen {
			got += k
			if k > 2 {
				t.Fatalf("a packet came out %d times", k)
			}
			if k == 2 {
				twice++
			}
		}
		up, down := c.Stats(Uplink), s.Stats(Downlink)
		if uint64(got) != down.Delivered || up.Delivered != down.Packets || twice == 0 || up.Lost == 0 {
			t.Errorf("received %d (%d twice); uplink %+v; server downlink %+v", got, twice, up, down)
		}
	})
}
