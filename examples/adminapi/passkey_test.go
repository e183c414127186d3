package main

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/accessctl/passkeytest"
)

// W1, W2, W4 over the JSON API, each exchange checked against the
// OpenAPI contract: register a passkey, use it as the second factor and
// alone, see it on the operator with its last use, revoke it.
func TestPasskeysOverTheAPI(t *testing.T) {
	a := newTestAPI(t)
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	c := &client{t: t, base: srv.URL, http: srv.Client(), secret: secretHdr}
	secrets := map[string]string{}
	admin := c.login("acme", "root", adminPW, secrets, 0)
	tn := c.must(200, c.do("GET", "/v1/tenant", admin, nil))
	c.must(200, c.do("PATCH", "/v1/tenant", admin, map[string]any{"version": tn.num("version"),
		"webauthn": map[string]any{"rp_id": "localhost", "origins": []string{"http://localhost:8080"}, "passwordless": true}}))

	auth := passkeytest.New("http://localhost:8080")
	begin := c.must(200, c.do("POST", "/v1/me/passkeys/registration", admin, nil))
	opts, _ := json.Marshal(begin.body["options"])
	resp, _, err := auth.Create(opts, nil)
	require.NoError(t, err)
	pk := c.must(201, c.do("POST", "/v1/me/passkeys", admin, map[string]any{"ceremony": begin.str("ceremony"), "name": "Laptop",
		"response": json.RawMessage(resp)}))
	assert.Equal(t, "Laptop", pk.str("name"))

	// The second factor after the password.
	r := c.must(200, c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": "root", "password": adminPW}))
	assert.Equal(t, true, r.body["passkey"])
	step := c.must(200, c.do("POST", "/v1/login/passkey", "", map[string]any{"challenge": r.str("challenge")}))
	opts, _ = json.Marshal(step.body["options"])
	resp, err = auth.Get(opts, nil)
	require.NoError(t, err)
	done := c.must(200, c.do("POST", "/v1/login/passkey/finish", "", map[string]any{"challenge": r.str("challenge"),
		"ceremony": step.str("ceremony"), "response": json.RawMessage(resp)}))
	require.NotEmpty(t, done.str("session"))
	// The same answer again: the one refusal.
	c.must(401, c.do("POST", "/v1/login/passkey/finish", "", map[string]any{"challenge": r.str("challenge"),
		"ceremony": step.str("ceremony"), "response": json.RawMessage(resp)}))

	// Alone.
	step = c.must(200, c.do("POST", "/v1/passkey-sign-in", "", map[string]any{"tenant": "acme"}))
	opts, _ = json.Marshal(step.body["options"])
	resp, err = auth.Get(opts, nil)
	require.NoError(t, err)
	alone := c.must(200, c.do("POST", "/v1/passkey-sign-in/finish", "", map[string]any{"ceremony": step.str("ceremony"), "response": json.RawMessage(resp)}))
	require.NotEmpty(t, alone.str("session"))
	me := c.must(200, c.do("GET", "/v1/me", alone.str("session"), nil))
	op := c.must(200, c.do("GET", "/v1/operators/"+me.str("id"), alone.str("session"), nil))
	list, _ := op.body["passkeys"].([]any)
	require.Len(t, list, 1)
	seen := list[0].(map[string]any)
	assert.NotEmpty(t, seen["last_used_at"], "its last use")
	assert.NotContains(t, string(op.raw), "public_key", "never a key")

	c.must(204, c.do("DELETE", "/v1/operators/"+me.str("id")+"/passkeys/"+seen["id"].(string), alone.str("session"), nil))
	op = c.must(200, c.do("GET", "/v1/operators/"+me.str("id"), alone.str("session"), nil))
	assert.Nil(t, op.body["passkeys"])
}
