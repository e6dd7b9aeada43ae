package httpapi

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/engine"
)

// accessRequestBody is the body of POST /v1/accounts/{id}/access-requests.
type accessRequestBody struct {
	Justification string `json:"justification"`
}

// tenantRequestBody is the body of POST /v1/tenant-access-requests (R35).
type tenantRequestBody struct {
	Name         string            `json:"name"`
	Message      string            `json:"message"`
	Associations []associationBody `json:"associations"`
}

type associationBody struct {
	Users   []string `json:"users"`
	Tenants []string `json:"tenants"`
}

func (r *tenantRequestBody) toEngine() (engine.TenantRequest, error) {
	out := engine.TenantRequest{Name: r.Name, Message: r.Message}
	for i, a := range r.Associations {
		prefix := "associations[" + strconv.Itoa(i) + "]."
		if err := checkIDs(prefix+"users", a.Users); err != nil {
			return out, err
		}
		if err := checkIDs(prefix+"tenants", a.Tenants); err != nil {
			return out, err
		}
		out.Associations = append(out.Associations, engine.Association{Users: a.Users, Tenants: a.Tenants})
	}
	return out, nil
}

// approveBody is the body of POST /v1/access-requests/{id}/approve (R22, R23, R38).
type approveBody struct {
	Scope           string            `json:"scope"`
	Role            string            `json:"role"`
	VirtualAccounts []string          `json:"virtual_accounts"`
	Contact         string            `json:"contact"`
	Privileges      map[string]string `json:"privileges"`
	Justification   string            `json:"justification"`
	ExpiresAt       *string           `json:"expires_at"`
	Message         string            `json:"message"`
}

// toEngine reads the approval; the engine and the policy check its
// enumerated values (scope, role, virtual accounts, contact "secondary",
// "none" or absent, privileges).
func (r *approveBody) toEngine() (engine.Approval, error) {
	expires, err := parseTime("expires_at", r.ExpiresAt)
	if err != nil {
		return engine.Approval{}, err
	}
	return engine.Approval{
		Scope:           r.Scope,
		Role:            r.Role,
		VirtualAccounts: r.VirtualAccounts,
		Contact:         r.Contact,
		Privileges:      r.Privileges,
		Justification:   r.Justification,
		ExpiresAt:       expires,
		Message:         r.Message,
	}, nil
}

// denyBody is the body of POST /v1/access-requests/{id}/deny (R24).
type denyBody struct {
	ReasonCode string `json:"reason_code"`
	Message    string `json:"message"`
}

// expiryBody is the body of PATCH /v1/access-requests/{id} (R38):
// expires_at is required, a time or null (no expiry).
type expiryBody struct {
	ExpiresAt json.RawMessage `json:"expires_at"`
}

func (r *expiryBody) expiry() (*time.Time, error) {
	if len(r.ExpiresAt) == 0 {
		return nil, engine.Invalid("expires_at", "is required: an RFC 3339 time, or null for no expiry")
	}
	if string(r.ExpiresAt) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(r.ExpiresAt, &s); err != nil {
		return nil, engine.Invalid("expires_at", "must be an RFC 3339 time or null")
	}
	return parseTime("expires_at", &s)
}

// revokeBody is the body of POST /v1/access-requests/{id}/revoke.
type revokeBody struct {
	Message string `json:"message"`
}

// requestResponse is an access request as the caller may see it: the
// engine has already removed what R37 hides from a tenant.
type requestResponse struct {
	ID             string     `json:"id"`
	Kind           string     `json:"kind"`
	Account        string     `json:"account"`
	Requester      string     `json:"requester"`
	Status         string     `json:"status"`
	Justification  string     `json:"justification,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	DecidedBy      string     `json:"decided_by,omitempty"`
	DecidedAt      *time.Time `json:"decided_at,omitempty"`
	ReasonCode     string     `json:"reason_code,omitempty"`
	Message        string     `json:"message,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	Name           string     `json:"name,omitempty"`
	RequestMessage string     `json:"request_message,omitempty"`
	Partner        string     `json:"partner,omitempty"`
	Users          []string   `json:"users,omitempty"`
}

func newRequestResponse(r engine.AccessRequest) requestResponse {
	return requestResponse{
		ID:             r.ID,
		Kind:           r.Kind,
		Account:        r.Account,
		Requester:      r.Requester,
		Status:         r.Status,
		Justification:  r.Justification,
		CreatedAt:      r.CreatedAt,
		DecidedBy:      r.DecidedBy,
		DecidedAt:      r.DecidedAt,
		ReasonCode:     r.ReasonCode,
		Message:        r.Message,
		ExpiresAt:      r.ExpiresAt,
		Name:           r.Name,
		RequestMessage: r.RequestMessage,
		Partner:        r.Partner,
		Users:          r.Users,
	}
}

func newRequestResponses(rs []engine.AccessRequest) []requestResponse {
	out := make([]requestResponse, len(rs))
	for i, r := range rs {
		out[i] = newRequestResponse(r)
	}
	return out
}

// tenantRequestsResponse answers POST /v1/tenant-access-requests: one
// request per tenant (R36).
type tenantRequestsResponse struct {
	Requests []requestResponse `json:"requests"`
}
