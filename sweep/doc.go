// Package sweep runs one scenario over a grid of values of its fields
// ("participants.bob.downlink.loss=0%..10%/1%", "seed=1..5"): every cell is
// the scenario's YAML with the fields set, parsed and validated again by
// scenarios.Parse, run in its own virtual-time bubble, and reduced to the
// metrics asked for and the scenario's checks. The result is one table
// (sweep.json, sweep.csv, report.html) and a plot of each metric against
// the varied fields. Cells can be split into shards (package shard) run by
// separate processes, and Merge puts the shards' results back into the
// result the unsharded sweep writes.
package sweep
