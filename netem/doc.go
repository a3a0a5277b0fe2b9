// Package netem builds emulated networks: hosts on a simulated internet,
// each optionally behind its own NAT, each with an access link whose
// impairments (loss, delay) are set per direction.
//
// A network is declared as data (Config) and built with New. Sockets and
// name resolution come from pion's vnet (pion/transport/v3/vnet), which
// runs in memory and therefore also inside a testing/synctest bubble
// (virtual time). UDP datagrams between hosts are routed and NATed by
// netem's fabric (route.go) with vnet's rules, which vnet itself made
// costly per packet; vnet routes them only in a network with a
// rebindable host. Impairments are applied by netem itself at each host's socket
// edge, between the host and its NAT, in both directions: vnet's own
// filters only see packets travelling down the router tree, its jitter
// holds the router lock, and its token bucket caps every rate at about
// 0.58 Mbit/s by default (see ../shared/DESIGN.md, "Known traps").
//
// Every random choice (which packet is lost) comes from a generator seeded
// from Config.Seed and the host's name and direction, so a network built
// twice from the same Config makes the same choices for the same sequence of
// packets.
//
// netem knows nothing of WebRTC: a Host hands out a transport.Net that any
// pion component (ICE, TURN, an HTTP client) can use.
package netem
