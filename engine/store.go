package engine

import (
	"context"
	"time"
)

// Store is the port through which the engine reads and writes state. Every
// implementation passes the conformance suite in engine/storetest.
//
// Reads of a missing thing return an error wrapping ErrNotFound; a store that
// cannot be reached returns an error wrapping ErrUnavailable.
type Store interface {
	PolicyStore
	WorkerStore

	// Snapshot returns, in one store call, everything a decision about
	// subject acting on account needs. Missing parts are nil, never errors.
	Snapshot(ctx context.Context, subject, account string) (Snapshot, error)

	// SnapshotAtLeast is Snapshot read on state at least as fresh as
	// atLeast: every account it names at its version or past it. A store
	// that answers Snapshot from a local cache reads around the cache when
	// the cache is behind atLeast, and when atLeast names no account. When
	// the store itself has not reached a version atLeast names (a token of
	// a write a failover lost, or a forged one), the error wraps
	// ErrUnavailable: the decision fails closed.
	SnapshotAtLeast(ctx context.Context, subject, account string, atLeast Token) (Snapshot, error)

	// AccountState returns the account, its members, its requests with the
	// given statuses (all when none are given) and its current version, read
	// consistently. Commands decide on it and commit with that version.
	AccountState(ctx context.Context, account string, statuses ...string) (AccountState, error)

	// Commit applies a change atomically: all of it or none of it (R40).
	//
	// When a version differs from the one in change.Versions,
	// change.ReadVersions or change.RequesterVersions, or change.Idempotency
	// names a key that already has a record, nothing is written and the error
	// wraps ErrConflict. Every account in Versions has its version
	// incremented, and every request written increments its requester's
	// version on its account (RequesterRef), listed or not.
	//
	// A change with an ID is recorded under that ID, with the change, for
	// CommitRetention: committing again a change whose ID was applied
	// writes nothing and returns nil, so that a commit retried after a lost
	// reply is answered "applied" (R40). When the store cannot tell whether
	// the change was applied (the reply never came), the error wraps
	// ErrOutcomeUnknown, and committing the same change again tells: nil
	// (it was applied, then or now) or ErrConflict (it never will be).
	Commit(ctx context.Context, change Change) error

	// Idempotency returns the record that a commit kept for actor's key
	// under account home (Change.Home); ErrNotFound when there is none or it
	// expired.
	Idempotency(ctx context.Context, home, actor, key string) (IdempotencyRecord, error)

	GetUser(ctx context.Context, id string) (User, error)
	GetAccount(ctx context.Context, id string) (Account, error)
	GetMember(ctx context.Context, account, user string) (Membership, error)
	ListMembers(ctx context.Context, account string) ([]Membership, error)

	GetRequest(ctx context.Context, id string) (AccessRequest, error)
	// ListRequests lists requests by account or by requester, newest first.
	ListRequests(ctx context.Context, filter RequestFilter) ([]AccessRequest, error)
	// DueExpiries lists granted requests and memberships whose expiry is at
	// or before now, so that the engine can record and announce them (R38, R42).
	DueExpiries(ctx context.Context, now time.Time, limit int) ([]Expiry, error)

	// ListAudit lists an account's audit trail after cursor, oldest first
	// (Ascending) or newest first (Descending). The cursor is exclusive and
	// "after" follows the order: in Descending, the records older than it.
	ListAudit(ctx context.Context, account, after string, limit int, order Order) ([]AuditRecord, error)
	// ListEvents lists all events after cursor in order, as ListAudit.
	ListEvents(ctx context.Context, after string, limit int, order Order) ([]Event, error)
	// ListEventsFor lists the events addressed to recipient (Event.To) after cursor in order.
	// Cursors are the same as ListEvents's: an event has one cursor in both listings.
	ListEventsFor(ctx context.Context, recipient, after string, limit int, order Order) ([]Event, error)

	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	Close() error
}

// Snapshot is the state one decision reads (R1-R7, R39).
type Snapshot struct {
	User       *User
	Account    *Account
	Membership *Membership
	// PartnerMembership is the subject's membership in Account.Partner.
	PartnerMembership *Membership
	// TenantExclusive is true once any tenant request for Account was granted (R39).
	TenantExclusive bool
	// TenantGrants are the grants on Account naming the subject.
	TenantGrants []Grant
}

// AccountState is one account's state, read at one version.
type AccountState struct {
	Account  Account
	Members  []Membership
	Requests []AccessRequest
	// Version is the version of the account's record, members and grants,
	// and of every change committed with the account in Change.Versions.
	Version uint64
	// RequesterVersions maps a requester to the version of their requests
	// on the account (RequesterRef); a requester missing is at version 0.
	RequesterVersions map[string]uint64
}

// RequesterVersion returns the version of requester's requests on the
// account as read, 0 when they never had one.
func (s AccountState) RequesterVersion(requester string) uint64 {
	return s.RequesterVersions[requester]
}

// RequestFilter selects requests. Exactly one of Account and Requester is set.
type RequestFilter struct {
	Account   string
	Requester string
	// Status, when set, keeps requests of that status only.
	Status string
	Limit  int
}

// MemberRef names one membership.
type MemberRef struct {
	Account string `json:"account"`
	User    string `json:"user"`
}

// Expiry is a grant or membership whose expiry has passed.
type Expiry struct {
	Account string
	// Request is set for an expired request, User for an expired membership.
	Request string
	User    string
	At      time.Time
}

