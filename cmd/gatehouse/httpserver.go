package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"golang.org/x/net/netutil"
)

// HTTPConfig bounds every phase of a request and the number of open
// connections, so that slow or malicious clients cannot hold the server
// (issue 7, point 2). Each field is a `serve` flag, also read from
// GATEHOUSE_<FLAG>.
type HTTPConfig struct {
	// ReadHeaderTimeout bounds reading a request's headers, counted from
	// the request's first byte (or from the connection's accept).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request, headers and body.
	ReadTimeout time.Duration
	// WriteTimeout bounds the response, counted from the end of the
	// headers: it covers the body, the handler and the write, so it must
	// stay above the longest legitimate handler time.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the graceful drain after SIGTERM; connections
	// still open then are closed.
	ShutdownTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers, in bytes; a
	// larger request is answered 431.
	MaxHeaderBytes int
	// MaxConnections bounds the connections open at once. Connections past
	// it wait in the kernel's listen backlog until one closes.
	MaxConnections int
}

// HTTP defaults: short enough that a trickling client loses its slot
// within seconds, long enough for a 1 MiB body on a slow link and for the
// slowest legitimate handler (a batch of 100 decisions, a policy push that
// runs the policy's tests).
const (
	defaultReadHeaderTimeout = 5 * time.Second
	defaultReadTimeout       = 10 * time.Second
	defaultWriteTimeout      = 60 * time.Second
	defaultIdleTimeout       = 60 * time.Second
	defaultShutdownTimeout   = 10 * time.Second
	defaultMaxHeaderBytes    = 64 << 10
	// maxConnectionsCeiling caps the derived connection limit.
	maxConnectionsCeiling = 1024
	// minHeaderBytes is the smallest header limit accepted: a bearer JWT
	// alone takes most of it.
	minHeaderBytes = 4 << 10
)

// DefaultHTTPConfig returns the HTTP defaults. The connection limit is
// 1024, or half the process's open-file limit (RLIMIT_NOFILE) when that
// is lower, leaving descriptors for the store, Redis and webhooks.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{
		ReadHeaderTimeout: defaultReadHeaderTimeout,
		ReadTimeout:       defaultReadTimeout,
		WriteTimeout:      defaultWriteTimeout,
		IdleTimeout:       defaultIdleTimeout,
		ShutdownTimeout:   defaultShutdownTimeout,
		MaxHeaderBytes:    defaultMaxHeaderBytes,
		MaxConnections:    defaultMaxConnections(openFileLimit()),
	}
}

// defaultMaxConnections is the connection limit for an open-file limit of
// nofile (0: unknown).
func defaultMaxConnections(nofile uint64) int {
	if nofile == 0 || nofile/2 >= maxConnectionsCeiling {
		return maxConnectionsCeiling
	}
	return max(int(nofile/2), 1)
}

func (h *HTTPConfig) bindFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&h.ReadHeaderTimeout, "http-read-header-timeout", h.ReadHeaderTimeout,
		"longest time to read a request's headers; a client that trickles them is disconnected")
	fs.DurationVar(&h.ReadTimeout, "http-read-timeout", h.ReadTimeout,
		"longest time to read a whole request, body included; a client that trickles its body is disconnected")
	fs.DurationVar(&h.WriteTimeout, "http-write-timeout", h.WriteTimeout,
		"longest time from the end of a request's headers to the end of its response; must exceed --http-read-timeout and the slowest handler")
	fs.DurationVar(&h.IdleTimeout, "http-idle-timeout", h.IdleTimeout,
		"how long an idle keep-alive connection stays open")
	fs.DurationVar(&h.ShutdownTimeout, "http-shutdown-timeout", h.ShutdownTimeout,
		"on SIGTERM, how long in-flight requests may finish before their connections are closed")
	fs.IntVar(&h.MaxHeaderBytes, "http-max-header-bytes", h.MaxHeaderBytes,
		"largest request line and headers, in bytes (431 beyond)")
	fs.IntVar(&h.MaxConnections, "http-max-connections", h.MaxConnections,
		"most connections open at once (by default 1024, or half the open-file limit if lower); more wait in the listen backlog")
}

