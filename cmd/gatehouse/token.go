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
	var sub, aud, iss string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token --sub NAME [--aud AUDIENCE] [--iss ISSUER]",
		Short: "Mint a development API token (HS256) from the configured secret",
		Long: `Mint a development API token (HS256) from the configured secret.

A server started with --jwt-audience or --jwt-issuer accepts only tokens
that name them: give the same values with --aud and --iss, or the same
--jwt-audience and --jwt-issuer (or GATEHOUSE_JWT_AUDIENCE and
GATEHOUSE_JWT_ISSUER), which --aud and --iss default to.`,
		Args: cobra.NoArgs,
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
			if aud == "" {
				aud = cfg.JWTAudience
			}
			if iss == "" {
				iss = cfg.JWTIssuer
			}
			tok, err := httpapi.MintHS256(secret, sub, ttl, httpapi.MintAudience(aud), httpapi.MintIssuer(iss))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	cmd.Flags().StringVar(&sub, "sub", "", "subject of the token: the actor")
	cmd.Flags().DurationVar(&ttl, "ttl", 12*time.Hour, "how long the token is valid")
	cmd.Flags().StringVar(&aud, "aud", "", "audience of the token (aud claim; default --jwt-audience)")
	cmd.Flags().StringVar(&iss, "iss", "", "issuer of the token (iss claim; default --jwt-issuer)")
	configFlags(cmd.Flags(), cfg.bindJWTSecretFlag, cfg.bindJWTClaimFlags)
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
