// Package console is the web console of the example admin backend: the
// seeds' dashboards as server-rendered pages (html/template, embedded, no
// JavaScript) over the accessctl, enduser and scadevice services.
//
// Security, as a bank's review would ask: the session lives in an
// HttpOnly, SameSite=Lax cookie, Secure under TLS, whose token is issued
// only when the TOTP code is accepted (a new one at every login); every
// state-changing request passes Go's http.CrossOriginProtection; every
// response carries a strict Content-Security-Policy with no script at all,
// nosniff, frame-ancestors 'none' and a same-origin referrer policy; pages
// are not cached. A button an operator may not use is not shown, and the
// service refuses the call anyway.
package console

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/events"
	"github.com/backoffice-go/backoffice/scadevice"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the console serves.
type Config struct {
	Ops     *accessctl.Service
	Users   *enduser.Service
	Devices *scadevice.Service
	// Tenant is the tenant whose operators log in here; TenantOf, when set,
	// resolves it from each request instead (M2: the host name such as
	// acme.admin.example.com, a path segment, a field of the login form),
	// false for none. A session is good only on its own tenant's
	// requests.
	Tenant   backoffice.TenantID
	TenantOf func(r *http.Request) (backoffice.TenantID, bool)
	// TenantField, instead, asks for the tenant on the login form (a
	// "Company" field), for operators of every tenant sharing one address:
	// a login is for the tenant typed there, every other request for its
	// session's own. Single sign-on and the sign-in with a passkey alone,
	// which need the tenant before anything is typed, are not offered.
	TenantField bool
	// Log receives errors the pages do not show; nil discards them.
	Log *slog.Logger
	// Limit, when set, is asked before each login form is checked
	// (action "login" with the username typed, or "code") and before
	// each page of end users is searched or listed (action "search", the
	// operator in the request's context); an error refuses with 429, and
	// Retry-After when the error has a RetryAfter() int method.
	Limit func(r *http.Request, action, login string) error
	// Authenticated, when set, hears each request's authenticated actor,
	// for the host's request log.
	Authenticated func(ctx context.Context, a *accessctl.Actor)
	// Now is the clock; default time.Now.
	Now func() time.Time
	// SSO, when set, offers "Sign in with SSO" to a tenant switched to
	// single sign-on.
	SSO *SSO
	// SAMLLogin, when set, is where a sign-in through the tenant's SAML
	// identity provider starts (accessctl/saml's Handler.LoginURL); it is
	// offered when the tenant has a SAML identity provider. SAMLMetadata
	// is the service provider's metadata URL the settings show, to give
	// the identity provider.
	SAMLLogin, SAMLMetadata string
	// SCIMBaseURL, when set, is the SCIM service provider's base URL the
	// settings show with the tenant's SCIM tokens.
	SCIMBaseURL string
	// Events, when set, is the security event stream: the audit page
	// shows each sink's state in the tenant, and lets an Administrator
	// send a test event or redeliver from a sequence number.
	Events *events.Stream
	// HostAuth, when set, is the host's own authentication (M3): it
	// returns the operator the host authenticated for the request (from
	// its own session, or a header its trusted SSO proxy sets), or false
	// to send the browser to HostLogin. The console then has no login of
	// its own; the library still authorizes and audits every call with
	// that operator (accessctl.Service.ActorOf).
	HostAuth  func(r *http.Request) (accessctl.OperatorID, bool)
	HostLogin string
	// Prefix is the path the host mounts the console under, such as
	// "/backoffice" (with http.StripPrefix): every link, redirect, form,
	// asset and cookie of the console carries it. Empty: the root.
	Prefix string
	// SecureCookies marks the cookies Secure on every request, for a
	// console behind a proxy that ends TLS; without it they are Secure
	// when the request itself came over TLS.
	SecureCookies bool
}

// Console serves the pages. Mount it at the root of a server.
type Console struct {
	cfg     Config
	sso     *ssoClient
	pages   map[string]*template.Template
	handler http.Handler
}

// Cookie names.
const (
	sessionCookie   = "bo_session"
	challengeCookie = "bo_login"
)

