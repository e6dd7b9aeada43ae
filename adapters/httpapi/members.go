package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// memberPath reads the account and user of a member path.
func memberPath(c *gin.Context) (account, user string, err error) {
	if account, err = pathID(c, "id"); err != nil {
		return "", "", err
	}
	user, err = pathID(c, "user")
	return account, user, err
}

// listMembers answers GET /v1/accounts/{id}/members.
func (s *Server) listMembers(c *gin.Context) {
	account, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	ms, err := s.eng.ListMembers(c.Request.Context(), actor(c), account)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, listResponse[memberResponse]{Items: newMemberResponses(ms)})
}

// putMember answers PUT /v1/accounts/{id}/members/{user}: adds the user
// or changes their access (R26, R30, R31); 201 when it added them.
func (s *Server) putMember(c *gin.Context) {
	account, user, err := memberPath(c)
	if err != nil {
		s.renderError(c, err)
		return
	}
	var req memberRequest
	if err := s.decodeBody(c, &req, bodyRequired); err != nil {
		s.renderError(c, err)
		return
	}
	m, err := req.toEngine(account, user)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.writeMember(c, account, user, func(ctx context.Context) (engine.Membership, error) {
		return s.eng.SetMember(ctx, actor(c), m)
	})
}

// writeMember answers a PUT or PATCH of user's membership of account, made
// by write: 201 when the user was no member, else 200. The engine's
// commands do not say which, so a read first tells, for the status only.
func (s *Server) writeMember(c *gin.Context, account, user string, write func(context.Context) (engine.Membership, error)) {
	ctx := c.Request.Context()
	_, getErr := s.eng.GetMember(ctx, actor(c), account, user)
	if errors.Is(getErr, engine.ErrUnavailable) {
		s.renderError(c, getErr) // the write would wait on the same store again (R45)
		return
	}
	added := errors.Is(getErr, engine.ErrNotFound)
	answerAs(c, answerWith(putStatus(added), func(m engine.Membership) any { return newMemberResponse(m) }))
	m, err := write(ctx)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderPut(c, added, newMemberResponse(m))
}

// getMember answers GET /v1/accounts/{id}/members/{user}.
func (s *Server) getMember(c *gin.Context) {
	account, user, err := memberPath(c)
	if err != nil {
		s.renderError(c, err)
		return
	}
	m, err := s.eng.GetMember(c.Request.Context(), actor(c), account, user)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, newMemberResponse(m))
}

// removeMember answers DELETE /v1/accounts/{id}/members/{user} with 204 (R26, R12).
func (s *Server) removeMember(c *gin.Context) {
	account, user, err := memberPath(c)
	if err != nil {
		s.renderError(c, err)
		return
	}
	answerAs(c, func(any) (int, any) { return http.StatusNoContent, nil })
	if err := s.eng.RemoveMember(c.Request.Context(), actor(c), account, user); err != nil {
		s.renderError(c, err)
		return
	}
	s.renderNoContent(c)
}

// patchMember answers PATCH /v1/accounts/{id}/members/{user}: a JSON merge
// patch (RFC 7396) of the membership. A field absent keeps its value, null
// clears it, a value replaces it; the merged membership is decided as a PUT
// of it would be (R26, R30, R31). A user who is no member is added with the
// fields given (201), as PUT does.
func (s *Server) patchMember(c *gin.Context) {
	account, user, err := memberPath(c)
	if err != nil {
		s.renderError(c, err)
		return
	}
	var req memberPatchRequest
	if err := s.decodeBody(c, &req, bodyRequired); err != nil {
		s.renderError(c, err)
		return
	}
	patch, err := req.toEngine()
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.writeMember(c, account, user, func(ctx context.Context) (engine.Membership, error) {
		return s.eng.UpdateMember(ctx, actor(c), account, user, patch)
	})
}

// patchField is one field of a JSON merge patch: Set when the field is
// present, Null when it is null, else Value holds it.
type patchField[T any] struct {
	Set, Null bool
	Value     T
}

// UnmarshalJSON records that the field is present (encoding/json calls it
// for null too).
func (f *patchField[T]) UnmarshalJSON(b []byte) error {
	f.Set = true
	if string(b) == "null" {
		f.Null = true
		return nil
	}
	return json.Unmarshal(b, &f.Value)
}

// memberPatchRequest is the body of PATCH /v1/accounts/{id}/members/{user}.
type memberPatchRequest struct {
	Roles         patchField[[]string]          `json:"roles"`
	VARoles       patchField[map[string]string] `json:"va_roles"`
	Contact       patchField[string]            `json:"contact"`
	Privileges    patchField[map[string]string] `json:"privileges"`
	Justification patchField[string]            `json:"justification"`
	ExpiresAt     patchField[string]            `json:"expires_at"`
}

func (r *memberPatchRequest) toEngine() (engine.MemberPatch, error) {
	var p engine.MemberPatch
	if r.Roles.Set {
		roles := []string{}
		if !r.Roles.Null && r.Roles.Value != nil {
			roles = r.Roles.Value
		}
		p.Roles = &roles
	}
	if r.VARoles.Set {
		for va := range r.VARoles.Value {
			if err := checkID("va_roles", va); err != nil {
				return engine.MemberPatch{}, err
			}
		}
		vaRoles := r.VARoles.Value // nil when null: cleared
		p.VARoles = &vaRoles
	}
	if r.Contact.Set {
		p.Contact = &r.Contact.Value
	}
	if r.Privileges.Set {
		privileges := r.Privileges.Value
		p.Privileges = &privileges
	}
	if r.Justification.Set {
		p.Justification = &r.Justification.Value
	}
	if r.ExpiresAt.Set {
		p.SetExpiresAt = true
		if !r.ExpiresAt.Null {
			at, err := parseTime("expires_at", &r.ExpiresAt.Value)
			if err != nil {
				return engine.MemberPatch{}, err
			}
			p.ExpiresAt = at
		}
	}
	return p, nil
}
