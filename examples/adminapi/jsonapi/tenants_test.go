package jsonapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
)

// twoTenants is one store with tenants acme (Administrator root) and
// beta (Administrator boss), and beta's data of every kind a route names
// by id.
type twoTenants struct {
	ops     *accessctl.Service
	users   *enduser.Service
	devices *scadevice.Service
	wallets *Wallets
	store   *memory.Store
	// beta's ids by path parameter, and what only beta's data holds.
	boss, betaUser, betaDevice, betaRole, betaToken, betaApproval, betaReview, betaResidence string
}

const betaMarker = "Beta-Only-Marker"

func newTwoTenants(t testing.TB) *twoTenants {
	t.Helper()
	k := &twoTenants{store: memory.New(), wallets: NewWallets()}
	var err error
	k.ops, err = accessctl.NewService(accessctl.Config{Store: k.store})
	require.NoError(t, err)
	k.users, err = enduser.NewService(enduser.Config{Store: k.store, Tenants: k.store, Balances: k.wallets, Approvals: k.ops})
	require.NoError(t, err)
	k.devices, err = scadevice.NewService(scadevice.Config{Store: k.store, Users: k.store, Approvals: k.ops})
	require.NoError(t, err)
	ctx := context.Background()
	for tenant, admin := range map[backoffice.TenantID]string{"acme": "root", "beta": "boss"} {
		_, err := k.ops.Bootstrap(ctx, accessctl.BootstrapInput{Tenant: tenant, Name: string(tenant), Preset: accessctl.PresetDashboard,
			Admin: accessctl.NewOperator{Username: admin, Email: admin + "@" + string(tenant) + ".test", FirstName: admin, LastName: "Admin",
				Password: adminPW, PasswordConfirmation: adminPW}})
		require.NoError(t, err)
	}
	sys := accessctl.NewContext(ctx, accessctl.SystemActor("beta", "test"))
	boss, err := k.store.OperatorByLogin(ctx, "beta", "boss")
	require.NoError(t, err)
	k.boss = string(boss.ID)
	bossCtx := func() context.Context {
		a, err := k.ops.ActorOf(ctx, "beta", boss.ID)
		require.NoError(t, err)
		return accessctl.NewContext(ctx, a)
	}
	u, err := k.users.Create(sys, enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: betaMarker + " Ltd", Email: "owner@beta.test"})
	require.NoError(t, err)
	u, err = k.users.AddTaxResidence(sys, u.ID, u.Version, enduser.TaxResidence{Country: "FR", TIN: "1234567890123"})
	require.NoError(t, err)
	k.betaUser, k.betaResidence = string(u.ID), u.TaxResidences[0].ID
	d, err := k.devices.Enrol(accessctl.NewContext(ctx, accessctl.EndUserActor("beta", string(u.ID))), u.ID, scadevice.Enrolment{Kind: "mobile", Tag: betaMarker})
	require.NoError(t, err)
	k.betaDevice = string(d.ID)
	role, err := k.ops.CreateRole(sys, accessctl.Role{Name: "beta_auditor", Abbrev: "BA", Description: betaMarker,
		Permissions: []accessctl.Permission{"enduser.read"}})
	require.NoError(t, err)
	k.betaRole = string(role.Name)
	_, tok, err := k.ops.IssueSCIMToken(bossCtx(), betaMarker, 0)
	require.NoError(t, err)
	k.betaToken = tok.ID
	// Approvals need a four-eyes policy; acme asking for any id it does
	// not own is what is tried.
	k.betaApproval = "0195f2c4-7d1e-7000-8000-0000000000be"
	rv, err := k.ops.StartReview(bossCtx(), betaMarker, time.Now().Add(24*time.Hour))
	require.NoError(t, err)
	k.betaReview = string(rv.ID)
	return k
}

// api builds an API over the two tenants, resolving each request's
// tenant from its host name (acme.admin.test, beta.admin.test).
func (k *twoTenants) api(t *testing.T, change func(*Config)) *API {
	t.Helper()
	cfg := Config{Ops: k.ops, Users: k.users, Devices: k.devices, Wallets: k.wallets, InternalSecret: "internal-secret-for-tests",
		TenantOf: func(r *http.Request) (backoffice.TenantID, bool) {
			switch label, _, _ := strings.Cut(r.Host, "."); label {
			case "acme", "beta":
				return backoffice.TenantID(label), true
			}
			return "", false
		}}
	if change != nil {
		change(&cfg)
	}
	a, err := New(cfg)
	require.NoError(t, err)
	return a
}

