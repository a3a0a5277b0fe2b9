package kernel

import (
	"bytes"
	"fmt"
	"os"

	"github.com/rtclab/rtclab/netem"
)

// Rebind makes the host's NAT drop its mappings, as a NAT does after a
// timeout, a reboot or a CGN's port reallocation (RFC 4787 section 4.3),
// and returns how many UDP sockets the host has open (each of which gets
// a new outside port with its next packet). The NAT's rules are reloaded
// with the next epoch (natRules): a new conntrack zone, so no packet
// matches a mapping made before, and for an endpoint-independent mapping
// a new port transformation. Packets to an old mapping are lost. TCP
// connections keep their mappings (they stay in the default zone), as
// in-process, where TCP is not moved either: a browser's signaling
// connection survives. The NAT that rebinds is the host's home NAT; a
// CGN in front maps the new ports anew.
//
// The in-process backend (netem/rebind.go) moves each socket of the host
// to a new inside port instead; both change every socket's outside port
// at once, this one for any program in the host (Chromium, coturn) too.
func (n *Network) Rebind(host string) (int, error) {
	n.rebindMu.Lock()
	defer n.rebindMu.Unlock()
	spec, ok := n.nats[host]
	if !ok {
		return 0, fmt.Errorf("%w: host %s has no NAT to rebind", netem.ErrUnsupported, host)
	}
	next := *spec
	next.epoch++
	if err := loadRules(next.ns, natRules(next)); err != nil {
		return 0, fmt.Errorf("rebind %s: %w", host, err)
	}
	*spec = next
	return n.udpSockets(host)
}

// udpSockets counts the UDP sockets open in the host's namespace
// (/proc/net/udp as seen from inside it: one line per socket after the
// header).
func (n *Network) udpSockets(host string) (int, error) {
	var b []byte
	err := inNamespace(n.ns[host], func() error {
		var err error
		b, err = os.ReadFile("/proc/thread-self/net/udp")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("rebind %s: %w", host, err)
	}
	return max(0, bytes.Count(b, []byte("\n"))-1), nil
}
