package redistest

import (
	"strconv"
	"time"
)

// Option changes how Start runs redis-server.
type Option func(*config)

type config struct {
	args         []string
	startTimeout time.Duration
	ready        []string // PING replies that count as started
	sentinel     string   // a Sentinel configuration file: run redis-server --sentinel on it
}

func defaultConfig() config {
	return config{startTimeout: 10 * time.Second, ready: []string{"+PONG"}}
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

// WithReadyReplies makes Start and Restart return once PING's reply starts
// with any of replies (the default is "+PONG"): "-LOADING" for a server that
// is still loading its data, "-MASTERDOWN" for a replica that serves no
// stale data.
func WithReadyReplies(replies ...string) Option {
	return func(c *config) { c.ready = replies }
}

// ReplicaOf makes the server a replica of master (--replicaof).
func ReplicaOf(master *Server) Option {
	return WithArgs("--replicaof", "127.0.0.1", strconv.Itoa(master.port))
}

// ReplicaOfAddr makes the server a replica of whatever listens, or not, on
// 127.0.0.1:port: a free port gives a replica whose master is gone.
func ReplicaOfAddr(port int) Option {
	return WithArgs("--replicaof", "127.0.0.1", strconv.Itoa(port))
}
