package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"

	"github.com/rtclab/rtclab/netem"
)

// Network is a running kernel network.
type Network struct {
	prefix string
	log    *slog.Logger

	hosts map[string]*netem.Host
	order []*netem.Host
	ns    map[string]string // host name -> its namespace
	nss   []string          // every namespace made, in order
	wires []*wire
	nats  map[string]*natSpec // host name -> its (home) NAT, for Rebind
	lans  map[string]*lanGroup
	lanN  map[string]int // hosts per LAN
	dests []net.IP       // every address on the run's networks (natSpec.dests)

	rebindMu  sync.Mutex
	closeOnce sync.Once
	closeErr  error
}

// Options are the optional parts of New.
type Options struct {
	// Log receives diagnostics; nil discards.
	Log *slog.Logger
}

// core is the role of the namespace that stands for the internet.
const core = "core"

// coreIP is the core's address on the public network (a router; the
// addresses from .10 on are the NATs' and open hosts').
const coreIP = "203.0.113.1"

// New builds the network cfg declares in namespaces, as netem.New does in
// memory: the same hosts, addresses, NAT behaviours, firewalls and links.
// It first deletes what runs that died left behind (CleanStale). On error
// everything made so far is removed.
func New(cfg netem.Config, opt Options) (*Network, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if gone, err := CleanStale(); err != nil {
		log.Warn("kernel: stale namespaces", "err", err)
	} else if len(gone) > 0 {
		log.Info("kernel: removed namespaces of dead runs", "names", gone)
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}
	n := &Network{prefix: newRunPrefix(), log: log, hosts: map[string]*netem.Host{}, ns: map[string]string{}, nats: map[string]*natSpec{}, lans: map[string]*lanGroup{}}
	if err := n.build(cfg); err != nil {
		return nil, errors.Join(err, n.Close())
	}
	return n, nil
}

func validate(cfg netem.Config) error {
	if len(cfg.Servers) > 200 || len(cfg.Hosts) > 200 {
		return fmt.Errorf("%w: at most 200 servers and 200 hosts", netem.ErrConfig)
	}
	seen := map[string]bool{}
	lans := map[string]int{}
	for _, h := range cfg.Hosts {
		if h.LAN != "" {
			lans[h.LAN]++
		}
	}
	for _, name := range cfg.Servers {
		if name == "" || seen[name] {
			return fmt.Errorf("%w: server name %q empty or used twice", netem.ErrConfig, name)
		}
		seen[name] = true
	}
	for _, h := range cfg.Hosts {
		if h.Name == "" || seen[h.Name] {
			return fmt.Errorf("%w: host name %q empty or used twice", netem.ErrConfig, h.Name)
		}
		seen[h.Name] = true
		if h.Rebindable && (h.NAT == "" || h.NAT == netem.Open) && h.HomeNAT == nil {
			return fmt.Errorf("%w: host %s: rebinding changes a NAT's mappings, and the host has no NAT on the kernel backend", netem.ErrUnsupported, h.Name)
		}
		if h.Rebindable && h.LAN != "" && lans[h.LAN] > 1 {
			return fmt.Errorf("%w: host %s: rebinding its NAT would rebind every host of LAN %q on the kernel backend", netem.ErrUnsupported, h.Name, h.LAN)
		}
	}
	return nil
}

// namespace creates the namespace of a role and remembers it for Close.
func (n *Network) namespace(role string) (string, error) {
	name := n.prefix + role
	if err := addNamespace(name); err != nil {
		return "", err
	}
	n.nss = append(n.nss, name)
	return name, nil
}

