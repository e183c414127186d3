package console_test

import (
	"net/http"
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

var urlAttr = regexp.MustCompile(`(?:href|action|src|data-begin|data-finish)="([^"]*)"`)

// M1 (the console half): mounted under a prefix in a host's own mux,
// every link, form, asset, redirect and cookie of the console carries the
// prefix; the host's own pages keep their headers.
func TestUnderAPrefix(t *testing.T) {
	k := memorytest.New(nil)
	c, err := console.New(console.Config{Ops: k.Ops, Users: k.Users, Devices: k.Devices, Tenant: k.Tenant, Now: k.Clock.Now, Prefix: "/backoffice"})
	require.NoError(t, err)
	host := http.NewServeMux()
	host.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		_, _ = w.Write([]byte("the host's home page"))
	})
	host.Handle("/backoffice/", http.StripPrefix("/backoffice", c))
	srv := httptest.NewServer(host)
	t.Cleanup(srv.Close)
	sys := k.System()
	_, err = k.Ops.CreateOperator(sys, accessctl.NewOperator{Username: "grace", Email: "grace@acme.test", FirstName: "Grace", LastName: "Hopper",
		Roles: []accessctl.RoleName{accessctl.RoleAdministrator}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
	require.NoError(t, err)

	e := &env{srv: srv}
	b := e.browser(t)
	checked := 0
	links := func(page, body string) {
		t.Helper()
		for _, m := range urlAttr.FindAllStringSubmatch(body, -1) {
			checked++
			u := m[1]
			if strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "#") || strings.HasPrefix(u, "http") {
				continue
			}
			assert.True(t, strings.HasPrefix(u, "/backoffice/"), "%s: %q is outside the prefix", page, u)
		}
	}
	resp, body := e.get(t, b, "/backoffice/login")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	links("login", body)
	// Log in: the redirects stay under the prefix, the cookies too.
	resp, body = e.post(t, b, "/backoffice/login", url.Values{"username": {"grace"}, "password": {string(pw)}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	links("code", body)
	secret := regexp.MustCompile(`id="secret">([^<]+)<`).FindStringSubmatch(body)
	require.NotNil(t, secret, body)
	code, err := accessctl.TOTPCode(backoffice.Secret(secret[1]), k.Clock.Now())
	require.NoError(t, err)
	resp, body = e.post(t, b, "/backoffice/login/code", url.Values{"code": {code}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "/backoffice/users", resp.Request.URL.Path, "the login lands under the prefix")
	u, _ := url.Parse(srv.URL + "/backoffice/")
	assert.NotEmpty(t, b.Jar.Cookies(u), "the session cookie is the console's path's")
	root, _ := url.Parse(srv.URL + "/")
	assert.Empty(t, b.Jar.Cookies(root), "and not the host's root")
	for _, page := range []string{"/backoffice/users", "/backoffice/operators", "/backoffice/roles", "/backoffice/settings",
		"/backoffice/approvals", "/backoffice/reviews", "/backoffice/audit"} {
		resp, body := e.get(t, b, page)
		require.Equal(t, http.StatusOK, resp.StatusCode, page)
		links(page, body)
	}
	assert.Greater(t, checked, 50, "the pages' links were read")
	resp, _ = e.get(t, b, "/backoffice/static/console.css")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = e.get(t, b, "/backoffice/static/passkey.js")
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// The host's own page keeps its own headers.
	resp, _ = e.get(t, b, "/")
	assert.Equal(t, "default-src 'self'", resp.Header.Get("Content-Security-Policy"))

	resp, _ = e.post(t, b, "/backoffice/logout", nil)
	assert.Equal(t, "/backoffice/login", resp.Request.URL.Path)

	_, err = console.New(console.Config{Ops: k.Ops, Users: k.Users, Devices: k.Devices, Tenant: k.Tenant, Prefix: "backoffice/"})
	require.Error(t, err, "a prefix is a path with a leading slash and no trailing one")
}
