package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/accessctl/scim/scimtest"
	"github.com/backoffice-go/backoffice/internal/testserver"
)

// demoLines waits for the -demo output and returns the SCIM base URL and
// token it printed, and the demo operators' password.
func demoLines(t testing.TB, s *server) (scimURL, token, password string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.log(), "\n") {
			switch {
			case strings.HasPrefix(line, "scim url: "):
				scimURL = strings.TrimPrefix(line, "scim url: ")
			case strings.HasPrefix(line, "scim token: "):
				token = strings.TrimPrefix(line, "scim token: ")
			case strings.Contains(line, "share the password "):
				password = line[strings.LastIndex(line, " ")+1:]
			}
		}
		if scimURL != "" && token != "" && password != "" {
			return scimURL, token, password
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("adminapi -demo printed no SCIM URL and token:\n%s", s.log())
	return "", "", ""
}

func postgresRedisArgs(t *testing.T) []string {
	return []string{"-postgres", testserver.Schema(t), "-redis", testserver.RedisURL(t), "-redis-prefix", fmt.Sprintf("scim%d", time.Now().UnixNano())}
}

// I3, I7: the test list of Microsoft's SCIM validator against the real
// binary, its every answer checked against RFC 7643's schemas by an
// independent implementation; the demo prints the SCIM URL and token.
func TestSCIMAgainstTheBinary(t *testing.T) {
	for name, args := range map[string]func(*testing.T) []string{
		"Memory":           func(*testing.T) []string { return nil },
		"PostgresAndRedis": postgresRedisArgs,
	} {
		t.Run(name, func(t *testing.T) {
			s := startBinary(t, append(args(t), "-demo"))
			url, token, _ := demoLines(t, s)
			assert.Equal(t, s.base+"/scim/v2", url)
			c := &scimtest.Client{T: t, BaseURL: url, Token: token}
			c.MicrosoftValidator("e2e")
			assert.Greater(t, c.Checked, 25)
		})
	}
}

// I5: two instances share PostgreSQL and Redis; an operator with a
// session on each is set inactive over SCIM on one of them; its very
// next request on each instance is refused.
func TestLeaverLosesEverySessionAtOnce(t *testing.T) {
	args := postgresRedisArgs(t)
	a := startBinary(t, append(args, "-demo", "-internal-secret", secretHdr))
	url, token, pw := demoLines(t, a)
	b := startBinary(t, args)
	idp := &scimtest.Client{T: t, BaseURL: url, Token: token}
	onB := &scimtest.Client{T: t, BaseURL: b.base + "/scim/v2", Token: token}

	user := idp.Do("POST", "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "leaver", "emails": []any{map[string]any{"value": "leaver@demo.example", "primary": true}},
		"name": map[string]any{"givenName": "Lee", "familyName": "Ver"}})
	require.Equal(t, http.StatusCreated, user.Status, "%v", user.Doc)
	id := scimtest.Str(user.Doc, "id")
	groups := idp.Do("GET", "/Groups", nil)
	require.Len(t, groups.Resources(), 1)
	gid := scimtest.Str(groups.Resources()[0], "id")
	res := idp.Do("PATCH", "/Groups/"+gid, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}}}})
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)

	// The tenant is not in SSO mode: an Administrator gives it a password.
	ca := &client{t: t, base: a.base, http: http.DefaultClient, secret: secretHdr}
	cb := &client{t: t, base: b.base, http: http.DefaultClient, secret: secretHdr}
	secrets := map[string]string{}
	admin := ca.login("default", "demo_admin", pw, secrets, 0)
	op := ca.must(200, ca.do("GET", "/v1/operators/"+id, admin, nil))
	ca.must(200, ca.do("PUT", "/v1/operators/"+id+"/password", admin, map[string]any{"version": op.num("version"),
		"password": adminPW, "password_confirmation": adminPW}))
	onA := ca.login("default", "leaver", adminPW, secrets, 0)
	onBSession := cb.login("default", "leaver", adminPW, secrets, 1)
	ca.must(200, ca.do("GET", "/v1/me", onA, nil))
	cb.must(200, cb.do("GET", "/v1/me", onBSession, nil))

	res = onB.Do("PATCH", "/Users/"+id, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "Replace", "path": "active", "value": "False"}}})
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	ca.must(401, ca.do("GET", "/v1/me", onA, nil))
	cb.must(401, cb.do("GET", "/v1/me", onBSession, nil))
	// The history stays: the deprovisioning is recorded with the token as its actor.
	hist := ca.must(200, ca.do("GET", "/v1/operators/"+id+"/history", admin, nil))
	require.NotEmpty(t, hist.items())
	assert.Equal(t, "operator.scim_deprovision", hist.items()[0]["action"])
}

// I4 over the JSON API: an Administrator issues a token (its secret in
// that answer only), the list shows neither secrets nor digests, the
// token provisions over SCIM, a rotation overlaps, a revocation stops it
// at once; a Manager may not issue one.
func TestSCIMTokensOverTheAPI(t *testing.T) {
	a := newTestAPI(t)
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	c := &client{t: t, base: srv.URL, http: srv.Client(), secret: secretHdr}
	secrets := map[string]string{}
	admin := c.login("acme", "root", adminPW, secrets, 0)
	r := c.must(201, c.do("POST", "/v1/tenant/scim-tokens", admin, map[string]any{"name": "Okta"}))
	token, id := r.str("token"), r.str("scim_token", "id")
	require.NotEmpty(t, token)
	list := c.must(200, c.do("GET", "/v1/tenant/scim-tokens", admin, nil))
	assert.NotContains(t, string(list.raw), token)
	assert.NotContains(t, string(list.raw), "digest")
	tenant := c.must(200, c.do("GET", "/v1/tenant", admin, nil))
	assert.NotContains(t, string(tenant.raw), token)
	assert.NotContains(t, string(tenant.raw), "digest")

	assert.True(t, strings.HasSuffix(r.str("scim_url"), "/scim/v2"), "the base URL to give the identity provider (-public-url's)")
	idp := &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: token}
	require.Equal(t, http.StatusCreated, idp.Do("POST", "/Users", map[string]any{"userName": "jo"}).Status)

	rot := c.must(201, c.do("POST", "/v1/tenant/scim-tokens/"+id+"/rotate", admin, map[string]any{"overlap_seconds": 3600}))
	next := &scimtest.Client{T: t, BaseURL: idp.BaseURL, Token: rot.str("token")}
	require.Equal(t, http.StatusOK, idp.Do("GET", "/Users", nil).Status, "the old token works during the overlap")
	require.Equal(t, http.StatusOK, next.Do("GET", "/Users", nil).Status)
	c.must(204, c.do("DELETE", "/v1/tenant/scim-tokens/"+id, admin, nil))
	require.Equal(t, http.StatusUnauthorized, idp.Do("GET", "/Users", nil).Status, "revoked: at once")
	require.Equal(t, http.StatusOK, next.Do("GET", "/Users", nil).Status)

	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))
	_, err := a.ops.CreateOperator(sys, accessctl.NewOperator{Username: "mgr", Email: "mgr@acme.test", FirstName: "M", LastName: "G",
		Roles: []accessctl.RoleName{accessctl.RoleManager}, AllAccounts: true, Password: managerPW, PasswordConfirmation: managerPW})
	require.NoError(t, err)
	mgr := c.login("acme", "mgr", managerPW, secrets, 1)
	c.must(403, c.do("POST", "/v1/tenant/scim-tokens", mgr, map[string]any{"name": "mine"}))
	c.must(403, c.do("GET", "/v1/tenant/scim-tokens", mgr, nil))
}
