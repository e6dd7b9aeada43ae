// Package redistest starts a real redis-server for tests.
//
// Start picks a free port on 127.0.0.1, runs redis-server in the test's
// temporary directory without persistence, waits until it answers PING and
// kills it when the test ends. Stop and Restart let outage tests (R45) take
// the server away and bring it back on the same address.
//
// StartSentinel starts a deployment managed by Redis Sentinel: a primary, a
// replica and three sentinels (redis-server --sentinel, from a generated
// configuration), and returns once the sentinels agree. Its URL is the
// redis+sentinel:// URL the store's Open takes; Failover (SENTINEL
// FAILOVER), KillPrimary and RejoinAsReplica move the primary for failover
// tests.
//
// StartCluster starts several such servers with cluster mode on and joins
// them into one Redis Cluster of masters with `redis-cli --cluster create`,
// without Docker, returning once every node reports cluster_state:ok.
//
// redis-server (and redis-cli for StartCluster) must be in PATH:
// `apt-get install -y redis-server`, or run `make test`, which installs
// them. A missing binary fails the test; it never skips it.
package redistest
