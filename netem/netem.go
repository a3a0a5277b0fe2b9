package netem

import (
	"time"

	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/pion/logging"
	"github.com/pion/transport/v3"
	"github.com/pion/transport/v3/vnet"
)

// Address plan of every emulated network. The public ranges are the
// RFC 5737 documentation ranges: they are not private, so a TURN server's
// relay policy lets them through, and they can never leak to a real
// network. Each NATed host gets its own private /24.
const (
	serverNet  = "198.51.100.0/24" // Config.Servers, in order from .10
	publicNet  = "203.0.113.0/24"  // NAT outside addresses and open hosts, from .10
	privateFmt = "10.0.%d.0/24"    // host i's LAN; the host is .2
	sharedFmt  = "100.64.%d.0/24"  // host i's carrier-grade NAT network (RFC 6598)
)

// HostConfig declares one host.
type HostConfig struct {
	// Name identifies the host; unique within the network.
	Name string
	// NAT is a preset for what stands in front of the host; "" means Open.
	NAT NAT
	// HomeNAT, when set, replaces the preset's NAT.
	HomeNAT *NATConfig
	// CGN, when set, puts a carrier-grade NAT in front of the home NAT.
	CGN *NATConfig
	// Firewall, when set, replaces the preset's firewall.
	Firewall *Firewall
	// Uplink impairs packets the host sends.
	Uplink Impairment
	// Downlink impairs packets the host receives.
	Downlink Impairment
	// Rebindable lets Host.Rebind change the NAT mappings of the host's
	// UDP sockets (rebind.go); off, its sockets carry no rebinding layer.
	Rebindable bool
	// LAN, when set, puts the host on the named local network segment
	// with every other host naming it (lan.go): behind one NAT (they
	// share its outside address and reach each other's private
	// addresses directly) or, for hosts with no NAT, side by side on the
	// internet. Multicast UDP (mDNS, RFC 6762) reaches every other host
	// of the segment and nothing beyond it. Unset, a host is alone on
	// its segment and multicast goes nowhere.
	LAN string
}

// Config declares a network.
type Config struct {
	// Seed makes every random choice repeatable.
	Seed int64
	// Servers are hosts placed directly on the internet with well-known
	// public addresses (signaling, TURN, SFU); no NAT, no impairment.
	Servers []string
	// Hosts are the clients, each behind its own NAT and access link.
	Hosts []HostConfig
	// Capture, when set, is asked once per host (servers included) for a
	// pcap capture of its traffic; a nil answer captures nothing.
	Capture func(host string) *Capture
	// Stagger, when positive, holds each goroutine that opens a socket on
	// no particular address for its own multiple of Stagger (see
	// hostNet.stagger), so that sockets opened at one instant send at
	// distinct ones. Only for virtual time: phase.SocketStagger.For(virtual)
	// is zero on the wall clock.
	Stagger time.Duration
}

// Host is one machine on the network.
type Host struct {
	// Name is the host's name from the config.
	Name string
	// NAT is the preset in front of the host (Open for servers).
	NAT NAT
	// Behaviour describes the NATs and firewall in words, outermost last,
	// e.g. "endpoint-independent mapping, address-and-port-dependent
	// filtering".
	Behaviour string
	// IP is the host's own (inside) address.
	IP net.IP
	// PublicIP is the address the internet sees: the NAT's outside address,
	// or IP itself for open hosts and servers.
	PublicIP net.IP
	// Net is the host's network stack; hand it to pion's SettingEngine.SetNet.
	Net transport.Net

	up, down *link
	rebind   func() (int, error) // another backend's Rebind (ExternalHost)
}

// Stats returns what the host's access link did in direction dir.
// Servers have no access link and report zeros.
func (h *Host) Stats(dir Direction) LinkStats {
	l := h.up
	if dir == Downlink {
		l = h.down
	}
	if l == nil {
		return LinkStats{}
	}
	return l.snapshot()
}

