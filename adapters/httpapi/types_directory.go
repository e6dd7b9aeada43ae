package httpapi

import (
	"time"

	"github.com/gatehouse/gatehouse/engine"
)

// userRequest is the body of PUT /v1/users/{id}.
type userRequest struct {
	Email        string `json:"email"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Organization string `json:"organization"`
}

func (r *userRequest) toEngine(id string) (engine.User, error) {
	if r.Organization != "" {
		if err := checkID("organization", r.Organization); err != nil {
			return engine.User{}, err
		}
	}
	return engine.User{
		ID:           id,
		Email:        r.Email,
		FirstName:    r.FirstName,
		LastName:     r.LastName,
		Organization: r.Organization,
	}, nil
}

type userResponse struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	FirstName    string    `json:"first_name"`
	LastName     string    `json:"last_name"`
	Organization string    `json:"organization,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

func newUserResponse(u engine.User) userResponse {
	return userResponse{
		ID:           u.ID,
		Email:        u.Email,
		FirstName:    u.FirstName,
		LastName:     u.LastName,
		Organization: u.Organization,
		CreatedAt:    u.CreatedAt,
	}
}

// accountRequest is the body of PUT /v1/accounts/{id}.
type accountRequest struct {
	Name            string         `json:"name"`
	VirtualAccounts []string       `json:"virtual_accounts"`
	Partner         string         `json:"partner"`
	Settings        map[string]any `json:"settings"`
}

func (r *accountRequest) toEngine(id string) (engine.Account, error) {
	if err := checkIDs("virtual_accounts", r.VirtualAccounts); err != nil {
		return engine.Account{}, err
	}
	if r.Partner != "" {
		if err := checkID("partner", r.Partner); err != nil {
			return engine.Account{}, err
		}
	}
	vas := r.VirtualAccounts
	if vas == nil {
		vas = []string{}
	}
	return engine.Account{
		ID:              id,
		Name:            r.Name,
		VirtualAccounts: vas,
		Partner:         r.Partner,
		Settings:        r.Settings,
	}, nil
}

type accountResponse struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	VirtualAccounts []string       `json:"virtual_accounts"`
	Partner         string         `json:"partner,omitempty"`
	Settings        map[string]any `json:"settings,omitempty"`
	CreatedAt       time.Time      `json:"created_at"`
}

func newAccountResponse(a engine.Account) accountResponse {
	vas := a.VirtualAccounts
	if vas == nil {
		vas = []string{}
	}
	return accountResponse{
		ID:              a.ID,
		Name:            a.Name,
		VirtualAccounts: vas,
		Partner:         a.Partner,
		Settings:        a.Settings,
		CreatedAt:       a.CreatedAt,
	}
}

// memberRequest is the body of PUT /v1/accounts/{id}/members/{user}.
type memberRequest struct {
	Roles         []string          `json:"roles"`
	VARoles       map[string]string `json:"va_roles"`
	Contact       string            `json:"contact"`
	Privileges    map[string]string `json:"privileges"`
	Justification string            `json:"justification"`
	ExpiresAt     *string           `json:"expires_at"`
}

// toEngine reads the membership; the engine and the policy check its
// enumerated values (contact "primary", "secondary", "none" or absent).
func (r *memberRequest) toEngine(account, user string) (engine.Membership, error) {
	expires, err := parseTime("expires_at", r.ExpiresAt)
	if err != nil {
		return engine.Membership{}, err
	}
	roles := r.Roles
	if roles == nil {
		roles = []string{}
	}
	return engine.Membership{
		Account:       account,
		User:          user,
		Roles:         roles,
		VARoles:       r.VARoles,
		Contact:       r.Contact,
		Privileges:    r.Privileges,
		Justification: r.Justification,
		ExpiresAt:     expires,
	}, nil
}

type memberResponse struct {
	Account       string            `json:"account"`
	User          string            `json:"user"`
	Roles         []string          `json:"roles"`
	VARoles       map[string]string `json:"va_roles,omitempty"`
	Contact       string            `json:"contact,omitempty"`
	Privileges    map[string]string `json:"privileges,omitempty"`
	Justification string            `json:"justification,omitempty"`
	AddedBy       string            `json:"added_by"`
	AddedAt       time.Time         `json:"added_at"`
	ExpiresAt     *time.Time        `json:"expires_at,omitempty"`
	Request       string            `json:"request,omitempty"`
}

func newMemberResponse(m engine.Membership) memberResponse {
	roles := m.Roles
	if roles == nil {
		roles = []string{}
	}
	return memberResponse{
		Account:       m.Account,
		User:          m.User,
		Roles:         roles,
		VARoles:       m.VARoles,
		Contact:       m.Contact,
		Privileges:    m.Privileges,
		Justification: m.Justification,
		AddedBy:       m.AddedBy,
		AddedAt:       m.AddedAt,
		ExpiresAt:     m.ExpiresAt,
		Request:       m.Request,
	}
}

func newMemberResponses(ms []engine.Membership) []memberResponse {
	out := make([]memberResponse, len(ms))
	for i, m := range ms {
		out[i] = newMemberResponse(m)
	}
	return out
}

// listResponse is every listing: {"items": [...], "next": cursor}. Next is
// set when a full page came back; pass it as "after" for the next page.
type listResponse[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}
