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
	// Snapshot returns, in one store call, everything a decision about
	// subject acting on account needs. Missing parts are nil, never errors.
	Snapshot(ctx context.Context, subject, account string) (Snapshot, error)

	// AccountState returns the account, its members, its requests with the
	// given statuses (all when none are given) and its current version, read
	// consistently. Commands decide on it and commit with that version.
	AccountState(ctx context.Context, account string, statuses ...string) (AccountState, error)

	// Commit applies a change atomically: all of it or none of it. When any
	// account's version differs from change.Versions, nothing is written and
	// the error wraps ErrConflict. Every account in Versions has its version
	// incremented.
	Commit(ctx context.Context, change Change) error

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

	// ListAudit lists an account's audit trail, oldest first, after cursor.
	ListAudit(ctx context.Context, account, after string, limit int) ([]AuditRecord, error)
	// ListEvents lists all events, oldest first, after cursor.
	ListEvents(ctx context.Context, after string, limit int) ([]Event, error)

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
	Version  uint64
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

// Change is everything one command writes. The store applies it in one
// atomic unit, after checking Versions.
type Change struct {
	// Versions maps each account the command decided on to the version it read.
	// An account not yet created is expected at version 0.
	Versions map[string]uint64

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
