package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/spf13/cobra"
)

func newTokenCommand(cfg *Config) *cobra.Command {
	var sub string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token --sub NAME",
		Short: "Mint a development API token (HS256) from the configured secret",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !engine.ValidID(sub) {
				return fmt.Errorf("--sub %q must be 1-128 letters, digits, '.', '_', '-' or '@'", sub)
			}
			if cfg.JWTSecretFile == "" {
				return errors.New("--jwt-hs256-secret-file (or GATEHOUSE_JWT_HS256_SECRET_FILE) is required")
			}
			secret, err := readSecret(cfg.JWTSecretFile)
			if err != nil {
				return err
			}
			tok, err := httpapi.MintHS256(secret, sub, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	cmd.Flags().StringVar(&sub, "sub", "", "subject of the token: the actor")
	cmd.Flags().DurationVar(&ttl, "ttl", 12*time.Hour, "how long the token is valid")
	configFlags(cmd.Flags(), cfg.bindJWTSecretFlag)
	return cmd
}

// readSecret reads a secret file, without surrounding white space.
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) < 16 {
		return nil, fmt.Errorf("secret in %s is too short: use at least 16 characters", path)
	}
	return []byte(s), nil
}
