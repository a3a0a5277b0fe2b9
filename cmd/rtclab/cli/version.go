package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/reports"
)

// build is what the binary knows of its own build (runtime/debug's build
// info): the module version, and the VCS revision it was built from when
// built from a checkout.
func build(version string) reports.ToolBuild {
	b := reports.ToolBuild{Version: version, Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		if b.Version == "" {
			b.Version = "unknown"
		}
		return b
	}
	if b.Version == "" {
		b.Version = info.Main.Version // "(devel)" when built without module info
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// describeBuild is the one-line version: "v1.2.0 (rev 1a2b3c4d5e6f,
// 2026-11-30T07:00:00Z, modified)".
func describeBuild(b reports.ToolBuild) string {
	s := b.Version
	if b.Revision == "" {
		return s
	}
	rev := b.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	s += " (rev " + rev
	if b.Time != "" {
		s += ", " + b.Time
	}
	if b.Modified {
		s += ", modified"
	}
	return s + ")"
}

func newVersionCmd(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version and the revision rtclab was built from",
		Long: `Print rtclab's module version and, for a build from a checkout, the VCS
revision, its time and whether the tree had uncommitted changes. The same
is written into every report (tool, tool_build).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				return writeJSON(env, env.build)
			}
			fmt.Fprintf(env.Stdout, "rtclab %s\n", describeBuild(env.build))
			fmt.Fprintf(env.Stdout, "built with %s\n", env.build.Go)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the build as JSON")
	return cmd
}

// writeJSON prints v as indented JSON on stdout: the --json summary of
// every command.
func writeJSON(env *Env, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("json summary: %w", err)
	}
	_, err = env.Stdout.Write(append(data, '\n'))
	return err
}
