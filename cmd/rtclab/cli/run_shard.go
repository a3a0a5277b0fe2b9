package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/shard"
)

// runShardFile, in the folder of `rtclab run --shard I/N`, lists every
// scenario of the whole set in order and the folder of each this shard
// ran, so that `rtclab merge` can rebuild the set's summary in the order
// the unsharded run writes it.
const runShardFile = "shard.json"

// runShardSchema is the value of runShard.Schema.
const runShardSchema = "rtclab.run-shard/v1"

// runShard is the content of runShardFile.
type runShard struct {
	Schema string      `json:"schema"`
	Shard  shard.Shard `json:"shard"`
	// Scenarios is the whole set, in the order of the command line.
	Scenarios []runShardEntry `json:"scenarios"`
}

// runShardEntry is one scenario of the set.
type runShardEntry struct {
	Index       int    `json:"index"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Dir is its report folder, relative to the shard's folder; empty
	// for a scenario of another shard (or one this shard did not reach).
	Dir string `json:"dir,omitempty"`
}

// shardOf keeps the scenarios of the set that belong to sh.
func shardOf(list []*scenarios.Scenario, sh shard.Shard) []*scenarios.Scenario {
	var out []*scenarios.Scenario
	for _, i := range sh.Indices(len(list)) {
		out = append(out, list[i])
	}
	return out
}

// writeRunShard writes runShardFile: all is the whole set, dirs the
// folders of the shard's scenarios that ran, in order.
func writeRunShard(od *outDir, sh shard.Shard, all []*scenarios.Scenario, dirs []string) error {
	rs := runShard{Schema: runShardSchema, Shard: sh, Scenarios: []runShardEntry{}}
	k := 0
	for i, s := range all {
		e := runShardEntry{Index: i, Name: s.Name, Description: s.Description}
		if sh.Has(i) && k < len(dirs) {
			e.Dir = filepath.ToSlash(dirs[k])
			k++
		}
		rs.Scenarios = append(rs.Scenarios, e)
	}
	data, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return fmt.Errorf("shard file: %w", err)
	}
	if err := od.record(runShardFile); err != nil {
		return err
	}
	return reports.WriteFileAtomic(filepath.Join(od.path, runShardFile), append(data, '\n'))
}
