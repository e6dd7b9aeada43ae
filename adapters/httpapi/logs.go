package httpapi

import (
	"github.com/gin-gonic/gin"
)

// listAudit answers GET /v1/audit?account=&limit=&after=: the account's
// audit trail, oldest first (R41).
func (s *Server) listAudit(c *gin.Context) {
	if err := checkQuery(c, "account", "limit", "after"); err != nil {
		s.renderError(c, err)
		return
	}
	account, err := queryID(c, "account", true)
	if err != nil {
		s.renderError(c, err)
		return
	}
	limit, after, err := page(c)
	if err != nil {
		s.renderError(c, err)
		return
	}
	rs, err := s.eng.ListAudit(c.Request.Context(), actor(c), account, after, limit)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, listResponse[auditResponse]{
		Items: newAuditResponses(rs),
		Next:  nextCursor(len(rs), limit, func() string { return rs[len(rs)-1].Cursor }),
	})
}

// listEvents answers GET /v1/events?after=&limit=: events, oldest first (R42).
func (s *Server) listEvents(c *gin.Context) {
	if err := checkQuery(c, "limit", "after"); err != nil {
		s.renderError(c, err)
		return
	}
	limit, after, err := page(c)
	if err != nil {
		s.renderError(c, err)
		return
	}
	es, err := s.eng.ListEvents(c.Request.Context(), actor(c), after, limit)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, listResponse[eventResponse]{
		Items: newEventResponses(es),
		Next:  nextCursor(len(es), limit, func() string { return es[len(es)-1].Cursor }),
	})
}

// page reads the limit and after parameters of a listing.
func page(c *gin.Context) (limit int, after string, err error) {
	if limit, err = queryLimit(c); err != nil {
		return 0, "", err
	}
	after, err = queryCursor(c)
	return limit, after, err
}
