package httpapi

import (
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
	// SetMember does not say whether it added or changed the member: a
	// read first tells, for the status code only.
	ctx := c.Request.Context()
	_, getErr := s.eng.GetMember(ctx, actor(c), account, user)
	if errors.Is(getErr, engine.ErrUnavailable) {
		s.renderError(c, getErr) // the write would wait on the same store again (R45)
		return
	}
	answerAs(c, answerWith(putStatus(errors.Is(getErr, engine.ErrNotFound)), func(m engine.Membership) any { return newMemberResponse(m) }))
	m, err = s.eng.SetMember(ctx, actor(c), m)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderPut(c, errors.Is(getErr, engine.ErrNotFound), newMemberResponse(m))
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
