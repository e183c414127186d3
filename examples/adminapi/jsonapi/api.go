package jsonapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/events"
	"github.com/backoffice-go/backoffice/scadevice"
)

// maxBody bounds every request body.
const maxBody = 64 << 10

// API serves the JSON API; build it with New.
type API struct {
	ops          *accessctl.Service
	users        *enduser.Service
	devices      *scadevice.Service
	wallets      *Wallets
	tenant       backoffice.TenantID
	tenantOf     func(*http.Request) (backoffice.TenantID, bool)
	hostAuth     func(*http.Request) (accessctl.OperatorID, bool)
	crossOrigin  *http.CrossOriginProtection
	prefix       string
	log          *slog.Logger
	internal     string // shared secret of the host's own back-end calls; empty disables them
	setup        *setupGate
	ready        func(context.Context) error
	mux          *http.ServeMux
	routes       []string // every pattern registered, for the OpenAPI test
	served       http.Handler
	scimURL      string
	mailbox      Mailbox
	events       *events.Stream
	metrics      *Metrics
	limits       Limiter
	tracer       *tracer
	schema       func(context.Context) (current, latest int, err error)
	backlog      func(context.Context) (backoffice.Backlog, error)
	findOperator func(ctx context.Context, tenant backoffice.TenantID, login string) (*accessctl.Operator, error)
}

// Routes are the API's route patterns, each documented in /openapi.json.
func (a *API) Routes() []string { return slices.Clone(a.routes) }

// problem is an RFC 9457 problem document.
type problem struct {
	Type     string                      `json:"type"`
	Title    string                      `json:"title"`
	Status   int                         `json:"status"`
	Detail   string                      `json:"detail,omitempty"`
	Instance string                      `json:"instance,omitempty"`
	Errors   []backoffice.FieldViolation `json:"errors,omitempty"`
}

// requestError is an error of the request itself, before any service runs.
type requestError struct {
	status int
	kind   string
	detail string
	fields []backoffice.FieldViolation
}

func (e *requestError) Error() string { return e.detail }

func badRequest(kind, detail string, fields ...backoffice.FieldViolation) error {
	return &requestError{status: http.StatusBadRequest, kind: kind, detail: detail, fields: fields}
}

// statusOf maps the library's error kinds to HTTP.
func statusOf(err error) (int, string) {
	var re *requestError
	var le *limitedError
	switch {
	case errors.As(err, &re):
		return re.status, re.kind
	case errors.As(err, &le):
		return http.StatusTooManyRequests, "rate-limited"
	case errors.Is(err, backoffice.ErrInvalid):
		return http.StatusUnprocessableEntity, "invalid-input"
	case errors.Is(err, backoffice.ErrNotFound):
		return http.StatusNotFound, "not-found"
	case errors.Is(err, backoffice.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, backoffice.ErrFailedPrecondition):
		return http.StatusConflict, "failed-precondition"
	case errors.Is(err, backoffice.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, backoffice.ErrUnauthenticated):
		return http.StatusUnauthorized, "unauthenticated"
	case errors.Is(err, backoffice.ErrUnavailable):
		return http.StatusServiceUnavailable, "unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "timeout"
	}
	return http.StatusInternalServerError, "internal"
}

