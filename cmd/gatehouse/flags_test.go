package main

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 9, sections 1 and 2: a command offers only the configuration flags
// it uses, and its help lists the GATEHOUSE_* variable of each.

// flagGroups are the groups of configuration flags, by name: the bind
// methods of Config.
func flagGroups() map[string]func(*Config, *pflag.FlagSet) {
	return map[string]func(*Config, *pflag.FlagSet){
		"store":      (*Config).bindStoreFlags,
		"policy-dir": (*Config).bindPolicyDirFlag,
		"decision":   (*Config).bindDecisionFlags,
		"serve":      (*Config).bindServeFlags,
		"jwt-secret": (*Config).bindJWTSecretFlag,
		"jwt-claims": (*Config).bindJWTClaimFlags,
		"client":     (*Config).bindClientFlags,
		// bindServeFlags binds it too, as it binds jwt-secret and jwt-claims
		"console-oidc": (*Config).bindConsoleOIDCFlags,
		"console":      (*Config).bindConsoleFlags,
	}
}

// commandGroups says which groups each runnable command uses, read from
// its RunE: the store flags where it opens the store, --policy-dir where it
// loads a policy, the client flags where it calls a running gatehouse.
var commandGroups = map[string][]string{
	"gatehouse serve":            {"store", "policy-dir", "decision", "serve", "console", "console-oidc"},
	"gatehouse decide":           {"store", "policy-dir", "decision", "client"}, // local, or --remote
	"gatehouse seed":             {"store", "policy-dir"},
	"gatehouse token":            {"jwt-secret", "jwt-claims"},
	"gatehouse version":          nil,
	"gatehouse policy test":      {"policy-dir"},
	"gatehouse policy check":     {"policy-dir"},
	"gatehouse policy fmt":       {"policy-dir"},
	"gatehouse policy replay":    {"store", "policy-dir", "decision"},
	"gatehouse policy push":      {"policy-dir", "client"},
	"gatehouse policy list":      {"client"},
	"gatehouse policy rollback":  {"client"},
	"gatehouse requests list":    {"client"},
	"gatehouse requests show":    {"client"},
	"gatehouse requests create":  {"client"},
	"gatehouse requests approve": {"client"},
	"gatehouse requests deny":    {"client"},
	"gatehouse requests revoke":  {"client"},
	"gatehouse requests expiry":  {"client"},
	"gatehouse requests tenant":  {"client"},
	"gatehouse members list":     {"client"},
	"gatehouse members set":      {"client"},
	"gatehouse members remove":   {"client"},
	"gatehouse audit":            {"client"},
	"gatehouse events":           {"client"},
}

// groupFlagNames returns the names of the flags each group binds (serve's
// include the JWT secret flag that token takes alone).
func groupFlagNames() map[string][]string {
	names := map[string][]string{}
	for name, bind := range flagGroups() {
		fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
		bind(DefaultConfig(), fs)
		fs.VisitAll(func(f *pflag.Flag) { names[name] = append(names[name], f.Name) })
	}
	return names
}

// walk calls fn for every command of the tree.
func walk(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		walk(c, fn)
	}
}

// allFlags returns the flags cmd offers, its own and inherited, by name.
func allFlags(cmd *cobra.Command) map[string]*pflag.Flag {
	flags := map[string]*pflag.Flag{}
	add := func(f *pflag.Flag) { flags[f.Name] = f }
	cmd.LocalFlags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	return flags
}

