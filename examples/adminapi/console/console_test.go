package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

const pw = backoffice.Secret("Console-Test-Pass-42")

// env is the console on the test kit's services, with end users, a
// device, and operators of three roles who log in with a password.
type env struct {
	k      *memorytest.Kit
	srv    *httptest.Server
	ada    *enduser.EndUser
	device *scadevice.Device
	ops    map[string]*accessctl.Operator
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the console's configuration set by with.
func newEnvWith(t testing.TB, with func(k *memorytest.Kit, c *console.Config)) *env {
	t.Helper()
	k := memorytest.New(nil)
	cfg := console.Config{Ops: k.Ops, Users: k.Users, Devices: k.Devices, Tenant: k.Tenant, Now: k.Clock.Now}
	if with != nil {
		with(k, &cfg)
	}
	c, err := console.New(cfg)
	require.NoError(t, err)
	e := &env{k: k, srv: httptest.NewServer(c), ops: map[string]*accessctl.Operator{}}
	t.Cleanup(e.srv.Close)
	sys := k.System()
	for i := range 40 {
		u, err := k.Users.Create(sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: fmt.Sprintf("Person%02d", i),
			LastName: "Sample", Email: fmt.Sprintf("p%02d@example.test", i)})
		require.NoError(t, err)
		if i%5 == 0 { // a few validated users, for the status filter
			u, err = k.Users.RequestKYCReview(sys, u.ID, u.Version)
			require.NoError(t, err)
			_, err = k.Users.RecordKYCOutcome(sys, u.ID, u.Version, enduser.KYCValidated, "documents checked")
			require.NoError(t, err)
		}
		k.Clock.Advance(time.Hour)
	}
	e.ada, err = k.Users.Create(sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Ada", LastName: "Lovelace",
		Email: "ada@example.test", Tag: "vip"})
	require.NoError(t, err)
	self := accessctl.NewContext(context.Background(), accessctl.EndUserActor(k.Tenant, string(e.ada.ID)))
	d, err := k.Devices.Enrol(self, e.ada.ID, scadevice.Enrolment{Kind: scadevice.KindMobile, Tag: "phone", Info: "Pixel 9"})
	require.NoError(t, err)
	e.device, err = k.Devices.SetPasscode(self, d.ID, d.Version)
	require.NoError(t, err)
	for name, role := range map[string]accessctl.RoleName{"reader": accessctl.RoleReadOnly, "manager": accessctl.RoleManager,
		"chief": accessctl.RoleAdministrator} {
		o, err := k.Ops.CreateOperator(sys, accessctl.NewOperator{Username: name, Email: name + "@acme.test", FirstName: name, LastName: "Op",
			Roles: []accessctl.RoleName{role}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
		require.NoError(t, err)
		e.ops[name] = o
	}
	return e
}

// browser is a client with its own cookies, like a browser of its own.
func (e *env) browser(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar}
}

var secretRe = regexp.MustCompile(`<code id="secret">([A-Z2-7]+)</code>`)

