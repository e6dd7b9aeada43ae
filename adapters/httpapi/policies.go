package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// routePolicies adds the policy endpoints (issue 4) to the authenticated
// group: who may call them is the policy's own decision.
func (s *Server) routePolicies(v1 *gin.RouterGroup) {
	v1.PUT("/policies", s.pushPolicy)
	v1.GET("/policies", s.listPolicies)
	v1.POST("/policies/:revision/activate", s.rollbackPolicy)
	v1.GET("/status", s.status)
}

// pushPolicyRequest is the body of PUT /v1/policies: every file of the
// policy set, by slash-separated path, with its exact content.
type pushPolicyRequest struct {
	Files map[string]string `json:"files"`
}

// policyResponse is one stored policy revision.
type policyResponse struct {
	Revision  string    `json:"revision"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
	Source    string    `json:"source,omitempty"`
	Active    bool      `json:"active"`
}

func newPolicyResponse(p engine.StoredPolicy) policyResponse {
	return policyResponse{Revision: p.Revision, Author: p.Author, CreatedAt: p.CreatedAt, Source: p.Source, Active: p.Active}
}

// statusBody answers GET /v1/status.
type statusBody struct {
	Policy policyStatusResponse `json:"policy"`
	// Store is "ok" when the store answers, else why it does not.
	Store string `json:"store"`
}

// policyStatusResponse is the active revision of this replica and how its
// reloads went.
type policyStatusResponse struct {
	Revision        string     `json:"revision"`
	Source          string     `json:"source"`
	LoadedAt        time.Time  `json:"loaded_at"`
	FollowsStore    bool       `json:"follows_store"`
	LastError       string     `json:"last_error,omitempty"`
	LastErrorAt     *time.Time `json:"last_error_at,omitempty"`
	LastErrorSource string     `json:"last_error_source,omitempty"`
	Reloads         uint64     `json:"reloads"`
	Failures        uint64     `json:"failures"`
	// Evaluator is how decisions evaluate the active revision: plan or
	// topdown; EvaluatorFallback says why topdown when plan was asked.
	Evaluator         string `json:"evaluator"`
	EvaluatorFallback string `json:"evaluator_fallback,omitempty"`
}

// pushPolicy answers PUT /v1/policies: the files are checked as a hot
// reload checks them, stored as a revision by the caller and activated on
// every replica sharing the store. 201 with the revision; 422 with the
// compile errors and failing tests.
func (s *Server) pushPolicy(c *gin.Context) {
	var req pushPolicyRequest
	if err := s.decodeBody(c, &req, bodyRequired); err != nil {
		s.renderError(c, err)
		return
	}
	files := make(map[string][]byte, len(req.Files))
	for name, content := range req.Files {
		files[name] = []byte(content)
	}
	p, err := s.eng.PushPolicy(c.Request.Context(), actor(c), files)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.render(c, http.StatusCreated, newPolicyResponse(p))
}

// listPolicies answers GET /v1/policies?limit=: the stored revisions,
// newest first, the active one marked.
func (s *Server) listPolicies(c *gin.Context) {
	limit, err := queryLimit(c)
	if err != nil {
		s.renderError(c, err)
		return
	}
	ps, err := s.eng.ListPolicies(c.Request.Context(), actor(c), limit)
	if err != nil {
		s.renderError(c, err)
		return
	}
	items := make([]policyResponse, len(ps))
	for i, p := range ps {
		items[i] = newPolicyResponse(p)
	}
	s.renderOK(c, listResponse[policyResponse]{Items: items})
}

// rollbackPolicy answers POST /v1/policies/{revision}/activate: a stored
// revision becomes the active one again, on every replica.
func (s *Server) rollbackPolicy(c *gin.Context) {
	revision, err := pathID(c, "revision")
	if err != nil {
		s.renderError(c, err)
		return
	}
	p, err := s.eng.RollbackPolicy(c.Request.Context(), actor(c), revision)
	if err != nil {
		s.renderError(c, err)
		return
	}
	s.renderOK(c, newPolicyResponse(p))
}

// status answers GET /v1/status: this replica's active revision, when and
// from where it was loaded, the last reload error, and the store's health.
func (s *Server) status(c *gin.Context) {
	st, err := s.eng.Status(c.Request.Context(), actor(c))
	if err != nil {
		s.renderError(c, err)
		return
	}
	p := st.Policy
	body := statusBody{
		Policy: policyStatusResponse{
			Revision: p.Revision, Source: p.Source, LoadedAt: p.LoadedAt, FollowsStore: st.FollowsStore,
			LastError: p.LastError, LastErrorSource: p.LastErrorSource, Reloads: p.Reloads, Failures: p.Failures,
			Evaluator: string(p.Evaluator), EvaluatorFallback: p.EvaluatorFallback,
		},
		Store: "ok",
	}
	if !p.LastErrorAt.IsZero() {
		at := p.LastErrorAt
		body.Policy.LastErrorAt = &at
	}
	if st.StoreError != "" {
		s.log.WarnContext(c.Request.Context(), "status: the store is unavailable", "error", st.StoreError)
		body.Store = "unavailable (the log says why)"
	}
	s.renderOK(c, body)
}
