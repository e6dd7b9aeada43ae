package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// requestAccess answers POST /v1/accounts/{id}/access-requests: the
// actor asks for access to the account (R20); 201 with the request.
func (s *Server) requestAccess(c *gin.Context) {
	account, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	var req accessRequestBody
	if err := s.decodeBody(c, &req, bodyOptional); err != nil {
		s.renderError(c, err)
		return
	}
	answerAs(c, answerWith(http.StatusCreated, func(r engine.AccessRequest) any { return newRequestResponse(r) }))
	r, err := s.eng.RequestAccess(c.Request.Context(), actor(c), account, req.Justification)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.render(c, http.StatusCreated, newRequestResponse(r))
}

// requestTenantAccess answers POST /v1/tenant-access-requests: 201 with
// one request per tenant (R35, R36).
func (s *Server) requestTenantAccess(c *gin.Context) {
	var req tenantRequestBody
	if err := s.decodeBody(c, &req, bodyRequired); err != nil {
		s.renderError(c, err)
		return
	}
	tr, err := req.toEngine()
	if err != nil {
		s.renderError(c, err)
		return
	}
	answerAs(c, answerWith(http.StatusCreated, func(rs []engine.AccessRequest) any {
		return tenantRequestsResponse{Requests: newRequestResponses(rs)}
	}))
	rs, err := s.eng.RequestTenantAccess(c.Request.Context(), actor(c), tr)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.render(c, http.StatusCreated, tenantRequestsResponse{Requests: newRequestResponses(rs)})
}

// listRequests answers GET /v1/access-requests?account=&status=: the
// deciders' view of an account's requests (R37 applies).
func (s *Server) listRequests(c *gin.Context) {
	if err := checkQuery(c, "account", "status", "limit"); err != nil {
		s.renderError(c, err)
		return
	}
	account, err := queryID(c, "account", true)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.listRequestsBy(c, engine.RequestFilter{Account: account})
}

// listMyRequests answers GET /v1/me/access-requests?status=: the actor's
// own requests (R39a).
func (s *Server) listMyRequests(c *gin.Context) {
	if err := checkQuery(c, "status", "limit"); err != nil {
		s.renderError(c, err)
		return
	}
	s.listRequestsBy(c, engine.RequestFilter{Requester: actor(c)})
}

func (s *Server) listRequestsBy(c *gin.Context, filter engine.RequestFilter) {
	// The engine checks the status against the statuses it knows (R39a).
	filter.Status = c.Query("status")
	var err error
	if filter.Limit, err = queryLimit(c); err != nil {
		s.renderError(c, err)
		return
	}
	rs, err := s.eng.ListRequests(c.Request.Context(), actor(c), filter)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, listResponse[requestResponse]{Items: newRequestResponses(rs)})
}

// getRequest answers GET /v1/access-requests/{id}.
func (s *Server) getRequest(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	r, err := s.eng.GetRequest(c.Request.Context(), actor(c), id)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, newRequestResponse(r))
}

// approve answers POST /v1/access-requests/{id}/approve (R21-R23, R25, R38).
func (s *Server) approve(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	var req approveBody
	if err := s.decodeBody(c, &req, bodyOptional); err != nil {
		s.renderError(c, err)
		return
	}
	a, err := req.toEngine()
	if err != nil {
		s.renderError(c, err)
		return
	}
	answerAs(c, requestAnswer)
	r, err := s.eng.Approve(c.Request.Context(), actor(c), id, a)
	s.renderRequest(c, r, err)
}

// deny answers POST /v1/access-requests/{id}/deny (R24, R25).
func (s *Server) deny(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	var req denyBody
	if err := s.decodeBody(c, &req, bodyOptional); err != nil {
		s.renderError(c, err)
		return
	}
	d := engine.Denial{ReasonCode: req.ReasonCode, Message: req.Message}
	answerAs(c, requestAnswer)
	r, err := s.eng.Deny(c.Request.Context(), actor(c), id, d)
	s.renderRequest(c, r, err)
}

// setRequestExpiry answers PATCH /v1/access-requests/{id}: sets, changes or
// removes the expiry of a granted tenant request (R38).
func (s *Server) setRequestExpiry(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	var req expiryBody
	if err := s.decodeBody(c, &req, bodyRequired); err != nil {
		s.renderError(c, err)
		return
	}
	at, err := req.expiry()
	if err != nil {
		s.renderError(c, err)
		return
	}
	answerAs(c, requestAnswer)
	r, err := s.eng.SetRequestExpiry(c.Request.Context(), actor(c), id, at)
	s.renderRequest(c, r, err)
}

// revoke answers POST /v1/access-requests/{id}/revoke.
func (s *Server) revoke(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		s.renderError(c, err)
		return
	}
	var req revokeBody
	if err := s.decodeBody(c, &req, bodyOptional); err != nil {
		s.renderError(c, err)
		return
	}
	answerAs(c, requestAnswer)
	r, err := s.eng.Revoke(c.Request.Context(), actor(c), id, req.Message)
	s.renderRequest(c, r, err)
}

// requestAnswer answers a command on one request: 200 with the request.
var requestAnswer = answerWith(http.StatusOK, func(r engine.AccessRequest) any { return newRequestResponse(r) })

// renderRequest renders a command's resulting request, or its error.
func (s *Server) renderRequest(c *gin.Context, r engine.AccessRequest, err error) {
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, newRequestResponse(r))
}
