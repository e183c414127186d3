package jsonapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/events"
)

// requestInfo is what a request's log line and metrics say of it, filled
// in as the request goes: its id at the door, its route when a route
// takes it, its actor once authenticated.
type requestInfo struct {
	id     string
	route  string
	actor  string
	tenant backoffice.TenantID
	query  url.Values // the query string, parsed once
}

type infoKey struct{}

func infoOf(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}

// queryOf is the request's query string, parsed once per request.
func queryOf(r *http.Request) url.Values {
	info := infoOf(r.Context())
	if info == nil {
		return r.URL.Query()
	}
	if info.query == nil {
		info.query = r.URL.Query()
	}
	return info.query
}

// noteActor records the request's actor for its log line.
func noteActor(ctx context.Context, a *accessctl.Actor) {
	if info := infoOf(ctx); info != nil && a != nil {
		info.actor, info.tenant = a.ID(), a.Tenant()
	}
}

// goodRequestID is what a request id from the client may look like; any
// other is replaced, so a log line never carries what a client made up.
var goodRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); goodRequestID.MatchString(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// contextHandler adds the request's id, actor and tenant to every log
// record made with the request's context.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, rec slog.Record) error {
	if info := infoOf(ctx); info != nil {
		rec.AddAttrs(slog.String("request_id", info.id))
		if info.actor != "" {
			rec.AddAttrs(slog.String("actor", info.actor), slog.String("tenant", string(info.tenant)))
		}
	}
	return h.Handler.Handle(ctx, rec)
}

func (h contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(as)}
}
func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// newLogger logs JSON (or text, for a person at a terminal) with each
// request's id and actor.
func newLogger(out interface{ Write([]byte) (int, error) }, format string) *slog.Logger {
	var h slog.Handler = slog.NewJSONHandler(out, nil)
	if format == "text" {
		h = slog.NewTextHandler(out, nil)
	}
	return slog.New(contextHandler{h})
}

// Metrics are the API's Prometheus metrics, on a registry of its own.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	logins   *prometheus.CounterVec
	lockouts prometheus.Counter
	mfa      prometheus.Counter
	errors   *prometheus.CounterVec
	limited  *prometheus.CounterVec
	inFlight prometheus.Gauge
}

// NewMetrics makes the metrics, with the outbox's backlog read at each
// scrape.
func NewMetrics(backlog func(context.Context) (backoffice.Backlog, error)) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "backoffice_http_request_duration_seconds",
			Help: "Time to answer a request, by route and status.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)},
			[]string{"route", "status"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "backoffice_logins_total",
			Help: "Login steps by outcome: succeeded (a session opened), refused (a password step), mfa_failed (a code step)."}, []string{"outcome"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{Name: "backoffice_lockouts_total",
			Help: "Operators blocked by their run of failed logins or by dormancy."}),
		mfa: prometheus.NewCounter(prometheus.CounterOpts{Name: "backoffice_mfa_failures_total", Help: "Refused TOTP code steps."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "backoffice_errors_total",
			Help: "Store and internal errors: answered (a 5xx) or handled after a change committed."}, []string{"kind"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "backoffice_rate_limited_total",
			Help: "Requests refused with 429, by rule."}, []string{"rule"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "backoffice_http_requests_in_flight",
			Help: "Requests being answered now."}),
	}
	m.reg.MustRegister(m.requests, m.logins, m.lockouts, m.mfa, m.errors, m.limited, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), backlogCollector{backlog})
	return m
}

// Event counts what accessctl reports (accessctl.Config.Events) of logins.
func (m *Metrics) Event(_ context.Context, e accessctl.Event) {
	switch e.Kind {
	case accessctl.EventLoginSucceeded:
		m.logins.WithLabelValues("succeeded").Inc()
	case accessctl.EventLoginRefused:
		m.logins.WithLabelValues("refused").Inc()
	case accessctl.EventMFAFailed:
		m.logins.WithLabelValues("mfa_failed").Inc()
		m.mfa.Inc()
	case accessctl.EventLockout:
		m.lockouts.Inc()
	}
}

// backlogCollector reads the outbox's backlog at each scrape.
type backlogCollector struct {
	backlog func(context.Context) (backoffice.Backlog, error)
}

