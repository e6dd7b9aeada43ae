package httpapi

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/engine"
)

// Metrics are gatehouse's Prometheus collectors: decisions by result and
// their duration (as an engine.DecisionObserver), and HTTP requests by
// route and status. It is safe for concurrent use.
type Metrics struct {
	allow, deny, failed prometheus.Counter
	duration            prometheus.Histogram
	requests            *prometheus.CounterVec
	statuses            [600]string
}

var _ engine.DecisionObserver = (*Metrics)(nil)

// NewMetrics returns the collectors, registered with reg when it is not
// nil. Collectors reg already holds are reused, so NewMetrics may be called
// more than once with one registry (the CLI for the engine's observer, New
// for the HTTP counter) and every caller counts into the same series.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	decisions := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_decisions_total",
		Help: "Decisions answered, by result: allow, deny, or error (failed closed, R45).",
	}, []string{"result"}))
	duration := register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "gatehouse_decision_duration_seconds",
		Help:    "How long a decision took, store read and policy evaluation included.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	}))
	requests := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_http_requests_total",
		Help: "HTTP requests answered, by route, method and status.",
	}, []string{"route", "method", "status"}))
	m := &Metrics{
		allow:    decisions.WithLabelValues("allow"),
		deny:     decisions.WithLabelValues("deny"),
		failed:   decisions.WithLabelValues("error"),
		duration: duration,
		requests: requests,
	}
	for code := range m.statuses {
		m.statuses[code] = strconv.Itoa(code)
	}
	return m
}

// register registers c with reg, or returns the equal collector reg
// already holds.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	return c
}

// ObserveDecision counts a decision and records its duration.
func (m *Metrics) ObserveDecision(_ engine.DecisionRequest, d engine.Decision) {
	switch {
	case d.Error != "":
		m.failed.Inc()
	case d.Allow:
		m.allow.Inc()
	default:
		m.deny.Inc()
	}
	m.duration.Observe(d.Duration.Seconds())
}

// observeRequest counts one HTTP request; route is the matched route
// pattern, never the raw path, so that the series stay few.
func (m *Metrics) observeRequest(route, method string, status int) {
	if route == "" {
		route, method = "unmatched", "other"
	}
	code := "other"
	if status >= 0 && status < len(m.statuses) {
		code = m.statuses[status]
	}
	m.requests.WithLabelValues(route, method, code).Inc()
}
