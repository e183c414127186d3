// Package jsonapi is the example admin backend's JSON API as a handler a
// host mounts: the accessctl, enduser and scadevice services behind
// /v1/…, with its probes (/healthz, /readyz), its metrics and its OpenAPI
// contract (/openapi.json), acting as the operator of a bearer session
// token or, where the host authenticates its staff itself, of the
// operator the host names (M3).
//
// Mounted under a prefix, with the prefix stripped as the console is:
//
//	api, err := jsonapi.New(jsonapi.Config{Ops: ops, Users: users, Devices: devices,
//		Prefix: "/backoffice/api", TenantOf: tenantOfHost})
//	mux.Handle("/backoffice/api/", http.StripPrefix("/backoffice/api", api))
//
// Every request gets its id, its log line, its metrics and (with Traces)
// its span; the same instrumentation wraps any other handler with
// Middleware. The API's security headers are set on its own answers only.
package jsonapi

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/events"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// Config is what the API is built from. Ops, Users and Devices are
// required, and Tenant or TenantOf.
type Config struct {
	Ops     *accessctl.Service
	Users   *enduser.Service
	Devices *scadevice.Service

	// Tenant is the tenant of the calls that name none: the host's own
	// back-end calls (/v1/internal), the first Administrator's set-up, and
	// a login whose body names no tenant. A bearer session acts in its own
	// tenant.
	Tenant backoffice.TenantID
	// TenantOf, when set, resolves each request's tenant (from its host
	// name, a path segment, a header), for one API serving every tenant
	// (M2): a login without a tenant in its body logs in there, a login
	// naming another is refused, and a session is good only on its own
	// tenant's requests. false answers 404: no tenant is served there.
	TenantOf func(r *http.Request) (backoffice.TenantID, bool)
	// HostAuth, when set, is the host's own authentication (M3): it names
	// the operator the host authenticated for this request (its tenant is
	// the request's, from TenantOf or Tenant), or false to refuse the call
	// with 401. Every authenticated endpoint then acts as that operator,
	// authorized and audited as if it had logged in; bearer tokens are not
	// read. Since a host's own session is usually a cookie, such calls
	// with an unsafe method are refused when a browser says they come
	// from another origin (net/http.CrossOriginProtection).
	HostAuth func(r *http.Request) (accessctl.OperatorID, bool)
	// Prefix is the path the host mounts the API under, with
	// http.StripPrefix, such as "/backoffice/api": the OpenAPI document's
	// server URL and each problem's instance carry it.
	Prefix string

	// Log receives a line per request and the internal errors; nil
	// discards them. Use NewLogger for lines with each request's id and
	// actor.
	Log *slog.Logger
	// Metrics are the Prometheus metrics; nil makes a registry of the
	// API's own (Metrics returns it).
	Metrics *Metrics
	// Traces, when set, gives each request a span.
	Traces trace.TracerProvider
	// Limiter holds the abuse limits' counts; nil keeps them in this
	// process (MemoryLimiter). Instances behind one load balancer share
	// RedisLimiter.
	Limiter Limiter

	// InternalSecret is the shared secret of the host's own back-end calls
	// (/v1/internal/…, the public /metrics); empty disables them.
	InternalSecret string
	// SetupToken, when set, lets POST /v1/setup make the Tenant's first
	// Administrator once.
	SetupToken string
	// Ready checks the stores for /readyz; Schema reports the migrations
	// (current, latest) and Backlog the outbox, both optional.
	Ready   func(context.Context) error
	Schema  func(context.Context) (current, latest int, err error)
	Backlog func(context.Context) (backoffice.Backlog, error)
	// FindOperator finds the operator a login names, so that its abuse
	// limit counts a person once whether its username or its email is
	// typed; optional.
	FindOperator func(ctx context.Context, tenant backoffice.TenantID, login string) (*accessctl.Operator, error)
	// Wallets is the example's balance source, which
	// POST /v1/endusers/{id}/wallets sets; nil answers those calls 404.
	Wallets *Wallets
	// SCIMURL is the SCIM service provider's base URL, told with a new
	// SCIM token.
	SCIMURL string
	// Mailbox, when set, is the example's mail provider, whose notices
	// GET /v1/internal/outbox lists for the host's own tests.
	Mailbox Mailbox
	// Events, when set, is the security event stream to the SIEM's
	// sinks: its backlog, lag and failures per sink go to /metrics and
	// the operations listener's /readyz, and /v1/events/sinks… show
	// them to an operator and let an Administrator send a test event or
	// redeliver.
	Events *events.Stream
}