var (
	pendingDesc = prometheus.NewDesc("backoffice_outbox_pending", "Notices waiting for delivery.", nil, nil)
	deadDesc    = prometheus.NewDesc("backoffice_outbox_dead", "Notices given up after their last attempt.", nil, nil)
	ageDesc     = prometheus.NewDesc("backoffice_outbox_oldest_age_seconds", "Age of the oldest notice waiting for delivery.", nil, nil)
)

func (c backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- deadDesc
	ch <- ageDesc
}

func (c backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := c.backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(b.Pending))
	ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(b.Dead))
	age := 0.0
	if !b.Oldest.IsZero() {
		age = time.Since(b.Oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, age)
}

// WatchEvents adds the security event stream's state per sink, read at
// each scrape: its backlog, lag, streams retrying or dead, and this
// instance's deliveries, failures and dropped login events.
func (m *Metrics) WatchEvents(status func(context.Context) ([]events.SinkStatus, error)) {
	m.reg.MustRegister(eventsCollector{status})
}

// eventsCollector reads the event stream's state at each scrape.
type eventsCollector struct {
	status func(context.Context) ([]events.SinkStatus, error)
}

var (
	sinkLabels    = []string{"sink"}
	sinkBacklog   = prometheus.NewDesc("backoffice_events_backlog", "Audit entries not yet delivered to the sink, over every tenant.", sinkLabels, nil)
	sinkLag       = prometheus.NewDesc("backoffice_events_lag_seconds", "How long the oldest entry not yet delivered to the sink has waited.", sinkLabels, nil)
	sinkRetrying  = prometheus.NewDesc("backoffice_events_retrying_streams", "Tenants' streams to the sink waiting to try a failed event again.", sinkLabels, nil)
	sinkDead      = prometheus.NewDesc("backoffice_events_dead_streams", "Tenants' streams to the sink stopped at an event after its last try.", sinkLabels, nil)
	sinkDelivered = prometheus.NewDesc("backoffice_events_delivered_total", "Events this instance delivered to the sink.", sinkLabels, nil)
	sinkFailures  = prometheus.NewDesc("backoffice_events_failures_total", "Sends to the sink that failed on this instance.", sinkLabels, nil)
	sinkDropped   = prometheus.NewDesc("backoffice_events_dropped_total", "Login refusals this instance dropped for the sink (queue full, or refused three times).", sinkLabels, nil)
	eventDescs    = []*prometheus.Desc{sinkBacklog, sinkLag, sinkRetrying, sinkDead, sinkDelivered, sinkFailures, sinkDropped}
)

func (c eventsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range eventDescs {
		ch <- d
	}
}

func (c eventsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sinks, err := c.status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(sinkBacklog, err)
		return
	}
	for _, s := range sinks {
		ch <- prometheus.MustNewConstMetric(sinkBacklog, prometheus.GaugeValue, float64(s.Backlog), s.Name)
		ch <- prometheus.MustNewConstMetric(sinkLag, prometheus.GaugeValue, s.Lag.Seconds(), s.Name)
		ch <- prometheus.MustNewConstMetric(sinkRetrying, prometheus.GaugeValue, float64(s.Retrying), s.Name)
		ch <- prometheus.MustNewConstMetric(sinkDead, prometheus.GaugeValue, float64(s.Dead), s.Name)
		ch <- prometheus.MustNewConstMetric(sinkDelivered, prometheus.CounterValue, float64(s.Delivered), s.Name)
		ch <- prometheus.MustNewConstMetric(sinkFailures, prometheus.CounterValue, float64(s.Failures), s.Name)
		ch <- prometheus.MustNewConstMetric(sinkDropped, prometheus.CounterValue, float64(s.Dropped), s.Name)
	}
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// countError counts an error answered as a 5xx, by kind.
func (a *API) countError(err error) {
	kind := "internal"
	if errors.Is(err, backoffice.ErrUnavailable) {
		kind = "unavailable"
	}
	a.metrics.errors.WithLabelValues(kind).Inc()
}

// CountHandled counts an error a service handled itself after its change
// committed (the services' ReportError).
func (m *Metrics) CountHandled() { m.errors.WithLabelValues("handled").Inc() }
