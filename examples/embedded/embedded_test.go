package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/scadevice"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// started is the example's service on a loopback port.
type started struct {
	h    *host
	port string
}

func start(t *testing.T) started {
	t.Helper()
	handler, h, err := newHost(context.Background(), io.Discard)
	require.NoError(t, err)
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	return started{h: h, port: port}
}

func (s started) url(tenant, path string) string {
	return "http://" + tenant + ".localhost:" + s.port + path
}

// sample is a physical person of the tenant with a device, for the
// search, the profile and the device command.
func (s started) sample(t *testing.T, tenant backoffice.TenantID) (*enduser.EndUser, *scadevice.Device) {
	t.Helper()
	ctx := accessctl.NewContext(context.Background(), accessctl.SystemActor(tenant, "test"))
	ty := enduser.TypePhysicalPerson
	page, err := s.h.users.List(ctx, enduser.Filter{Type: &ty}, backoffice.PageRequest{Limit: 50})
	require.NoError(t, err)
	for _, u := range page.Items {
		ds, err := s.h.devices.Devices(ctx, u.ID)
		require.NoError(t, err)
		for _, d := range ds {
			if d.Status == scadevice.StatusActive {
				return u, d
			}
		}
	}
	t.Fatalf("%s has no physical person with an active device", tenant)
	return nil, nil
}

// M1-M3 in a real browser against examples/embedded: on each tenant's
// host name, under /backoffice/, an operator logs in (password, then the
// TOTP code), searches a customer, opens the profile, locks a device and
// logs out; acme's operator, logged in, opens a customer of globex by its
// id in acme's console and finds nothing; the platform's own staff login
// opens the console as the operator it names.
func TestEmbeddedInTheBrowser(t *testing.T) {
	s := start(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(testserver.Chromium(t)), chromedp.WindowSize(1280, 860),
		chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("host-resolver-rules", "MAP *.localhost 127.0.0.1"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		return v
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		return v
	}

	globexUser, _ := s.sample(t, "globex")
	for _, tenant := range []backoffice.TenantID{"acme", "globex"} {
		u, d := s.sample(t, tenant)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(s.url(string(tenant), "/backoffice/")),
			chromedp.WaitVisible(chromedp.ID("username")),
		), tenant)
		assert.Equal(t, s.url(string(tenant), "/backoffice/login"), location())
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("username"), "demo_admin"),
			chromedp.SendKeys(chromedp.ID("password"), string(s.h.demoPW[tenant])),
			through(chromedp.ID("login")),
			chromedp.WaitVisible(chromedp.ID("secret")),
		))
		code, err := accessctl.TOTPCode(backoffice.Secret(text("#secret")), time.Now())
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("code"), code),
			through(chromedp.ID("verify")),
			chromedp.WaitVisible(chromedp.ID("users")),
		))
		assert.Equal(t, s.url(string(tenant), "/backoffice/users"), location())

		// Search by the customer's last name, open the profile.
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("search-name"), u.LastName),
			through(chromedp.ID("search")),
			chromedp.WaitVisible(chromedp.ID("users")),
		))
		assert.Contains(t, text("#users tbody"), u.FirstName+" "+u.LastName)
		assert.Contains(t, location(), "/backoffice/users?")
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(s.url(string(tenant), "/backoffice/users/"+string(u.ID))),
			chromedp.WaitVisible(chromedp.ID("tab-devices")),
		))
		assert.Contains(t, text("main"), u.Email)

		// A device command: lock with a reason.
		require.NoError(t, chromedp.Do(ctx,
			through(chromedp.ID("tab-devices")),
			chromedp.WaitVisible(chromedp.CSS("#device-"+string(d.ID)+" button.lock")),
			chromedp.SetValue(chromedp.CSS("#device-"+string(d.ID)+" select.reason"), string(scadevice.ReasonSuspectedFraud)),
			through(chromedp.CSS("#device-"+string(d.ID)+" button.lock")),
			chromedp.WaitVisible(chromedp.CSS("#device-"+string(d.ID)+" button.unlock")),
		))
		assert.Contains(t, location(), "/backoffice/")
		got, err := s.h.devices.Device(accessctl.NewContext(context.Background(), accessctl.SystemActor(tenant, "test")), d.ID)
		require.NoError(t, err)
		assert.Equal(t, scadevice.StatusLocked, got.Status, "locked through the mounted console")

		if tenant == "acme" {
			// Cross-tenant: globex's customer by its id in acme's console.
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(s.url("acme", "/backoffice/users/"+string(globexUser.ID))),
				chromedp.WaitReady(chromedp.CSS("body")),
			))
			body := text("body")
			assert.Contains(t, body, "Not found")
			assert.NotContains(t, body, globexUser.Email)
		}

		// Log out: back to the login page, under the prefix.
		require.NoError(t, chromedp.Do(ctx,
			through(chromedp.CSS("form.who button")),
			chromedp.WaitVisible(chromedp.ID("username")),
		))
		assert.Equal(t, s.url(string(tenant), "/backoffice/login"), location())
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(s.url(string(tenant), "/backoffice/users")),
			chromedp.WaitVisible(chromedp.ID("username")),
		))
	}

	// The platform's own login (M3): the console opens as the operator the
	// platform named, with no login of the library's.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.url("acme", "/staff/backoffice/users")),
		chromedp.WaitVisible(chromedp.ID("staff-login")),
		chromedp.SendKeys(chromedp.ID("staff-login"), "demo_read_only"),
		through(chromedp.CSS("button")),
		chromedp.WaitVisible(chromedp.ID("users")),
	))
	assert.Contains(t, text("form.who"), "demo_read_only")
	assert.Contains(t, location(), "/staff/backoffice/")
}