// New builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Ops == nil || cfg.Users == nil || cfg.Devices == nil || cfg.Tenant == "" && cfg.TenantOf == nil && !cfg.TenantField {
		return nil, errors.New("console: Ops, Users, Devices and Tenant (or TenantOf, or TenantField) are required")
	}
	if cfg.TenantField && (cfg.TenantOf != nil || cfg.HostAuth != nil) {
		return nil, errors.New("console: TenantField asks the login form for the tenant: it goes with neither TenantOf nor HostAuth")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if p := cfg.Prefix; p != "" && (!strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.ContainsAny(p, "\"<>'?#% ")) {
		return nil, errors.New(`console: Prefix is a path such as "/backoffice": a leading slash, no trailing one`)
	}
	c := &Console{cfg: cfg, pages: map[string]*template.Template{}}
	if cfg.SSO != nil {
		if cfg.SSO.Issuer == "" || cfg.SSO.ClientID == "" || cfg.SSO.RedirectURL == "" {
			return nil, errors.New("console: SSO needs Issuer, ClientID and RedirectURL")
		}
		sso := *cfg.SSO
		if sso.GroupsClaim == "" {
			sso.GroupsClaim = "groups"
		}
		c.sso = &ssoClient{cfg: &sso}
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if name == "templates/layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).Funcs(template.FuncMap{"prefix": func() string { return c.cfg.Prefix }}).
			ParseFS(templateFS, "templates/layout.html", name)
		if err != nil {
			return nil, err
		}
		c.pages[name[len("templates/"):len(name)-len(".html")]] = t
	}
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("GET /login/code", c.codePage)
	mux.HandleFunc("POST /login/code", c.code)
	mux.HandleFunc("POST /logout", c.logout)
	mux.HandleFunc("POST /login/passkey/begin", c.passkeyStepBegin)
	mux.HandleFunc("POST /login/passkey/finish", c.passkeyStepFinish)
	mux.HandleFunc("POST /passkey-sign-in/begin", c.passkeyAloneBegin)
	mux.HandleFunc("POST /passkey-sign-in/finish", c.passkeyAloneFinish)
	mux.Handle("POST /passkeys/begin", c.authed(c.passkeyRegisterBegin))
	mux.Handle("POST /passkeys/finish", c.authed(c.passkeyRegisterFinish))
	mux.Handle("POST /operators/{id}/passkeys/{passkey}/revoke", c.authed(c.revokePasskey))
	mux.HandleFunc("GET /sso/start", c.ssoStart)
	mux.HandleFunc("GET /sso/callback", c.ssoCallback)
	mux.Handle("GET /{$}", c.authed(func(w http.ResponseWriter, r *http.Request) { c.redirect(w, r, "/users") }))
	mux.Handle("GET /users", c.authed(c.usersPage))
	mux.Handle("GET /users/new", c.authed(c.newUserPage))
	mux.Handle("POST /users", c.authed(c.createUser))
	mux.Handle("GET /users/{id}", c.authed(c.profilePage))
	mux.Handle("POST /users/{id}/{action}", c.authed(c.userAction))
	mux.Handle("POST /devices/{id}/{command}", c.authed(c.deviceCommand))
	mux.Handle("GET /operators", c.authed(c.operatorsPage))
	mux.Handle("GET /operators/new", c.authed(c.newOperatorPage))
	mux.Handle("POST /operators", c.authed(c.invite))
	mux.Handle("GET /operators/{id}", c.authed(c.operatorPage))
	mux.Handle("POST /operators/{id}/{action}", c.authed(c.operatorAction))
	mux.Handle("GET /roles", c.authed(c.matrixPage))
	mux.Handle("GET /settings", c.authed(c.settingsPage))
	mux.Handle("POST /settings", c.authed(c.saveSettings))
	mux.Handle("POST /settings/scim-tokens", c.authed(c.issueToken))
	mux.Handle("POST /settings/scim-tokens/{id}/{action}", c.authed(c.tokenAction))
	mux.Handle("POST /approvals", c.authed(c.requestApproval))
	mux.Handle("GET /approvals", c.authed(c.approvalsPage))
	mux.Handle("POST /approvals/{id}/{decision}", c.authed(c.decide))
	mux.Handle("GET /reviews", c.authed(c.reviewsPage))
	mux.Handle("POST /reviews", c.authed(c.startReview))
	mux.Handle("GET /reviews/{id}", c.authed(c.reviewPage))
	mux.Handle("POST /reviews/{id}", c.authed(c.decideLine))
	mux.Handle("GET /reviews/{id}/csv", c.authed(c.reviewCSV))
	mux.Handle("GET /audit", c.authed(c.auditPage))
	mux.Handle("POST /audit/verify-full", c.authed(c.verifyFull))
	mux.Handle("POST /audit/events/test", c.authed(c.sendTestEvent))
	mux.Handle("POST /audit/events/redeliver", c.authed(c.redeliverEvents))
	c.handler = headers(http.NewCrossOriginProtection().Handler(mux))
	return c, nil
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// redirect sends the browser to one of the console's own pages, under
// its prefix.
func (c *Console) redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, c.cfg.Prefix+path, http.StatusSeeOther)
}

