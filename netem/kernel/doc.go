// Package kernel is rtclab's kernel network backend: the network a
// scenario declares (package netem's Config: servers, hosts, NAT presets,
// double NAT, UDP-blocking firewalls, access links) built from real Linux
// network namespaces, veth pairs and nftables NAT, with real sockets, in
// real time. It needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for setns).
//
// # Topology
//
// Every host (participant or server) gets its own namespace whose only
// interface, tun0, is a TUN device held by rtclab. Its other end is
// another TUN device in the namespace of the host's NAT (or, for open
// hosts and servers, in the "core" namespace, the internet). rtclab reads
// each packet from one end and writes it into the other after it has
// crossed the host's access link: netem.Link, the same code (loss, bursts,
// delay, jitter, reordering, rate, capacity traces, the bottleneck buffer,
// duplication, schedules) as the in-process backend's, because this
// kernel has no sch_netem and a user-space link is the only way both
// backends can mean the same thing by a link field. The pcap of a host's
// link is written on that read path (netem.Capture.IP).
//
//	host ns tun0 ══ rtclab (netem.Link up/down) ══ tun0 NAT ns wan ── br0 core ns ── tun ══ rtclab ══ tun0 server ns
//
// Addresses follow netem's plan (netem.Addresses): servers 198.51.100.10+,
// public addresses 203.0.113.10+, host i's LAN 10.0.i+1.0/24 (host .2, NAT
// .1), a carrier-grade NAT's shared network 100.64.i+1.0/24. NATs are
// nftables rulesets in the NAT's namespace (nft.go): masquerade is
// endpoint-independent mapping with address-and-port-dependent filtering,
// "masquerade fully-random" is symmetric, a dnat of every inbound packet to
// the inside host is full cone, and a dnat only for sources in a dynamic
// set of contacted addresses is restricted cone (behaviours verified with
// coturn's turnutils_natdiscovery, diagnose/netns_test.go); an
// address-dependent mapping XORs a constant per destination into the UDP
// port. Network.Rebind moves a NAT to a new conntrack zone and port
// mapping (RFC 4787 section 4.3; netem.Host.Rebind calls it).
//
// Hosts naming one LAN (netem.HostConfig.LAN) share one NAT namespace,
// each with its own TUN link into it; rtclab hands multicast from one
// host's uplink to the others' downlinks (lan.go), and a socket opened on
// a multicast address joins the group (mDNS).
//
// # Programs inside a host's namespace
//
// Host(name).Net creates sockets inside the host's namespace (each on an
// OS thread that entered it and then ends), so pion's agents, TURN and SFU
// run unchanged. To run another program there (Chromium, coturn), use
// Network.Command, an exec.Cmd of `ip netns exec NS program args...`, or
// Network.Namespace for the name; start it, and stop it by its PID before
// Network.Close (which kills whatever is left in the namespaces). Such a
// program reaches rtclab's own servers only over the emulated network: a
// server meant for it listens inside a host's namespace with
// Host(name).Net.ListenTCP on that host's address (the loopback of
// rtclab's process is not the program's). Network.DialContext dials from
// inside a host for a client of rtclab's (an http.Transport). The other
// way, Network.ForwardLoopback carries UDP and TCP that reach a host's
// address:port to a server on this machine's loopback (a user's TURN
// server), from rtclab's own process.
//
// In the runner, the kernel backend's *Network is run.kernel (nil on the
// in-process backend); hosts are named as in the scenario, and the
// servers "turn" and "sfu".
//
// # Names and clean-up
//
// Namespace names are "rtclabk-PID-N-ROLE" (PID of the rtclab process, N
// a counter). Interfaces and nftables tables live inside those namespaces,
// so deleting them removes everything. Close does; New first deletes the
// namespaces of rtclab processes that no longer run (a SIGKILL'd run).
package kernel
