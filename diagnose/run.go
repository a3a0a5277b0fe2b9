package diagnose

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/pion/transport/v3"
	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
)

// Options are the run-time dependencies of Run.
type Options struct {
	// Net is the network to probe on; nil means the real one.
	Net transport.Net
	// HTTPClient signals to the test peer; nil means http.DefaultClient.
	HTTPClient *http.Client
	// TLSConfig verifies turns: servers; nil means system roots.
	TLSConfig *tls.Config
	// IncludeLoopback lets ICE use loopback addresses (a server on this
	// machine, as in tests).
	IncludeLoopback bool
	// LocalIPs, when set, are the only local addresses ICE may use (tests
	// use it to stay on loopback or inside their namespaces).
	LocalIPs []net.IP
	// Version is written into the Result.
	Version string
	// Progress, when set, is told each step as it starts.
	Progress func(step string)
}

// Run carries out the plan within plan.Timeout. A bad network is a
// finding in the Result; the error is only for a diagnosis that could not
// run at all (no socket could be opened).
func Run(ctx context.Context, plan Plan, opts Options) (Result, error) {
	start := time.Now()
	res := Result{
		Schema: Schema, Version: opts.Version, Started: start.UTC().Truncate(time.Millisecond),
		Target: plan.Target, TURN: []turnprobe.Result{}, Paths: []pathprobe.Result{},
		Quality: []PathQuality{}, Metrics: []Metric{}, Findings: []Finding{},
	}
	if opts.Net == nil {
		n, err := stdnet.NewNet()
		if err != nil {
			return res, fmt.Errorf("diagnose: network: %w", err)
		}
		opts.Net = n
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	ctx, cancel := context.WithTimeout(ctx, plan.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()

	// Phase 1: STUN/NAT and TURN allocations, in parallel.
	progress("STUN binding, NAT behaviour (RFC 5780) and TURN allocations")
	var (
		wg     sync.WaitGroup
		natRes *nat.Result
		natErr error
	)
	res.TURN = make([]turnprobe.Result, len(plan.TURN))
	turnErrs := make([]error, len(plan.TURN))
	if plan.STUN != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, pcancel := context.WithCancel(ctx)
			defer pcancel()
			r, err := nat.Discover(pctx, nat.Params{Net: opts.Net, Server: plan.STUN, Timeout: plan.NATTimeout})
			natRes, natErr = &r, err
		}()
	} else {
		res.Skipped = append(res.Skipped, "NAT behaviour: no STUN server given")
	}
	for i, t := range plan.TURN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, pcancel := context.WithCancel(ctx)
			defer pcancel()
			res.TURN[i], turnErrs[i] = turnprobe.Allocate(pctx, turnprobe.Params{
				Net: opts.Net, URL: t.URL, Username: t.Username, Password: t.Password,
				TLSConfig: opts.TLSConfig, Timeout: plan.TURNTimeout,
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(append(turnErrs, natErr)...); err != nil {
		return res, fmt.Errorf("diagnose: %w", err)
	}
	if natRes != nil {
		res.NAT = &NATReport{Result: *natRes, Words: natRes.Type.Words()}
		if natRes.Reachable {
			res.Local.Mapped = natRes.Mapped
		}
	}

	// Phase 2: ICE paths to the test peer, in parallel.
	conns := map[pathprobe.Kind]*pathprobe.Conn{}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	if plan.Peer == "" {
		res.Skipped = append(res.Skipped, "paths, RTT/jitter/loss and bandwidth: no test peer (give --server or --peer)")
	} else {
		progress("ICE paths to the test peer")
		signal := pathprobe.HTTPSignal(opts.HTTPClient, plan.Peer)
		results := make([]pathprobe.Result, len(plan.Paths))
		got := make([]*pathprobe.Conn, len(plan.Paths))
		errs := make([]error, len(plan.Paths))
		for i, kind := range plan.Paths {
			if reason := skipPath(kind, plan, res); reason != "" {
				results[i] = pathprobe.Result{Kind: kind, Reason: reason}
				continue
			}
			params := pathprobe.Params{
				Kind: kind, Signal: signal, Net: opts.Net, IncludeLoopback: opts.IncludeLoopback, IPs: opts.LocalIPs,
				TLSConfig: opts.TLSConfig, Timeout: plan.PathTimeout,
			}
			if plan.STUN != "" {
				params.STUN = "stun:" + plan.STUN
			}
			if t, ok := plan.TURNFor(kind); ok {
				params.TURN, params.Username, params.Password = t.URL, t.Username, t.Password
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				pctx, pcancel := context.WithCancel(ctx)
				defer pcancel()
				got[i], results[i], errs[i] = pathprobe.Connect(pctx, params)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			for _, c := range got {
				if c != nil {
					_ = c.Close()
				}
			}
			return res, fmt.Errorf("diagnose: %w", err)
		}
		res.Paths = results
		for i, c := range got {
			if c != nil {
				conns[plan.Paths[i]] = c
			}
		}
	}
	best, relay := pickPaths(plan.Paths, conns)
	res.BestPath = best
	// Keep the two connections measured; close the rest now.
	for k, c := range conns {
		if k != best && k != relay {
			_ = c.Close()
			delete(conns, k)
		}
	}

	// Phase 3: RTT, jitter and loss over the best path and the relay.
	if best != "" {
		progress("RTT, jitter and loss")
		// Leave room for both transfers and their tails.
		room := time.Until(deadline) - 2*(plan.Transfer+time.Second)
		dur := min(plan.Ping, room)
		if dur < 500*time.Millisecond {
			res.Skipped = append(res.Skipped, "RTT/jitter/loss: not enough time left")
		} else {
			kinds := []pathprobe.Kind{best}
			if relay != "" && relay != best {
				kinds = append(kinds, relay)
			}
			quality := make([]PathQuality, len(kinds))
			errs := make([]error, len(kinds))
			for i, k := range kinds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					pctx, pcancel := context.WithCancel(ctx)
					defer pcancel()
					ping, err := conns[k].Ping(pctx, pathprobe.PingParams{Interval: plan.PingInterval, Duration: dur})
					quality[i] = PathQuality{Path: k, Ping: ping, Audio: ScoreAudio(ping.RTTMs, ping.JitterMs, ping.LossPct)}
					errs[i] = err
				}()
			}
			wg.Wait()
			for i, q := range quality {
				if errs[i] != nil {
					res.Skipped = append(res.Skipped, fmt.Sprintf("RTT/jitter/loss over %s: %v", q.Path, errs[i]))
				}
				if q.Ping.Sent > 0 {
					res.Quality = append(res.Quality, q)
				}
			}
		}
	}

	// Phase 4: bandwidth up, then down, over the best path.
	if c := conns[best]; c != nil {
		progress("bandwidth up and down")
		bw := &Bandwidth{Path: best}
		var errs []error
		if d := min(plan.Transfer, time.Until(deadline)/2-500*time.Millisecond); d >= 300*time.Millisecond {
			pctx, pcancel := context.WithCancel(ctx)
			up, err := c.Upload(pctx, d)
			pcancel()
			bw.Up = up
			errs = append(errs, err)
		}
		if d := min(plan.Transfer, time.Until(deadline)-time.Second); d >= 300*time.Millisecond {
			pctx, pcancel := context.WithCancel(ctx)
			down, err := c.Download(pctx, d)
			pcancel()
			bw.Down = down
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			res.Skipped = append(res.Skipped, "bandwidth: "+err.Error())
		}
		if len(res.Quality) > 0 && res.Quality[0].Ping.RTTMs > 0 {
			bw.WindowCapKbps = round2(float64(windowBytes) * 8 / res.Quality[0].Ping.RTTMs)
		}
		if bw.Up.Bytes > 0 || bw.Down.Bytes > 0 {
			res.Bandwidth = bw
		} else {
			res.Skipped = append(res.Skipped, "bandwidth: nothing was delivered")
		}
	}
	for _, c := range conns {
		_ = c.Close()
	}
	clear(conns)

	res.Local.Addresses = localAddresses(opts.Net, opts.IncludeLoopback, opts.LocalIPs)
	analyze(&res)
	res.DurationMs = float64(time.Since(start).Milliseconds())
	return res, nil
}

// windowBytes is the SCTP receive window of both ends (testpeer's).
const windowBytes = 128 * 1024

// skipPath says why a path kind is not worth trying, from phase 1.
func skipPath(kind pathprobe.Kind, plan Plan, res Result) string {
	switch {
	case kind == pathprobe.Srflx && res.NAT != nil && !res.NAT.Reachable:
		return "the STUN server did not answer, so there is no server-reflexive candidate"
	case kind.IsRelay():
		t, ok := plan.TURNFor(kind)
		if !ok {
			return "no TURN URL for this transport"
		}
		for _, r := range res.TURN {
			if r.URL == t.URL && !r.OK {
				return fmt.Sprintf("the TURN allocation over %s failed (%s)", r.Transport, r.Failure)
			}
		}
	}
	return ""
}

// pickPaths returns the best connected path and the best connected relay.
func pickPaths(order []pathprobe.Kind, conns map[pathprobe.Kind]*pathprobe.Conn) (best, relay pathprobe.Kind) {
	for _, k := range order {
		if conns[k] == nil {
			continue
		}
		if best == "" {
			best = k
		}
		if relay == "" && k.IsRelay() {
			relay = k
		}
	}
	return best, relay
}

// localAddresses lists the addresses ICE would gather host candidates on.
func localAddresses(n transport.Net, includeLoopback bool, only []net.IP) []LocalAddress {
	ifaces, err := n.Interfaces()
	if err != nil {
		return nil
	}
	var out []LocalAddress
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			var ip net.IP
			switch v := a.(type) {
			case *net.IPNet:
				ip = v.IP
			case *net.IPAddr:
				ip = v.IP
			}
			addr, ok := netip.AddrFromSlice(ip)
			if !ok {
				continue
			}
			addr = addr.Unmap()
			if len(only) > 0 && !containsIP(only, ip) {
				continue
			}
			scope := Scope(addr)
			if scope == "loopback" && !includeLoopback {
				continue
			}
			out = append(out, LocalAddress{IP: addr.String(), Interface: iface.Name, Scope: scope, Private: scope != "public"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP < out[j].IP })
	return out
}

var sharedRange = netip.MustParsePrefix("100.64.0.0/10")

// Scope names an address's reach: public, private (RFC 1918, RFC 4193),
// shared (RFC 6598 carrier-grade NAT), link-local or loopback.
func Scope(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsPrivate():
		return "private"
	case sharedRange.Contains(a):
		return "shared"
	}
	return "public"
}

func containsIP(ips []net.IP, ip net.IP) bool {
	for _, x := range ips {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}
