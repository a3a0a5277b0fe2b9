package nat_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v3/stdnet"
	"github.com/pion/transport/v3/vnet"

	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/stack/stunserver"

	"github.com/rtclab/rtclab/internal/leakcheck"
)

func TestCommonName(t *testing.T) {
	const (
		ei  = nat.EndpointIndependent
		ad  = nat.AddressDependent
		apd = nat.AddressAndPortDependent
		inc = nat.Inconclusive
	)
	tests := []struct {
		natted             bool
		mapping, filtering nat.Behavior
		want               nat.Type
	}{
		{false, ei, ei, nat.OpenInternet},
		{false, ei, ad, nat.Firewall},
		{false, ei, apd, nat.Firewall},
		{false, ei, inc, nat.Unknown},
		{true, ei, ei, nat.FullCone},
		{true, ei, ad, nat.RestrictedCone},
		{true, ei, apd, nat.PortRestrictedCone},
		{true, ad, ei, nat.Symmetric},
		{true, ad, apd, nat.Symmetric},
		{true, apd, apd, nat.Symmetric},
		{true, apd, inc, nat.Symmetric},
		{true, inc, ei, nat.Unknown},
		{true, ei, inc, nat.Unknown},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%s/%s", tt.natted, tt.mapping, tt.filtering), func(t *testing.T) {
			if got := nat.CommonName(tt.natted, tt.mapping, tt.filtering); got != tt.want {
				t.Errorf("CommonName = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestDiscoverLoopback runs the responder on 127.0.0.1 and 127.0.0.2: no
// NAT, no filter.
func TestDiscoverLoopback(t *testing.T) {
	leakcheck.Check(t)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := stunserver.New(stunserver.Config{Net: n, Primary: "127.0.0.1:0", Alternate: "127.0.0.2:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := nat.Discover(context.Background(), nat.Params{Net: n, Server: srv.Primary().String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if !res.Reachable || res.Natted || res.Type != nat.OpenInternet || res.OtherAddress != srv.Other().String() {
		t.Errorf("got %+v, want reachable open internet with other %s", res, srv.Other())
	}
}

func TestDiscoverWithoutRFC5780(t *testing.T) {
	leakcheck.Check(t)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := stunserver.New(stunserver.Config{Net: n, Primary: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := nat.Discover(context.Background(), nat.Params{Net: n, Server: srv.Primary().String()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reachable || res.Filtering != nat.Inconclusive || res.Reason == "" {
		t.Errorf("got %+v, want reachable, filtering inconclusive with a reason", res)
	}
}

func TestDiscoverUnreachable(t *testing.T) {
	leakcheck.Check(t)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	// A port nobody listens on: find one and close it.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	res, err := nat.Discover(context.Background(), nat.Params{Net: n, Server: addr, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reachable || res.Type != nat.Unknown {
		t.Errorf("got %+v, want unreachable", res)
	}
}

// TestDiscoverVNet checks every combination of vnet's NAT mapping and
// filtering behaviours against the responder, in virtual time.
func TestDiscoverVNet(t *testing.T) {
	behaviours := []struct {
		v    vnet.EndpointDependencyType
		want nat.Behavior
	}{
		{vnet.EndpointIndependent, nat.EndpointIndependent},
		{vnet.EndpointAddrDependent, nat.AddressDependent},
		{vnet.EndpointAddrPortDependent, nat.AddressAndPortDependent},
	}
	for _, m := range behaviours {
		for _, f := range behaviours {
			t.Run(string(m.want)+"/"+string(f.want), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					got := discoverBehindVNet(t, m.v, f.v)
					if got.Mapping != m.want || got.Filtering != f.want || !got.Natted {
						t.Errorf("got mapping %s filtering %s natted %v (%s), want %s %s",
							got.Mapping, got.Filtering, got.Natted, got.Reason, m.want, f.want)
					}
					if want := nat.CommonName(true, m.want, f.want); got.Type != want {
						t.Errorf("type %s, want %s", got.Type, want)
					}
				})
			})
		}
	}
}

func discoverBehindVNet(t *testing.T, mapping, filtering vnet.EndpointDependencyType) nat.Result {
	t.Helper()
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "1.2.3.0/24", LoggerFactory: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	lan, err := vnet.NewRouter(&vnet.RouterConfig{
		StaticIPs:     []string{"1.2.3.100"},
		CIDR:          "192.168.0.0/24",
		LoggerFactory: quiet(),
		NATType: &vnet.NATType{
			MappingBehavior:   mapping,
			FilteringBehavior: filtering,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := wan.AddRouter(lan); err != nil {
		t.Fatal(err)
	}
	serverNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"1.2.3.4", "1.2.3.5"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wan.AddNet(serverNet); err != nil {
		t.Fatal(err)
	}
	clientNet, err := vnet.NewNet(&vnet.NetConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := lan.AddNet(clientNet); err != nil {
		t.Fatal(err)
	}
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = wan.Stop() }()
	srv, err := stunserver.New(stunserver.Config{Net: serverNet, Primary: "1.2.3.4:3478", Alternate: "1.2.3.5:3479"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := nat.Discover(context.Background(), nat.Params{Net: clientNet, Server: "1.2.3.4:3478"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func quiet() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}
