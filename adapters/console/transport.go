package console

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse/client"
)

// apiBase is the base URL the console's client calls; the in-process
// transport answers it without a network hop.
const apiBase = "http://gatehouse.internal"

// handlerTransport is an http.RoundTripper that answers a request with
// an http.Handler in the same process: the console's calls reach the API
// exactly as the CLI's would, authentication and admission included,
// without a socket.
type handlerTransport struct{ h http.Handler }

// RoundTrip serves req with the handler and returns its answer.
func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	if addr, ok := req.Context().Value(remoteKey{}).(string); ok && addr != "" {
		in.RemoteAddr = addr // the browser's, for the API's logs and traces
	}
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := &recorder{header: http.Header{}}
	t.h.ServeHTTP(rec, in)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	rec.header.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	return &http.Response{
		Status: strconv.Itoa(rec.status) + " " + http.StatusText(rec.status), StatusCode: rec.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.header, Body: io.NopCloser(&rec.body), ContentLength: int64(rec.body.Len()),
		Request: req,
	}, nil
}

// recorder is the http.ResponseWriter the API handler writes to.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// tokenKey and remoteKey are the context keys of the bearer token of a
// call and of the address of the browser it is made for.
type (
	tokenKey  struct{}
	remoteKey struct{}
)

// withCaller returns ctx carrying the token the API client presents and
// the browser's address the API sees the call come from.
func withCaller(ctx context.Context, token, remoteAddr string) context.Context {
	return context.WithValue(context.WithValue(ctx, tokenKey{}, token), remoteKey{}, remoteAddr)
}

// newAPIClient returns the client of api the console calls it with: each
// call presents the token its context carries (withCaller).
func newAPIClient(api http.Handler) (*client.Client, error) {
	return client.New(apiBase,
		client.WithHTTPClient(&http.Client{Transport: handlerTransport{api}}),
		client.WithTokenSource(func(ctx context.Context) (string, error) {
			tok, _ := ctx.Value(tokenKey{}).(string)
			return tok, nil
		}))
}