// call sends one request to h with the host name given.
func call(h http.Handler, host, method, path, token string, body []byte, headers ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	r.Host = host
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// logIn logs an operator in on a tenant's address, through both steps.
func logIn(t testing.TB, h http.Handler, host, login string) string {
	return logInAt(t, h, host, "", login)
}

// logInAt logs in on the API mounted at prefix.
func logInAt(t testing.TB, h http.Handler, host, prefix, login string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"login": login, "password": adminPW})
	w := call(h, host, "POST", prefix+"/v1/login", "", body)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var res struct {
		Challenge string `json:"challenge"`
		Enrol     struct {
			Secret string `json:"secret"`
		} `json:"mfa_enrolment"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &res))
	code, err := accessctl.TOTPCode(backoffice.Secret(res.Enrol.Secret), time.Now())
	require.NoError(t, err)
	body, _ = json.Marshal(map[string]string{"challenge": res.Challenge, "code": code})
	w = call(h, host, "POST", prefix+"/v1/login/mfa", "", body)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var done struct {
		Session string `json:"session"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &done))
	require.NotEmpty(t, done.Session)
	return done.Session
}

// path fills a route's parameters with beta's ids.
func (k *twoTenants) path(pattern string) string {
	_, path, _ := strings.Cut(pattern, " ")
	id := map[string]string{"/v1/operators/": k.boss, "/v1/endusers/": k.betaUser, "/v1/devices/": k.betaDevice,
		"/v1/tenant/scim-tokens/": k.betaToken, "/v1/approvals/": k.betaApproval, "/v1/reviews/": k.betaReview,
		"/v1/audit/": k.betaUser, "/v1/internal/endusers/": k.betaUser, "/v1/internal/devices/": k.betaDevice}
	for prefix, v := range id {
		if strings.HasPrefix(path, prefix) {
			path = strings.Replace(path, "{id}", v, 1)
		}
	}
	return strings.NewReplacer("{rid}", k.betaResidence, "{name}", k.betaRole, "{passkey}", "any-passkey",
		"{type}", "enduser", "{permission}", "enduser.read").Replace(path)
}

// bodyOf is a body every field of the route's request type is in (its
// zero value), with the version beta's data has now where it asks one,
// so that the call reaches the service.
func bodyOf(t *testing.T, route docRoute) []byte {
	t.Helper()
	if route.body == "" {
		return nil
	}
	raw, err := json.Marshal(requestTypes()[route.body])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	if _, ok := m["version"]; ok {
		m["version"] = 1
	}
	raw, err = json.Marshal(m)
	require.NoError(t, err)
	return raw
}