// SetImpairment changes one direction of the host's access link for packets
// sent from now on.
func (h *Host) SetImpairment(dir Direction, imp Impairment) error {
	if err := imp.Validate(); err != nil {
		return err
	}
	l := h.up
	if dir == Downlink {
		l = h.down
	}
	if l == nil {
		return fmt.Errorf("%w: host %s has no access link", ErrConfig, h.Name)
	}
	l.set(imp)
	return nil
}

// Network is a running emulated network.
type Network struct {
	tcp       *tcpFabric
	bufs      *bufPool
	wan       *vnet.Router
	hosts     map[string]*Host
	order     []*Host
	lans      map[string]*lanSegment // by HostConfig.LAN (lan.go)
	closeOnce sync.Once
}

// New builds and starts the network cfg declares.
func New(cfg Config) (*Network, error) {
	if len(cfg.Servers) > 200 || len(cfg.Hosts) > 200 {
		return nil, fmt.Errorf("%w: at most 200 servers and 200 hosts", ErrConfig)
	}
	seen := map[string]bool{}
	for _, name := range cfg.Servers {
		if name == "" || seen[name] {
			return nil, fmt.Errorf("%w: server name %q empty or used twice", ErrConfig, name)
		}
		seen[name] = true
	}
	for _, h := range cfg.Hosts {
		if h.Name == "" || seen[h.Name] {
			return nil, fmt.Errorf("%w: host name %q empty or used twice", ErrConfig, h.Name)
		}
		seen[h.Name] = true
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "0.0.0.0/0", LoggerFactory: lf})
	if err != nil {
		return nil, fmt.Errorf("netem: wan: %w", err)
	}
	n := &Network{wan: wan, hosts: map[string]*Host{}, tcp: newTCPFabric(), bufs: newBufPool()}
	// The fabric carries UDP in place of vnet (route.go), except in a
	// network with a rebindable host (its sockets change under it) or a
	// shared LAN segment (several hosts behind one NAT, multicast: lan.go).
	var fab *fabric
	if !slices.ContainsFunc(cfg.Hosts, func(h HostConfig) bool { return h.Rebindable || h.LAN != "" }) {
		fab = &fabric{wan: newRouter("0.0.0.0/0", nil, nil)}
	}
	add := func(h *Host) {
		n.hosts[h.Name] = h
		n.order = append(n.order, h)
	}
	for i, name := range cfg.Servers {
		ip := nthIP(serverNet, 10+i)
		vn, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip.String()}})
		if err != nil {
			return nil, fmt.Errorf("netem: server %s: %w", name, err)
		}
		if err := wan.AddNet(vn); err != nil {
			return nil, fmt.Errorf("netem: server %s: %w", name, err)
		}
		// Servers have a perfect access link (it carries TCP and captures).
		h := &Host{Name: name, NAT: Open, Behaviour: "no NAT", IP: ip, PublicIP: ip}
		h.up = newLink(cfg.Seed, name, Uplink, Impairment{}, n.bufs)
		h.down = newLink(cfg.Seed, name, Downlink, Impairment{}, n.bufs)
		hn := &hostNet{Net: vn, up: h.up, down: h.down, ip: ip, public: ip, capture: capture(cfg, name), tcp: n.tcp, bufs: n.bufs, gap: cfg.Stagger}
		if fab != nil {
			hn.fabric, hn.router = fab, fab.wan
			fab.wan.nics[ip4(ip)] = nic{host: hn}
		}
		h.Net = hn
		add(h)
	}
	for i, hc := range cfg.Hosts {
		h, err := n.addClient(wan, fab, lf, cfg, i, hc)
		if err != nil {
			n.closeLinks()
			return nil, err
		}
		add(h)
	}
	if err := wan.Start(); err != nil {
		n.closeLinks()
		return nil, fmt.Errorf("netem: start: %w", err)
	}
	return n, nil
}

