package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/matrix"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/sweep"
)

func newMergeCmd(env *Env) *cobra.Command {
	var (
		out       string
		overwrite bool
		verbose   bool
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "merge DIR...",
		Short: "Combine the folders of --shard runs into the report of the whole run",
		Long: `Combine the output folders of the shards of one sweep, matrix or run
(--shard I/N, e.g. the pods of 'rtclab k8s job') into the report the
unsharded command writes: the cells (scenarios) are put together in their
order and everything derived from them is computed again from the cells,
never from the shards' statistics. A cell no shard holds is marked not
run and the merged report fails.

Each DIR holds sweep.json (rtclab sweep), matrix.json (rtclab matrix) or
shard.json (rtclab run); all of one kind.
Exit code: 0 every cell ran and passed, 1 a cell failed or is missing,
2 unusable input (folders of different runs, a shard given twice).`,
		Example: `  rtclab merge /results/shard-* --out /results/merged`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("merge needs the shards' folders (DIR...)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := shardKind(args)
			if err != nil {
				return &UsageError{Err: err}
			}
			tool := env.tool()
			switch kind {
			case sweep.JSONFile:
				var parts []*sweep.Result
				for _, d := range args {
					r, err := sweep.ReadJSON(filepath.Join(d, sweep.JSONFile))
					if err != nil {
						return &UsageError{Err: err}
					}
					parts = append(parts, r)
				}
				res, err := sweep.Merge(parts)
				if err != nil {
					return &UsageError{Err: err}
				}
				od, err := mergeOut(env, out, overwrite, tool)
				if err != nil {
					return err
				}
				return writeSweep(env, od, res, verbose, asJSON)
			case matrix.JSONFile:
				var parts []*matrix.Result
				for _, d := range args {
					r, err := matrix.ReadJSON(filepath.Join(d, matrix.JSONFile))
					if err != nil {
						return &UsageError{Err: err}
					}
					parts = append(parts, r)
				}
				res, err := matrix.Merge(parts)
				if err != nil {
					return &UsageError{Err: err}
				}
				od, err := mergeOut(env, out, overwrite, tool)
				if err != nil {
					return err
				}
				return writeMatrix(env, od, res, verbose, asJSON)
			default:
				return mergeRuns(env, args, out, overwrite, tool)
			}
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory, new or empty (default a new rtclab-out/merge-<timestamp>[-N])")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "let --out name a folder an earlier rtclab run wrote into: what that run\nwrote is removed first (anything else there stays)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list the files written")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON summary on stdout (sweep and matrix shards) instead of the table")
	return cmd
}

// shardKind says which result file every folder holds.
func shardKind(dirs []string) (string, error) {
	kind := ""
	for _, d := range dirs {
		found := ""
		for _, f := range []string{sweep.JSONFile, matrix.JSONFile, runShardFile} {
			if _, err := os.Stat(filepath.Join(d, f)); err == nil {
				found = f
				break
			}
		}
		switch {
		case found == "":
			return "", fmt.Errorf("%s: no %s, %s or %s: not the folder of a --shard run", d, sweep.JSONFile, matrix.JSONFile, runShardFile)
		case kind != "" && found != kind:
			return "", fmt.Errorf("%s holds %s, %s holds %s: shards of different commands", dirs[0], kind, d, found)
		}
		kind = found
	}
	return kind, nil
}

func mergeOut(env *Env, out string, overwrite bool, tool string) (*outDir, error) {
	if out == "" {
		return claimDefaultOut(defaultOutRoot, "merge-", env.now(), tool)
	}
	return claimOut(out, overwrite, tool)
}

// mergeRuns puts the shards of `rtclab run --shard` together: every
// scenario's report folder is copied in the set's order (named as the
// unsharded run names them) and the summary is built again from the
// reports.
func mergeRuns(env *Env, dirs []string, out string, overwrite bool, tool string) error {
	var parts []runShard
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, runShardFile))
		if err != nil {
			return &UsageError{Err: err}
		}
		var rs runShard
		if err := json.Unmarshal(data, &rs); err != nil || rs.Schema != runShardSchema {
			return usagef("%s: not a %s file (%v)", filepath.Join(d, runShardFile), runShardSchema, err)
		}
		if len(parts) > 0 {
			p0 := parts[0]
			if rs.Shard.Count != p0.Shard.Count || len(rs.Scenarios) != len(p0.Scenarios) {
				return usagef("%s: shard %s of %d scenarios, %s: shard %s of %d: not the same set", dirs[0], p0.Shard, len(p0.Scenarios), d, rs.Shard, len(rs.Scenarios))
			}
			for i := range rs.Scenarios {
				if rs.Scenarios[i].Name != p0.Scenarios[i].Name {
					return usagef("%s and %s list other scenarios (%s, %s): not the same set", dirs[0], d, p0.Scenarios[i].Name, rs.Scenarios[i].Name)
				}
			}
		}
		parts = append(parts, rs)
	}
	od, err := mergeOut(env, out, overwrite, tool)
	if err != nil {
		return err
	}
	var (
		reps    []*reports.Report
		rel     []string
		missing []runShardEntry
		wall    float64
	)
	for pi := range parts {
		var sum reports.Summary
		if data, err := os.ReadFile(filepath.Join(dirs[pi], reports.SummaryJSONFile)); err == nil && json.Unmarshal(data, &sum) == nil {
			wall = max(wall, sum.WallSeconds)
		}
	}
	for i, e := range parts[0].Scenarios {
		src := ""
		for pi, p := range parts {
			if d := p.Scenarios[i].Dir; d != "" {
				if src != "" {
					return usagef("scenario %d (%s) is in two shards' folders: a shard given twice?", i, e.Name)
				}
				src = filepath.Join(dirs[pi], filepath.FromSlash(d))
			}
		}
		if src == "" {
			missing = append(missing, e)
			continue
		}
		dst, err := od.sub(e.Name)
		if err != nil {
			return err
		}
		if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
		rep, err := reports.ReadJSON(filepath.Join(dst, reports.JSONFile))
		if err != nil {
			return err
		}
		reps = append(reps, rep)
		rel = append(rel, filepath.Base(dst))
	}
	sum := reports.NewSummary(tool, reps, rel, wall)
	for _, e := range missing {
		sum.AddNotRun(e.Name, e.Description)
	}
	if _, err := reports.WriteSummary(od.path, sum); err != nil {
		return err
	}
	if err := od.record(reports.SummaryJSONFile, reports.SummaryHTMLFile); err != nil {
		return err
	}
	if err := od.done(); err != nil {
		return err
	}
	if err := reports.WriteSummaryText(env.Stdout, sum); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nsummary: %s\n", filepath.Join(od.path, reports.SummaryHTMLFile))
	if sum.Verdict != "pass" {
		return &exitError{code: ExitFail}
	}
	return nil
}

// writeMatrix writes a matrix's (or a merge's) outputs into od, prints
// its grids (or, asJSON, a JSON summary), and returns the exit status.
func writeMatrix(env *Env, od *outDir, res *matrix.Result, verbose, asJSON bool) error {
	out := od.path
	files, werr := matrix.Write(out, res)
	if err := od.finish(files, werr); err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(env, matrixJSON{
			Verdict: res.Verdict, Tool: env.build, Partial: res.Partial, Cells: len(res.Cells),
			Matched: res.Matched, Deviations: res.Deviations, Unexpected: res.Unexpected, Errors: res.Errors,
			Result: filepath.Join(out, matrix.JSONFile), Report: filepath.Join(out, matrix.HTMLFile),
		}); err != nil {
			return err
		}
	} else {
		if err := matrix.WriteText(env.Stdout, res); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "\nreport: %s\n", filepath.Join(out, matrix.HTMLFile))
	}
	if verbose {
		for _, f := range files {
			fmt.Fprintf(env.Stderr, "wrote %s\n", f)
		}
	}
	if res.Verdict != "pass" {
		return &exitError{code: ExitFail}
	}
	return nil
}