func (n *Network) build(cfg netem.Config) error {
	var plan netem.Addresses
	n.lanN = map[string]int{}
	for _, h := range cfg.Hosts {
		if h.LAN != "" {
			n.lanN[h.LAN]++
		}
	}
	for k := range cfg.Servers {
		n.dests = append(n.dests, plan.ServerIP(k))
	}
	for i := range cfg.Hosts {
		n.dests = append(n.dests, plan.PublicIP(i))
	}
	coreNS, err := n.namespace(core)
	if err != nil {
		return err
	}
	for _, step := range [][]string{
		{"-n", coreNS, "link", "add", "br0", "type", "bridge"},
		{"-n", coreNS, "addr", "add", coreIP + "/24", "dev", "br0"},
		{"-n", coreNS, "link", "set", "br0", "up"},
	} {
		if err := ip(step...); err != nil {
			return err
		}
	}
	// The core routes to open hosts and servers over their TUN links and
	// answers ARP on the bridge for the open hosts among the NATs.
	if err := sysctl(coreNS, "net.ipv4.ip_forward=1", "net.ipv4.conf.br0.proxy_arp=1", "net.ipv4.conf.all.send_redirects=0"); err != nil {
		return err
	}
	for k, name := range cfg.Servers {
		ipAddr := plan.ServerIP(k)
		hostNS, err := n.namespace(fmt.Sprintf("s%d", k))
		if err != nil {
			return err
		}
		w, err := n.link(cfg, name, netem.HostConfig{Name: name}, hostNS, ipAddr, 32, coreNS, fmt.Sprintf("s%d", k), nil)
		if err != nil {
			return fmt.Errorf("server %s: %w", name, err)
		}
		if err := n.addHost(netem.ExternalHost{Name: name, NAT: netem.Open, Behaviour: "no NAT", IP: ipAddr, PublicIP: ipAddr, Up: w.up, Down: w.down}, hostNS); err != nil {
			return err
		}
	}
	for i, hc := range cfg.Hosts {
		if err := n.client(cfg, coreNS, i, hc); err != nil {
			return fmt.Errorf("host %s: %w", hc.Name, err)
		}
	}
	return nil
}

// client builds participant i: its namespace, its NATs and its link.
func (n *Network) client(cfg netem.Config, coreNS string, i int, hc netem.HostConfig) error {
	var plan netem.Addresses
	home, cgn, fw, err := hc.Resolve()
	if err != nil {
		return err
	}
	var allowed []net.IP
	for _, name := range fw.AllowUDPTo {
		k := slices.Index(cfg.Servers, name)
		if k < 0 {
			return fmt.Errorf("%w: firewall allows UDP to %q, which is not a server (servers: %s)",
				netem.ErrConfig, name, strings.Join(cfg.Servers, ", "))
		}
		allowed = append(allowed, plan.ServerIP(k))
	}
	nat := hc.NAT
	if nat == "" {
		nat = netem.Open
	}
	public := plan.PublicIP(i)
	g := n.lans[hc.LAN]
	if g != nil && !sameNAT(hc, g.first) {
		return fmt.Errorf("%w: LAN %q has one NAT, host %s's (%s); this host declares %s", netem.ErrConfig, hc.LAN, g.first.Name, g.first.NAT, hc.NAT)
	}
	if g != nil && g.nat != nil {
		return n.joinLAN(cfg, g, i, hc)
	}
	if hc.LAN != "" && g == nil {
		g = &lanGroup{name: hc.LAN, first: hc}
		n.lans[hc.LAN] = g
	}
	hostNS, err := n.namespace(fmt.Sprintf("h%d", i))
	if err != nil {
		return err
	}
	eh := netem.ExternalHost{Name: hc.Name, NAT: nat, PublicIP: public, Behaviour: netem.Describe(home, cgn, fw)}
	if hc.Rebindable {
		eh.Rebind = func() (int, error) { return n.Rebind(hc.Name) }
	}
	if home == nil {
		// Open: the host has the public address; its link ends in the core.
		eh.IP = public
		w, err := n.link(cfg, hc.Name, hc, hostNS, public, 32, coreNS, fmt.Sprintf("h%d", i), nil)
		if err != nil {
			return err
		}
		eh.Up, eh.Down = w.up, w.down
		if g != nil {
			g.add(w) // side by side on the internet: multicast only
		}
		return n.addHost(eh, hostNS)
	}
	_, hostIP, natIP := plan.PrivateNet(i)
	eh.IP = hostIP
	natNS, err := n.namespace(fmt.Sprintf("n%d", i))
	if err != nil {
		return err
	}
	w, err := n.link(cfg, hc.Name, hc, hostNS, hostIP, 24, natNS, "tun0", natIP)
	if err != nil {
		return err
	}
	eh.Up, eh.Down = w.up, w.down
	// The NAT's outside: the core's bridge, or the carrier-grade NAT.
	outerNS, outerIP, homeOutside := natNS, public, public
	if cgn != nil {
		_, homeOut, cgnIn := plan.SharedNet(i)
		cgnNS, err := n.namespace(fmt.Sprintf("c%d", i))
		if err != nil {
			return err
		}
		if err := n.veth(natNS, "wan", homeOut, cgnNS, "lan", cgnIn); err != nil {
			return err
		}
		if err := ip("-n", natNS, "route", "add", "default", "via", cgnIn.String()); err != nil {
			return err
		}
		if err := loadRules(cgnNS, natRules(natSpec{ns: cgnNS, c: *cgn, inside: homeOut, outside: public, dests: n.dests})); err != nil {
			return err
		}
		outerNS, homeOutside = cgnNS, homeOut
	}
	if err := n.veth(outerNS, "wan", outerIP, coreNS, fmt.Sprintf("n%d", i), nil); err != nil {
		return err
	}
	if err := ip("-n", coreNS, "link", "set", fmt.Sprintf("n%d", i), "master", "br0"); err != nil {
		return err
	}
	if err := ip("-n", outerNS, "route", "add", "default", "via", coreIP); err != nil {
		return err
	}
	spec := &natSpec{ns: natNS, c: *home, inside: hostIP, outside: homeOutside, fw: fw, allowed: allowed, dests: n.dests,
		shared: n.lanN[hc.LAN] > 1}
	if err := loadRules(natNS, natRules(*spec)); err != nil {
		return err
	}
	n.nats[hc.Name] = spec
	if g != nil {
		g.nat, g.natNS, g.public, g.base = spec, natNS, public, hostIP
		g.add(w)
	}
	for _, ns := range []string{natNS, outerNS} {
		if err := sysctl(ns, "net.ipv4.ip_forward=1"); err != nil {
			return err
		}
	}
	if spec.shared {
		// The LAN's hosts reach each other's outside mappings too; the
		// address they send to is the outermost NAT's.
		cidr, _, _ := plan.PrivateNet(i)
		if cgn != nil {
			cidr = homeOutside.String() + "/32"
		}
		if err := hairpin(outerNS, cidr, public); err != nil {
			return err
		}
	}
	return n.addHost(eh, hostNS)
}

