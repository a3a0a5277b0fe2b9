package rtclab

import "embed"

// Traces holds rtclab's own capacity traces in mahimahi format, made by
// testdata/make-traces.py. Scenarios name them as builtin:NAME.
//
//go:embed testdata/traces
var Traces embed.FS