// handlerBound names a bound on the time a legitimate handler may take,
// which --http-write-timeout must exceed.
type handlerBound struct {
	flag  string
	limit time.Duration
}

// validate checks the HTTP bounds; every error names its flag. The write
// timeout must exceed the read timeout and each of bounds.
func (h *HTTPConfig) validate(bounds ...handlerBound) []error {
	var errs []error
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{
		{"--http-read-header-timeout", h.ReadHeaderTimeout},
		{"--http-read-timeout", h.ReadTimeout},
		{"--http-write-timeout", h.WriteTimeout},
		{"--http-idle-timeout", h.IdleTimeout},
		{"--http-shutdown-timeout", h.ShutdownTimeout},
	} {
		if d.value <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive (it is %s)", d.flag, d.value))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if h.ReadHeaderTimeout > h.ReadTimeout {
		errs = append(errs, fmt.Errorf("--http-read-header-timeout (%s) must not exceed --http-read-timeout (%s), which includes the headers",
			h.ReadHeaderTimeout, h.ReadTimeout))
	}
	if h.WriteTimeout <= h.ReadTimeout {
		errs = append(errs, fmt.Errorf("--http-write-timeout (%s) must exceed --http-read-timeout (%s): it counts from the end of the headers, so it covers the body too",
			h.WriteTimeout, h.ReadTimeout))
	}
	for _, b := range bounds {
		if h.WriteTimeout <= b.limit {
			errs = append(errs, fmt.Errorf("--http-write-timeout (%s) must exceed %s (%s), or answers are cut before they are sent",
				h.WriteTimeout, b.flag, b.limit))
		}
	}
	if h.MaxHeaderBytes < minHeaderBytes {
		errs = append(errs, fmt.Errorf("--http-max-header-bytes must be at least %d (it is %d)", minHeaderBytes, h.MaxHeaderBytes))
	}
	if h.MaxConnections < 1 {
		errs = append(errs, fmt.Errorf("--http-max-connections must be positive (it is %d)", h.MaxConnections))
	}
	return errs
}

// newHTTPServer returns the server of handler with every phase of a
// request bounded by h. Its connections are counted in
// gatehouse_http_open_connections; the limit is exported as
// gatehouse_http_max_connections.
func newHTTPServer(h HTTPConfig, handler http.Handler, reg prometheus.Registerer, log *slog.Logger) *http.Server {
	open := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gatehouse_http_open_connections",
		Help: "HTTP connections open now (at most gatehouse_http_max_connections).",
	})
	limit := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gatehouse_http_max_connections",
		Help: "Most HTTP connections open at once (--http-max-connections).",
	})
	limit.Set(float64(h.MaxConnections))
	reg.MustRegister(open, limit)
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: h.ReadHeaderTimeout,
		ReadTimeout:       h.ReadTimeout,
		WriteTimeout:      h.WriteTimeout,
		IdleTimeout:       h.IdleTimeout,
		MaxHeaderBytes:    h.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnState: func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				open.Inc()
			case http.StateClosed, http.StateHijacked:
				open.Dec()
			}
		},
	}
}

// listen listens on addr (host:port, or unix:// and a socket path: see
// listenUnix) and accepts at most h.MaxConnections connections at once:
// past the limit, Accept is not called, so new connections wait in the
// kernel's backlog instead of being accepted and starved. A slot is freed
// when its connection closes, which the server's timeouts bound.
func listen(h HTTPConfig, addr string, log *slog.Logger) (net.Listener, error) {
	var (
		ln  net.Listener
		err error
	)
	if path, ok := unixSocketPath(addr); ok {
		ln, err = listenUnix(path)
	} else if ln, err = net.Listen("tcp", addr); err != nil {
		err = fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err != nil {
		return nil, err
	}
	if nofile := openFileLimit(); nofile != 0 && uint64(h.MaxConnections) > nofile {
		log.Warn("--http-max-connections exceeds the open-file limit: connections may fail before the limit is reached",
			"max_connections", h.MaxConnections, "open_file_limit", nofile)
	}
	return netutil.LimitListener(ln, h.MaxConnections), nil
}
