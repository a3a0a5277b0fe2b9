package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/yamldecode"
)

func newShowCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Print a built-in scenario's YAML, a starting point for your own",
		Long: `Print the YAML of a built-in scenario on stdout, as shipped in the binary:
save it, edit it, and run the file.

Built-in scenarios: ` + joinNames(scenarios.BuiltinNames()),
		Example: `  rtclab show quickstart > my-network.yaml
  rtclab run my-network.yaml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeScenarios,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, ok := scenarios.BuiltinYAML(args[0])
			if !ok {
				msg := "no built-in scenario " + args[0]
				if s := yamldecode.Closest(args[0], scenarios.BuiltinNames()); s != "" {
					msg += "; did you mean " + s + "?"
				}
				return usagef("%s (built-in scenarios: %s)", msg, strings.Join(scenarios.BuiltinNames(), ", "))
			}
			_, err := env.Stdout.Write(data)
			return err
		},
	}
}
