// Package redis is the engine.Store on Redis (go-redis v9), shared by every
// gatehouse replica of a deployment.
//
// # Key layout
//
// Every key starts with a prefix, "gh" unless WithPrefix says otherwise.
// Values are JSON of the engine types unless stated.
//
// Per account <a>, all in one hash slot thanks to the hash tag {a:<a>}:
//
//	gh:{a:<a>}:account    string  the engine.Account
//	gh:{a:<a>}:version    string  integer version of the account's record, members and grants,
//	                              INCR by every commit with <a> in Change.Versions; missing = 0
//	gh:{a:<a>}:requester-versions  hash  requester id -> integer version of their requests on <a>,
//	                              HINCRBY by every commit writing one of them; missing = 0
//	gh:{a:<a>}:commit:<id>  string "1": change <id>, homed on <a>, was applied; PX 1h
//	                              (engine.CommitRetention)
//	gh:{a:<a>}:idem:<h>   string  engine.IdempotencyRecord of an Idempotency-Key, homed on <a>;
//	                              <h> = hex SHA-256 of actor, NUL, key; PX its retention (24h)
//	gh:{a:<a>}:members    hash    user id -> engine.Membership
//	gh:{a:<a>}:requests   hash    request id -> engine.AccessRequest
//	gh:{a:<a>}:grants     hash    user id -> []engine.Grant on tenant <a> naming that user (R39)
//	gh:{a:<a>}:exclusive  string  "1" once a tenant request for <a> was granted (R39)
//	gh:{a:<a>}:audit      stream  field "record": engine.AuditRecord; entry id = Cursor (R41)
//
// Per user <u>, in the slot of the hash tag {u:<u>}:
//
//	gh:{u:<u>}:user       string  the engine.User
//	gh:{u:<u>}:requests   hash    request id -> account id: the requester's index
//	gh:{u:<u>}:events     stream  field "event": each engine.Event addressed to <u>; entry id = its id in gh:events
//
// Global keys, four of them:
//
//	gh:requests           hash    request id -> account id, for GetRequest
//	gh:events             stream  field "event": engine.Event; entry id = Cursor (R42)
//	gh:expiries           zset    expiry entry -> expiry in Unix microseconds
//	gh:expiry-at          hash    expiry entry -> exact expiry instant (RFC 3339, nanoseconds)
//
// An expiry entry is the JSON array ["r", account, request id] for a granted
// request with an expiry, or ["m", account, user id] for a membership with
// one. Commit adds, moves and removes entries as it writes requests and
// memberships, so the index holds exactly what DueExpiries may report.
//
// A request's account and requester never change once written: the indexes
// are not moved.
//
// # Atomicity
//
// Commit runs one Lua script (commit.lua) that checks every version in
// Change.Versions, Change.ReadVersions (string keys) and
// Change.RequesterVersions (fields of requester-versions), then applies every
// write, appends audit records and events with XADD and increments the
// versions of Change.Versions and of each requester whose request it wrote.
// A request changes only its requester's version: requests by different
// users on one account do not conflict (R20), while a second request by the
// same user, or two decisions of one request (R25), do. Approvals and member
// changes move the account's version, so seat limits hold (R10, R11).
//
// # Commit ids and idempotency records
//
// A change's commit and idempotency records live under its home account
// (Change.Home, else the first account of Versions, else of ReadVersions,
// else "_directory"), in that account's hash slot, so that a later move to
// Redis Cluster keeps them with the state they belong to. The script first
// looks for the commit record: when it exists, the change was applied before
// (go-redis retried the script after a lost reply, or the engine sent it
// again) and the script writes nothing and answers "applied". It then
// refuses (conflict) a change whose idempotency record exists, and sets both
// records with the change. Versions only grow, so a change sent again that
// conflicts was never applied, and never will be. A failure to reach Redis
// after the script may have been sent is engine.ErrOutcomeUnknown: only
// sending it again tells. Each event is then copied,
// by XADD with the id the global stream gave it, to the events stream of
// each distinct recipient in Event.To: global ids only grow, so the copy is
// always a valid next id there, and ListEventsFor reads one user's stream
// (XRANGE after the cursor, COUNT limit) with the cursors ListEvents shows. Redis runs a script alone,
// so a command's state, audit records and event land together or not at all
// (R40), and a change decided on a stale version writes nothing and returns
// engine.ErrConflict (R11, R25).
//
// # Reads
//
// Snapshot takes one round trip (a pipeline) for the user, account,
// membership, grants and exclusivity flag, and a second one only when the
// account has a partner, for the subject's membership there. AccountState
// reads in one MULTI/EXEC so that the state and its version are of one
// instant.
//
// # Client-side cache and consistency tokens
//
// With WithClientSideCache, Snapshot reads the account's version, the same
// records with one GET, HGET or EXISTS each, and the version again, on a
// client of its own with one RESP3 connection that Redis tracks (CLIENT
// TRACKING): go-redis's client-side cache answers them from memory until
// Redis says a key changed. One connection carries every read and every
// invalidation, in Redis's order, so the cache never holds an account's
// version v next to a record that a commit up to v made stale; that is what
// lets SnapshotAtLeast answer a consistency token (engine.Token) from the
// cache when its versions are reached, and read Redis around the cache
// (pipelines, which go-redis never caches) when they are not. Losing the
// tracking connection drops the whole cache.
//
// # Errors
//
// A missing key wraps engine.ErrNotFound. A Redis that cannot be reached
// or cannot serve now wraps engine.ErrUnavailable, which the HTTP layer
// answers with 503 and decisions with a deny (R45): connection refused or
// reset, timeouts, pool timeout, closed client, and the replies LOADING,
// MASTERDOWN, READONLY, BUSY, NOREPLICAS, CLUSTERDOWN, TRYAGAIN, MISCONF,
// OOM and "max number of clients", including an EXECABORT whose queued
// command Redis refused with one of them. The Store keeps no connection
// state of its own: once Redis is back, the same Store works again. (After
// repeated failed dials go-redis fails fast and probes the server once a
// second, so recovery can take up to about a second.)
//
// # Timeouts
//
// Every method runs within a timeout, all its round trips and go-redis's
// retries included: the read timeout for reads and Ping, the write timeout
// for writes (WithReadTimeout, WithWriteTimeout, 1s each by default). A
// caller's earlier deadline wins: a decision keeps its own (250ms), a
// command its whole budget. A hook on the client bounds any other command
// too. So a Redis frozen by SIGSTOP, or a network that drops packets, fails
// each call within its timeout instead of the tens of seconds go-redis's
// own read timeout, pool timeout and retries would add up to.
//
// # Sentinel and durable acknowledgements
//
// Behind Sentinel (a redis+sentinel:// URL, see Open) the Store talks to
// whichever primary the sentinels name, through the same code as on a
// standalone Redis. Redis replicates asynchronously: a commit answered by
// the primary may not have reached a replica yet, and when that replica is
// promoted (the primary died, or SENTINEL FAILOVER) the commit is gone
// although its caller was told it succeeded. WithMinReplicasAck(n, t)
// (serve --redis-min-replicas-ack, --redis-min-replicas-ack-timeout) closes
// that window: on the connection that ran the commit script, WAIT n t
// blocks until n replicas acknowledged everything the primary had written,
// and a commit is answered only then. Fewer acknowledgements within t and
// the commit is applied on the primary but not known to be safe: the error
// wraps engine.ErrOutcomeUnknown (503 outcome_unknown), the engine sends the
// change again (its commit record answers "applied" and it waits again),
// and a client retries with its Idempotency-Key. Two details keep the
// acknowledgement honest. A resend answered "applied" wrote nothing on its
// connection, so a WAIT after it would not cover the first run's write:
// a barrier script rewrites the commit record, unchanged and keeping its
// time to live, after the commit script, and WAIT covers that. Likewise
// Idempotency reads a kept answer through the barrier and waits before the
// engine replays it, so a replay is never an acknowledgement of a change
// the replicas may not hold; and ActivatePolicy waits through the barrier
// on the active record, which covers the revision saved before it.
//
// The trade-off: every write pays a round trip to the replicas (a fraction
// of a millisecond on one network, the WAIT timeout when a replica is slow
// or gone: with n replicas required and fewer alive, every write answers
// 503 outcome_unknown after retries until one is back), in exchange for
// losing no acknowledged write on failover. Without it writes answer as
// soon as the primary applied them, and a failover loses what the replica
// had not received, measured by adapters/redis/sentineltest
// (TestFailoverMidLoad). WAIT makes a write durable in replicas' memory,
// not on their disks (that is appendfsync's business), and Redis may still
// lose it if every replica that holds it fails too. Decisions, reads,
// leases and cursors (at-least-once delivery resends) do not wait.
//
// # Redis Cluster
//
// The hash tags keep every per-account read in one slot, but a commit
// touches several slots at once: the accounts it decided on, user keys and
// the global keys above. Redis Cluster refuses such a script (CROSSSLOT), so
// this Store needs a single primary: a standalone Redis, or one managed by
// Sentinel (see Open). Running it on Cluster would take moving the global
// indexes into per-account keys and splitting commits by slot, which would
// give up the atomicity R40 asks for.
//
// # Policies and background workers
//
// Pushed policy revisions (issue 4), and the leases and cursors that let
// one replica at a time run a background worker (webhook delivery, the
// expiry sweep):
//
//	gh:policy:rev:<rev>       hash    "meta": engine.PolicyRevision without files; "files": its files
//	gh:policy:revisions       zset    revision id -> CreatedAt in Unix microseconds
//	gh:policy:active          string  the engine.PolicyActivation
//	gh:policy:activations     channel Pub/Sub: each engine.PolicyActivation, as it is made
//	gh:lease:<name>           string  the holder's id, expiring (PX) with the lease's ttl
//	gh:cursor:<name>          string  the cursor, raw
//
// SavePolicy writes with HSETNX and ZADD NX in one MULTI/EXEC, so saving a
// revision again changes nothing; ListPolicies is a ZREVRANGE (equal
// instants by revision, descending) then one pipelined HGET per revision.
// ActivatePolicy is one script: it checks that the revision exists, SETs
// the active key and PUBLISHes the activation. WatchPolicy SUBSCRIBEs and
// returns once Redis confirmed it; go-redis subscribes again after a lost
// connection, and what was published meanwhile is missed, so readers also
// poll ActivePolicy. AcquireLease is one script: when the key is missing or
// holds the asker, SET it PX ttl (take or renew), otherwise refuse; Redis
// expires the leases of dead holders.
package redis
