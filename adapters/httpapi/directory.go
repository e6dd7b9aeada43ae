package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// putUser answers PUT /v1/users/{id}: 201 when it created the user (R32).
func (s *Server) putUser(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	var req userRequest
	if err := s.decodeBody(c, &req, bodyRequired); err != nil {
		s.renderError(c, err)
		return
	}
	u, err := req.toEngine(id)
	if err != nil {
		s.renderError(c, err)
		return
	}
	answerAs(c, func(result any) (int, any) {
		p, _ := result.(engine.Put[engine.User])
		return putStatus(p.Created), newUserResponse(p.Value)
	})
	u, created, err := s.eng.PutUser(c.Request.Context(), actor(c), u)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderPut(c, created, newUserResponse(u))
}

// getUser answers GET /v1/users/{id}.
func (s *Server) getUser(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	u, err := s.eng.GetUser(c.Request.Context(), actor(c), id)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, newUserResponse(u))
}

// putAccount answers PUT /v1/accounts/{id}: 201 when it created the account (R32).
func (s *Server) putAccount(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	var req accountRequest
	if err := s.decodeBody(c, &req, bodyRequired); err != nil {
		s.renderError(c, err)
		return
	}
	a, err := req.toEngine(id)
	if err != nil {
		s.renderError(c, err)
		return
	}
	answerAs(c, func(result any) (int, any) {
		p, _ := result.(engine.Put[engine.Account])
		return putStatus(p.Created), newAccountResponse(p.Value)
	})
	a, created, err := s.eng.PutAccount(c.Request.Context(), actor(c), a)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderPut(c, created, newAccountResponse(a))
}

// getAccount answers GET /v1/accounts/{id}.
func (s *Server) getAccount(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	a, err := s.eng.GetAccount(c.Request.Context(), actor(c), id)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, newAccountResponse(a))
}
