//go:build race

package runner

// raceDetector is true in a -race build, whose scheduler reorders
// goroutines on purpose: runs then differ, with or without a seed.
const raceDetector = true
