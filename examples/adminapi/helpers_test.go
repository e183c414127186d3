package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// client drives the API over HTTP.
type client struct {
	t      testing.TB
	base   string
	http   *http.Client
	secret string
	// contract checks every exchange against the OpenAPI document; nil
	// means the one every test shares.
	contract *contract
}

type reply struct {
	status int
	body   map[string]any
	raw    []byte
	header http.Header
}

func (r reply) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (r reply) num(key string) int64 {
	f, _ := r.body[key].(float64)
	return int64(f)
}

func (r reply) items() []map[string]any {
	list, _ := r.body["items"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, it := range list {
		m, _ := it.(map[string]any)
		out = append(out, m)
	}
	return out
}

// do sends a request; body is marshalled to JSON unless it is a string,
// sent as is.
func (c *client) do(method, path, token string, body any, headers ...string) reply {
	c.t.Helper()
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	case []byte:
		sent = b
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.t, err)
		sent = raw
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	r := reply{status: resp.StatusCode, raw: raw, header: resp.Header}
	k := c.contract
	if k == nil {
		k = sharedContract(c.t)
	}
	k.check(c.t, req, sent, resp.StatusCode, resp.Header, raw)
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(c.t, json.Unmarshal(raw, &r.body), string(raw))
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
		c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return r
}

// must asserts the status.
func (c *client) must(status int, r reply) reply {
	c.t.Helper()
	require.Equal(c.t, status, r.status, "body: %s", r.raw)
	return r
}

// login runs the password and TOTP steps; secrets keeps each operator's
// TOTP secret, and step picks the code's time step (0 now, 1 the next),
// since the server accepts a code once and allows one step of skew.
func (c *client) login(tenant, user, password string, secrets map[string]string, step int) string {
	c.t.Helper()
	r := c.must(200, c.do("POST", "/v1/login", "", map[string]string{"tenant": tenant, "login": user, "password": password}))
	if s := r.str("mfa_enrolment", "secret"); s != "" {
		secrets[user] = s
	}
	return c.mfa(r.str("challenge"), secrets[user], step)
}

func (c *client) mfa(challenge, secret string, step int) string {
	c.t.Helper()
	code, err := accessctl.TOTPCode(backoffice.Secret(secret), time.Now().Add(time.Duration(step)*30*time.Second))
	require.NoError(c.t, err)
	r := c.must(200, c.do("POST", "/v1/login/mfa", "", map[string]string{"challenge": challenge, "code": code}))
	require.NotEmpty(c.t, r.str("session"))
	return r.str("session")
}

// outboxToken returns the newest token of the kind sent to the address,
// waiting for the dispatcher to deliver it.
func (c *client) outboxToken(kind, to string) string {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := c.must(200, c.do("GET", "/v1/internal/outbox", "", nil, "X-Internal-Secret", c.secret))
		list, _ := r.body["notices"].([]any)
		token := ""
		for _, n := range list {
			m := n.(map[string]any)
			if m["kind"] == kind && m["to"] == to {
				token, _ = m["token"].(string)
			}
		}
		if token != "" {
			return token
		}
		require.True(c.t, time.Now().Before(deadline), "no %s notice to %s", kind, to)
		time.Sleep(20 * time.Millisecond) // the dispatcher polls every 100 ms
	}
}
