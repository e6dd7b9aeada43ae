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
//	gh:{a:<a>}:outbox     stream  field "entry": what commits homed on <a> write on other
//	                              slots, until applied (see "Commits and the outbox")
//	gh:{a:<a>}:applied:<e>  string "1": the step of outbox entry <e> on this slot was applied;
//	                              PX 1h (engine.CommitRetention)
//	gh:{a:<a>}:fence      string  outbox entry id of the change deciding on <a> among other
//	                              accounts, until its step here is applied; PX 5s
//
// Per user <u>, in the slot of the hash tag {u:<u>}:
//
//	gh:{u:<u>}:user       string  the engine.User
//	gh:{u:<u>}:requests   hash    request id -> account id: the requester's index
//	gh:{u:<u>}:events     stream  field "event": each engine.Event addressed to <u>; entry id = its id in gh:events
//	gh:{u:<u>}:applied:<e>  string as for accounts
//
// Global keys; no script touches two of the four that hold data, so each
// may hash to a slot of its own:
//
//	gh:requests           hash    request id -> account id, for GetRequest
//	gh:events             stream  field "event": engine.Event; entry id = Cursor (R42)
//	gh:{gh:events}:fanout  string stream id: every event of gh:events up to it is in its
//	                              recipients' streams; in gh:events's slot
//	gh:expiries           zset    expiry entry -> expiry in Unix microseconds
//	gh:expiry-at          hash    expiry entry -> exact expiry instant (RFC 3339, nanoseconds)
//	gh:{gh:<key>}:applied:<e>  string  the marker of an outbox step on global key gh:<key>
//	gh:{outboxes:<n>}     zset    account -> Unix milliseconds of the last commit that may have
//	                              left entries in its outbox; n = FNV-1a (32 bits) of the account
//	                              id modulo 16
//
// An expiry entry is the JSON array ["r", account, request id] for a granted
// request with an expiry, or ["m", account, user id] for a membership with
// one. Commit adds, moves and removes entries as it writes requests and
// memberships, so the index holds what DueExpiries may report (once the
// outbox is applied; the engine checks each expiry against the account's
// state before recording it).
//
// A request's account and requester never change once written: the indexes
// are not moved.
//
// # Commits and the outbox
//
// Each change has a home account: Change.Home, else the first account of
// Versions, else of ReadVersions, else "_directory". Commit runs one Lua
// script (commit.lua) on the home account's hash slot only, so Redis
// Cluster never refuses it (CROSSSLOT), and Standalone, Sentinel and
// Cluster share this one code path:
//
//  1. Fences. A version in Change.Versions, ReadVersions or
//     RequesterVersions of another account than the home one is checked in
//     that account's slot, after its outbox was applied (step 4), by
//     commit.lua, which then holds the account's fence
//     (gh:{a:<a>}:fence, naming the change's outbox entry, PX 5s). A
//     difference, or another change's fence, is engine.ErrConflict, with
//     the fences taken released and nothing written. Until the change's
//     outbox step on that account releases the fence, atomically with the
//     change's writes there, every other commit homed on the account, or
//     fencing it, conflicts (and the engine decides it again). A change
//     whose commit record exists (sent again) skips this: it was applied.
//  2. Registration. When the change writes on other slots, ZADD GT lists
//     the home account in its registry shard gh:{outboxes:<n>}.
//  3. The home script. When the commit record exists, the change was
//     applied before (go-redis retried the script after a lost reply, or the
//     engine sent it again): nothing is written and the answer is
//     "applied". Else the script refuses (conflict) a change whose
//     idempotency record exists, whose home account another change fences,
//     or whose home-slot versions differ from the ones read (and step 1's
//     fences are released); otherwise it writes everything of the home
//     slot (state, audit records, version increments, commit and
//     idempotency records) and appends one entry to the home account's
//     outbox holding every other write, grouped in steps, one per hash
//     slot: the events first (one step on gh:events), then the others in
//     the order of the Change's fields (another account's requests, audit
//     records and version increments, with its fence's release; the
//     requester's index; gh:requests; the expiry index). Its reply carries
//     the outbox's first entries.
//  4. The outbox. Commit applies the home account's outbox, oldest entry
//     first: each step by commit.lua on its slot, with the step's applied
//     marker in place of a commit record, so that a step applied before
//     writes nothing; then it deletes the entries (XDEL). It takes three
//     pipelines: the steps on gh:events with a read of the events not yet
//     copied to their recipients; every other step with those copies (the
//     fan-out); the fan-out cursor and the XDEL. On return, every write of
//     the change is visible.
//
// A failure to reach Redis from step 3 on wraps engine.ErrOutcomeUnknown:
// only sending the change again tells, and doing so answers "applied" and
// finishes step 4. A replica that dies between steps 3 and 4 leaves the
// entry to the relay (RunRelay; gatehouse serve runs it every second on one
// replica at a time, holding the lease "outbox-relay"): it reads every
// registry shard and applies each listed outbox as step 4 does, then drops
// the accounts whose registration is older than a minute (the longest a
// commit could take between steps 2 and 3) and whose score did not change
// meanwhile. The account's next commit applies the entry too.
//
// Why nothing is lost or applied twice: the entry is written by the same
// script as the home slot's state, so it exists exactly when the change was
// applied; it leaves the outbox only after every step was applied; each
// step and its marker are written by one script in the step's slot, so a
// step applied by a replica that then died is skipped by whoever comes
// next. Any number of replicas may apply one outbox at once: each goes
// through it in order and through an entry's steps in order, so a step on
// one slot is applied only after the steps before it in that outbox, and
// the entries of one account reach each slot in the order of the account's
// commits.
//
// The fan-out keeps the recipients' streams in the order of gh:events and
// with its ids, so either listing's cursor pages the other: it reads
// gh:events after gh:{gh:events}:fanout, XADDs each event to each recipient's
// stream with its global id, and moves the cursor forward (never back).
// Every copier goes through gh:events in order from a cursor below which
// everything was copied, so a recipient's stream whose last id is at or
// above an event's already holds it: Redis refuses that XADD, and the copy
// is skipped.
//
// # Atomicity
//
// What R40 asks of one change, state, audit record and event together or
// none, holds in the home slot: the state and audit records of the home
// account and the outbox entry that carries the events and every other
// write are one script. The events reach gh:events exactly once and before
// any other slot shows the change's effects, so a later event about the
// same request (granted after created) always follows it there, and webhook
// delivery, which reads gh:events, stays at least once (R42). The events of
// one account keep the order of its commits (R42).
//
// A request changes only its requester's version: requests by different
// users on one account do not conflict (R20), while a second request by the
// same user, or two decisions of one request (R25), do. Approvals and member
// changes move the account's version, so seat limits hold (R10, R11). Every
// command but one decides on at most one account and homes its change
// there, so its checks and its writes of that account's state are one
// script, as before.
//
// The one command deciding on several accounts is a tenant submission
// (R35, R36): it reads the reseller and every tenant, and creates one
// pending request on each tenant. Its home is the reseller (or the first
// tenant when the caller gave an Idempotency-Key): the home account's
// version is checked in the script; every other account's in its own slot,
// where the fence then keeps any other commit out until the submission's
// step there (its request, audit record and version increment) is applied.
// So the accounts it decided on are all still at the versions it read when
// its writes land on each (R40), as with one script: no change on a tenant
// can be committed between the check and the submission's request. The
// submission lands whole or not at all (the entry is one unit, applied to
// the end by Commit, the relay or a retry), and two submissions of one
// reseller serialize on its version. The difference with one script is
// time, not state: a reader of a tenant may see it without the new request
// for the few round trips until its step, as if the submission committed
// then; and a replica dying between step 1 and step 4 keeps the tenants'
// commits conflicting until the relay applies its entry (it runs every
// second) or, when it died before its script, until the fences expire
// (5s). Should a fence expire before the relay reaches its step (the relay
// itself down for seconds), a change on that tenant committed meanwhile
// is ordered before the submission's request there, which it did not see.
//
// Readers of other slots may see the home slot's part of a change before
// the rest for the few round trips step 4 takes (or until the relay runs,
// after a replica died): GetRequest, a requester's listing or a recipient's
// events may lag the account's own state by that much, never the reverse.
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
// On a Redis Cluster the cache has a cluster client of its own, whose
// client of each node has one tracked connection and a cache of its own
// (ClusterOptions.NewClient): each read goes to the master of its key's
// hash slot. An account's version and every record a decision reads about
// it share the tag {a:<id>}, so one master's connection carries them and
// their invalidations in order, as on a standalone Redis; the user's
// record ({u:<id>}) and the partner's membership come from their own
// masters. Losing any master's tracking connection, or a slot map that
// differs from the last one read (a slot moved, a replica promoted, a
// master gone; the cache's client reads it, with one CLUSTER SLOTS, on
// MOVED and ASK replies, when it cannot reach a node and at a read a
// minute or more after the last, go-redis's ClusterStateReloadInterval),
// drops the whole cache. A commit returns once a PING went through every
// master's tracking connection.
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
// the replicas may not hold (a key with no record does not wait: the
// commit that follows does); and ActivatePolicy waits through the barrier
// on the active record, which covers the revision saved before it.
//
// The trade-off: every write pays a round trip to the replicas (a fraction
// of a millisecond on one network, the WAIT timeout when a replica is slow
// or gone: with n replicas required and fewer alive, every write answers
// 503 outcome_unknown after retries until one is back, an
// *engine.ReplicaAckError saying how many acknowledged; ConnectedReplicas
// lets serve warn at start), in exchange for
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
// Open accepts redis+cluster:// URLs (see Open): the Store then runs on a
// go-redis ClusterClient. Every script and MULTI/EXEC touches one hash
// slot: commit.lua the home account's or a step's, AccountState one
// account's, the policy keys share the tag {policy}. Pipelines (Snapshot,
// the requester's listing, the fences, the outbox's steps) may span slots:
// the client splits them by node, keeping each node's commands in order.
// Pub/Sub (policy activations) reaches every node's subscribers.
//
// Upgrading from a version without Redis Cluster support keeps every key
// but the policy ones, which moved under {policy}: push and activate the
// policy again. Stop the replicas of the older version before starting
// those of this one: an older replica copies events to their recipients
// within its commit script, which fails halfway when the fan-out has
// copied a later event first. Without gh:{gh:events}:fanout, the first fan-out goes through
// every event already in gh:events, 256 per round trip, copying none (the
// recipients' streams have them all) and keeping its progress after each
// page, shared by every commit and the relay.
//
// # Policies and background workers
//
// Pushed policy revisions (issue 4), and the leases and cursors that let
// one replica at a time run a background worker (webhook delivery, the
// expiry sweep, the outbox relay):
//
//	gh:{policy}:rev:<rev>     hash    "meta": engine.PolicyRevision without files; "files": its files
//	gh:{policy}:revisions     zset    revision id -> CreatedAt in Unix microseconds
//	gh:{policy}:active        string  the engine.PolicyActivation
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