// Every runnable command offers exactly the configuration flags of the
// groups it uses: no store flags on token, requests, members or version, no
// client flags where nothing calls a server. A new command, or a group
// bound where it is not used, fails here until the table says why.
func TestCommandsOfferOnlyTheFlagsTheyUse(t *testing.T) {
	groupFlags := groupFlagNames()
	inGroup := map[string]bool{}
	for _, names := range groupFlags {
		for _, n := range names {
			inGroup[n] = true
		}
	}
	seen := map[string]bool{}
	walk(newRootCommand(), func(cmd *cobra.Command) {
		path := cmd.CommandPath()
		offered := allFlags(cmd)
		if !cmd.Runnable() {
			for name, f := range offered {
				if isConfigFlag(f) {
					// A parent's configuration flag must be one its every
					// child uses (checked on the children below).
					for _, child := range cmd.Commands() {
						assert.Contains(t, allFlags(child), name, "%s offers --%s to %s", path, name, child.CommandPath())
					}
				}
			}
			return
		}
		groups, known := commandGroups[path]
		if !assert.True(t, known, "%s is not in commandGroups: say which flag groups it uses", path) {
			return
		}
		seen[path] = true
		var want []string
		for _, g := range groups {
			want = append(want, groupFlags[g]...)
		}
		var got []string
		for name, f := range offered {
			isGroupFlag := inGroup[name]
			if isGroupFlag || isConfigFlag(f) {
				got = append(got, name)
				assert.True(t, isConfigFlag(f), "%s: --%s is bound without configFlags: it reads no GATEHOUSE_ variable", path, name)
				assert.True(t, isGroupFlag, "%s: --%s reads %s but belongs to no group of flagGroups", path, name, envName(name))
			}
		}
		slices.Sort(want)
		want = slices.Compact(want)
		slices.Sort(got)
		assert.Equal(t, want, got, "%s: configuration flags offered (groups %v)", path, groups)
	})
	for _, path := range slices.Sorted(maps.Keys(commandGroups)) {
		assert.True(t, seen[path], "commandGroups names %s, which the tree does not have", path)
	}

	for _, path := range []string{"gatehouse token", "gatehouse requests list", "gatehouse members set", "gatehouse version"} {
		out, err := runGatehouse(t, append(strings.Fields(path)[1:], "--data-dir", t.TempDir())...)
		require.Error(t, err, "%s takes no --data-dir", path)
		assert.Contains(t, err.Error(), "unknown flag: --data-dir", path, out)
	}
}

// Each command's help ends with the GATEHOUSE_* variables of its flags,
// generated from its flag set: serve lists every one it reads, the client
// commands GATEHOUSE_SERVER and GATEHOUSE_TOKEN.
func TestHelpListsTheEnvironment(t *testing.T) {
	walk(newRootCommand(), func(cmd *cobra.Command) {
		path := cmd.CommandPath()
		out, err := runGatehouse(t, append(strings.Fields(path)[1:], "--help")...)
		require.NoError(t, err, path)
		var vars []string
		for _, f := range allFlags(cmd) {
			if isConfigFlag(f) {
				vars = append(vars, envName(f.Name))
				assert.Regexp(t, `(?m)^  `+envName(f.Name)+` +--`+f.Name+`$`, out, "%s --help lists %s", path, envName(f.Name))
			}
		}
		if len(vars) == 0 {
			assert.NotContains(t, out, "GATEHOUSE_", path)
		}
		if _, client := allFlags(cmd)["server"]; client {
			assert.Contains(t, out, "GATEHOUSE_SERVER", path)
			assert.Contains(t, out, "GATEHOUSE_TOKEN", path)
		}
	})

	out, err := runGatehouse(t, "serve", "--help")
	require.NoError(t, err)
	serve := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg := DefaultConfig()
	cfg.bindStoreFlags(serve)
	cfg.bindPolicyDirFlag(serve)
	cfg.bindServeFlags(serve)
	serve.VisitAll(func(f *pflag.Flag) {
		assert.Contains(t, out, envName(f.Name)+" ", "serve --help lists %s", envName(f.Name))
	})
	for _, v := range []string{"GATEHOUSE_REDIS_URL", "GATEHOUSE_STORE", "GATEHOUSE_ADDR", "GATEHOUSE_JWT_PUBLIC_KEY_FILE", "GATEHOUSE_SYSTEM_ADMINS"} {
		assert.Contains(t, out, v, "the README promises it")
	}
	t.Logf("serve --help lists %d variables", strings.Count(out, "\n  GATEHOUSE_"))
}

// Only configuration flags read the environment: a variable named after a
// flag that shapes one invocation (--subject, --json) changes nothing.
func TestInvocationFlagsReadNoEnvironment(t *testing.T) {
	dir := seededDir(t)
	t.Setenv("GATEHOUSE_SUBJECT", "alice")
	t.Setenv("GATEHOUSE_ACCOUNT", "acme")
	_, err := runGatehouse(t, "decide", "--data-dir", dir, "--action", "manage")
	require.Error(t, err, "GATEHOUSE_SUBJECT and GATEHOUSE_ACCOUNT must not fill --subject and --account")
	assert.Contains(t, err.Error(), "subject")
}
