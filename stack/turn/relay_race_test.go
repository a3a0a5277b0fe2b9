//go:build race

package turn

// raceDetector is true in a -race build, whose instrumentation allocates
// on its own.
const raceDetector = true
