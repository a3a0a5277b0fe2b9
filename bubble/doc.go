// Package bubble hosts a virtual-time run: a testing/synctest bubble with
// the process set up so that runs with one seed repeat exactly.
//
// Whoever hosts a bubble (the rtclab binary, a test) calls Run; library
// code never changes process settings. The setup: one P (GOMAXPROCS 1),
// because goroutines woken at one virtual instant (pion's GCC hands each
// feedback packet to two) otherwise run in an order that differs from run
// to run; and the automatic garbage collector off, because a collection
// that stops the world between two such wake-ups lets the second run
// first. The runners collect at fixed instants of virtual time instead
// (once per second, in the timeline), with a memory limit as the safety
// net. Virtual time gains nothing from parallelism.
package bubble
