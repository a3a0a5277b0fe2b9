// Package scenarios is rtclab's scenario language and runner.
//
// A scenario is a YAML file (documented in the README) that declares the
// emulated network, the participants and what they publish, and the
// expectations that decide pass or fail. Load parses it strictly: every
// problem is reported with its file, line and field path, and what is
// allowed there. Run builds the network (netem), starts the embedded stack
// (signaling, STUN/TURN, SFU) and the agents on it, samples measurements
// every 100 ms of scenario time, and returns a reports.Report.
//
// The built-in scenarios (*.yaml in this directory) are embedded in the
// binary; `rtclab run` with no argument runs "quickstart".
package scenarios