func (a *API) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	status, kind := statusOf(err)
	p := problem{Type: "https://backoffice.example/problems/" + kind, Title: http.StatusText(status), Status: status,
		Detail: err.Error(), Instance: a.prefix + r.URL.Path}
	var re *requestError
	var ae *backoffice.Error
	switch {
	case errors.As(err, &re):
		p.Errors = re.fields
	case errors.As(err, &ae):
		p.Errors = ae.Fields
		p.Detail = ae.Error()
	}
	if status >= http.StatusInternalServerError {
		a.countError(err)
	}
	if status == http.StatusInternalServerError {
		a.log.ErrorContext(r.Context(), "internal error", "path", r.URL.Path, "err", err)
		p.Detail = "internal error; the details are in the server log"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="backoffice"`)
	}
	var le *limitedError
	if errors.As(err, &le) {
		w.Header().Set("Retry-After", strconv.Itoa(le.RetryAfter()))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers v as JSON, encoded whole first so that the answer
// carries its Content-Length and goes out in one write (a body written
// as it is encoded goes chunked past 2 KiB).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h["Content-Type"] = jsonType
	if v == nil {
		w.WriteHeader(status)
		return
	}
	bp := buffers.Get().(*[]byte)
	b, err := encodeAnswer((*bp)[:0], v)
	if err != nil {
		buffers.Put(bp)
		http.Error(w, "the answer could not be encoded", http.StatusInternalServerError)
		return
	}
	if len(b) > 2048 {
		// Below 2 KiB net/http sets Content-Length itself, outside the
		// header map: the map stays at 8 entries, the size Go's maps
		// hold without growing, which this saves on every small answer.
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if cap(b) <= 1<<20 { // a huge answer's buffer is not kept
		*bp = b[:0]
		buffers.Put(bp)
	}
}

// encodeAnswer appends v and a newline to b: by hand when v writes
// itself (appendjson.go), else with encoding/json.
func encodeAnswer(b []byte, v any) ([]byte, error) {
	switch a := v.(type) {
	case appender:
		return append(a.appendJSON(b), '\n'), nil
	}
	buf := bytes.NewBuffer(b)
	err := json.NewEncoder(buf).Encode(v)
	return buf.Bytes(), err
}

var (
	jsonType = []string{"application/json"}
	buffers  = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
)

// decode reads a JSON request body into v: application/json only, at most
// maxBody bytes, no unknown fields, one value. Every failure is a 4xx.
func decode(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return &requestError{status: http.StatusUnsupportedMediaType, kind: "unsupported-media-type",
			detail: "send the body as application/json"}
	}
	body := http.MaxBytesReader(nil, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return &requestError{status: http.StatusRequestEntityTooLarge, kind: "too-large", detail: fmt.Sprintf("the body is over %d bytes", maxBody)}
		case errors.As(err, &typ):
			return badRequest("malformed-json", "a field has the wrong type", backoffice.FieldViolation{Field: typ.Field, Reason: "must be " + typ.Type.String()})
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return badRequest("unknown-field", "the body has a field this endpoint does not take", backoffice.FieldViolation{Field: f, Reason: "unknown field"})
		case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return badRequest("malformed-json", "the body is not valid JSON")
		default:
			return badRequest("malformed-json", "the body could not be read as JSON")
		}
	}
	if dec.More() {
		return badRequest("malformed-json", "the body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("malformed-json", "the body holds more than one JSON value")
	}
	return nil
}

// handlerFunc is an endpoint: it returns the status and the body to send.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (int, any, error)

// handle registers an endpoint of the API.
func (a *API) handle(pattern string, h handlerFunc) {
	a.routes = append(a.routes, pattern)
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if info := infoOf(r.Context()); info != nil {
			info.route = pattern
		}
		status, body, err := h(w, r)
		if err != nil {
			a.writeProblem(w, r, err)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		if raw, ok := body.(rawBody); ok {
			w.Header().Set("Content-Type", raw.contentType)
			w.WriteHeader(status)
			_, _ = w.Write(raw.data)
			return
		}
		writeJSON(w, status, body)
	})
}

// authed wraps an endpoint that acts as the operator of the bearer
// token, or of the host's own authentication (M3); a session acts only on
// its own tenant's requests when the host resolves tenants (M2).
func (a *API) authed(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		actor, err := a.actorOf(r)
		if err != nil {
			return 0, nil, err
		}
		noteActor(r.Context(), actor)
		return h(w, r.WithContext(accessctl.NewContext(r.Context(), actor)))
	}
}

// actorOf authenticates the request.
func (a *API) actorOf(r *http.Request) (*accessctl.Actor, error) {
	if a.hostAuth != nil {
		tenant, err := a.tenantOfRequest(r)
		if err != nil {
			return nil, err
		}
		id, ok := a.hostAuth(r)
		if !ok {
			return nil, backoffice.NewError(backoffice.ErrUnauthenticated, "jsonapi", "log in to the host's service first")
		}
		if err := a.crossOrigin.Check(r); err != nil {
			return nil, backoffice.NewError(backoffice.ErrForbidden, "jsonapi", "a change sent from another site is refused")
		}
		return a.ops.ActorOf(r.Context(), tenant, id)
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return nil, backoffice.NewError(backoffice.ErrUnauthenticated, "adminapi", "send the session token as Authorization: Bearer <token>")
	}
	actor, err := a.ops.Authenticate(r.Context(), backoffice.Secret(token))
	if err != nil {
		return nil, err
	}
	if a.tenantOf != nil {
		if t, ok := a.tenantOf(r); !ok || t != actor.Tenant() {
			return nil, backoffice.NewError(backoffice.ErrUnauthenticated, "adminapi", "this session is of another tenant")
		}
	}
	return actor, nil
}

// internalOnly wraps an endpoint the host's own back end calls (SSO,
// customer app): it needs the shared secret in X-Internal-Secret, and acts
// as the system actor named, in the request's tenant.
func (a *API) internalOnly(name string, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		if a.internal == "" || !constantEqual(r.Header.Get("X-Internal-Secret"), a.internal) {
			return 0, nil, backoffice.NewError(backoffice.ErrUnauthenticated, "adminapi", "this endpoint is for the host's own services")
		}
		tenant, err := a.tenantOfRequest(r)
		if err != nil {
			return 0, nil, err
		}
		return h(w, r.WithContext(accessctl.NewContext(r.Context(), accessctl.SystemActor(tenant, name))))
	}
}

func constantEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := range len(a) {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// query helpers turn bad parameters into 400s naming them.

func pageOf(r *http.Request) (backoffice.PageRequest, error) {
	p := backoffice.PageRequest{Cursor: queryOf(r).Get("cursor")}
	if s := queryOf(r).Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return p, badRequest("invalid-parameter", "limit must be 1 to 500", backoffice.FieldViolation{Field: "limit", Reason: "must be 1 to 500"})
		}
		p.Limit = n
	}
	return p, nil
}

func versionParam(r *http.Request) (int64, error) {
	v, err := strconv.ParseInt(queryOf(r).Get("version"), 10, 64)
	if err != nil || v < 1 {
		return 0, badRequest("invalid-parameter", "pass the version you read as ?version=N", backoffice.FieldViolation{Field: "version", Reason: "required positive integer"})
	}
	return v, nil
}

func timeParam(r *http.Request, name string) (time.Time, error) {
	s := queryOf(r).Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badRequest("invalid-parameter", name+" must be an RFC 3339 time", backoffice.FieldViolation{Field: name, Reason: "must be RFC 3339"})
	}
	return t, nil
}

func boolParam(r *http.Request, name string) (bool, error) {
	s := queryOf(r).Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest("invalid-parameter", name+" must be true or false", backoffice.FieldViolation{Field: name, Reason: "must be true or false"})
	}
	return b, nil
}

// page is the JSON shape of a page of items.
type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

func pageJSON[T, U any](p backoffice.Page[T], f func(T) U) page[U] {
	out := page[U]{Items: make([]U, 0, len(p.Items)), Next: p.Next}
	for _, it := range p.Items {
		out.Items = append(out.Items, f(it))
	}
	return out
}

// ServeHTTP serves the API: /v1/…, /healthz, /readyz, /openapi.json and
// /metrics, with each request's id, log line, metrics and span.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.served.ServeHTTP(w, r) }

// serve answers every response with the security headers, and gives
// unmatched routes a problem body too: 404, or 405 with Allow.
func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for _, kv := range securityHeaders {
		h[kv.key] = kv.value
	}
	if r.TLS != nil {
		h["Strict-Transport-Security"] = hsts
	}
	if _, pattern := a.mux.Handler(r); pattern == "" {
		rec := &statusRecorder{header: http.Header{}}
		h, _ := a.mux.Handler(r)
		h.ServeHTTP(rec, r)
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		status := rec.status
		if status == 0 {
			status = http.StatusNotFound
		}
		a.writeProblem(w, r, &requestError{status: status, kind: strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "-")),
			detail: "no such endpoint or method; see /openapi.json"})
		return
	}
	a.mux.ServeHTTP(w, r)
}

// securityHeaders go on every answer of the API: nosniff and no-store
// (no proxy or browser keeps an answer that may hold a secret or a
// customer's data); and since the API answers data, never a page, nothing
// in it may run, frame or be framed, and it tells no other site where a
// request came from. The keys are canonical and the values shared, read
// only: setting them costs no allocation.
var securityHeaders = []struct {
	key   string
	value []string
}{
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"Cache-Control", []string{"no-store"}},
	{"Content-Security-Policy", []string{"default-src 'none'; frame-ancestors 'none'"}},
	{"X-Frame-Options", []string{"DENY"}},
	{"Referrer-Policy", []string{"no-referrer"}},
	{"Cross-Origin-Resource-Policy", []string{"same-origin"}},
}

var hsts = []string{"max-age=63072000"}

type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.status = code }
