package kernel

import (
	"context"
	"fmt"
	"net"

	"github.com/pion/transport/v3"
)

// Loopback is a network namespace with nothing but its loopback
// interface: no address of the machine's and no route out. A test that
// runs real peers (a Chromium, which would otherwise gather the
// machine's own addresses as ICE candidates) on loopback runs them and
// its own servers in one, so nothing it starts can reach or announce
// another network. Its name starts with Prefix and this process's ID, so
// CleanStale removes it when the process dies without Close.
type Loopback struct {
	// Name is the namespace's name (for `ip netns exec`).
	Name string
	// Net makes sockets inside the namespace.
	Net transport.Net
	ns  *nsNet
}

// NewLoopback creates a Loopback namespace; Close deletes it.
func NewLoopback() (*Loopback, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	name := newRunPrefix() + "lo"
	if err := addNamespace(name); err != nil {
		_ = deleteNamespace(name)
		return nil, fmt.Errorf("loopback namespace: %w", err)
	}
	n, err := newNSNet(name)
	if err != nil {
		_ = deleteNamespace(name)
		return nil, fmt.Errorf("loopback namespace: %w", err)
	}
	return &Loopback{Name: name, Net: n, ns: n}, nil
}

// DialContext dials from inside the namespace (for an http.Transport).
func (l *Loopback) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return l.ns.DialContext(ctx, network, address)
}

// Close kills what still runs in the namespace and deletes it.
func (l *Loopback) Close() error { return deleteNamespace(l.Name) }
