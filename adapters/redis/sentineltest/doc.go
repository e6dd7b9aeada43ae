// Package sentineltest runs the Redis store's tests that need a deployment
// managed by Redis Sentinel (redistest.StartSentinel: a primary, a replica
// and three sentinels): the engine/storetest conformance suite through a
// redis+sentinel:// URL, plain and with every commit waiting for its
// replica (WithMinReplicasAck); failovers forced in the middle of a write
// load, counting the acknowledged writes that the promoted replica lacks;
// and gatehouse serve answering 503 outcome_unknown while the replica lags.
// It holds tests only, in a package of their own so that scripts/test-go.sh
// runs them beside the other packages.
package sentineltest