// hairpin makes the NAT in ns hairpin (RFC 4787 section 6, REQ-9):
// packets from the inside network from to its own outside address own
// leave through wan to the core, which sends them back, so they come in
// translated (from the sender's mapping) and filtered as any packet from
// outside. The local routing table moves behind one rule for exactly
// those packets; wan accepts packets from its own address.
func hairpin(ns, from string, own net.IP) error {
	for _, step := range [][]string{
		{"-n", ns, "rule", "add", "pref", "32765", "lookup", "local"},
		{"-n", ns, "rule", "del", "pref", "0"},
		{"-n", ns, "rule", "add", "pref", "10", "from", from, "to", own.String() + "/32", "lookup", "100"},
		{"-n", ns, "route", "add", "default", "via", coreIP, "dev", "wan", "table", "100"},
	} {
		if err := ip(step...); err != nil {
			return err
		}
	}
	return sysctl(ns, "net.ipv4.conf.wan.accept_local=1")
}

// veth connects namespace a (interface an, address aIP/24) with b (bn,
// bIP/24 unless nil), both up.
func (n *Network) veth(a, an string, aIP net.IP, b, bn string, bIP net.IP) error {
	steps := [][]string{
		{"-n", a, "link", "add", an, "type", "veth", "peer", "name", bn, "netns", b},
		{"-n", a, "addr", "add", aIP.String() + "/24", "dev", an},
		{"-n", a, "link", "set", an, "up"},
		{"-n", b, "link", "set", bn, "up"},
	}
	if bIP != nil {
		steps = append(steps, []string{"-n", b, "addr", "add", bIP.String() + "/24", "dev", bn})
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return err
		}
	}
	return nil
}

