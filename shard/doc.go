// Package shard picks a deterministic slice of a list of cells, so that N
// processes (an Indexed Kubernetes Job's pods, or N shells) each run one
// slice of a sweep, a matrix or a set of scenarios and `rtclab merge`
// puts the slices back together: cell i belongs to shard i mod N.
package shard
