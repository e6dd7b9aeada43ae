package redistest

import "time"

// Option changes how Start runs redis-server.
type Option func(*config)

type config struct {
	args         []string
	startTimeout time.Duration
}

func defaultConfig() config {
	return config{startTimeout: 10 * time.Second}
}

// WithArgs appends redis-server command-line arguments, which override the
// defaults (e.g. WithArgs("--appendonly", "yes") to keep data across Restart).
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// WithStartTimeout bounds how long Start and Restart wait for PING
// (10 seconds by default).
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) { c.startTimeout = d }
}
