package mdns

import (
	"context"
	"net"
	"testing"
	"testing/synctest"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/rtclab/rtclab/netem"
)

// FuzzHandle: a responder handed any datagram from its LAN neither
// panics nor answers for a name it does not hold, and still answers a
// well-formed query for its own name afterwards.
func FuzzHandle(f *testing.F) {
	q, _ := query("peer.local")
	a, _ := answer(dnsmessage.MustNewName("peer.local."), net.IPv4(10, 0, 1, 3))
	f.Add(q)
	f.Add(a)
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0}) // counts with no records
	f.Fuzz(func(t *testing.T, b []byte) {
		synctest.Test(t, func(t *testing.T) {
			nw, err := netem.New(netem.Config{Seed: 1, Hosts: []netem.HostConfig{{Name: "a", LAN: "l"}, {Name: "b", LAN: "l"}}})
			if err != nil {
				t.Fatal(err)
			}
			defer nw.Close()
			ha, _ := nw.Host("a")
			hb, _ := nw.Host("b")
			resp, err := Listen(Params{Net: ha.Net, Names: map[string]net.IP{"me.local": ha.IP}})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Close()
			asker, err := Listen(Params{Net: hb.Net})
			if err != nil {
				t.Fatal(err)
			}
			defer asker.Close()
			resp.handle(b) // any datagram, as the read loop would
			if _, err := asker.Resolve(context.Background(), "peer.local"); err == nil {
				t.Fatal("a name no host holds resolved")
			}
			ip, err := asker.Resolve(context.Background(), "me.local")
			if err != nil || !ip.Equal(ha.IP) {
				t.Fatalf("me.local after %x: %v, %v", b, ip, err)
			}
		})
	})
}