// RequesterRef names the requests of one requester on one account: the
// unit of version finer than the account's, so that requests by different
// users on one account do not conflict (R20, R40).
type RequesterRef struct {
	Account   string
	Requester string
}

// CommitRetention is how long a store keeps the ID of an applied change:
// far longer than any retry of its commit by the Redis client or the
// engine, and than a network may delay a sent commit.
const CommitRetention = time.Hour

// Change is everything one command writes. The store applies it in one
// atomic unit, after checking Versions, ReadVersions and RequesterVersions.
type Change struct {
	// ID names this decision of a command, so that a commit sent twice is
	// applied once (see Store.Commit). Empty: the change is not recorded.
	ID string
	// Home is the account under whose keys the store keeps ID and the
	// Idempotency record (one Redis hash slot). Empty: the first account
	// of Versions in byte order, else of ReadVersions, else DirectoryAccount.
	Home string
	// Idempotency, when set, is stored with the change for
	// Idempotency.Retention; a change naming a key that already has a
	// record conflicts.
	Idempotency *IdempotencyRecord

	// Versions maps each account the command decided on and changes to the
	// version it read: checked, then incremented. An account not yet
	// created is expected at version 0.
	Versions map[string]uint64
	// ReadVersions maps each account the command decided on but whose
	// record, members and grants it leaves alone to the version it read:
	// checked, not incremented.
	ReadVersions map[string]uint64
	// RequesterVersions maps the requests of each requester the command
	// decided on (a request's status, a requester's open requests) to the
	// version read: checked. Writing a request increments its own.
	RequesterVersions map[RequesterRef]uint64

	Users          []User
	Accounts       []Account
	Members        []Membership
	RemovedMembers []MemberRef
	Requests       []AccessRequest
	Grants         []TenantGrants
	// ExclusiveTenants are tenants from now on exclusive (R39).
	ExclusiveTenants []string
	Audit            []AuditRecord
	Events           []Event
}

// IdempotencyRecord is the first answer to one attempt of a command that
// its client named with a key (the HTTP Idempotency-Key): a retry with the
// same key and the same request gets Answer again instead of a second
// change; the same key with another request is refused.
type IdempotencyRecord struct {
	Actor string `json:"actor"`
	Key   string `json:"key"`
	// Fingerprint identifies the request (method, path, body digest).
	Fingerprint string `json:"fingerprint"`
	// Answer is the caller's answer, opaque to the engine and the store.
	Answer    []byte    `json:"answer"`
	CreatedAt time.Time `json:"created_at"`
	// Retention is how long the store keeps the record (not stored).
	Retention time.Duration `json:"-"`
}

// PolicyStore keeps pushed policy revisions, shared by every replica, so
// that a revision pushed to one replica is activated on all of them.
type PolicyStore interface {
	// SavePolicy stores a revision. It is idempotent by Revision: saving a
	// revision that exists already keeps the stored one and succeeds.
	SavePolicy(ctx context.Context, rev PolicyRevision) error
	// GetPolicy returns a revision with its files; ErrNotFound when unknown.
	GetPolicy(ctx context.Context, revision string) (PolicyRevision, error)
	// ListPolicies lists revisions newest first (by CreatedAt, then
	// Revision), Files omitted, at most limit of them (all when limit <= 0).
	ListPolicies(ctx context.Context, limit int) ([]PolicyRevision, error)
	// ActivatePolicy makes a saved revision the active one and notifies
	// watchers; ErrNotFound when the revision was never saved.
	ActivatePolicy(ctx context.Context, a PolicyActivation) error
	// ActivePolicy returns the latest activation; ErrNotFound when none was
	// ever made.
	ActivePolicy(ctx context.Context) (PolicyActivation, error)
	// WatchPolicy delivers every activation, from any replica, until ctx
	// ends; then the channel is closed. Activations made after WatchPolicy
	// returns are delivered, though a slow reader or a lost connection may
	// miss some: readers also poll ActivePolicy as a fallback.
	WatchPolicy(ctx context.Context) (<-chan PolicyActivation, error)
}

// PolicyRevision is one pushed set of policy files.
type PolicyRevision struct {
	// Revision identifies the revision, typically a digest of its files.
	Revision string `json:"revision"`
	// Files maps a file name to its exact content.
	Files     map[string][]byte `json:"files,omitempty"`
	Author    string            `json:"author"`
	CreatedAt time.Time         `json:"created_at"`
	// Source says where the revision came from (a directory, a URL).
	Source string `json:"source,omitempty"`
}

// PolicyActivation records which revision is active, since when and by whom.
type PolicyActivation struct {
	Revision    string    `json:"revision"`
	ActivatedBy string    `json:"activated_by"`
	ActivatedAt time.Time `json:"activated_at"`
}

// WorkerStore coordinates background work (webhook delivery, the expiry
// sweep) between replicas: one replica at a time holds a lease and keeps a
// cursor of its progress.
type WorkerStore interface {
	// AcquireLease takes or renews the named lease for holder for ttl. It
	// returns false when another holder has it and its ttl has not passed.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// GetCursor returns the named cursor, "" when never set.
	GetCursor(ctx context.Context, name string) (string, error)
	// SetCursor stores the named cursor.
	SetCursor(ctx context.Context, name, cursor string) error
}