// through clicks sel and waits for the page it loads.
func through[S chromedp.Selectable](sel S) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for _, a := range []chromedp.Action[chromedp.Void]{
			chromedp.SetAttributeValue(chromedp.CSS("body"), "data-left", "1"),
			chromedp.Click(sel),
			chromedp.WaitNotPresent(chromedp.CSS("body[data-left]")),
			chromedp.WaitReady(chromedp.CSS("body")),
		} {
			if _, err := a(ctx, t); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, nil
	}
}

// hostClient sends every request to the example with the host name of a
// tenant.
type hostClient struct {
	base, host string
}

// do sends one request and checks the exchange against the OpenAPI
// document the mounted API serves, whose server URL is the prefix.
func (c hostClient) do(t *testing.T, k *apiContract, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var sent []byte
	if body != nil {
		var err error
		sent, err = json.Marshal(body)
		require.NoError(t, err)
	}
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(sent))
	require.NoError(t, err)
	req.Host = c.host
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	k.check(t, req, sent, resp, raw)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(t, json.Unmarshal(raw, &out))
	}
	return resp.StatusCode, out
}

type apiContract struct {
	doc    *openapi3.T
	router routers.Router
}

func (k *apiContract) check(t *testing.T, req *http.Request, sent []byte, resp *http.Response, raw []byte) {
	t.Helper()
	// The document's server is the prefix; match the request's path on it.
	r := req.Clone(context.Background())
	r.Host, r.URL.Host = "", ""
	route, params, err := k.router.FindRoute(r)
	require.NoError(t, err, "%s %s is a route of the contract under its server URL", req.Method, req.URL.Path)
	r.Body = io.NopCloser(bytes.NewReader(sent))
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in), "%s %s request", req.Method, req.URL.Path)
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(raw))}
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), out), "%s %s answered %d %s", req.Method, req.URL.Path, resp.StatusCode, raw)
}

