package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// BenchmarkDecisionHTTP measures one decision through the whole handler:
// decode, engine (embedded store read and Rego evaluation), encode.
func BenchmarkDecisionHTTP(b *testing.B) {
	h := newEmbeddedHarness(b)
	seedAcme(h)
	const body = `{"subject":"alice","action":"use","resource":{"account":"acme","virtual_account":"va1"}}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/decisions", strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkTrivialGin is the floor BenchmarkDecisionHTTP compares with: a
// Gin route answering a constant JSON.
func BenchmarkTrivialGin(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/v1/decisions", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"allow": true, "reasons": []string{"constant"}})
	})
	const body = `{"subject":"alice","action":"use","resource":{"account":"acme","virtual_account":"va1"}}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/decisions", strings.NewReader(body))
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
