package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/internal/testserver"
)

func TestMain(m *testing.M) { testserver.Main(m) }

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// buildBinary compiles the real adminapi program once per test run.
func buildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "adminapi-bin-")
		if err != nil {
			buildErr = err
			return
		}
		testserver.AtExit(func() { os.RemoveAll(dir) })
		binary = filepath.Join(dir, "adminapi")
		cmd := exec.Command("go", "build", "-o", binary, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binary
}

// server is a running adminapi process.
type server struct {
	base   string
	mu     sync.Mutex
	output strings.Builder
	lines  chan string
	proc   *os.Process
	exited chan struct{} // closed when the process's output ends
	killed atomic.Bool   // by the test, with SIGKILL: no graceful end to check
}

// kill ends the process with SIGKILL, as a crash would.
func (s *server) kill() error {
	s.killed.Store(true)
	return s.proc.Kill()
}

func (s *server) log() string { s.mu.Lock(); defer s.mu.Unlock(); return s.output.String() }

// startBinary runs the program on a free port with the arguments and
// environment, waits for /healthz, and stops it (SIGTERM, a graceful
// shutdown) when the test ends.
func startBinary(t testing.TB, args []string, env ...string) *server {
	t.Helper()
	bin := buildBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	s := &server{base: "http://" + addr, lines: make(chan string, 1000), proc: cmd.Process, exited: done}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.mu.Lock()
			s.output.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			select {
			case s.lines <- sc.Text():
			default:
			}
		}
		close(done)
	}()
	t.Cleanup(func() {
		if s.killed.Load() {
			_ = cmd.Wait()
			return
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		_ = cmd.Wait()
		assert.Contains(t, s.log(), "shutting down", "SIGTERM shuts down gracefully")
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not start: %v\n%s", err, s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const (
	adminPW   = "Tangerine-Sky-2048"
	managerPW = "Compiler-Queen-1952"
	secretHdr = "e2e-internal-secret"
)

// TestEndToEndMemory runs the real binary on the in-memory store.
func TestEndToEndMemory(t *testing.T) {
	s := startBinary(t, nil, "BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root",
		"BACKOFFICE_ADMIN_PASSWORD="+adminPW, "BACKOFFICE_TENANT=acme", "BACKOFFICE_INTERNAL_SECRET="+secretHdr)
	walkThrough(t, s)
}

// TestEndToEndPostgresRedis runs the real binary on PostgreSQL and Redis
// started by the test helpers.
func TestEndToEndPostgresRedis(t *testing.T) {
	dsn := testserver.Schema(t)
	redisURL := testserver.RedisURL(t)
	opsAddr := freeAddr(t)
	s := startBinary(t, []string{"-postgres", dsn, "-redis", redisURL, "-redis-prefix", fmt.Sprintf("e2e%d", time.Now().UnixNano()), "-ops-addr", opsAddr},
		"BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root", "BACKOFFICE_ADMIN_PASSWORD="+adminPW,
		"BACKOFFICE_TENANT=acme", "BACKOFFICE_INTERNAL_SECRET="+secretHdr)
	c := &client{t: t, base: s.base, http: http.DefaultClient, secret: secretHdr}
	r := c.must(200, c.do("GET", "/readyz", "", nil))
	assert.Equal(t, "ready", r.str("status"))
	resp, err := http.Get("http://" + opsAddr + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var details map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&details))
	migrations, _ := details["migrations"].(map[string]any)
	assert.Equal(t, true, migrations["applied"], "every migration of this release is applied")
	walkThrough(t, s)
}

// TestSetupToken: without an Administrator's password the first start
// prints a one-time setup token; there is no default password.
func TestSetupToken(t *testing.T) {
	s := startBinary(t, []string{"-tenant", "fresh"})
	var token string
	for token == "" {
		select {
		case line := <-s.lines:
			if strings.HasPrefix(line, "  ") {
				token = strings.TrimSpace(line)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no setup token printed:\n%s", s.log())
		}
	}
	c := &client{t: t, base: s.base, http: http.DefaultClient}
	body := map[string]any{"setup_token": token, "name": "Fresh", "admin": map[string]any{"username": "boss", "email": "boss@fresh.test",
		"first_name": "B", "last_name": "Oss", "password": "weak", "password_confirmation": "weak"}}
	r := c.must(422, c.do("POST", "/v1/setup", "", body))
	assert.Equal(t, "password", r.body["errors"].([]any)[0].(map[string]any)["field"])
	body["admin"].(map[string]any)["password"] = adminPW
	body["admin"].(map[string]any)["password_confirmation"] = adminPW
	c.must(403, c.do("POST", "/v1/setup", "", map[string]any{"setup_token": "guess", "name": "X", "admin": body["admin"]}))
	c.must(201, c.do("POST", "/v1/setup", "", body))
	c.must(403, c.do("POST", "/v1/setup", "", body)) // once only
	c.login("fresh", "boss", adminPW, map[string]string{}, 0)
}

// walkThrough drives the main flows over HTTP.
func walkThrough(t *testing.T, s *server) {
	c := &client{t: t, base: s.base, http: http.DefaultClient, secret: secretHdr, contract: newContract(t)}
	secrets := map[string]string{}

	// Log in with MFA.
	admin := c.login("acme", "root", adminPW, secrets, 0)
	me := c.must(200, c.do("GET", "/v1/me", admin, nil))
	assert.Equal(t, true, me.body["administrator"])

	// Invite a Manager, who accepts and logs in.
	inv := c.must(201, c.do("POST", "/v1/operators/invitations", admin, map[string]any{"username": "grace", "email": "grace@acme.test",
		"first_name": "Grace", "last_name": "Hopper", "roles": []string{"manager"}, "all_accounts": true}))
	graceID := inv.str("id")
	assert.Equal(t, "invited", inv.str("status"))
	token := c.outboxToken("invitation", "grace@acme.test")
	c.must(422, c.do("POST", "/v1/invitations/accept", "", map[string]string{"token": token, "password": "short", "password_confirmation": "short"}))
	acc := c.must(200, c.do("POST", "/v1/invitations/accept", "", map[string]string{"token": token, "password": managerPW, "password_confirmation": managerPW}))
	secrets["grace"] = acc.str("mfa_enrolment", "secret")
	c.mfa(acc.str("challenge"), secrets["grace"], 0)

	// Three wrong passwords block her; the Administrator unblocks her.
	for range 3 {
		r := c.must(401, c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": "grace", "password": "Wrong-Password-1"}))
		assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	}
	g := c.must(200, c.do("GET", "/v1/operators/"+graceID, admin, nil))
	assert.Equal(t, "blocked", g.str("status"))
	c.must(401, c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": "grace", "password": managerPW}))
	c.must(200, c.do("POST", "/v1/operators/"+graceID+"/unblock", admin, map[string]any{"version": g.num("version")}))
	grace := c.login("acme", "grace", managerPW, secrets, 1)

	// A Manager cannot make anyone Administrator: 403, nothing changed.
	clerk := c.must(201, c.do("POST", "/v1/operators/invitations", grace, map[string]any{"username": "clerk", "email": "clerk@acme.test",
		"first_name": "C", "last_name": "K", "roles": []string{"read_only"}, "all_accounts": true}))
	r := c.must(403, c.do("PATCH", "/v1/operators/"+clerk.str("id"), grace, map[string]any{"version": clerk.num("version"), "roles": []string{"administrator"}}))
	assert.Contains(t, r.str("detail"), "Administrator")
	after := c.must(200, c.do("GET", "/v1/operators/"+clerk.str("id"), admin, nil))
	assert.Equal(t, clerk.num("version"), after.num("version"))
	assert.Equal(t, []any{"read_only"}, after.body["roles"])

	// End users: create, search, list with filters and cursors.
	var ids []string
	for i, n := range []map[string]any{
		{"type": "physical_person", "first_name": "Marie", "last_name": "Curie", "email": "marie@radium.example", "tag": "crm-1"},
		{"type": "physical_person", "first_name": "Pierre", "last_name": "Curie", "email": "pierre@radium.example"},
		{"type": "business", "legal_name": "Curie Instruments", "email": "hello@instruments.example"},
		{"type": "business", "legal_name": "Radium Works", "email": "works@radium.example"},
		{"type": "non_governmental_organization", "legal_name": "Science Fund"},
	} {
		u := c.must(201, c.do("POST", "/v1/endusers", grace, n))
		ids = append(ids, u.str("id"))
		_ = i
	}
	found := c.must(200, c.do("GET", "/v1/endusers/search?name=curie", grace, nil))
	assert.Len(t, found.items(), 3)
	byTag := c.must(200, c.do("GET", "/v1/endusers/search?tag=crm-1", grace, nil))
	assert.Equal(t, ids[0], byTag.items()[0]["id"])
	p1 := c.must(200, c.do("GET", "/v1/endusers?type=business&status=pending&limit=1", grace, nil))
	require.Len(t, p1.items(), 1)
	assert.Equal(t, ids[3], p1.items()[0]["id"])
	p2 := c.must(200, c.do("GET", "/v1/endusers?type=business&status=pending&limit=1&cursor="+url.QueryEscape(p1.str("next")), grace, nil))
	assert.Equal(t, ids[2], p2.items()[0]["id"])
	assert.Empty(t, p2.str("next"))
	total := c.must(200, c.do("GET", "/v1/endusers/count?type=business&status=pending", grace, nil))
	assert.Equal(t, int64(2), total.num("total"))

	// Deactivation is refused while the wallet holds money.
	marie := c.must(200, c.do("POST", "/v1/endusers/"+ids[0]+"/kyc/review", grace, map[string]any{"version": 1}))
	marie = c.must(200, c.do("POST", "/v1/endusers/"+ids[0]+"/kyc/outcome", grace, map[string]any{"version": marie.num("version"), "outcome": "validated"}))
	c.must(200, c.do("PUT", "/v1/endusers/"+ids[0]+"/wallet", grace, map[string]any{"currency": "EUR", "amount": 12540}))
	r = c.must(409, c.do("POST", "/v1/endusers/"+ids[0]+"/deactivate", grace, map[string]any{"version": marie.num("version")}))
	assert.Contains(t, r.str("type"), "failed-precondition")
	assert.Contains(t, r.str("detail"), "holds 125.40 EUR")
	c.must(200, c.do("PUT", "/v1/endusers/"+ids[0]+"/wallet", grace, map[string]any{"currency": "EUR", "amount": 0}))
	gone := c.must(200, c.do("POST", "/v1/endusers/"+ids[0]+"/deactivate", grace, map[string]any{"version": marie.num("version")}))
	assert.Equal(t, "canceled", gone.str("status"))

	// A device: enrolled by the customer app, locked, unlocked after an identity check.
	d := c.must(201, c.do("POST", "/v1/internal/endusers/"+ids[1]+"/devices", "", map[string]any{"kind": "mobile", "info": "Pixel 9"},
		"X-Internal-Secret", secretHdr))
	d = c.must(200, c.do("POST", "/v1/internal/devices/"+d.str("id")+"/passcode", "", map[string]any{"version": d.num("version")},
		"X-Internal-Secret", secretHdr))
	cmds := c.must(200, c.do("GET", "/v1/devices/"+d.str("id")+"/commands", grace, nil))
	assert.Equal(t, []any{"lock", "unlock", "reset_pin", "delete"}[0], cmds.body["commands"].([]any)[0])
	d = c.must(200, c.do("POST", "/v1/devices/"+d.str("id")+"/lock", grace, map[string]any{"version": d.num("version"), "reason": "suspected_fraud",
		"message": "declined payments abroad"}))
	assert.Equal(t, "locked", d.str("status"))
	c.must(422, c.do("POST", "/v1/devices/"+d.str("id")+"/unlock", grace, map[string]any{"version": d.num("version"), "identity_verified": false}))
	d = c.must(200, c.do("POST", "/v1/devices/"+d.str("id")+"/unlock", grace, map[string]any{"version": d.num("version"), "identity_verified": true}))
	assert.Equal(t, "active", d.str("status"))

	// History, newest first.
	h := c.must(200, c.do("GET", "/v1/operators/"+graceID+"/history", admin, nil))
	var actions []string
	for _, e := range h.items() {
		actions = append(actions, e["action"].(string))
	}
	assert.Contains(t, actions, "operator.unblock")
	assert.Contains(t, actions, "operator.block")
	assert.Equal(t, "operator.invite", actions[len(actions)-1])
	assert.Positive(t, h.items()[0]["seq"], "H1: each entry carries its place in the chain")

	// H2: the tenant's audit chain holds, for an Administrator to verify.
	v := c.must(200, c.do("GET", "/v1/audit/verify", admin, nil))
	assert.Nil(t, v.body["break"])
	assert.Equal(t, v.body["head"].(map[string]any)["seq"], v.body["verified"])

	// Bad input never gets a 5xx (the client fails the test on one).
	c.must(400, c.do("POST", "/v1/endusers", grace, `{"type": "business",`))
	c.must(400, c.do("POST", "/v1/endusers", grace, `{"type": "business", "colour": "blue"}`))
	c.must(413, c.do("POST", "/v1/endusers", grace, `{"legal_name": "`+strings.Repeat("x", 70<<10)+`"}`))
	c.must(415, c.do("POST", "/v1/endusers", grace, nil, "Content-Type", "text/plain"))
	c.must(404, c.do("GET", "/v1/endusers/not-an-id", grace, nil))
	c.must(422, c.do("GET", "/v1/endusers?cursor=zzz", grace, nil))
	c.must(400, c.do("GET", "/v1/endusers?limit=-4", grace, nil))
	c.must(401, c.do("GET", "/v1/endusers", "forged-token", nil))

	// Logging out ends the session.
	c.must(204, c.do("POST", "/v1/logout", grace, nil))
	c.must(401, c.do("GET", "/v1/me", grace, nil))
}

// D7: "adminapi migrate status|up" reports and applies the embedded
// migrations, for hosts without a tool of their own.
func TestMigrateCommand(t *testing.T) {
	bin := buildBinary(t)
	dsn := testserver.Schema(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"migrate"}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	assert.Regexp(t, `^the schema is at version 0 of \d+: \d+ migration\(s\) to apply`, run("status", "-postgres", dsn))
	assert.Regexp(t, `^the schema is at version \d+\n$`, run("up", "-postgres", dsn))
	assert.Regexp(t, `^the schema is at version (\d+) of \d+: up to date\n$`, run("status", "-postgres", dsn))
	out, err := exec.Command(bin, "migrate", "down").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "usage: adminapi migrate up|status")
}

// freeAddr is a loopback address no one listens on, for a listener of
// the program's.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}