// M2, the API's half: with the tenant resolved from the host name, an
// Administrator of acme tries every route of the API with beta's ids:
// on acme's address nothing of beta's shows or changes; on beta's address
// its session opens nothing at all (401 on every authenticated route).
// Beta's data is then as it was, and its audit log holds no entry of
// acme's.
func TestEveryRouteStaysInItsTenant(t *testing.T) {
	k := newTwoTenants(t)
	a := k.api(t, nil)
	token := logIn(t, a, "acme.admin.test", "root")
	ctx := accessctl.NewContext(context.Background(), accessctl.SystemActor("beta", "test"))
	userBefore, err := k.users.Get(ctx, enduser.ID(k.betaUser))
	require.NoError(t, err)
	deviceBefore, err := k.devices.Device(ctx, scadevice.ID(k.betaDevice))
	require.NoError(t, err)
	bossBefore, err := k.ops.Operator(ctx, accessctl.OperatorID(k.boss))
	require.NoError(t, err)

	tried := 0
	for _, route := range docRoutes {
		if route.auth != "bearer" && route.auth != "internal" {
			continue
		}
		method, _, _ := strings.Cut(route.pattern, " ")
		path, body := k.path(route.pattern), bodyOf(t, route)
		headers := []string{}
		if route.auth == "internal" {
			headers = []string{"X-Internal-Secret", "internal-secret-for-tests"}
		}
		w := call(a, "acme.admin.test", method, path, token, body, headers...)
		assert.NotContains(t, w.Body.String(), betaMarker, "%s on acme's address shows beta's data", route.pattern)
		assert.NotContains(t, w.Body.String(), "owner@beta.test", "%s", route.pattern)
		if strings.Contains(route.pattern, "{") {
			assert.False(t, w.Code >= 200 && w.Code < 300 && method != "GET", "%s with beta's ids on acme's address: %d %s", route.pattern, w.Code, w.Body)
		}
		if route.auth == "bearer" {
			w = call(a, "beta.admin.test", method, path, token, body)
			assert.Equal(t, http.StatusUnauthorized, w.Code, "acme's session on beta's address: %s", route.pattern)
		}
		tried++
	}
	assert.Greater(t, tried, 80, "every authenticated route was tried")

	userAfter, err := k.users.Get(ctx, enduser.ID(k.betaUser))
	require.NoError(t, err)
	assert.Equal(t, userBefore.Version, userAfter.Version, "beta's end user is untouched")
	deviceAfter, err := k.devices.Device(ctx, scadevice.ID(k.betaDevice))
	require.NoError(t, err)
	assert.Equal(t, deviceBefore.Version, deviceAfter.Version, "beta's device is untouched")
	bossAfter, err := k.ops.Operator(ctx, accessctl.OperatorID(k.boss))
	require.NoError(t, err)
	assert.Equal(t, bossBefore.Version, bossAfter.Version, "beta's Administrator is untouched")
	for _, target := range [][2]string{{"enduser", k.betaUser}, {"device", k.betaDevice}, {"operator", k.boss}} {
		log, err := k.ops.AuditLog(ctx, target[0], target[1], backoffice.PageRequest{Limit: 500})
		require.NoError(t, err)
		for _, e := range log.Items {
			assert.NotContains(t, e.Actor.ID, "root", "beta's audit log names no act of acme's operator")
		}
	}

	// A login naming the other tenant on this address is refused, and an
	// address that serves no tenant serves no login.
	body, _ := json.Marshal(map[string]string{"tenant": "beta", "login": "boss", "password": adminPW})
	assert.Equal(t, http.StatusBadRequest, call(a, "acme.admin.test", "POST", "/v1/login", "", body).Code)
	body, _ = json.Marshal(map[string]string{"login": "boss", "password": adminPW})
	assert.Equal(t, http.StatusUnauthorized, call(a, "acme.admin.test", "POST", "/v1/login", "", body).Code, "beta's login is no acme login")
	assert.Equal(t, http.StatusNotFound, call(a, "nobody.admin.test", "POST", "/v1/login", "", body).Code)
	assert.Equal(t, http.StatusOK, call(a, "beta.admin.test", "POST", "/v1/login", "", body).Code, "on its own address it is")
}

