package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// tokenHeader carries the consistency token of a write's answer: a
// decision that gives it as consistency.at_least is made on state at least
// that fresh, on any replica (engine.Token).
const tokenHeader = "Consistency-Token"

// writesCtxKey keys the engine.Writes of a write in the gin context.
const writesCtxKey = "gatehouse.writes"

// collectWrites hands a write (POST, PUT, PATCH, DELETE) an engine.Writes,
// in which the command records the token of the change it commits.
func (s *Server) collectWrites(c *gin.Context) {
	if !writeMethod(c.Request.Method) {
		c.Next()
		return
	}
	w := &engine.Writes{}
	c.Set(writesCtxKey, w)
	c.Request = c.Request.WithContext(engine.WithWrites(c.Request.Context(), w))
	c.Next()
}

// writesOf returns the request's engine.Writes, nil when it is no write.
func writesOf(c *gin.Context) *engine.Writes {
	w, _ := c.Value(writesCtxKey).(*engine.Writes)
	return w
}

// setToken sets the Consistency-Token header of a write's answer when its
// command committed a change.
func setToken(c *gin.Context) {
	if w := writesOf(c); w != nil {
		if t, ok := w.Token(); ok {
			c.Header(tokenHeader, t.String())
		}
	}
}

// consistencyRef is the consistency requirement of a decision:
// {"at_least": "<token>"}.
type consistencyRef struct {
	AtLeast string `json:"at_least"`
}

// atLeast reads the token of a decision's consistency requirement (nil
// when there is none); field names it in errors, e.g.
// "checks[2].consistency.at_least".
func (r *consistencyRef) atLeast(field string) (*engine.Token, error) {
	if r == nil {
		return nil, nil
	}
	t, err := engine.ParseToken(field+".at_least", r.AtLeast)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