func (n *Network) addClient(wan *vnet.Router, fab *fabric, lf logging.LoggerFactory, cfg Config, i int, hc HostConfig) (*Host, error) {
	home, cgn, fw, err := hc.NAT.config()
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", hc.Name, err)
	}
	if hc.HomeNAT != nil {
		home = hc.HomeNAT
	}
	if hc.CGN != nil {
		cgn = hc.CGN
	}
	if hc.Firewall != nil {
		fw = *hc.Firewall
	}
	if cgn != nil && home == nil {
		return nil, fmt.Errorf("host %s: %w: a carrier-grade NAT needs a home NAT behind it", hc.Name, ErrConfig)
	}
	for _, c := range []*NATConfig{home, cgn} {
		if c == nil {
			continue
		}
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("host %s: %w", hc.Name, err)
		}
	}
	for _, imp := range []Impairment{hc.Uplink, hc.Downlink} {
		if err := imp.Validate(); err != nil {
			return nil, fmt.Errorf("host %s: %w", hc.Name, err)
		}
	}
	allowed := map[string]bool{}
	for _, name := range fw.AllowUDPTo {
		if !slices.Contains(cfg.Servers, name) {
			return nil, fmt.Errorf("host %s: %w: firewall allows UDP to %q, which is not a server (servers: %s)",
				hc.Name, ErrConfig, name, strings.Join(cfg.Servers, ", "))
		}
		allowed[nthIP(serverNet, 10+slices.Index(cfg.Servers, name)).String()] = true
	}

	nat := hc.NAT
	if nat == "" {
		nat = Open
	}
	public := nthIP(publicNet, 10+i)
	h := &Host{Name: hc.Name, NAT: nat, PublicIP: public, Behaviour: describe(home, cgn, fw)}
	seg, joined, err := n.segment(hc, home, cgn)
	if err != nil {
		return nil, err
	}
	var vn *vnet.Net
	var fr *router // the fabric's router the host hangs off
	if fab != nil {
		fr = fab.wan
	}
	newNet := func(ip net.IP) error {
		var err error
		vn, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip.String()}})
		return err
	}
	switch {
	case joined:
		if h.IP, vn, err = seg.join(hc.Name); err != nil {
			return nil, err
		}
		h.PublicIP = seg.public
	case home == nil:
		h.IP = public
		if err := newNet(public); err != nil {
			return nil, fmt.Errorf("netem: host %s: %w", hc.Name, err)
		}
		if err := wan.AddNet(vn); err != nil {
			return nil, fmt.Errorf("netem: host %s: %w", hc.Name, err)
		}
	default:
		parent := wan
		homeOutside := public
		if cgn != nil {
			cgnCIDR := fmt.Sprintf(sharedFmt, i+1)
			r, err := vnet.NewRouter(&vnet.RouterConfig{
				Name: hc.Name + "-cgn", CIDR: cgnCIDR, StaticIPs: []string{public.String()},
				NATType: cgn.vnetType(), LoggerFactory: lf,
			})
			if err != nil {
				return nil, fmt.Errorf("netem: host %s cgn: %w", hc.Name, err)
			}
			if err := wan.AddRouter(r); err != nil {
				return nil, fmt.Errorf("netem: host %s cgn: %w", hc.Name, err)
			}
			parent = r
			homeOutside = nthIP(cgnCIDR, 2)
			if fab != nil {
				c := newRouter(cgnCIDR, fr, newNATTable(cgn, public))
				fr.nics[ip4(public)] = nic{child: c}
				fr = c
			}
		}
		cidr := fmt.Sprintf(privateFmt, i+1)
		h.IP = nthIP(cidr, 2)
		lan, err := vnet.NewRouter(&vnet.RouterConfig{
			Name: hc.Name + "-nat", CIDR: cidr, StaticIPs: []string{homeOutside.String()},
			NATType: home.vnetType(), LoggerFactory: lf,
		})
		if err != nil {
			return nil, fmt.Errorf("netem: host %s nat: %w", hc.Name, err)
		}
		if err := newNet(h.IP); err != nil {
			return nil, fmt.Errorf("netem: host %s: %w", hc.Name, err)
		}
		if err := lan.AddNet(vn); err != nil {
			return nil, fmt.Errorf("netem: host %s: %w", hc.Name, err)
		}
		if err := parent.AddRouter(lan); err != nil {
			return nil, fmt.Errorf("netem: host %s nat: %w", hc.Name, err)
		}
		if fab != nil {
			r := newRouter(cidr, fr, newNATTable(home, homeOutside))
			fr.nics[ip4(homeOutside)] = nic{child: r}
			fr = r
		}
		if seg != nil {
			seg.router, seg.cidr = lan, cidr
		}
	}
	if seg != nil && !joined && seg.hosts == 0 {
		seg.public, seg.hosts = h.PublicIP, 1
	}
	h.up = newLink(cfg.Seed, hc.Name, Uplink, hc.Uplink, n.bufs)
	h.down = newLink(cfg.Seed, hc.Name, Downlink, hc.Downlink, n.bufs)
	hn := &hostNet{Net: vn, up: h.up, down: h.down, blockUDP: fw.BlockUDP, allowed: allowed, ip: h.IP, public: h.PublicIP, capture: capture(cfg, hc.Name), tcp: n.tcp, canRebind: hc.Rebindable, bufs: n.bufs, gap: cfg.Stagger}
	if fab != nil {
		hn.fabric, hn.router = fab, fr
		fr.nics[ip4(h.IP)] = nic{host: hn}
	}
	if seg != nil {
		hn.seg = seg
	}
	h.Net = hn
	return h, nil
}

