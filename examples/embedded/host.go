package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/examples/adminapi/jsonapi"
	"github.com/backoffice-go/backoffice/examples/internal/demo"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
)

// tenants are the client companies this service serves, each at its own
// host name: acme.localhost, globex.localhost (browsers send *.localhost
// to the loopback interface).
var tenants = []backoffice.TenantID{"acme", "globex"}

// tenantOfHost is the tenant resolver: the first label of the host name.
func tenantOfHost(r *http.Request) (backoffice.TenantID, bool) {
	label, _, _ := strings.Cut(r.Host, ".")
	for _, t := range tenants {
		if string(t) == label {
			return t, true
		}
	}
	return "", false
}

// host is the service the back office is embedded in: its own pages,
// its own staff login, its own middleware; the console and the API of
// the back office mounted under /backoffice/.
type host struct {
	ops     *accessctl.Service
	users   *enduser.Service
	devices *scadevice.Service
	store   *memory.Store
	log     *slog.Logger
	key     []byte // signs the host's own staff cookie
	demoPW  map[backoffice.TenantID]backoffice.Secret
}

// newHost builds the service in memory with demo data for both tenants;
// the demo logins go to out.
func newHost(ctx context.Context, out io.Writer) (http.Handler, *host, error) {
	h := &host{store: memory.New(), log: slog.New(slog.NewTextHandler(out, nil)), key: make([]byte, 32), demoPW: map[backoffice.TenantID]backoffice.Secret{}}
	if _, err := rand.Read(h.key); err != nil {
		return nil, nil, err
	}
	wallets := jsonapi.NewWallets()
	ops, err := accessctl.NewService(accessctl.Config{Store: h.store})
	if err != nil {
		return nil, nil, err
	}
	users, err := enduser.NewService(enduser.Config{Store: h.store, Tenants: h.store, Balances: wallets, Approvals: ops})
	if err != nil {
		return nil, nil, err
	}
	devices, err := scadevice.NewService(scadevice.Config{Store: h.store, Users: h.store, Approvals: ops})
	if err != nil {
		return nil, nil, err
	}
	h.ops, h.users, h.devices = ops, users, devices
	for _, t := range tenants {
		name := strings.ToUpper(string(t[:1])) + string(t[1:])
		pw, err := demo.Load(ctx, demo.Services{Ops: ops, Users: users, Devices: devices, Wallets: wallets},
			demo.Options{Tenant: t, Name: name + " Corp", Domain: string(t) + ".example", EndUsers: 60}, io.Discard)
		if err != nil {
			return nil, nil, fmt.Errorf("demo data of %s: %w", t, err)
		}
		h.demoPW[t] = pw
	}

	// The back office: one API and one console for every tenant, each
	// request's tenant from its host name.
	api, err := jsonapi.New(jsonapi.Config{Ops: ops, Users: users, Devices: devices, Wallets: wallets, TenantOf: tenantOfHost,
		Prefix: "/backoffice/api", Log: h.log, FindOperator: h.store.OperatorByLogin})
	if err != nil {
		return nil, nil, err
	}
	con, err := console.New(console.Config{Ops: ops, Users: users, Devices: devices, TenantOf: tenantOfHost, Prefix: "/backoffice",
		Log: h.log, Limit: api.ConsoleLimit, Authenticated: jsonapi.NoteActor})
	if err != nil {
		return nil, nil, err
	}
	// The same console behind the host's own staff login (M3): no login
	// of the library's; the host names the operator.
	staff, err := console.New(console.Config{Ops: ops, Users: users, Devices: devices, TenantOf: tenantOfHost, Prefix: "/staff/backoffice",
		Log: h.log, Authenticated: jsonapi.NoteActor, HostAuth: h.staffOperator, HostLogin: "/login"})
	if err != nil {
		return nil, nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.home)
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("POST /logout", h.logout)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("/backoffice/api/", http.StripPrefix("/backoffice/api", api))
	mux.Handle("/backoffice/", http.StripPrefix("/backoffice", api.Middleware(con)))
	mux.Handle("/staff/backoffice/", http.StripPrefix("/staff/backoffice", api.Middleware(staff)))
	// One address for every company, the company typed on the login form.
	shared, err := console.New(console.Config{Ops: ops, Users: users, Devices: devices, TenantField: true, Prefix: "/shared/backoffice",
		Log: h.log, Limit: api.ConsoleLimit, Authenticated: jsonapi.NoteActor})
	if err != nil {
		return nil, nil, err
	}
	mux.Handle("/shared/backoffice/", http.StripPrefix("/shared/backoffice", api.Middleware(shared)))
	// A path segment names the tenant too: /t/acme/backoffice/ is acme's
	// console on any host name. The console's links carry one fixed
	// prefix, so each such path has a console of its own (the services
	// and the sessions are shared).
	for _, t := range tenants {
		prefix := "/t/" + string(t) + "/backoffice"
		c, err := console.New(console.Config{Ops: ops, Users: users, Devices: devices, Tenant: t, Prefix: prefix, Log: h.log,
			Limit: api.ConsoleLimit, Authenticated: jsonapi.NoteActor})
		if err != nil {
			return nil, nil, err
		}
		mux.Handle(prefix+"/", http.StripPrefix(prefix, api.Middleware(c)))
	}
	return h.middleware(mux), h, nil
}

