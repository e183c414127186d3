package console_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// hostTransport sends every request with the Host header of a tenant's
// console (acme.admin.test, beta.admin.test) to the one test server.
type hostTransport struct{ host string }

func (h hostTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Host = h.host
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return http.DefaultTransport.RoundTrip(r)
}

// twoTenants is a kit with tenants acme and beta, and an Administrator
// in each: ann of acme, bob of beta.
func twoTenants(t *testing.T) *memorytest.Kit {
	t.Helper()
	k := memorytest.New(nil) // tenant "acme"
	_, err := k.Ops.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "beta", Name: "Beta", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "boss", Email: "boss@beta.test", FirstName: "Beta", LastName: "Boss", Password: pw, PasswordConfirmation: pw}})
	require.NoError(t, err)
	for tenant, name := range map[backoffice.TenantID]string{"acme": "ann", "beta": "bob"} {
		_, err := k.Ops.CreateOperator(accessctl.NewContext(context.Background(), accessctl.SystemActor(tenant, "test")), accessctl.NewOperator{
			Username: name, Email: name + "@" + string(tenant) + ".test", FirstName: name, LastName: string(tenant),
			Roles: []accessctl.RoleName{accessctl.RoleAdministrator}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
		require.NoError(t, err)
	}
	return k
}

// M2: one console serves every tenant, resolving each request's tenant
// from the host name; an operator logs in on its own tenant's console,
// and its session is good nowhere else: on another tenant's console every
// page sends it to the login page, and that tenant's data never shows.
func TestOneConsoleForEveryTenant(t *testing.T) {
	k := twoTenants(t)
	c, err := console.New(console.Config{Ops: k.Ops, Users: k.Users, Devices: k.Devices, Now: k.Clock.Now,
		TenantOf: func(r *http.Request) (backoffice.TenantID, bool) {
			host, _, _ := strings.Cut(r.Host, ".")
			switch host {
			case "acme", "beta":
				return backoffice.TenantID(host), true
			}
			return "", false
		}})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil) // one browser: its cookies go to every tenant's host
	require.NoError(t, err)
	browser := func(tenant string) *http.Client {
		return &http.Client{Jar: jar, Transport: hostTransport{host: tenant + ".admin.test"}}
	}
	e := &env{srv: srv}
	login := func(tenant, user string) {
		t.Helper()
		b := browser(tenant)
		resp, body := e.post(t, b, "/login", url.Values{"username": {user}, "password": {string(pw)}})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		secret := regexp.MustCompile(`id="secret">([^<]+)<`).FindStringSubmatch(body)
		require.NotNil(t, secret, body)
		code, err := accessctl.TOTPCode(backoffice.Secret(secret[1]), k.Clock.Now())
		require.NoError(t, err)
		resp, body = e.post(t, b, "/login/code", url.Values{"code": {code}})
		require.Equal(t, "/users", resp.Request.URL.Path, body)
	}
	// Bob of beta cannot log in on acme's console.
	resp, _ := e.post(t, browser("acme"), "/login", url.Values{"username": {"bob"}, "password": {string(pw)}})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	login("acme", "ann")
	_, body := e.get(t, browser("acme"), "/operators")
	assert.Contains(t, body, "ann@acme.test")
	for _, page := range []string{"/users", "/operators", "/roles", "/settings", "/approvals", "/reviews", "/audit"} {
		resp, body := e.get(t, browser("beta"), page)
		assert.Equal(t, "/login", resp.Request.URL.Path, "%s on beta's console with acme's session", page)
		assert.NotContains(t, body, "bob@beta.test")
		assert.NotContains(t, body, "ann@acme.test")
	}
	// An unknown host is no tenant.
	resp, _ = e.post(t, browser("nobody"), "/login", url.Values{"username": {"ann"}, "password": {string(pw)}})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	// Beta's own operator on beta's console.
	k.Clock.Advance(31_000_000_000)
	login("beta", "bob")
	_, body = e.get(t, browser("beta"), "/operators")
	assert.Contains(t, body, "bob@beta.test")
	assert.NotContains(t, body, "ann@acme.test")
}

// M2 with the tenant typed on the login form: operators of acme and beta
// share one address; each logs in by naming its company, and its session
// acts in that company only, whatever a later form says; a login naming
// the wrong company is the one refusal.
func TestTenantTypedOnTheLoginForm(t *testing.T) {
	k := twoTenants(t)
	_, err := console.New(console.Config{Ops: k.Ops, Users: k.Users, Devices: k.Devices, TenantField: true,
		TenantOf: func(*http.Request) (backoffice.TenantID, bool) { return "acme", true }})
	require.Error(t, err, "the field and a resolver do not go together")
	c, err := console.New(console.Config{Ops: k.Ops, Users: k.Users, Devices: k.Devices, Now: k.Clock.Now, TenantField: true})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	e := &env{srv: srv}
	browser := func() *http.Client {
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		return &http.Client{Jar: jar, Transport: hostTransport{host: strings.TrimPrefix(srv.URL, "http://")}}
	}
	_, body := e.get(t, browser(), "/login")
	assert.Contains(t, body, `id="tenant"`, "the form asks for the company")

	// Bob of beta, naming acme: the one refusal, the company kept.
	b := browser()
	resp, body := e.post(t, b, "/login", url.Values{"tenant": {"acme"}, "username": {"bob"}, "password": {string(pw)}})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, "Wrong company, username or password")
	assert.Contains(t, body, `value="acme"`)
	resp, _ = e.post(t, b, "/login", url.Values{"username": {"bob"}, "password": {string(pw)}})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no company, no login")

	login := func(b *http.Client, tenant, user string) {
		t.Helper()
		resp, body := e.post(t, b, "/login", url.Values{"tenant": {tenant}, "username": {user}, "password": {string(pw)}})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		secret := regexp.MustCompile(`id="secret">([^<]+)<`).FindStringSubmatch(body)
		require.NotNil(t, secret, body)
		code, err := accessctl.TOTPCode(backoffice.Secret(secret[1]), k.Clock.Now())
		require.NoError(t, err)
		resp, body = e.post(t, b, "/login/code", url.Values{"code": {code}})
		require.Equal(t, "/users", resp.Request.URL.Path, body)
	}
	ann, bob := browser(), browser()
	login(ann, "acme", "ann")
	k.Clock.Advance(31_000_000_000)
	login(bob, "beta", "bob")
	_, body = e.get(t, ann, "/operators")
	assert.Contains(t, body, "ann@acme.test")
	assert.NotContains(t, body, "bob@beta.test")
	_, body = e.get(t, bob, "/operators")
	assert.Contains(t, body, "bob@beta.test")
	assert.NotContains(t, body, "ann@acme.test")
	// A form naming the other company changes nothing: the session acts in
	// its own.
	resp, body = e.post(t, ann, "/operators?tenant=beta", url.Values{"tenant": {"beta"}})
	assert.NotContains(t, body, "bob@beta.test")
	assert.NotEqual(t, http.StatusInternalServerError, resp.StatusCode)
}
