package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/backoffice-go/backoffice/internal/testserver"
)

// logLines are the server's JSON log lines, decoded.
func logLines(t *testing.T, s *server) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(s.log(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // the start-up banner for a person
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// Logs are JSON, one object a line: each request's line has its id (the
// client's X-Request-Id when it is a sane one, echoed), route, status and
// actor, and no line holds a password or a session token.
func TestStructuredLogs(t *testing.T) {
	s := startBinary(t, nil, "BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root",
		"BACKOFFICE_ADMIN_PASSWORD="+adminPW, "BACKOFFICE_TENANT=acme")
	c := &client{t: t, base: s.base, http: http.DefaultClient}
	admin := c.login("acme", "root", adminPW, map[string]string{}, 0)
	me := c.must(200, c.do("GET", "/v1/me", admin, nil, "X-Request-Id", "test-request-0001"))
	assert.Equal(t, "test-request-0001", me.header.Get("X-Request-Id"))
	odd := c.must(200, c.do("GET", "/v1/me", admin, nil, "X-Request-Id", "not a sane id\u202e"))
	assert.Regexp(t, `^[0-9a-f]{24}$`, odd.header.Get("X-Request-Id"), "a made-up id is replaced")
	c.must(401, c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": "root", "password": "Wrong-Password-1"}))
	c.must(200, c.do("GET", "/healthz", "", nil))

	// The process's output reaches the test through a pipe, a moment
	// after the response: wait for the line.
	var line map[string]any
	require.Eventually(t, func() bool {
		for _, l := range logLines(t, s) {
			if l["request_id"] == "test-request-0001" && l["msg"] == "request" {
				line = l
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the request's line, by its id")
	assert.Equal(t, "GET /v1/me", line["route"])
	assert.EqualValues(t, 200, line["status"])
	assert.Equal(t, me.str("id"), line["actor"])
	assert.Equal(t, "acme", line["tenant"])
	assert.Contains(t, line, "duration_us")
	out := s.log()
	assert.NotContains(t, out, adminPW)
	assert.NotContains(t, out, "Wrong-Password-1")
	assert.NotContains(t, out, admin, "no session token")
}

// /metrics counts a refused login, a lockout and a search, by route and
// status, and reports the outbox.
func TestMetrics(t *testing.T) {
	s := startBinary(t, nil, "BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root",
		"BACKOFFICE_ADMIN_PASSWORD="+adminPW, "BACKOFFICE_TENANT=acme", "BACKOFFICE_INTERNAL_SECRET="+secretHdr)
	c := &client{t: t, base: s.base, http: http.DefaultClient}
	secrets := map[string]string{}
	admin := c.login("acme", "root", adminPW, secrets, 0)
	c.must(201, c.do("POST", "/v1/operators", admin, map[string]any{"username": "bob", "email": "bob@acme.test", "first_name": "B",
		"last_name": "B", "roles": []string{"read_only"}, "all_accounts": true, "password": managerPW, "password_confirmation": managerPW}))
	for range 3 {
		c.must(401, c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": "bob", "password": "Wrong-Password-1"}))
	}
	c.must(200, c.do("GET", "/v1/endusers/search?name=ada", admin, nil))

	anon, err := http.Get(s.base + "/metrics")
	require.NoError(t, err)
	anon.Body.Close()
	assert.Equal(t, http.StatusNotFound, anon.StatusCode, "B2: not for anyone on the public listener")
	req, err := http.NewRequest("GET", s.base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("X-Internal-Secret", secretHdr)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the host's scraper sends the internal secret")
	text := string(raw)
	for _, want := range []string{
		`backoffice_logins_total{outcome="refused"} 3`,
		`backoffice_logins_total{outcome="succeeded"} 1`,
		`backoffice_lockouts_total 1`,
		`backoffice_mfa_failures_total 0`,
		`backoffice_http_request_duration_seconds_count{route="GET /v1/endusers/search",status="200"} 1`,
		`backoffice_http_request_duration_seconds_count{route="POST /v1/login",status="401"} 3`,
		`backoffice_outbox_pending `,
		`backoffice_outbox_oldest_age_seconds `,
	} {
		assert.Contains(t, text, want)
	}
}

// /readyz says whether the schema has every migration of this release
// (503 while one is pending); on the operations listener it also says
// which, and how old the outbox's oldest notice is, while the public one
// says ready or not and nothing else (B2).
func TestReadiness(t *testing.T) {
	a := newTestAPI(t)
	srv := httptest.NewServer(a.site())
	defer srv.Close()
	ops := httptest.NewServer(a.api.Operations())
	defer ops.Close()
	c := &client{t: t, base: srv.URL, http: http.DefaultClient}
	o := &client{t: t, base: ops.URL, http: http.DefaultClient}
	r := c.must(200, c.do("GET", "/readyz", "", nil))
	assert.Equal(t, map[string]any{"status": "ready"}, r.body)
	r = o.must(200, o.do("GET", "/readyz", "", nil))
	assert.Equal(t, "ready", r.str("status"))
	assert.Contains(t, r.body["outbox"], "oldest_age_seconds")
	assert.NotContains(t, r.body, "migrations", "the memory store has no schema")

	a = newTestAPIWith(t, func(c *config) { c.schema = func(context.Context) (int, int, error) { return 6, 8, nil } })
	pending := httptest.NewServer(a.site())
	defer pending.Close()
	pendingOps := httptest.NewServer(a.api.Operations())
	defer pendingOps.Close()
	c.base, o.base = pending.URL, pendingOps.URL
	r = c.must(503, c.do("GET", "/readyz", "", nil))
	assert.Equal(t, map[string]any{"status": "not ready"}, r.body)
	r = o.must(503, o.do("GET", "/readyz", "", nil))
	assert.Equal(t, "migrations pending", r.str("status"))
	assert.Equal(t, map[string]any{"current": 6.0, "latest": 8.0, "applied": false}, r.body["migrations"])
}

// SIGTERM lets the requests in flight finish within the shutdown's
// deadline: a login whose body is still arriving when the signal comes is
// answered, then the process exits. Profiles are served only on the
// opt-in pprof listener.
func TestSIGTERMDrainsAndPprofApart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	pprofAddr := l.Addr().String()
	l.Close()
	s := startBinary(t, []string{"-pprof-addr", pprofAddr}, "BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root",
		"BACKOFFICE_ADMIN_PASSWORD="+adminPW, "BACKOFFICE_TENANT=acme")
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "goroutine")
	resp, err = http.Get(s.base + "/debug/pprof/goroutine?debug=1")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NotContains(t, string(body), "goroutine profile", "no profile on the public address")

	first, rest := `{"tenant": "acme", "login": "root", `, `"password": "`+adminPW+`"}`
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", s.base+"/v1/login", pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	// A known length: the server reads exactly the body, and no closing
	// chunk can arrive after it closed the connection.
	req.ContentLength = int64(len(first) + len(rest))
	type answer struct {
		status int
		err    error
	}
	answered := make(chan answer, 1)
	// A connection of its own: an idle one from the pool would be closed
	// by the shutdown before it carried the request, as it should be.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		resp, err := fresh.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		resp.Body.Close()
		answered <- answer{status: resp.StatusCode}
	}()
	_, err = pw.Write([]byte(first))
	require.NoError(t, err)
	// The server is answering it (its handler reads the body) once the
	// in-flight gauge counts it (the scrape, on the operations listener,
	// is not a request of the API's).
	require.Eventually(t, func() bool {
		resp, err := fresh.Get("http://" + pprofAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), "backoffice_http_requests_in_flight 1")
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, s.proc.Signal(syscall.SIGTERM))
	_, err = pw.Write([]byte(rest))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	select {
	case a := <-answered:
		require.NoError(t, a.err)
		assert.Equal(t, http.StatusOK, a.status, "the request in flight was answered")
	case <-time.After(20 * time.Second):
		t.Fatal("the request in flight was not answered")
	}
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the process did not exit after draining")
	}
	assert.Contains(t, s.log(), "shutting down")
}

// 100 login attempts a second at one account: after the account's limit
// every attempt gets 429 with Retry-After, while another account logs in
// from the same address.
func TestLoginRateLimit(t *testing.T) {
	s := startBinary(t, nil, "BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root",
		"BACKOFFICE_ADMIN_PASSWORD="+adminPW, "BACKOFFICE_TENANT=acme")
	floodAndLogIn(t, &client{t: t, base: s.base, http: http.DefaultClient}, &client{t: t, base: s.base, http: http.DefaultClient})
}

// The limit is shared through Redis by every instance: a flood spread over
// two servers gets the one account's ten attempts, not twenty.
func TestLoginRateLimitSharedThroughRedis(t *testing.T) {
	redisURL := testserver.RedisURL(t)
	env := []string{"BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root", "BACKOFFICE_ADMIN_PASSWORD=" + adminPW,
		"BACKOFFICE_TENANT=acme"}
	dsn := testserver.Schema(t)
	prefix := fmt.Sprintf("rl%d", time.Now().UnixNano())
	one := startBinary(t, []string{"-postgres", dsn, "-redis", redisURL, "-redis-prefix", prefix}, env...)
	two := startBinary(t, []string{"-postgres", dsn, "-redis", redisURL, "-redis-prefix", prefix}, env...)
	floodAndLogIn(t, &client{t: t, base: one.base, http: http.DefaultClient}, &client{t: t, base: two.base, http: http.DefaultClient})
}

// floodAndLogIn sends 100 logins at one unknown-password account in one
// second, alternating the two clients, and checks the limit held across
// them; then root logs in.
func floodAndLogIn(t *testing.T, a, b *client) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var passed, limited int
	start := time.Now()
	for i := range 100 {
		<-tick.C
		c := a
		if i%2 == 1 {
			c = b
		}
		r := c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": "target", "password": fmt.Sprintf("Guess-Number-%03d", i)})
		switch r.status {
		case http.StatusTooManyRequests:
			limited++
			n, err := strconv.Atoi(r.header.Get("Retry-After"))
			require.NoError(t, err)
			assert.Positive(t, n)
		case http.StatusUnauthorized:
			passed++
		default:
			t.Fatalf("attempt %d: %d %s", i, r.status, r.raw)
		}
	}
	// Ten at once, then one each six seconds: a machine too busy to send
	// the flood in one second lets that many more through.
	allowed := 10 + int(time.Since(start)/(6*time.Second)) + 1
	assert.LessOrEqual(t, passed, allowed, "the account's ten attempts a minute")
	assert.GreaterOrEqual(t, limited, 100-allowed)
	b.login("acme", "root", adminPW, map[string]string{}, 0) // another account, same address
}

// Spans nest: the request's span holds the service call's, which holds
// the store call's; a failed call is marked so.
func TestTracesNest(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	a, closeAll, err := build(context.Background(), config{tenant: "acme", tenantName: "Acme", preset: "dashboard", adminUser: "root",
		adminEmail: "root@acme.test", adminPassword: adminPW, internalSecret: secretHdr, traces: tp}, io.Discard)
	require.NoError(t, err)
	t.Cleanup(closeAll)
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	c := &client{t: t, base: srv.URL, http: srv.Client()}
	admin := c.login("acme", "root", adminPW, map[string]string{}, 0)
	exp.Reset()
	c.must(200, c.do("GET", "/v1/operators", admin, nil))
	c.must(404, c.do("GET", "/v1/operators/nobody", admin, nil))

	spans := exp.GetSpans()
	byID := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID().String()] = s
	}
	parentOf := func(s tracetest.SpanStub) string {
		if p, ok := byID[s.Parent.SpanID().String()]; ok {
			return p.Name
		}
		return ""
	}
	chains := map[string]bool{}
	for _, s := range spans {
		if strings.HasPrefix(s.Name, "memory.") {
			chains[parentOf(byID[s.Parent.SpanID().String()])+" > "+parentOf(s)+" > "+s.Name] = true
		}
	}
	assert.True(t, chains["GET /v1/operators > accessctl.Operators > memory.Operators"], "%v", chains)
	assert.True(t, chains["GET /v1/operators/{id} > accessctl.Operator > memory.Operator"], "%v", chains)
	assert.True(t, chains["GET /v1/operators > accessctl.Authenticate > memory.Session"], "%v", chains)
	for _, s := range spans {
		if s.Name == "accessctl.Operator" {
			assert.Equal(t, "Error", s.Status.Code.String(), "the not-found call failed")
		}
	}
}

// B2: nothing the public listener answers differs between a known and an
// unknown login: not the answers to logins, a lockout's and
// forgot-password requests themselves, nor what the probes, the metrics
// path and the document say after them.
func TestNoOracleOnThePublicListener(t *testing.T) {
	t.Run("Memory", func(t *testing.T) { noOracle(t, nil) })
	t.Run("PostgresRedis", func(t *testing.T) {
		noOracle(t, []string{"-postgres", testserver.Schema(t), "-redis", testserver.RedisURL(t), "-redis-prefix", freshPrefix("oracle")})
	})
}

func noOracle(t *testing.T, args []string) {
	s := startBinary(t, args, "BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root",
		"BACKOFFICE_ADMIN_PASSWORD="+adminPW, "BACKOFFICE_TENANT=acme", "BACKOFFICE_INTERNAL_SECRET="+secretHdr)
	c := &client{t: t, base: s.base, http: http.DefaultClient}
	admin := c.login("acme", "root", adminPW, map[string]string{}, 0)
	c.must(201, c.do("POST", "/v1/operators", admin, map[string]any{"username": "bob", "email": "bob@acme.test", "first_name": "B",
		"last_name": "B", "roles": []string{"read_only"}, "all_accounts": true, "password": managerPW, "password_confirmation": managerPW}))

	// answer is what an anonymous caller sees of a request: its status,
	// its headers but the request's own id and the date, and its body.
	answer := func(method, path, ctype, body string) string {
		req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		h := resp.Header.Clone()
		h.Del("X-Request-Id")
		h.Del("Date")
		return fmt.Sprintf("%d %v %s", resp.StatusCode, h, raw)
	}
	probes := func() []string {
		var out []string
		for _, p := range []string{"/healthz", "/readyz", "/metrics", "/debug/pprof/"} {
			out = append(out, answer("GET", p, "", ""))
		}
		return out
	}
	// play has an anonymous caller try a login: three wrong passwords
	// (a lockout, when the login is an operator's) and a forgotten
	// password, and returns the answers.
	play := func(login string) []string {
		var out []string
		for range 3 {
			out = append(out, answer("POST", "/v1/login", "application/json", `{"tenant":"acme","login":"`+login+`","password":"Wrong-Password-1"}`))
			out = append(out, answer("POST", "/login", "application/x-www-form-urlencoded", "username="+login+"&password=Wrong-Password-1"))
		}
		out = append(out, answer("POST", "/v1/password/forgot", "application/json", `{"tenant":"acme","login":"`+login+`"}`))
		for i := range out { // the form shows back what was typed: the caller's own words
			out[i] = strings.ReplaceAll(out[i], `value="`+login+`"`, `value="…"`)
		}
		return out
	}
	before := probes()
	known := play("bob")
	afterKnown := probes()
	unknown := play("zed") // as long as "bob": the console's form echoes it
	afterUnknown := probes()
	assert.Equal(t, known, unknown, "the answers to a known and an unknown login are the same")
	assert.Equal(t, before, afterKnown, "a known login's lockout and reset link show nowhere")
	assert.Equal(t, afterKnown, afterUnknown)
	assert.Contains(t, afterUnknown[2], "404", "no metrics for an anonymous caller")
}