// MaxForm bounds the body of every request to the console.
const MaxForm = 64 << 10

// csp allows the console's own stylesheet, its one script (passkey
// ceremonies, from this origin: no inline script, no eval) and its calls
// back, images drawn inline (the enrolment QR code), and nothing else: no
// frame, forms only to this origin.
const csp = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the security headers on every response.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		h.Set("Cache-Control", "no-store")
		// Every form is small: a body is cut off before it is parsed, so
		// an anonymous request costs bounded memory (B1).
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxForm)
		}
		next.ServeHTTP(w, WithPeer(r))
	})
}

// WithPeer records the request's peer address as its source, which a
// login records, unless the host recorded one already
// (accessctl.WithClientAddr). It trusts no forwarding header; a host
// behind its own proxy records the address the proxy vouches for.
func WithPeer(r *http.Request) *http.Request {
	if accessctl.ClientAddr(r.Context()) != "" {
		return r
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return r.WithContext(accessctl.WithClientAddr(r.Context(), host))
}

// setCookie sets an HttpOnly cookie on the whole site, Secure when the
// request came over TLS; maxAge < 0 deletes it. The session cookie is
// SameSite=Lax, so that the redirect back from the identity provider
// (a navigation from another site) still carries it; the login step's
// cookie is only ever sent by this site's own forms, so it is Strict.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	mode := http.SameSiteLaxMode
	if name == challengeCookie {
		mode = http.SameSiteStrictMode
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: c.cfg.Prefix + "/", MaxAge: maxAge, HttpOnly: true,
		Secure: c.secure(r), SameSite: mode})
}

// tenant is the request's tenant: the resolver's, the login form's
// field, or the configured one.
func (c *Console) tenant(r *http.Request) (backoffice.TenantID, bool) {
	switch {
	case c.cfg.TenantOf != nil:
		return c.cfg.TenantOf(r)
	case c.cfg.TenantField:
		t := strings.TrimSpace(r.PostFormValue("tenant"))
		return backoffice.TenantID(t), t != ""
	}
	return c.cfg.Tenant, true
}

// hostAuthed runs h for the operator the host authenticated.
func (c *Console) hostAuthed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := c.cfg.HostAuth(r)
		if !ok {
			http.Redirect(w, r, cmp.Or(c.cfg.HostLogin, "/"), http.StatusSeeOther)
			return
		}
		tenant, known := c.tenant(r)
		if !known {
			c.fail(w, r, backoffice.NewError(backoffice.ErrNotFound, "console", "no such tenant"))
			return
		}
		a, err := c.cfg.Ops.ActorOf(r.Context(), tenant, id)
		if err != nil {
			if errors.Is(err, backoffice.ErrUnauthenticated) {
				c.render(w, r, http.StatusForbidden, "error", "Error", nil, "Your account cannot use the back office now; ask an operator manager.")
				return
			}
			c.fail(w, r, err)
			return
		}
		if c.cfg.Authenticated != nil {
			c.cfg.Authenticated(r.Context(), a)
		}
		ctx := accessctl.NewContext(r.Context(), a)
		h(w, r.WithContext(context.WithValue(ctx, actorKey{}, a)))
	})
}

