package main

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/internal/testserver"
)

// siem is a webhook receiver that checks every signature with the
// Standard Webhooks project's own library and keeps what it accepted, in
// the order it arrived; down, its port refuses connections.
type siem struct {
	t        *testing.T
	addr     string
	verifier *standardwebhooks.Webhook
	mu       sync.Mutex
	srv      *http.Server
	got      []siemEvent
	bad      atomic.Int64
}

type siemEvent struct {
	id   string
	seq  int64
	body []byte
}

func newSIEM(t *testing.T, secret string) *siem {
	v, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &siem{t: t, addr: l.Addr().String(), verifier: v}
	s.serve(l)
	t.Cleanup(func() { s.down() })
	return s
}

func (s *siem) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := s.verifier.Verify(body, r.Header); err != nil {
			s.bad.Add(1)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev struct {
			Metadata struct {
				UID      string `json:"uid"`
				Sequence int64  `json:"sequence"`
			} `json:"metadata"`
		}
		if json.Unmarshal(body, &ev) != nil || ev.Metadata.UID != r.Header.Get("webhook-id") {
			s.bad.Add(1)
			http.Error(w, "not an event", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, siemEvent{id: ev.Metadata.UID, seq: ev.Metadata.Sequence, body: body})
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// down closes the port: connections are refused.
func (s *siem) down() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// up listens on the same port again.
func (s *siem) up() {
	var l net.Listener
	require.Eventually(s.t, func() bool {
		var err error
		l, err = net.Listen("tcp", s.addr)
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	s.serve(l)
}

func (s *siem) received() []siemEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]siemEvent(nil), s.got...)
}

// L2, L3: two instances share PostgreSQL and Redis and stream the audit
// chain to one webhook. The receiver goes down while 1,000 changes are
// made, half on each instance: every change succeeds as fast as ever;
// once the receiver is back, every event of the chain arrives, each
// signed (checked by the Standard Webhooks library), in the chain's
// order, none lost; an event that came twice has the same id and body.
func TestEventsReachTheSIEMThroughAnOutage(t *testing.T) {
	key := make([]byte, 24)
	_, _ = rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	rx := newSIEM(t, secret)
	dsn := testserver.Schema(t)
	args := []string{"-postgres", dsn, "-redis", testserver.RedisURL(t), "-redis-prefix", fmt.Sprintf("events%d", time.Now().UnixNano()),
		"-events-webhook", "http://" + rx.addr + "/siem", "-events-webhook-secret", secret, "-events-backoff-max", "2s"}
	a := startBinary(t, append(args, "-demo", "-internal-secret", secretHdr))
	_, _, pw := demoLines(t, a)
	b := startBinary(t, append(args, "-internal-secret", secretHdr))
	ca := &client{t: t, base: a.base, http: http.DefaultClient, secret: secretHdr}
	cb := &client{t: t, base: b.base, http: http.DefaultClient, secret: secretHdr}
	secrets := map[string]string{}
	onA := ca.login("default", "demo_admin", pw, secrets, 0)
	onB := cb.login("default", "demo_admin", pw, secrets, 1)

	rx.down()
	const changes = 1000
	var failed atomic.Int64
	var wg sync.WaitGroup
	started := time.Now()
	for w := range 8 {
		base, token := a.base, onA
		if w%2 == 1 {
			base, token = b.base, onB
		}
		wg.Go(func() {
			for i := w; i < changes; i += 8 {
				body := fmt.Sprintf(`{"type":"business","legal_name":"Outage %d Ltd"}`, i)
				req, _ := http.NewRequest("POST", base+"/v1/endusers", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(started)
	require.Zero(t, failed.Load(), "a change never fails for a sink that is down")
	t.Logf("%d changes on two instances with the receiver down: %s", changes, took)

	// The operations view of the outage: a backlog, failures.
	sinks := ca.must(200, ca.do("GET", "/v1/events/sinks", onA, nil))
	require.Len(t, sinks.items(), 1)
	assert.Greater(t, sinks.items()[0]["backlog"], float64(changes-1))
	assert.Contains(t, sinks.items()[0]["last_error"], "connection refused")

	rx.up()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	var want []string
	require.Eventually(t, func() bool {
		want = want[:0]
		rows, err := db.Query(`SELECT id FROM backoffice_audit_entries WHERE tenant_id = 'default' AND seq IS NOT NULL ORDER BY seq`)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			want = append(want, id)
		}
		seen := map[string]bool{}
		for _, e := range rx.received() {
			seen[e.id] = true
		}
		return len(seen) == len(want)
	}, 90*time.Second, 200*time.Millisecond, "every event arrives after the outage")
	require.Greater(t, len(want), changes)

	got := rx.received()
	first := map[string][]byte{}
	var order []string
	var last int64
	for _, e := range got {
		if body, ok := first[e.id]; ok {
			assert.Equal(t, string(body), string(e.body), "a duplicate is the same event, with its id")
			continue
		}
		first[e.id] = e.body
		require.Equal(t, last+1, e.seq, "in the chain's order")
		last = e.seq
		order = append(order, e.id)
	}
	assert.Equal(t, want, order, "none lost, in order")
	assert.Zero(t, rx.bad.Load(), "every signature checked")
	t.Logf("%d events delivered, %d duplicates", len(order), len(got)-len(order))

	// Both instances see the sink caught up; its metrics say so.
	for _, c := range []*client{ca, cb} {
		token := onA
		if c == cb {
			token = onB
		}
		s := c.must(200, c.do("GET", "/v1/events/sinks", token, nil)).items()[0]
		assert.Equal(t, "ok", s["state"])
		assert.Equal(t, float64(0), s["backlog"])
		assert.Equal(t, float64(len(want)), s["last_delivered"])
	}
	metrics := ca.do("GET", "/metrics", "", nil, "X-Internal-Secret", secretHdr)
	require.Equal(t, 200, metrics.status)
	assert.Contains(t, string(metrics.raw), `backoffice_events_backlog{sink="webhook `+rx.addr+`"} 0`)
	assert.True(t, bytes.Contains(metrics.raw, []byte("backoffice_events_failures_total")))
}

// writeCA writes the certificate as a PEM file for -events-syslog-ca.
func writeCA(t *testing.T, cert *x509.Certificate) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600))
	return path
}

// L1, L4 from the binary's flags: -events-syslog tls://… with
// -events-syslog-ca sends the chain and the refused logins to a real
// rsyslog over TLS, which writes them to its file; a collector whose
// certificate another CA signed is not trusted, and the sinks' state
// says why.
func TestEventsToRsyslogFromTheBinary(t *testing.T) {
	r := testserver.StartRsyslog(t)
	s := startBinary(t, []string{"-demo", "-events-syslog", "tls://" + r.Addr, "-events-syslog-ca", writeCA(t, r.CA)})
	_, _, pw := demoLines(t, s)
	c := &client{t: t, base: s.base, http: http.DefaultClient, secret: secretHdr}
	c.must(401, c.do("POST", "/v1/login", "", map[string]string{"tenant": "default", "login": "demo_admin", "password": "not-the-password"}))
	token := c.login("default", "demo_admin", pw, map[string]string{}, 0)

	var lines []string
	var data []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		data, _ = os.ReadFile(r.File)
		if strings.Contains(string(data), "password refused") && strings.Contains(string(data), `"event_code":"operator.mfa_enrol"`) {
			break
		}
	}
	lines = strings.Split(strings.TrimSpace(string(data)), "\n")
	require.True(t, strings.Contains(string(data), "password refused"), "the refused login is among the %d lines rsyslog wrote", len(lines))
	require.True(t, strings.Contains(string(data), `"event_code":"operator.mfa_enrol"`), "the login is among the %d lines rsyslog wrote", len(lines))
	var refused, chained int
	for _, line := range lines {
		msgid, body, ok := strings.Cut(line, " ")
		require.True(t, ok, line)
		var ev struct {
			ClassUID int `json:"class_uid"`
			StatusID int `json:"status_id"`
			Metadata struct {
				Sequence int64 `json:"sequence"`
			} `json:"metadata"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &ev), line)
		assert.Equal(t, fmt.Sprintf("ocsf-%d", ev.ClassUID), msgid)
		assert.NotContains(t, body, "not-the-password", "never what was typed")
		assert.NotContains(t, body, pw)
		switch {
		case ev.ClassUID == 3002 && ev.StatusID == 2:
			refused++
		case ev.Metadata.Sequence > 0:
			chained++
			assert.Equal(t, int64(chained), ev.Metadata.Sequence, "in the chain's order")
		}
	}
	assert.Equal(t, 1, refused)
	assert.Greater(t, chained, 100, "the demo's history and the login (a first login is its MFA enrolment)")

	sinks := c.must(200, c.do("GET", "/v1/events/sinks", token, nil)).items()
	require.Len(t, sinks, 1)
	assert.Equal(t, "syslog "+r.Addr, sinks[0]["name"])
	assert.Equal(t, "ok", sinks[0]["state"])

	// Another CA: the collector's certificate is refused.
	otherCA := writeCA(t, testserver.StartRsyslog(t).CA)
	u := startBinary(t, []string{"-demo", "-events-syslog", "tls://" + r.Addr, "-events-syslog-ca", otherCA})
	_, _, upw := demoLines(t, u)
	cu := &client{t: t, base: u.base, http: http.DefaultClient, secret: secretHdr}
	utoken := cu.login("default", "demo_admin", upw, map[string]string{}, 0)
	require.Eventually(t, func() bool {
		s := cu.must(200, cu.do("GET", "/v1/events/sinks", utoken, nil)).items()[0]
		return s["state"] == "retrying" && strings.Contains(fmt.Sprint(s["last_error"]), "certificate")
	}, 30*time.Second, 100*time.Millisecond)
	c.must(400, c.do("POST", "/v1/events/test", token, map[string]any{"sink": "syslog " + r.Addr, "extra": true}))
}
