// Package reproduce turns a diagnosis (an rtclab.diagnose/v1 result from a
// customer's browser or rtclab diagnose) into a scenario that puts the
// measured network in the lab: the NAT class becomes a nat: preset or a
// spelled-out behaviour, UDP blocked the firewall, RTT, jitter and loss
// the access link's delay, jitter and loss, upload and download its
// rates. Every line it writes says, in a comment, which measurement it
// came from; the scenario always passes the scenario language's
// validation (scenarios.Parse), whatever the result held.
package reproduce