// login logs the operator in through the pages: password, then the QR
// code's secret for a first login, then the code.
func (e *env) login(t testing.TB, c *http.Client, user string) {
	t.Helper()
	resp, body := e.post(t, c, "/login", url.Values{"username": {user}, "password": {string(pw)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var code string
	if m := secretRe.FindStringSubmatch(body); m != nil {
		require.Contains(t, body, `src="data:image/png;base64,`, "the QR code is drawn server-side")
		var err error
		code, err = accessctl.TOTPCode(backoffice.Secret(m[1]), e.k.Clock.Now())
		require.NoError(t, err)
	} else {
		code = e.k.Code(e.ops[user].ID)
	}
	resp, body = e.post(t, c, "/login/code", url.Values{"code": {code}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, "/users", resp.Request.URL.Path, "logged in, on the users list")
	e.k.Clock.Advance(31 * time.Second) // the next login needs the next code
}

func (e *env) get(t testing.TB, c *http.Client, path string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	require.NoError(t, err)
	return resp, read(t, resp)
}

func (e *env) post(t testing.TB, c *http.Client, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(e.srv.URL+path, form)
	require.NoError(t, err)
	return resp, read(t, resp)
}

func read(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// Every page, whatever its answer, carries the security headers.
func TestHeadersOnEveryPage(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	check := func(path string, resp *http.Response) {
		t.Helper()
		h := resp.Header
		// The one script is the console's own file: no inline script, no
		// eval, calls only back to this origin.
		assert.Equal(t, "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
			h.Get("Content-Security-Policy"), path)
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), path)
		assert.Equal(t, "DENY", h.Get("X-Frame-Options"), path)
		assert.Equal(t, "same-origin", h.Get("Referrer-Policy"), path)
		if !strings.HasPrefix(path, "/static/") {
			assert.Equal(t, "no-store", h.Get("Cache-Control"), path)
		}
	}
	for _, p := range []string{"/login", "/login/code", "/users", "/static/console.css", "/nowhere"} {
		resp, _ := e.get(t, c, p)
		check(p, resp)
	}
	e.login(t, c, "chief")
	for _, p := range []string{"/", "/users", "/users/new", "/users?status=validated", "/users?name=ada", "/users?from=bad",
		"/users/" + string(e.ada.ID), "/users/none"} {
		resp, _ := e.get(t, c, p)
		check(p, resp)
	}
	op := "/operators/" + string(e.ops["manager"].ID)
	for _, p := range []string{"/operators", "/operators?status=active", "/operators/new", "/operators/new?from=" + string(e.ops["manager"].ID),
		op, op + "?tab=sessions", op + "?tab=history", "/roles", "/settings", "/approvals", "/reviews", "/audit"} {
		resp, body := e.get(t, c, p)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		check(p, resp)
	}
	for _, tab := range []string{"profile", "kyc", "tax", "children", "devices", "history"} {
		p := "/users/" + string(e.ada.ID) + "?tab=" + tab
		resp, body := e.get(t, c, p)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		check(p, resp)
	}
}

// The session cookie is HttpOnly and SameSite=Lax, and a new one is made
// at every login.
func TestSessionCookie(t *testing.T) {
	e := newEnv(t)
	var tokens []string
	for range 2 {
		c := e.browser(t)
		e.login(t, c, "manager")
		u, _ := url.Parse(e.srv.URL)
		var found bool
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == "bo_session" {
				found = true
				tokens = append(tokens, ck.Value)
			}
		}
		require.True(t, found)
	}
	assert.NotEqual(t, tokens[0], tokens[1])
	// The header itself, as the browser gets it.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	resp, body := e.post(t, c, "/login", url.Values{"username": {"manager"}, "password": {string(pw)}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	assert.Regexp(t, `bo_login=[^;]+; Path=/; Max-Age=300; HttpOnly; SameSite=Strict`, resp.Header.Get("Set-Cookie"))
	resp, _ = e.post(t, c, "/login/code", url.Values{"code": {e.k.Code(e.ops["manager"].ID)}})
	set := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	assert.Regexp(t, `bo_session=[^;]+; Path=/; Max-Age=\d+; HttpOnly; SameSite=Lax`, set)

	// Behind a proxy that ends TLS, the cookies are Secure all the same.
	secure, err := console.New(console.Config{Ops: e.k.Ops, Users: e.k.Users, Devices: e.k.Devices, Tenant: e.k.Tenant, Now: e.k.Clock.Now,
		SecureCookies: true})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"username": {"manager"}, "password": {string(pw)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	secure.ServeHTTP(rec, req)
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	assert.Regexp(t, `bo_login=[^;]+; .*; HttpOnly; Secure; SameSite=Strict`, rec.Header().Get("Set-Cookie"))
}

// A form posted from another origin is refused before it does anything.
func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	e.login(t, c, "chief")
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/devices/"+string(e.device.ID)+"/lock",
		strings.NewReader(url.Values{"version": {fmt.Sprint(e.device.Version)}, "reason": {"lost_or_stolen"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	require.NoError(t, err)
	read(t, resp)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	d, err := e.k.Devices.Device(e.k.System(), e.device.ID)
	require.NoError(t, err)
	assert.Equal(t, scadevice.StatusActive, d.Status, "nothing changed")
}

// A wrong password keeps the username typed and says the one refusal.
func TestLoginRefusalKeepsWhatWasTyped(t *testing.T) {
	e := newEnv(t)
	resp, body := e.post(t, e.browser(t), "/login", url.Values{"username": {"manager"}, "password": {"Wrong-Password-1"}})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, `value="manager"`)
	assert.Contains(t, body, "Wrong username or password")
	assert.NotContains(t, body, "Wrong-Password-1")
}

// A Read-only operator sees no device command, and the service refuses
// one posted by hand from the console's own origin.
func TestReadOnlySeesNoCommands(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	e.login(t, c, "reader")
	_, body := e.get(t, c, "/users/"+string(e.ada.ID)+"?tab=devices")
	assert.Contains(t, body, "Pixel 9")
	for _, button := range []string{`class="lock"`, `class="unlock"`, `class="reset-pin"`, `delete"`} {
		assert.NotContains(t, body, button)
	}
	resp, _ := e.post(t, c, "/devices/"+string(e.device.ID)+"/lock", url.Values{"version": {fmt.Sprint(e.device.Version)}, "reason": {"lost_or_stolen"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	for _, tab := range []string{"profile", "kyc", "tax"} {
		_, body = e.get(t, c, "/users/"+string(e.ada.ID)+"?tab="+tab)
		for _, form := range []string{"save-profile", "action-", "add-tax", "record-kyc", `class="danger"`} {
			assert.NotContains(t, body, form, tab)
		}
	}
	_, body = e.get(t, c, "/users")
	assert.NotContains(t, body, `id="new-user"`)
	resp, _ = e.post(t, c, "/users/"+string(e.ada.ID)+"/profile", url.Values{"version": {"1"}, "first_name": {"Hacked"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// Search, filters and pages of the All Users screen; the profile board;
// a device locked with a reason, then unlocked.
func TestUsersAndDevices(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	e.login(t, c, "manager")
	_, body := e.get(t, c, "/users?name=lovel")
	assert.Contains(t, body, "Ada Lovelace")
	assert.NotContains(t, body, "Person01")
	_, body = e.get(t, c, "/users")
	assert.Equal(t, 25, strings.Count(body, `<tr><td><a href="/users/`), "a page of 25")
	next := regexp.MustCompile(`id="next" href="([^"]+)"`).FindStringSubmatch(body)
	require.NotNil(t, next)
	_, body = e.get(t, c, strings.ReplaceAll(next[1], "&amp;", "&"))
	assert.Equal(t, 16, strings.Count(body, `<tr><td><a href="/users/`), "the rest")
	resp, body := e.get(t, c, "/users?from=yesterday")
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, "a date, YYYY-MM-DD")
	assert.Contains(t, body, `value="yesterday"`, "what was typed stays")
	_, body = e.get(t, c, "/users?status=canceled")
	assert.Contains(t, body, "No user matches.")

	_, body = e.get(t, c, "/users/"+string(e.ada.ID))
	assert.Contains(t, body, "ada@example.test")
	devices := "/users/" + string(e.ada.ID) + "?tab=devices"
	_, body = e.get(t, c, devices)
	require.Contains(t, body, `class="lock"`)
	resp, body = e.post(t, c, "/devices/"+string(e.device.ID)+"/lock", url.Values{"version": {fmt.Sprint(e.device.Version)},
		"reason": {string(scadevice.ReasonSuspectedFraud)}, "message": {"called the bank"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "Locked: suspected_fraud")
	assert.Contains(t, body, `class="unlock"`)
	d, err := e.k.Devices.Device(e.k.System(), e.device.ID)
	require.NoError(t, err)
	resp, body = e.post(t, c, "/devices/"+string(d.ID)+"/unlock", url.Values{"version": {fmt.Sprint(d.Version)}, "identity_verified": {"yes"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `class="lock"`, "active again")
}

// An operator deactivated while logged in is sent to the login page at
// its next click.
func TestDeactivatedOperatorIsLoggedOut(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	e.login(t, c, "manager")
	o, err := e.k.Ops.Operator(e.k.System(), e.ops["manager"].ID)
	require.NoError(t, err)
	_, err = e.k.Ops.DeactivateOperator(e.k.System(), o.ID, o.Version)
	require.NoError(t, err)
	resp, _ := e.get(t, c, "/users")
	assert.Equal(t, "/login", resp.Request.URL.Path)
}

// A device command the service refuses shows the devices tab again, with
// the reason next to the field and what was typed kept; a stale page's
// command says the device changed.
func TestRefusedCommandKeepsTheForm(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	e.login(t, c, "manager")
	long := strings.Repeat("x", 501)
	resp, body := e.post(t, c, "/devices/"+string(e.device.ID)+"/lock", url.Values{"version": {fmt.Sprint(e.device.Version)},
		"reason": {string(scadevice.ReasonCompromised)}, "message": {long}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, `value="`+long+`"`)
	assert.Contains(t, body, `id="error-message"`)
	assert.Regexp(t, `value="compromised" selected`, body)
	resp, body = e.post(t, c, "/devices/"+string(e.device.ID)+"/lock", url.Values{"version": {"99"}, "reason": {"other"}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Contains(t, body, "changed since you read it")
	assert.Contains(t, body, `class="lock"`, "the board, with the device as it is")
}
