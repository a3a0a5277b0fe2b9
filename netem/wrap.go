package netem

import (
	"fmt"
	"net"

	"github.com/pion/transport/v3"
)

// Wrap puts an access link in front of a transport.Net that is not an
// emulated one — pion's stdnet on real sockets, for a pion client that a
// real program (a browser) must reach — so its traffic crosses the same
// link code (loss, burst, delay, jitter, rate, trace, queue) as a host of
// an in-process network, and capture, when set, records it the same way.
// hc's NAT and firewall fields must be unset: a real-socket network has
// no emulated NAT in front of it. ip is the host's own address, written
// into the capture for sockets bound to no address. Close the returned
// function when done: it stops the links and closes the sockets left open.
// Real time only: the links' timers run on the wall clock there.
func Wrap(inner transport.Net, ip net.IP, seed int64, hc HostConfig, capture *Capture) (*Host, func(), error) {
	if inner == nil || ip == nil {
		return nil, nil, fmt.Errorf("%w: Wrap needs a network and an address", ErrConfig)
	}
	if (hc.NAT != "" && hc.NAT != Open) || hc.HomeNAT != nil || hc.CGN != nil || hc.Firewall != nil || hc.Rebindable {
		return nil, nil, fmt.Errorf("%w: host %s: a wrapped real network takes no NAT, firewall or rebinding", ErrConfig, hc.Name)
	}
	for _, imp := range []Impairment{hc.Uplink, hc.Downlink} {
		if err := imp.Validate(); err != nil {
			return nil, nil, fmt.Errorf("host %s: %w", hc.Name, err)
		}
	}
	bufs := newBufPool()
	h := &Host{Name: hc.Name, NAT: Open, IP: ip, PublicIP: ip, Behaviour: "real sockets, no NAT"}
	h.up = newLink(seed, hc.Name, Uplink, hc.Uplink, bufs)
	h.down = newLink(seed, hc.Name, Downlink, hc.Downlink, bufs)
	hn := &hostNet{Net: inner, up: h.up, down: h.down, ip: ip, public: ip, capture: capture, bufs: bufs}
	h.Net = hn
	closeFn := func() {
		h.up.close()
		h.down.close()
		hn.closeOpen()
	}
	return h, closeFn, nil
}

// errWrappedTCP is returned for TCP on a wrapped network: emulated TCP
// runs between hosts of one in-process network only.
var errWrappedTCP = fmt.Errorf("%w: no TCP on a wrapped real network (UDP only)", ErrConfig)
