// Package phase derives, in one place, every period and offset that exists
// only to keep virtual-time events apart.
//
// In a testing/synctest bubble, goroutines woken at one virtual instant
// run in an order the scheduler picks, so two runs with one seed differ
// wherever two events coincide: a NACK tick and a 20 ms audio arrival, a
// TURN allocation over TCP and one over UDP, the SFU's allocation tick and
// a sample. Each Spec names such a value and says what it stands for
// (Base: pion's default period, a stack's latency); its Value adds an odd
// number of nanoseconds below Spread, derived from the name, so that no
// two periods meet (nor meet the media and sampling grids) within the
// longest scenario, which phase_test checks. A real stack's timers are not
// that exact either.
//
// The runner hands these values to the stack through its params (Spec.For
// with the run's clock) only in virtual time; in real time every stack
// keeps pion's defaults and its own base figures.
package phase