// link makes a host's access link: tun0 in hostNS with hostIP/bits and a
// default route over it, a TUN device peerDev in peerNS (with peerIP on
// it, or else a /32 route to the host), and the two netem.Links between.
func (n *Network) link(cfg netem.Config, name string, hc netem.HostConfig, hostNS string, hostIP net.IP, bits int,
	peerNS, peerDev string, peerIP net.IP) (*wire, error) {
	up, err := netem.NewLink(cfg.Seed, name, netem.Uplink, hc.Uplink)
	if err != nil {
		return nil, err
	}
	down, err := netem.NewLink(cfg.Seed, name, netem.Downlink, hc.Downlink)
	if err != nil {
		up.Close()
		return nil, err
	}
	w := &wire{up: up, down: down}
	if cfg.Capture != nil {
		w.capture = cfg.Capture(name)
	}
	if w.host, err = openTUN(hostNS, "tun0"); err == nil {
		w.peer, err = openTUN(peerNS, peerDev)
	}
	if err != nil {
		if w.host != nil {
			_ = w.host.Close()
		}
		up.Close()
		down.Close()
		return nil, err
	}
	n.wires = append(n.wires, w)
	w.start()
	steps := [][]string{
		{"-n", hostNS, "addr", "add", fmt.Sprintf("%s/%d", hostIP, bits), "dev", "tun0"},
		// A long TUN queue: a packet waits there while rtclab's process
		// is descheduled instead of being dropped (500 by default).
		{"-n", hostNS, "link", "set", "tun0", "txqueuelen", "10000", "up"},
		{"-n", hostNS, "route", "add", "default", "dev", "tun0"},
		{"-n", peerNS, "link", "set", peerDev, "txqueuelen", "10000", "up"},
	}
	if peerIP != nil {
		steps = append(steps, []string{"-n", peerNS, "addr", "add", peerIP.String() + "/24", "dev", peerDev})
	} else {
		steps = append(steps, []string{"-n", peerNS, "route", "add", hostIP.String() + "/32", "dev", peerDev})
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (n *Network) addHost(e netem.ExternalHost, ns string) error {
	nn, err := newNSNet(ns)
	if err != nil {
		return err
	}
	e.Net = nn
	h := netem.NewExternalHost(e)
	n.hosts[h.Name] = h
	n.order = append(n.order, h)
	n.ns[h.Name] = ns
	return nil
}

// Host returns the named host.
func (n *Network) Host(name string) (*netem.Host, bool) {
	h, ok := n.hosts[name]
	return h, ok
}

// Hosts returns every host in declaration order (servers first).
func (n *Network) Hosts() []*netem.Host { return slices.Clone(n.order) }

// Namespace returns the name of the host's network namespace, for
// `ip netns exec NAME ...`.
func (n *Network) Namespace(host string) (string, bool) {
	ns, ok := n.ns[host]
	return ns, ok
}

// Command returns a command that runs program inside the host's
// namespace (`ip netns exec NS program args...`). The caller starts it and
// stops it by its PID; Close kills whatever still runs there.
func (n *Network) Command(ctx context.Context, host, program string, args ...string) (*exec.Cmd, error) {
	ns, ok := n.ns[host]
	if !ok {
		return nil, fmt.Errorf("%w: no host %q", netem.ErrConfig, host)
	}
	return command(ctx, ns, program, args...), nil
}

// DialContext dials from inside the host's namespace: an
// http.Transport's DialContext for a client that lives in the host.
func (n *Network) DialContext(host string) (func(ctx context.Context, network, addr string) (net.Conn, error), bool) {
	h, ok := n.hosts[host]
	if !ok {
		return nil, false
	}
	return h.Net.(*nsNet).DialContext, true
}

// Close stops the links and deletes every namespace (with what still runs
// in it, its interfaces and its nftables tables). Close the programs using
// the network first.
func (n *Network) Close() error {
	n.closeOnce.Do(func() {
		for _, w := range n.wires {
			w.close()
		}
		var errs []error
		for _, ns := range slices.Backward(n.nss) {
			if err := deleteNamespace(ns); err != nil {
				errs = append(errs, err)
			}
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// Builder returns a netem.Builder for the kernel backend (netem's
// fidelity checks run through it).
func Builder(opt Options) netem.Builder {
	return func(cfg netem.Config) (netem.Backend, error) { return New(cfg, opt) }
}
