// Package analysis turns measurements into numbers a person can judge:
// time series at a fixed resolution, summary statistics, and checks that
// compare a measured value with the range a scenario allows and give a
// verdict. It knows nothing of pion or of WebRTC's wire formats, so that
// it can be tested with plain numbers and reused by every kind of run.
package analysis