// secure reports whether cookies set in answer to r are Secure.
func (c *Console) secure(r *http.Request) bool { return c.cfg.SecureCookies || r.TLS != nil }

type actorKey struct{}

// authed runs h for a logged-in operator, with its actor in the context;
// anyone else, including an operator whose session ended since its last
// click (deactivated, blocked, logged out elsewhere), goes to the login
// page.
func (c *Console) authed(h http.HandlerFunc) http.Handler {
	if c.cfg.HostAuth != nil {
		return c.hostAuthed(h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(sessionCookie)
		if err != nil {
			c.redirect(w, r, "/login")
			return
		}
		a, err := c.cfg.Ops.Authenticate(r.Context(), backoffice.Secret(ck.Value))
		if tenant, known := c.tenant(r); err == nil && !c.cfg.TenantField && (!known || a.Tenant() != tenant) {
			// A session of another tenant's console (M2): not here.
			err = backoffice.NewError(backoffice.ErrUnauthenticated, "console", "this session is another tenant's")
		}
		if err == nil && c.cfg.Authenticated != nil {
			c.cfg.Authenticated(r.Context(), a)
		}
		if err != nil {
			if !errors.Is(err, backoffice.ErrUnauthenticated) {
				c.fail(w, r, err)
				return
			}
			c.setCookie(w, r, sessionCookie, "", -1)
			c.redirect(w, r, "/login")
			return
		}
		ctx := accessctl.NewContext(r.Context(), a)
		h(w, r.WithContext(context.WithValue(ctx, actorKey{}, a)))
	})
}

func actorOf(r *http.Request) *accessctl.Actor {
	a, _ := r.Context().Value(actorKey{}).(*accessctl.Actor)
	return a
}

// page is what every template gets.
type page struct {
	Title string
	Actor *accessctl.Actor
	Error string
	Data  any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any, msg string) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	// Rendered whole before a byte is sent, so a template error is a 500,
	// never half a page.
	var buf bytes.Buffer
	if err := t.Execute(&buf, page{Title: title, Actor: actorOf(r), Error: msg, Data: data}); err != nil {
		c.cfg.Log.ErrorContext(r.Context(), "console: render", "page", name, "err", err)
		http.Error(w, "the page could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail shows an error page with the status of the error's kind; the
// library's messages are written for operators, so they are shown.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, ok := kindOf(err)
	switch {
	case ok:
	case errors.Is(err, backoffice.ErrNotFound):
		status, msg = http.StatusNotFound, "Not found."
	case errors.Is(err, backoffice.ErrUnavailable):
		status, msg = http.StatusServiceUnavailable, "The service is unavailable; try again shortly."
	default:
		status, msg = http.StatusInternalServerError, "Something went wrong; try again."
		c.cfg.Log.ErrorContext(r.Context(), "console", "path", r.URL.Path, "err", err)
	}
	c.render(w, r, status, "error", "Error", nil, msg)
}

// kindOf gives the status and the message of a refusal the operator can
// act on (the library's messages are written for operators), and whether
// err is one.
func kindOf(err error) (int, string, bool) {
	if err == nil {
		return 0, "", false
	}
	var e *backoffice.Error
	msg := err.Error()
	if errors.As(err, &e) {
		msg = e.Msg
	}
	switch {
	case errors.Is(err, backoffice.ErrForbidden):
		return http.StatusForbidden, "You may not do this: " + msg, true
	case errors.Is(err, backoffice.ErrConflict), errors.Is(err, backoffice.ErrFailedPrecondition):
		return http.StatusConflict, msg, true
	case errors.Is(err, backoffice.ErrInvalid):
		return http.StatusUnprocessableEntity, msg, true
	}
	return 0, "", false
}