// Mailbox holds the notices sent, as memorytest.Recorder does.
type Mailbox interface {
	OperatorNotices() []accessctl.OperatorNotice
	EndUserNotices() []enduser.Notice
}

var _ Mailbox = (*memorytest.Recorder)(nil)

// New builds the API.
func New(cfg Config) (*API, error) {
	if cfg.Ops == nil || cfg.Users == nil || cfg.Devices == nil || cfg.Tenant == "" && cfg.TenantOf == nil {
		return nil, errors.New("jsonapi: Ops, Users, Devices and Tenant (or TenantOf) are required")
	}
	if p := cfg.Prefix; p != "" && (!strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.ContainsAny(p, "\"<>'?#% ")) {
		return nil, errors.New(`jsonapi: Prefix is a path such as "/backoffice/api": a leading slash, no trailing one`)
	}
	a := &API{ops: cfg.Ops, users: cfg.Users, devices: cfg.Devices, wallets: cfg.Wallets, tenant: cfg.Tenant, tenantOf: cfg.TenantOf,
		hostAuth: cfg.HostAuth, prefix: cfg.Prefix, log: cmp.Or(cfg.Log, slog.New(slog.DiscardHandler)), internal: cfg.InternalSecret,
		ready: cfg.Ready, schema: cfg.Schema, backlog: cfg.Backlog, findOperator: cfg.FindOperator, metrics: cfg.Metrics,
		limits: cfg.Limiter, scimURL: cfg.SCIMURL, mailbox: cfg.Mailbox, events: cfg.Events, mux: http.NewServeMux(), crossOrigin: http.NewCrossOriginProtection()}
	if a.ready == nil {
		a.ready = func(context.Context) error { return nil }
	}
	if a.backlog == nil {
		a.backlog = func(context.Context) (backoffice.Backlog, error) { return backoffice.Backlog{}, nil }
	}
	if a.metrics == nil {
		a.metrics = NewMetrics(a.backlog)
	}
	if a.events != nil {
		a.metrics.WatchEvents(a.events.Status)
	}
	if a.limits == nil {
		a.limits = MemoryLimiter(nil)
	}
	if cfg.SetupToken != "" {
		a.setup = &setupGate{token: cfg.SetupToken}
	}
	if cfg.Traces != nil {
		a.tracer = &tracer{t: cfg.Traces.Tracer("github.com/backoffice-go/backoffice/examples/adminapi/jsonapi")}
	}
	a.register()
	a.served = a.Middleware(http.HandlerFunc(a.serve))
	return a, nil
}

// Metrics are the API's metrics, to serve on an operations listener.
func (a *API) Metrics() *Metrics { return a.metrics }

// tenantOfRequest is the request's tenant: the resolver's, or the
// configured one.
func (a *API) tenantOfRequest(r *http.Request) (backoffice.TenantID, error) {
	if a.tenantOf == nil {
		return a.tenant, nil
	}
	if t, ok := a.tenantOf(r); ok && t != "" {
		return t, nil
	}
	return "", backoffice.NewError(backoffice.ErrNotFound, "jsonapi", "no tenant is served at this address")
}

// loginTenant is the tenant a login, a forgotten password or a passkey
// sign-in is for: the one its body names, which must be the request's
// when the host resolves tenants, or else the request's.
func (a *API) loginTenant(r *http.Request, named backoffice.TenantID) (backoffice.TenantID, error) {
	if a.tenantOf == nil && named != "" {
		return named, nil
	}
	t, err := a.tenantOfRequest(r)
	if err != nil {
		return "", err
	}
	if named != "" && named != t {
		return "", badRequest("wrong-tenant", "this address serves another tenant; leave tenant out or use its own address",
			backoffice.FieldViolation{Field: "tenant", Reason: "not this address's tenant"})
	}
	return t, nil
}

