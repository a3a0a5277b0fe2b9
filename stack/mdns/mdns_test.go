package mdns

import (
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"

	"github.com/rtclab/rtclab/netem"
)

// A name resolves on its LAN, to the address its responder gave, and
// nowhere else: a host on another LAN asks Queries times and gives up.
func TestResolveOnLANOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw, err := netem.New(netem.Config{Seed: 1, Hosts: []netem.HostConfig{
			{Name: "a", NAT: netem.PortRestrictedCone, LAN: "home"},
			{Name: "b", NAT: netem.PortRestrictedCone, LAN: "home"},
			{Name: "c", NAT: netem.PortRestrictedCone, LAN: "office"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer nw.Close()
		a, _ := nw.Host("a")
		const name = "1f0e6b8c-3c44-4e0a-9d1e-2b5a3f7c9d10.local"
		conns := map[string]*Conn{}
		for _, h := range nw.Hosts() {
			names := map[string]net.IP(nil)
			if h.Name == "a" {
				names = map[string]net.IP{name: a.IP}
			}
			c, err := Listen(Params{Net: h.Net, Names: names})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[h.Name] = c
		}
		ip, err := conns["b"].Resolve(context.Background(), name)
		if err != nil || !ip.Equal(a.IP) {
			t.Fatalf("b resolved %s to %v, %v; want %s", name, ip, err, a.IP)
		}
		if _, err := conns["c"].Resolve(context.Background(), name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("c resolved %s: %v; want ErrNotFound", name, err)
		}
		if _, err := conns["b"].Resolve(context.Background(), "nobody.local"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown name: %v", err)
		}
	})
}

func TestListenRejectsNames(t *testing.T) {
	nw, err := netem.New(netem.Config{Hosts: []netem.HostConfig{{Name: "a", LAN: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	a, _ := nw.Host("a")
	for _, names := range []map[string]net.IP{{"example.com": a.IP}, {"x.local": net.ParseIP("::1")}} {
		if c, err := Listen(Params{Net: a.Net, Names: names}); err == nil {
			c.Close()
			t.Errorf("Listen(%v) accepted", names)
		}
	}
}