// M3, the API's half: the host's own authentication names the operator;
// the API authorizes and audits as that operator, reads no bearer token,
// refuses an unknown or deactivated operator, and refuses a change a
// browser says another site sent.
func TestHostAuthentication(t *testing.T) {
	k := newTwoTenants(t)
	ctx := context.Background()
	root, err := k.store.OperatorByLogin(ctx, "acme", "root")
	require.NoError(t, err)
	sys := accessctl.NewContext(ctx, accessctl.SystemActor("acme", "test"))
	reader, err := k.ops.CreateOperator(sys, accessctl.NewOperator{Username: "rita", Email: "rita@acme.test", FirstName: "Rita", LastName: "Reader",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true, Password: adminPW, PasswordConfirmation: adminPW})
	require.NoError(t, err)
	a := k.api(t, func(c *Config) {
		c.HostAuth = func(r *http.Request) (accessctl.OperatorID, bool) {
			id := r.Header.Get("X-Host-Staff") // the host's own session, in this test a header its proxy sets
			return accessctl.OperatorID(id), id != ""
		}
	})
	as := func(id accessctl.OperatorID) []string { return []string{"X-Host-Staff", string(id)} }

	w := call(a, "acme.admin.test", "GET", "/v1/me", "", nil, as(root.ID)...)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"name":"root"`)

	body, _ := json.Marshal(map[string]any{"type": "business", "legal_name": "Host Made Ltd"})
	w = call(a, "acme.admin.test", "POST", "/v1/endusers", "", body, as(root.ID)...)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var made struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &made))
	log, err := k.ops.AuditLog(sys, "enduser", made.ID, backoffice.PageRequest{Limit: 10})
	require.NoError(t, err)
	require.NotEmpty(t, log.Items)
	assert.Equal(t, string(root.ID), log.Items[0].Actor.ID, "audited as the operator the host named")

	// Authorized as that operator: a Read-only operator cannot create.
	w = call(a, "acme.admin.test", "POST", "/v1/endusers", "", body, as(reader.ID)...)
	assert.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
	// No operator named, an unknown one, another tenant's: refused.
	assert.Equal(t, http.StatusUnauthorized, call(a, "acme.admin.test", "GET", "/v1/me", "", nil).Code)
	assert.Equal(t, http.StatusUnauthorized, call(a, "acme.admin.test", "GET", "/v1/me", "", nil, as("no-such-operator")...).Code)
	assert.Equal(t, http.StatusUnauthorized, call(a, "acme.admin.test", "GET", "/v1/me", "", nil, as(accessctl.OperatorID(k.boss))...).Code)
	// A bearer token is not read: the host's authentication is the door.
	plain := k.api(t, nil)
	token := logIn(t, plain, "acme.admin.test", "rita")
	assert.Equal(t, http.StatusUnauthorized, call(a, "acme.admin.test", "GET", "/v1/me", token, nil).Code)
	// A change a browser says another site sent is refused; reads are not.
	w = call(a, "acme.admin.test", "POST", "/v1/endusers", "", body, append(as(root.ID), "Sec-Fetch-Site", "cross-site")...)
	assert.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
	assert.Equal(t, http.StatusOK, call(a, "acme.admin.test", "GET", "/v1/me", "", nil, append(as(root.ID), "Sec-Fetch-Site", "cross-site")...).Code)
	// Deactivated: refused at once.
	reader, err = k.ops.Operator(sys, reader.ID)
	require.NoError(t, err)
	_, err = k.ops.DeactivateOperator(sys, reader.ID, reader.Version)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, call(a, "acme.admin.test", "GET", "/v1/me", "", nil, as(reader.ID)...).Code)
}

// M1, the API's half: mounted under a prefix in a host's mux, with the
// host's own middleware around it, the API answers under the prefix, its
// OpenAPI document names the prefix as its server, and its security
// headers stay off the host's own pages.
func TestMountedUnderAPrefix(t *testing.T) {
	k := newTwoTenants(t)
	a := k.api(t, func(c *Config) { c.Prefix = "/backoffice/api" })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<h1>the host's home</h1>")
	})
	mux.Handle("/backoffice/api/", http.StripPrefix("/backoffice/api", a))
	host := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { // the host's own request id middleware
		w.Header().Set("X-Host-Request", "1")
		mux.ServeHTTP(w, r)
	})
	w := call(host, "acme.admin.test", "GET", "/backoffice/api/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, w.Code)
	var doc struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
	require.Len(t, doc.Servers, 1)
	assert.Equal(t, "/backoffice/api", doc.Servers[0].URL)
	assert.Equal(t, "1", w.Header().Get("X-Host-Request"), "the host's middleware ran")

	w = call(host, "acme.admin.test", "GET", "/backoffice/api/v1/nowhere", "", nil)
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Contains(t, w.Body.String(), `"instance":"/backoffice/api/v1/nowhere"`)
	token := logInAt(t, host, "acme.admin.test", "/backoffice/api", "root")
	w = call(host, "acme.admin.test", "GET", "/backoffice/api/v1/me", token, nil)
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())

	w = call(host, "acme.admin.test", "GET", "/", "", nil)
	assert.Equal(t, "<h1>the host's home</h1>", w.Body.String())
	assert.Empty(t, w.Header().Get("Content-Security-Policy"), "the API's headers are its own answers' only")
	assert.Empty(t, w.Header().Get("X-Frame-Options"))
	assert.Empty(t, w.Header().Get("X-Request-Id"))
}

// Every answer carries its length, small (net/http counts it) or large
// (the API does), and none goes chunked.
func TestAnswersCarryTheirLength(t *testing.T) {
	k := newTwoTenants(t)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))
	for i := range 30 {
		_, err := k.users.Create(sys, enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: strings.Repeat("Long Name ", 10) + strconv.Itoa(i)})
		require.NoError(t, err)
	}
	a := k.api(t, nil)
	token := logIn(t, a, "acme.admin.test", "root")
	srv := httptest.NewServer(a)
	defer srv.Close()
	for _, path := range []string{"/healthz", "/v1/me", "/v1/endusers?limit=30"} {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err)
		req.Host = "acme.admin.test"
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.Equal(t, int64(len(body)), resp.ContentLength, path)
		assert.Empty(t, resp.TransferEncoding, path)
		if path != "/healthz" && path != "/v1/me" {
			assert.Greater(t, len(body), 2048, "the page is past net/http's own count")
		}
	}
}
