package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestAPI builds the API in memory, with an Administrator.
func newTestAPI(t testing.TB) *backend { return newTestAPIWith(t, nil) }

// newTestAPIWith builds it with the configuration that change makes.
func newTestAPIWith(t testing.TB, change func(*config)) *backend {
	t.Helper()
	c := config{tenant: "acme", tenantName: "Acme", preset: "dashboard", adminUser: "root",
		adminEmail: "root@acme.test", adminPassword: adminPW, internalSecret: secretHdr}
	if change != nil {
		change(&c)
	}
	a, closeAll, err := build(context.Background(), c, io.Discard)
	require.NoError(t, err)
	t.Cleanup(closeAll)
	return a
}

// Malformed bodies, unknown fields, oversized bodies, wrong content types
// and invalid ids get a 4xx problem, never a 5xx.
func TestBadRequests(t *testing.T) {
	a := newTestAPI(t)
	srv := httptest.NewServer(a)
	defer srv.Close()
	c := &client{t: t, base: srv.URL, http: srv.Client(), secret: secretHdr}
	admin := c.login("acme", "root", adminPW, map[string]string{}, 0)
	for _, tc := range []struct {
		method, path, body, ctype string
		status                    int
	}{
		{"POST", "/v1/operators", `{`, "application/json", 400},
		{"POST", "/v1/operators", `[]`, "application/json", 400},
		{"POST", "/v1/operators", `{"username": 5}`, "application/json", 400},
		{"POST", "/v1/operators", `{"nickname": "x"}`, "application/json", 400},
		{"POST", "/v1/operators", `{} {}`, "application/json", 400},
		{"POST", "/v1/operators", `{}`, "text/plain", 415},
		{"POST", "/v1/operators", `{}`, "", 415},
		{"POST", "/v1/operators", `{"username": "` + strings.Repeat("a", 80<<10) + `"}`, "application/json", 413},
		{"POST", "/v1/operators", `{}`, "application/json; charset=utf-8", 422},
		{"GET", "/v1/operators/%00", "", "", 404},
		{"GET", "/v1/operators/..%2f..%2fetc", "", "", 404},
		{"DELETE", "/v1/operators/x", "", "", 400},
		{"GET", "/v1/endusers?created_from=yesterday", "", "", 400},
		{"GET", "/v1/endusers?type=alien", "", "", 422},
		{"GET", "/v1/endusers/search?name=%00abc", "", "", 422},
		{"GET", "/v1/endusers/x/devices?deleted=maybe", "", "", 400},
		{"PATCH", "/v1/endusers/x", `{"version": 1, "birth_date": "17/05/1990"}`, "application/json", 400},
		{"PUT", "/healthz", "", "", 405},
		{"POST", "/v1/internal/onboardings", `{}`, "application/json", 401},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		var p struct {
			Type   string `json:"type"`
			Status int    `json:"status"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&p), "%s %s", tc.method, tc.path)
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode, "%s %s %q: %+v", tc.method, tc.path, tc.body, p)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		assert.Equal(t, tc.status, p.Status)
		assert.NotEmpty(t, p.Type)
	}
	// The problem names the invalid fields.
	r := c.must(422, c.do("POST", "/v1/endusers", admin, map[string]any{"type": "physical_person", "email": "nope"}))
	var fields []string
	for _, e := range r.body["errors"].([]any) {
		fields = append(fields, e.(map[string]any)["field"].(string))
	}
	assert.ElementsMatch(t, []string{"first_name", "last_name", "email"}, fields)
}

// A20: a flood of 30 logins at one account, the right password among
// them, gets one status and one body for every refusal, the same as an
// unknown login's; the account ends blocked or the right password got
// through. The account's rate limit answers the rest of the flood with
// 429, as it answers a flood at a login that does not exist: the limit
// tells nothing of the account either.
func TestLoginFloodLooksAlike(t *testing.T) {
	a := newTestAPI(t)
	srv := httptest.NewServer(a)
	defer srv.Close()
	c := &client{t: t, base: srv.URL, http: srv.Client(), secret: secretHdr}
	sess := c.login("acme", "root", adminPW, map[string]string{}, 0)
	c.must(201, c.do("POST", "/v1/operators", sess, map[string]any{"username": "victim", "email": "victim@acme.test",
		"first_name": "V", "last_name": "V", "roles": []string{"read_only"}, "all_accounts": true,
		"password": managerPW, "password_confirmation": managerPW}))
	replies := make([]reply, 30)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range replies {
		wg.Go(func() {
			<-start
			password := fmt.Sprintf("Wrong-Guess-%02d", i)
			if i == 7 {
				password = managerPW
			}
			replies[i] = c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": "victim", "password": password})
		})
	}
	close(start)
	wg.Wait()
	unknown := c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": "nobody", "password": "Wrong-Guess-00"})
	require.Equal(t, http.StatusUnauthorized, unknown.status)
	limited := 0
	for i, r := range replies {
		if i == 7 && r.status == http.StatusOK {
			continue // the right password was among the guesses checked
		}
		if r.status == http.StatusTooManyRequests {
			limited++
			assert.Equal(t, "rate-limited", strings.TrimPrefix(r.str("type"), "https://backoffice.example/problems/"))
			continue
		}
		assert.Equal(t, unknown.status, r.status, "reply %d", i)
		assert.Equal(t, string(unknown.raw), string(r.raw), "reply %d: one body for every refusal", i)
		assert.Equal(t, unknown.header.Get("Content-Type"), r.header.Get("Content-Type"))
	}
	assert.NotContains(t, string(unknown.raw), "conflict")
	limitedUnknown := 0
	for range 29 {
		if c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": "nobody", "password": "Wrong-Guess-00"}).status == http.StatusTooManyRequests {
			limitedUnknown++
		}
	}
	// Ten of each flood pass (a new one each 6 s after): the rest is 429,
	// whether the login exists or not.
	assert.GreaterOrEqual(t, limited, 18)
	assert.InDelta(t, limited, limitedUnknown, 1, "an unknown login is limited alike")
}

// Every response, success, problem or unknown route, says nosniff and
// no-store.
func TestSecurityHeaders(t *testing.T) {
	a := newTestAPI(t)
	srv := httptest.NewServer(a)
	defer srv.Close()
	c := &client{t: t, base: srv.URL, http: srv.Client(), secret: secretHdr}
	sess := c.login("acme", "root", adminPW, map[string]string{}, 0)
	for _, r := range []reply{
		c.do("GET", "/v1/operators", sess, nil),
		c.do("GET", "/v1/operators", "", nil),
		c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": "nobody", "password": "x"}),
		c.do("GET", "/no/such/route", "", nil),
		c.do("GET", "/openapi.json", "", nil),
	} {
		assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		assert.Equal(t, "default-src 'none'; frame-ancestors 'none'", r.header.Get("Content-Security-Policy"))
		assert.Equal(t, "DENY", r.header.Get("X-Frame-Options"))
		assert.Equal(t, "no-referrer", r.header.Get("Referrer-Policy"))
	}
}

// The server serves the console everywhere but the API's own paths: /
// leads to the console's login page, /v1 paths stay JSON.
func TestSiteServesConsoleAndAPI(t *testing.T) {
	a := newTestAPI(t)
	srv := httptest.NewServer(a.site())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "/login", resp.Request.URL.Path)
	assert.Contains(t, string(body), `<form method="post" action="/login">`)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	resp, err = http.Get(srv.URL + "/v1/nowhere")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
}
