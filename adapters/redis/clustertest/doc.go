// Package clustertest runs the Redis store's conformance suite, its race
// tests and the outbox relay's crash tests on a 3-master Redis Cluster
// that redistest.StartCluster starts from redis-server processes, and the
// client-side cache's: the suite through it, warm decisions without a
// command on any master, invalidation by another replica, a killed
// tracking connection and a moved hash slot (issue 11).
// It holds only tests: a package of its own, so that scripts/test-go.sh
// runs this slow suite beside the others.
package clustertest
