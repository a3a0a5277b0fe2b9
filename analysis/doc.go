// Package analysis turns measurements into numbers a person can judge:
// time series at a fixed resolution, summary statistics, and checks that
// compare a measured value with the range a scenario allows and give a
// verdict. Every stream metric is computed here on plain data, over the
// whole call: a receiver's arrival log and its senders' send logs
// (Packet: Receive, Jitter per RFC 3550 A.8, OneWayDelay, LossPerWindow),
// frame times (AnalyzePlayback, until the end of the call) and the
// E-model (EstimateMOS, ITU-T G.107). Metrics is the one table of the
// metrics a scenario may check. It knows nothing of pion or of WebRTC's wire formats, so that
// it can be tested with plain numbers and reused by every kind of run.
package analysis