func capture(cfg Config, host string) *Capture {
	if cfg.Capture == nil {
		return nil
	}
	return cfg.Capture(host)
}

// describe says in words what stands in front of a host.
func describe(home, cgn *NATConfig, fw Firewall) string {
	if home == nil {
		return "no NAT"
	}
	one := func(c *NATConfig) string {
		return fmt.Sprintf("%s mapping, %s filtering", c.Mapping, c.Filtering)
	}
	s := one(home)
	if cgn != nil {
		s += "; behind a carrier-grade NAT: " + one(cgn)
	}
	if fw.BlockUDP {
		s += "; UDP blocked"
		if len(fw.AllowUDPTo) > 0 {
			s += " except to " + strings.Join(fw.AllowUDPTo, ", ")
		}
	}
	return s
}

// Host returns the named host.
func (n *Network) Host(name string) (*Host, bool) {
	h, ok := n.hosts[name]
	return h, ok
}

// Hosts returns every host in declaration order (servers first).
func (n *Network) Hosts() []*Host { return append([]*Host(nil), n.order...) }

// Close stops the routers, then the access links. Close the programs using
// the network (PeerConnections, then TURN) before, or they block on it.
func (n *Network) Close() error {
	var err error
	n.closeOnce.Do(func() {
		if e := n.wan.Stop(); e != nil {
			err = fmt.Errorf("netem: stop: %w", e)
		}
		n.closeLinks()
		n.tcp.shutdown()
		for _, h := range n.order {
			if hn, ok := h.Net.(*hostNet); ok {
				hn.closeOpen()
			}
		}
	})
	return err
}

func (n *Network) closeLinks() {
	for _, h := range n.order {
		for _, l := range []*link{h.up, h.down} {
			if l != nil {
				l.close()
			}
		}
	}
}

func nthIP(cidr string, i int) net.IP {
	ip, _, err := net.ParseCIDR(cidr)
	if err != nil {
		panic(err) // constant input
	}
	ip = ip.To4()
	out := make(net.IP, 4)
	copy(out, ip)
	out[3] = byte(i)
	return out
}
