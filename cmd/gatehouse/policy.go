package main

import (
	"os"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/spf13/cobra"
)

// builtInSource names the built-in policies in messages.
const builtInSource = "built-in"

func newPolicyCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Author and ship policies: test, check, format, replay logged decisions",
		Long: `Tools for the security team that owns the Rego.

Each command takes the policy directory as its argument; without one it uses
--policy-dir, and without that the built-in policies.`,
	}
	cmd.AddCommand(
		newPolicyTestCommand(cfg),
		newPolicyCheckCommand(cfg),
		newPolicyFmtCommand(cfg),
		newPolicyReplayCommand(cfg),
		newPolicyPushCommand(cfg),
		newPolicyListCommand(cfg),
		newPolicyRollbackCommand(cfg),
	)
	return cmd
}

// policyDirArg returns the directory a policy command works on: its argument,
// else --policy-dir; "" for the built-in policies.
func policyDirArg(cfg *Config, args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return cfg.PolicyDir
}

// readPolicyDir reads the policy files of dir, or the built-in ones when dir
// is "", and says where they came from.
func readPolicyDir(dir string) (map[string][]byte, string, error) {
	if dir == "" {
		files, _, err := policyFiles(&Config{})
		return files, builtInSource, err
	}
	files, err := engine.ReadPolicyFiles(os.DirFS(dir))
	return files, dir, err
}
