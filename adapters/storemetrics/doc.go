// Package storemetrics wraps an engine.Store so that every store call is
// counted by operation and outcome and timed, for Prometheus.
package storemetrics
