// Package scenarios is rtclab's scenario language.
//
// A scenario is a YAML file (documented in docs/scenarios.md and the
// README) that declares the emulated network, the participants and what
// they publish, and the expectations that decide pass or fail. Load and
// Parse read it strictly: every problem is reported with its file, line
// and field path, and what is allowed there (exit code 2 in the CLI).
// Validation resolves what the runner needs: each participant's access
// links at the start (Participant.Resolved) and their timed changes
// (Participant.Schedule), the flows of an RFC 8867 scenario with their
// Count copies expanded (Scenario.FlowInstances), and the criterion each
// check belongs to (Scenario.Declare). A timeline (Scenario.Timeline,
// timeline.go) injects faults into a call: server restarts, ICE restarts,
// NAT rebindings; a link flap becomes two steps of the link schedules.
//
// The package runner runs a scenario; this package only describes one.
// The built-in scenarios (*.yaml in this directory) are embedded in the
// binary; `rtclab run` with no argument runs "quickstart".
package scenarios
