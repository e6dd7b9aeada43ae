package engine

import (
	"encoding/json"
	"time"
)

// User is a person known to gatehouse (SPEC section 1). Credentials are not
// stored: the identity provider that signs the caller's JWT owns them.
type User struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	// Organization is the account the user is an employee of (a reseller).
	Organization string    `json:"organization,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// Account is a Smart Account, a Passport Advantage site, a CRES account, a
// CXone tenant or a reseller organization.
type Account struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	VirtualAccounts []string `json:"virtual_accounts"`
	// Partner is the reseller account allowed to support this one (R35, R39).
	Partner string `json:"partner,omitempty"`
	// Settings override policy defaults for this account (R10, R24).
	Settings  map[string]any `json:"settings,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
}

// HasVirtualAccount reports whether va belongs to the account.
func (a Account) HasVirtualAccount(va string) bool {
	for _, v := range a.VirtualAccounts {
		if v == va {
			return true
		}
	}
	return false
}

// Contact types of a membership (R10).
const (
	ContactNone      = ""
	ContactPrimary   = "primary"
	ContactSecondary = "secondary"
)

// Membership is a user's access to one account.
type Membership struct {
	Account string `json:"account"`
	User    string `json:"user"`
	// Roles are account roles (R1).
	Roles []string `json:"roles"`
	// VARoles maps a virtual account id to a virtual-account role (R2).
	VARoles map[string]string `json:"va_roles,omitempty"`
	// Contact is ContactPrimary, ContactSecondary or ContactNone.
	Contact string `json:"contact,omitempty"`
	// Privileges maps an application to a privilege level (R5).
	Privileges    map[string]string `json:"privileges,omitempty"`
	Justification string            `json:"justification,omitempty"`
	AddedBy       string            `json:"added_by"`
	AddedAt       time.Time         `json:"added_at"`
	// ExpiresAt, when set, ends the membership at that instant (R7).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Request is the access request whose approval created the membership.
	Request string `json:"request,omitempty"`
}

// Request kinds and statuses (SPEC section 1).
const (
	KindAccount = "account"
	KindTenant  = "tenant"

	StatusPending = "pending"
	StatusGranted = "granted"
	StatusDenied  = "denied"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
)

// AccessRequest asks for access to an account (kind account, R20) or for a
// reseller's users to support a tenant (kind tenant, R35).
type AccessRequest struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind"`
	Account       string     `json:"account"`
	Requester     string     `json:"requester"`
	Status        string     `json:"status"`
	Justification string     `json:"justification,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	DecidedBy     string     `json:"decided_by,omitempty"`
	DecidedAt     *time.Time `json:"decided_at,omitempty"`
	ReasonCode    string     `json:"reason_code,omitempty"`
	// Message is the decider's message to the requester.
	Message   string     `json:"message,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`

	// Tenant requests (R35-R39).
	Name string `json:"name,omitempty"`
	// RequestMessage is the requester's message sent with a tenant request.
	RequestMessage string   `json:"request_message,omitempty"`
	Partner        string   `json:"partner,omitempty"`
	Users          []string `json:"users,omitempty"`
}

// Grant is one granted tenant access request naming a user (R39).
type Grant struct {
	Request   string     `json:"request"`
	GrantedBy string     `json:"granted_by"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// TenantGrants is the set of grants that name one user on one tenant. An
// empty Grants removes the entry.
type TenantGrants struct {
	Tenant string  `json:"tenant"`
	User   string  `json:"user"`
	Grants []Grant `json:"grants"`
}

// AuditRecord is one entry of an account's append-only audit trail (R41).
type AuditRecord struct {
	// Cursor is assigned by the store; pass it as "after" to list what follows.
	Cursor         string          `json:"cursor,omitempty"`
	ID             string          `json:"id"`
	Account        string          `json:"account"`
	Actor          string          `json:"actor"`
	Action         string          `json:"action"`
	Target         string          `json:"target,omitempty"`
	At             time.Time       `json:"at"`
	Before         json.RawMessage `json:"before,omitempty"`
	After          json.RawMessage `json:"after,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	PolicyRevision string          `json:"policy_revision"`
}

// Event announces a change to the people involved (R42).
type Event struct {
	// Cursor is assigned by the store; pass it as "after" to list what follows.
	Cursor  string          `json:"cursor,omitempty"`
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Account string          `json:"account,omitempty"`
	At      time.Time       `json:"at"`
	To      []string        `json:"to,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}
