// Package scim is a SCIM 2.0 service provider (RFC 7643, RFC 7644) over
// accessctl.Service: the company's identity provider (Okta, Entra ID,
// any SCIM client) creates, changes and deprovisions a tenant's operators
// and the groups that map to their roles.
//
// The handler translates the protocol into the Service's managed-operator
// calls and back; every rule (who may be changed, what a group grants,
// that leaving the last mapped group deactivates and ends every session)
// is accessctl's, so a SCIM call writes the same audit entries as any
// other change, with the SCIM token as its actor.
//
// Mount it under any path; the tenant comes from the bearer token:
//
//	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", scim.NewHandler(ops, scim.Options{
//		BaseURL: "https://admin.example.com/scim/v2",
//	})))
//
// Supported: Users and Groups (GET, POST, PUT, PATCH, DELETE), filters
// (eq, ne, co, sw, ew, pr, gt, ge, lt, le, and, or, not, value paths),
// startIndex and count, attributes and excludedAttributes, ETags with
// If-Match, the enterprise extension's manager, ServiceProviderConfig,
// ResourceTypes and Schemas. Not supported (and said so in
// ServiceProviderConfig): bulk, sort, change of password (operators of an
// SSO tenant have none).
package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// URNs of the schemas and messages the handler speaks.
const (
	UserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	ListSchema       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchSchema      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	ErrorSchema      = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// MediaType is the content type of every answer.
const MediaType = "application/scim+json"

// Options configure the handler.
type Options struct {
	// BaseURL is the handler's absolute URL as clients reach it, without
	// a trailing slash; meta.location and $ref values are built on it.
	BaseURL string
	// MaxBodyBytes bounds a request body; 0 means 1 MiB.
	MaxBodyBytes int64
	// MaxResults bounds a page (count); 0 means 200.
	MaxResults int
	// Allow, when set, is asked before each request is served: first with
	// an empty token id (per client, before the token is checked), then
	// with the id of the token that authenticated. It returns false to
	// answer 429: the host's abuse limits (I4).
	Allow func(r *http.Request, tokenID string) bool
	// Log receives what the client is not told (store failures). Nil: slog.Default().
	Log *slog.Logger
}

// Handler serves SCIM 2.0.
type Handler struct {
	ops  *accessctl.Service
	opts Options
	mux  *http.ServeMux
}

// NewHandler returns the SCIM service provider over ops.
func NewHandler(ops *accessctl.Service, opts Options) *Handler {
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.MaxResults <= 0 {
		opts.MaxResults = 200
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	h := &Handler{ops: ops, opts: opts, mux: http.NewServeMux()}
	for _, r := range []struct {
		pattern string
		fn      func(http.ResponseWriter, *http.Request) error
	}{
		{"GET /ServiceProviderConfig", h.serviceProviderConfig},
		{"GET /ResourceTypes", h.resourceTypes},
		{"GET /ResourceTypes/{id}", h.resourceType},
		{"GET /Schemas", h.schemas},
		{"GET /Schemas/{id}", h.schema},
		{"GET /Users", h.listUsers},
		{"POST /Users", h.createUser},
		{"POST /Users/.search", h.listUsers},
		{"GET /Users/{id}", h.getUser},
		{"PUT /Users/{id}", h.replaceUser},
		{"PATCH /Users/{id}", h.patchUser},
		{"DELETE /Users/{id}", h.deleteUser},
		{"GET /Groups", h.listGroups},
		{"POST /Groups", h.createGroup},
		{"POST /Groups/.search", h.listGroups},
		{"GET /Groups/{id}", h.getGroup},
		{"PUT /Groups/{id}", h.replaceGroup},
		{"PATCH /Groups/{id}", h.patchGroup},
		{"DELETE /Groups/{id}", h.deleteGroup},
	} {
		h.mux.HandleFunc(r.pattern, func(w http.ResponseWriter, req *http.Request) {
			if err := r.fn(w, req); err != nil {
				h.fail(w, req, err)
			}
		})
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, &Error{Status: http.StatusNotFound, Detail: "no such endpoint"})
	})
	return h
}

