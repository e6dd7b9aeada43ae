package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// listAudit answers GET /v1/audit?account=&limit=&after=&order=: the
// account's audit trail, oldest first, or newest first with order=desc
// (R41). Next pages in the same order.
func (s *Server) listAudit(c *gin.Context) {
	if err := checkQuery(c, "account", "limit", "after", "order"); err != nil {
		s.renderError(c, err)
		return
	}
	account, err := queryID(c, "account", true)
	if err != nil {
		s.renderError(c, err)
		return
	}
	limit, after, order, err := page(c)
	if err != nil {
		s.renderError(c, err)
		return
	}
	rs, err := s.eng.ListAudit(c.Request.Context(), actor(c), account, after, limit, order)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, listResponse[auditResponse]{
		Items: newAuditResponses(rs),
		Next:  nextCursor(len(rs), limit, func() string { return rs[len(rs)-1].Cursor }),
	})
}

// listEvents answers GET /v1/events?after=&limit=&order=: the caller's
// events, oldest first, or newest first with order=desc (R42).
func (s *Server) listEvents(c *gin.Context) {
	if err := checkQuery(c, "limit", "after", "order"); err != nil {
		s.renderError(c, err)
		return
	}
	limit, after, order, err := page(c)
	if err != nil {
		s.renderError(c, err)
		return
	}
	es, err := s.eng.ListEvents(c.Request.Context(), actor(c), after, limit, order)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, listResponse[eventResponse]{
		Items: newEventResponses(es),
		Next:  nextCursor(len(es), limit, func() string { return es[len(es)-1].Cursor }),
	})
}

// page reads the limit, after and order parameters of a log listing: order
// is asc (oldest first, the default) or desc (newest first).
func page(c *gin.Context) (limit int, after string, order engine.Order, err error) {
	if limit, err = queryLimit(c); err != nil {
		return 0, "", "", err
	}
	if after, err = queryCursor(c); err != nil {
		return 0, "", "", err
	}
	order, err = engine.ParseOrder(c.Query("order"))
	return limit, after, order, err
}