// middleware is the host's own: a request id, a log line, recovery.
func (h *host) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if r.Header.Get("X-Request-Id") == "" {
			var b [9]byte
			_, _ = rand.Read(b[:])
			r.Header.Set("X-Request-Id", "host-"+base64.RawURLEncoding.EncodeToString(b[:]))
		}
		defer func() {
			if p := recover(); p != nil {
				h.log.Error("panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
			h.log.Info("host request", "method", r.Method, "path", r.URL.Path, "request_id", r.Header.Get("X-Request-Id"),
				"duration", time.Since(start))
		}()
		next.ServeHTTP(w, r)
	})
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Platform admin</title></head>
<body><h1>Platform admin</h1>
{{if .Tenant}}<p>Client company: <strong id="tenant">{{.Tenant}}</strong>{{if .Staff}} · signed in as {{.Staff}}{{end}}</p>
<ul><li><a href="/backoffice/">Back office</a> (its own login)</li>
<li><a href="/staff/backoffice/">Back office with your platform login</a></li>
<li><a href="/backoffice/api/openapi.json">API contract</a></li></ul>
{{else}}<p>Open a client company's address: {{range .Tenants}}<a href="http://{{.}}.localhost{{$.Port}}/">{{.}}</a> {{end}}</p>
<p>Or the <a href="/shared/backoffice/">back office for every company</a>, which asks for the company at login,
or a company's own path: {{range .Tenants}}<a href="/t/{{.}}/backoffice/">/t/{{.}}/backoffice/</a> {{end}}</p>{{end}}
</body></html>`))

func (h *host) home(w http.ResponseWriter, r *http.Request) {
	tenant, _ := tenantOfHost(r)
	staff := ""
	if id, ok := h.staffOperator(r); ok {
		if o, err := h.store.Operator(r.Context(), tenant, id); err == nil {
			staff = o.LoginName()
		}
	}
	port := ""
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = ":" + p
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = homePage.Execute(w, map[string]any{"Tenant": tenant, "Tenants": tenants, "Port": port, "Staff": staff})
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Platform login</title></head>
<body><h1>Platform staff login</h1>
<p>This stands in for the host's own login (its SSO, its staff directory).</p>
<form method="post" action="/login"><label>Staff login <input name="login" id="staff-login"></label>
<button type="submit">Sign in</button></form></body></html>`))

func (h *host) loginPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = loginPage.Execute(w, nil)
}

// login is the host's login stub: its staff directory is the tenant's
// operators, found by login name with no password (a real host asks its
// identity provider). It sets the host's own signed cookie.
func (h *host) login(w http.ResponseWriter, r *http.Request) {
	tenant, ok := tenantOfHost(r)
	if !ok {
		http.Error(w, "open a client company's address first", http.StatusNotFound)
		return
	}
	o, err := h.store.OperatorByLogin(r.Context(), tenant, r.PostFormValue("login"))
	if err != nil {
		http.Error(w, "no such staff member", http.StatusUnauthorized)
		return
	}
	value := string(tenant) + "|" + string(o.ID)
	http.SetCookie(w, &http.Cookie{Name: "host_staff", Value: value + "|" + h.sign(value), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/staff/backoffice/", http.StatusSeeOther)
}

func (h *host) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: "host_staff", Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *host) sign(value string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// staffOperator is the console's HostAuth: the operator of the host's own
// signed cookie, on its own tenant's address only.
func (h *host) staffOperator(r *http.Request) (accessctl.OperatorID, bool) {
	c, err := r.Cookie("host_staff")
	if err != nil {
		return "", false
	}
	i := strings.LastIndexByte(c.Value, '|')
	if i < 0 || !hmac.Equal([]byte(c.Value[i+1:]), []byte(h.sign(c.Value[:i]))) {
		return "", false
	}
	tenant, id, _ := strings.Cut(c.Value[:i], "|")
	if t, ok := tenantOfHost(r); !ok || string(t) != tenant {
		return "", false
	}
	return accessctl.OperatorID(id), true
}