// ServeHTTP authenticates the bearer token and serves the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if h.opts.Allow != nil && !h.opts.Allow(r, "") {
		h.fail(w, r, &Error{Status: http.StatusTooManyRequests, Detail: "too many requests; slow down"})
		return
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		raw, ok = strings.CutPrefix(r.Header.Get("Authorization"), "bearer ")
	}
	if !ok || strings.TrimSpace(raw) == "" {
		h.fail(w, r, &Error{Status: http.StatusUnauthorized, Detail: "a bearer token is required"})
		return
	}
	a, err := h.ops.AuthenticateSCIM(r.Context(), backoffice.Secret(strings.TrimSpace(raw)))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.opts.Allow != nil && !h.opts.Allow(r, a.ID()) {
		h.fail(w, r, &Error{Status: http.StatusTooManyRequests, Detail: "too many requests for this token; slow down"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	h.mux.ServeHTTP(w, r.WithContext(accessctl.NewContext(r.Context(), a)))
}

// Error is a SCIM error document (RFC 7644, 3.12).
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

func (e *Error) Error() string { return fmt.Sprintf("scim: %d %s: %s", e.Status, e.ScimType, e.Detail) }

// MarshalJSON writes the error document, status as a string as the RFC
// says.
func (e *Error) MarshalJSON() ([]byte, error) {
	doc := map[string]any{"schemas": []string{ErrorSchema}, "status": strconv.Itoa(e.Status), "detail": e.Detail}
	if e.ScimType != "" {
		doc["scimType"] = e.ScimType
	}
	return json.Marshal(doc)
}

func badRequest(scimType, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// fail answers err as a SCIM error document.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *Error
	var be *backoffice.Error
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &se):
	case errors.As(err, &mb):
		se = &Error{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is larger than %d bytes", mb.Limit)}
	case errors.Is(err, backoffice.ErrUnauthenticated):
		se = &Error{Status: http.StatusUnauthorized, Detail: "the SCIM token is not valid"}
	case errors.Is(err, backoffice.ErrForbidden):
		se = &Error{Status: http.StatusForbidden, Detail: message(err)}
	case errors.Is(err, backoffice.ErrNotFound):
		se = &Error{Status: http.StatusNotFound, Detail: "no such resource"}
	case errors.Is(err, backoffice.ErrConflict) && errors.As(err, &be) && len(be.Fields) > 0:
		se = &Error{Status: http.StatusConflict, ScimType: "uniqueness", Detail: message(err)}
	case errors.Is(err, backoffice.ErrConflict):
		se = &Error{Status: http.StatusPreconditionFailed, Detail: message(err)}
	case errors.Is(err, backoffice.ErrInvalid):
		se = &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: message(err)}
	case errors.Is(err, backoffice.ErrFailedPrecondition):
		se = &Error{Status: http.StatusBadRequest, ScimType: "mutability", Detail: message(err)}
	default:
		h.opts.Log.ErrorContext(r.Context(), "scim: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		se = &Error{Status: http.StatusInternalServerError, Detail: "the request could not be served; retry later"}
		if errors.Is(err, backoffice.ErrUnavailable) {
			se.Status = http.StatusServiceUnavailable
		}
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
	}
	writeJSON(w, se.Status, se)
}

// message is what a client is told of a typed error: its message and
// fields, never a store's text.
func message(err error) string {
	var be *backoffice.Error
	if !errors.As(err, &be) {
		return "the request was refused"
	}
	msg := be.Msg
	for _, f := range be.Fields {
		msg += "; " + f.Field + ": " + f.Reason
	}
	return msg
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a request body into a generic document.
func readJSON(r *http.Request) (map[string]any, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, err
		}
		return nil, badRequest("invalidSyntax", "the body could not be read")
	}
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, badRequest("invalidSyntax", "the body is not a JSON object")
	}
	return doc, nil
}

// ifMatch returns the version an If-Match header names, 0 when there is
// none or it is "*".
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return -1, nil // matches no version: 412
	}
	return n, nil
}

func etag(version int64) string { return fmt.Sprintf(`W/"%d"`, version) }

func (h *Handler) ref(kind, id string) string { return h.opts.BaseURL + "/" + kind + "/" + id }