// setupGate holds the one-time setup token printed on a first start
// without an Administrator's credentials.
type setupGate struct {
	mu    sync.Mutex
	token string
}

func (g *setupGate) take(token string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.token == "" || !constantEqual(token, g.token) {
		return false
	}
	g.token = ""
	return true
}

type setupBody struct {
	SetupToken string              `json:"setup_token"`
	Name       string              `json:"name"`
	Preset     string              `json:"preset"`
	Admin      operatorBody        `json:"admin"`
	Tenant     backoffice.TenantID `json:"tenant,omitempty"`
}

func (a *API) setupTenant(r *http.Request, b setupBody) (int, any, error) {
	if a.setup == nil || !a.setup.take(b.SetupToken) {
		return 0, nil, backoffice.NewError(backoffice.ErrForbidden, "adminapi: setup", "the setup token is wrong or was used; the tenant may already be set up")
	}
	if b.Preset == "" {
		b.Preset = accessctl.PresetDashboard
	}
	tenant, err := a.tenantOfRequest(r)
	if err != nil {
		return 0, nil, err
	}
	in := b.Admin.input()
	o, err := a.ops.Bootstrap(r.Context(), accessctl.BootstrapInput{Tenant: tenant, Name: b.Name, Preset: b.Preset, Admin: in})
	if err != nil {
		if !errors.Is(err, backoffice.ErrConflict) {
			a.setup.mu.Lock()
			a.setup.token = b.SetupToken // bad input: the token stays usable
			a.setup.mu.Unlock()
		}
		return 0, nil, err
	}
	return created(operatorJSON(o), nil)
}

// registerOutbox wires the example mail provider's view: the links'
// tokens are what it sends.
func (a *API) registerOutbox() {
	a.handle("GET /v1/internal/outbox", a.internalOnly("outbox", func(http.ResponseWriter, *http.Request) (int, any, error) {
		out := noticesView{Notices: []noticeView{}}
		if a.mailbox == nil {
			return http.StatusOK, out, nil
		}
		for _, n := range a.mailbox.OperatorNotices() {
			exp := n.ExpiresAt
			out.Notices = append(out.Notices, noticeView{Kind: string(n.Kind), To: n.Email, Operator: string(n.Operator), Token: string(n.Token), ExpiresAt: (*stamp)(&exp)})
		}
		for _, n := range a.mailbox.EndUserNotices() {
			out.Notices = append(out.Notices, noticeView{Kind: string(n.Kind), To: n.Email, User: string(n.User), Token: string(n.Token)})
		}
		return http.StatusOK, out, nil
	}))
}

// statusWriter records the status a handler answers.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Limiter holds the abuse limits' counts: take takes one call of a key
// under a rule, and returns 0 when the call may go, or how long until it
// may.
type Limiter interface {
	take(ctx context.Context, key string, r rule) (time.Duration, error)
}

// MemoryLimiter keeps the counts in this process: for one instance. now,
// when not nil, is its clock (a test's, frozen).
func MemoryLimiter(now func() time.Time) Limiter {
	m := newMemLimiter()
	if now != nil {
		m.now = now
	}
	return m
}

// RedisLimiter keeps the counts in Redis, on Redis's clock, shared by
// every instance; prefix begins each key.
func RedisLimiter(c goredis.UniversalClient, prefix string) Limiter {
	return &redisLimiter{c: c, prefix: prefix}
}

// NewLogger logs JSON (or, with format "text", text for a person at a
// terminal) with each request's id and actor.
func NewLogger(out interface{ Write([]byte) (int, error) }, format string) *slog.Logger {
	return newLogger(out, format)
}

// NoteActor records a request's authenticated actor for its log line: the
// console's Authenticated hook.
func NoteActor(ctx context.Context, actor *accessctl.Actor) { noteActor(ctx, actor) }

// Observer is the library's backoffice.Observer over OpenTelemetry: a span
// per service and store call.
func Observer(tp trace.TracerProvider) backoffice.Observer {
	return tracer{t: tp.Tracer("github.com/backoffice-go/backoffice/examples/adminapi/jsonapi")}
}
