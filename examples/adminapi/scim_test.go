package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/accessctl/scim/scimtest"
	"github.com/backoffice-go/backoffice/internal/testserver"
)

// demoLines waits for the -demo output and returns the SCIM base URL and
// token it printed, and the demo operators' password.
func demoLines(t *testing.T, s *server) (scimURL, token, password string) {
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
