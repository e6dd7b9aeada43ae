// Package embedded is gatehouse's default Store: single node, durable, one
// bbolt file (dir/gatehouse.db) and no server to run.
//
// A Commit is one bbolt read-write transaction: the version check, every
// write and the version increments commit together or not at all, and bbolt
// serializes writers, so concurrent commits at the same version see exactly
// one winner. Reads run in read-only transactions and only ever look keys up
// or walk one key prefix: their cost grows with what they return, never
// with the size of the store.
//
// # Bucket layout
//
// Records are JSON-encoded engine types. A compound key (a, b, ...) is each
// part preceded by its length as a uvarint, so ids may hold any bytes and
// the key (a) is a prefix of exactly the keys (a, ...). Instants in keys
// are 12 bytes, seconds since 1970 with the sign bit flipped then
// nanoseconds, both big-endian, so byte order is time order. Sequence
// numbers are 8 bytes big-endian, from the bucket's NextSequence.
//
//	users                  user id                       -> engine.User
//	accounts               account id                    -> engine.Account
//	versions               account id                    -> uint64 big-endian (absent = 0)
//	members                (account, user)               -> engine.Membership
//	requests               request id                    -> engine.AccessRequest
//	requests_by_account    (account) instant id          -> empty; instant = CreatedAt
//	requests_by_requester  (requester) instant id        -> empty; instant = CreatedAt
//	grants                 (tenant, user)                -> []engine.Grant (deleted when empty)
//	exclusive              tenant id                     -> 0x01
//	expiries               instant kind (account, id)    -> engine.Expiry
//	audit                  (account) sequence            -> engine.AuditRecord without cursor
//	events                 sequence                      -> engine.Event without cursor
//	events_by_recipient    (recipient) sequence          -> empty; sequence = the event's key in events
//	policies               revision id                   -> engine.PolicyRevision with its files
//	policies_by_time       instant revision id           -> engine.PolicyRevision without files; instant = CreatedAt
//	policy_state           "active"                      -> engine.PolicyActivation
//	leases                 lease name                    -> {holder, expires}
//	cursors                cursor name                   -> the cursor, raw
//	requester_versions     (account, requester)          -> uint64 big-endian (absent = 0)
//	commits                (home, commit id)             -> instant the record expires
//	idempotency            (home, actor, key)            -> {record: engine.IdempotencyRecord, expires_at}
//	records_by_expiry      instant tag key               -> empty; tag 'c' (commits) or 'i' (idempotency)
//
// A commit checks versions[a] for Change.Versions and Change.ReadVersions
// and requester_versions for Change.RequesterVersions, increments
// versions[a] for Change.Versions and requester_versions for each
// requester whose request it writes (once per change), so that requests by
// different users on one account do not conflict (R20, R40). A change whose
// commits entry exists and has not expired was applied already: Commit
// writes nothing and returns nil. The commit records (engine.CommitRetention)
// and idempotency records (their Retention) are kept under the change's home
// account (Change.Home, else its first account); expired ones are ignored by
// reads, and each commit deletes up to 64 of them, oldest first, through
// records_by_expiry.
//
// The expiries index holds one entry per membership with an ExpiresAt (kind
// 'm', id = user) and per granted request with an ExpiresAt (kind 'r', id =
// request id); writing or removing a membership or request moves its entry,
// as it moves the request's entries in the two request indexes.
//
// Snapshot reads users[subject], accounts[account], members[(account,
// subject)], members[(partner, subject)], exclusive[account] and
// grants[(account, subject)]. ListMembers and AccountState walk the members
// prefix (account); request listings walk an index prefix backwards, newest
// first. Audit and event cursors are the sequence number as 20 decimal
// digits. ListEventsFor walks the events_by_recipient prefix (recipient),
// which Commit writes in the same transaction as the event, once per
// recipient in Event.To, and reads each event from events: an event has the
// same cursor in ListEvents and ListEventsFor, and a user's listing costs
// what it returns, however many events others received.
//
// # Policies and workers
//
// ListPolicies walks policies_by_time backwards. SavePolicy writes a
// revision once: saving it again changes nothing. The store serves one
// process, so WatchPolicy is an in-process fan-out: ActivatePolicy writes
// the activation and, under one lock, hands it to every watcher, whose
// buffer drops its oldest unread activation rather than block. A lease is
// free when missing, expired by the local clock, or held by the asker.
package embedded
