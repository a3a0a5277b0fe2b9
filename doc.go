// Package rtclab is the root of the rtclab module. It holds only data that
// must be embedded from the module root: Go packages cannot live inside a
// testdata directory, and embed patterns cannot reach a parent directory
// with "..", so the committed media clips (Clips) and capacity traces
// (Traces) are embedded here.
//
// This package imports nothing from the rest of the module, so any package
// may import it without creating a cycle. The program is cmd/rtclab; the
// README is the guide.
package rtclab
