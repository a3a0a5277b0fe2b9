//go:build !race

package runner

// raceDetector is true in a -race build (see flows_race_test.go).
const raceDetector = false
