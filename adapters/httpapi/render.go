package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

// maxPooledBuffer is the largest response buffer kept for reuse.
const maxPooledBuffer = 64 << 10

// jsonBuffer is a reusable response buffer with its encoder.
type jsonBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// bufferPool hands out jsonBuffers so that rendering an answer allocates
// no buffer or encoder of its own.
type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) get() *jsonBuffer {
	if b, ok := p.pool.Get().(*jsonBuffer); ok {
		b.buf.Reset()
		return b
	}
	b := &jsonBuffer{}
	b.enc = json.NewEncoder(&b.buf)
	b.enc.SetEscapeHTML(false)
	return b
}

func (p *bufferPool) put(b *jsonBuffer) {
	if b.buf.Cap() <= maxPooledBuffer {
		p.pool.Put(b)
	}
}

// render writes v as the JSON answer with status.
func (s *Server) render(c *gin.Context, status int, v any) {
	if s.writeKept(c) {
		return
	}
	setToken(c)
	b := s.buffers.get()
	defer s.buffers.put(b)
	if err := b.enc.Encode(v); err != nil {
		s.renderError(c, err)
		return
	}
	c.Data(status, "application/json; charset=utf-8", b.buf.Bytes())
}

// renderNoContent writes a 204 answer.
func (s *Server) renderNoContent(c *gin.Context) {
	if !s.writeKept(c) {
		setToken(c)
		c.Status(http.StatusNoContent)
	}
}

// putStatus is the status of a PUT: 201 when it created the thing.
func putStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// renderOK writes v as a 200 answer.
func (s *Server) renderOK(c *gin.Context, v any) { s.render(c, http.StatusOK, v) }

// renderPut writes the answer of a PUT: 201 when it created the thing.
func (s *Server) renderPut(c *gin.Context, created bool, v any) {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.render(c, status, v)
}
