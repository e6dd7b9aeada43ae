// Package revocationtest measures how fast a revocation made through one
// gatehouse replica is seen by the others (issue 11): it starts three
// `gatehouse serve` processes on one redis-server, each with its
// client-side cache of decision records, revokes memberships and access
// grants through the first, and times, from the write's answer, the first
// deny on every other replica. It also checks that a decision carrying the
// write's Consistency-Token is never an allow once the write answered.
//
// The package holds tests only. `go test ./cmd/gatehouse/revocationtest`
// makes 100 revocations; `make bench-revocation` makes 1,000 and prints
// the p50, p99 and max latency (-revocations N sets the number;
// -redis-url URL runs the replicas on another Redis, a Sentinel or a
// Cluster, instead of the redis-server the test starts; -cluster, or
// `make bench-revocation CLUSTER=1`, on a 3-master Redis Cluster the test
// starts, where each replica keeps a client-side cache per master).
package revocationtest