// The end-to-end contract, against the API mounted under
// /backoffice/api/ for each tenant's host name: the document it serves
// names the prefix as its server; a login, the operator's own account,
// a search, a profile, a device lock and a logout each match it; a
// session of one tenant is refused on the other's address.
func TestEmbeddedAPIContract(t *testing.T) {
	s := start(t)
	base := "http://127.0.0.1:" + s.port
	get, err := http.NewRequest("GET", base+"/backoffice/api/openapi.json", nil)
	require.NoError(t, err)
	get.Host = "acme.localhost"
	resp, err := http.DefaultClient.Do(get)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(loader.Context))
	require.Len(t, doc.Servers, 1)
	assert.Equal(t, "/backoffice/api", doc.Servers[0].URL)
	router, err := gorillamux.NewRouter(doc)
	require.NoError(t, err)
	k := &apiContract{doc: doc, router: router}

	sessions := map[backoffice.TenantID]string{}
	for _, tenant := range []backoffice.TenantID{"acme", "globex"} {
		c := hostClient{base: base, host: string(tenant) + ".localhost"}
		status, res := c.do(t, k, "POST", "/backoffice/api/v1/login", "", map[string]string{"login": "demo_admin", "password": string(s.h.demoPW[tenant])})
		require.Equal(t, http.StatusOK, status, res)
		enrol, _ := res["mfa_enrolment"].(map[string]any)
		code, err := accessctl.TOTPCode(backoffice.Secret(enrol["secret"].(string)), time.Now())
		require.NoError(t, err)
		status, res = c.do(t, k, "POST", "/backoffice/api/v1/login/mfa", "", map[string]string{"challenge": res["challenge"].(string), "code": code})
		require.Equal(t, http.StatusOK, status, res)
		token := res["session"].(string)
		sessions[tenant] = token

		status, res = c.do(t, k, "GET", "/backoffice/api/v1/me", token, nil)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, string(tenant), res["tenant"])
		u, d := s.sample(t, tenant)
		status, res = c.do(t, k, "GET", "/backoffice/api/v1/endusers/search?name="+u.LastName, token, nil)
		require.Equal(t, http.StatusOK, status)
		assert.NotEmpty(t, res["items"])
		status, _ = c.do(t, k, "GET", "/backoffice/api/v1/endusers/"+string(u.ID), token, nil)
		require.Equal(t, http.StatusOK, status)
		status, res = c.do(t, k, "POST", "/backoffice/api/v1/devices/"+string(d.ID)+"/lock", token,
			map[string]any{"version": d.Version, "reason": "suspected_fraud", "message": "contract test"})
		require.Equal(t, http.StatusOK, status, res)
		assert.Equal(t, "locked", res["status"])
	}
	acme := hostClient{base: base, host: "acme.localhost"}
	globex := hostClient{base: base, host: "globex.localhost"}
	status, _ := globex.do(t, k, "GET", "/backoffice/api/v1/me", sessions["acme"], nil)
	assert.Equal(t, http.StatusUnauthorized, status, "acme's session on globex's address")
	status, _ = acme.do(t, k, "POST", "/backoffice/api/v1/logout", sessions["acme"], nil)
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = acme.do(t, k, "GET", "/backoffice/api/v1/me", sessions["acme"], nil)
	assert.Equal(t, http.StatusUnauthorized, status, "logged out")
}

// The two other resolvers of M2 over plain HTTP, on the bare loopback
// address: the company typed on the shared console's login form, and a
// company's own path; each session sees its own company's customers only.
func TestEmbeddedTenantByFieldAndPath(t *testing.T) {
	s := start(t)
	base := "http://127.0.0.1:" + s.port
	acmeUser, _ := s.sample(t, "acme")
	globexUser, _ := s.sample(t, "globex")
	secretRe := regexp.MustCompile(`id="secret">([^<]+)<`)
	login := func(prefix string, form url.Values) *http.Client {
		t.Helper()
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		c := &http.Client{Jar: jar}
		post := func(path string, v url.Values) (*http.Response, string) {
			req, err := http.NewRequest("POST", base+prefix+path, strings.NewReader(v.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := c.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			return resp, string(body)
		}
		resp, body := post("/login", form)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		m := secretRe.FindStringSubmatch(body)
		require.NotNil(t, m, body)
		code, err := accessctl.TOTPCode(backoffice.Secret(m[1]), time.Now())
		require.NoError(t, err)
		resp, body = post("/login/code", url.Values{"code": {code}})
		require.Equal(t, prefix+"/users", resp.Request.URL.Path, body)
		return c
	}
	page := func(c *http.Client, path string) string {
		t.Helper()
		resp, err := c.Get(base + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		return string(body)
	}

	globex := login("/shared/backoffice", url.Values{"tenant": {"globex"}, "username": {"demo_admin"}, "password": {string(s.h.demoPW["globex"])}})
	body := page(globex, "/shared/backoffice/users/"+string(globexUser.ID))
	assert.Contains(t, body, globexUser.Email)
	body = page(globex, "/shared/backoffice/users/"+string(acmeUser.ID))
	assert.NotContains(t, body, acmeUser.Email, "globex's session opens no acme customer")

	acme := login("/t/acme/backoffice", url.Values{"username": {"demo_admin"}, "password": {string(s.h.demoPW["acme"])}})
	assert.Contains(t, page(acme, "/t/acme/backoffice/users/"+string(acmeUser.ID)), acmeUser.Email)
	assert.NotContains(t, page(acme, "/t/acme/backoffice/users/"+string(globexUser.ID)), globexUser.Email)
	assert.Contains(t, page(acme, "/t/globex/backoffice/users"), `id="username"`, "acme's session is no session on globex's path")
}
