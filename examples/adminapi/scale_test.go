package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/internal/testserver"
)

// call is one request through the load balancer; it returns the status
// and the decoded answer (nil when it is not JSON).
func call(hc *http.Client, method, target, token string, body any) (int, map[string]any) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, target, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// C1, C2, C3: four adminapi processes share PostgreSQL (a primary, and a
// streaming replica for the reads that may lag) and the Redis Cluster,
// behind HAProxy (round robin, no stickiness). Eight operators work
// through it (end users created, edited, searched; operators invited,
// each invitation a notice) while one instance is killed with SIGKILL.
// Afterwards: every change that was acknowledged is there, with its
// audit entry and at least its acknowledged version; every session kept
// working on the other instances (no 401); each invitation's notice was
// delivered under one idempotency key (sent again only under that same
// key, by another instance, when the killed one held it), and the audit
// chain holds.
func TestFourInstancesBehindHAProxy(t *testing.T) {
	primary, standby := testserver.StartReplicated(t)
	dsn := primary.Schema(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	reader := testserver.WithParam(standby.DSN(), "search_path", u.Query().Get("search_path"))
	args := []string{"-postgres", dsn, "-postgres-reader", reader, "-redis-cluster", strings.Join(testserver.RedisClusterAddrs(t), ","),
		"-redis-prefix", fmt.Sprintf("c3x%d", time.Now().UnixNano()), "-internal-secret", secretHdr, "-outbox-lease", "3s"}
	inst := []*server{startBinary(t, append(args, "-demo"))}
	_, _, pw := demoLines(t, inst[0])
	for range 3 {
		inst = append(inst, startBinary(t, args))
	}
	backends := make([]string, len(inst))
	for i, s := range inst {
		backends[i] = strings.TrimPrefix(s.base, "http://")
	}
	lb := "http://" + testserver.StartHAProxy(t, backends)
	c := &client{t: t, base: lb, http: http.DefaultClient, secret: secretHdr}
	secrets := map[string]string{}
	admin := c.login("default", "demo_admin", pw, secrets, 0)

	const workers = 8
	tokens := make([]string, workers)
	for w := range workers {
		name := fmt.Sprintf("worker%d", w)
		c.must(201, c.do("POST", "/v1/operators", admin, map[string]any{"username": name, "email": name + "@demo.example", "first_name": "W",
			"last_name": "K", "roles": []string{"administrator"}, "all_accounts": true, "password": adminPW, "password_confirmation": adminPW}))
		tokens[w] = c.login("default", name, adminPW, secrets, 0)
	}

	var mu sync.Mutex
	versions := map[string]int64{} // acknowledged end users: id → version
	var invited []string           // acknowledged invitations' emails
	statuses := map[int]int{}
	var unauthorized atomic.Int64
	stop := time.Now().Add(8 * time.Second)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			hc := &http.Client{Timeout: 10 * time.Second}
			r := rand.New(rand.NewPCG(uint64(w), 3))
			var mine []string
			for i := 0; time.Now().Before(stop); i++ {
				var status int
				var body map[string]any
				switch {
				case i%10 == 9:
					email := fmt.Sprintf("invitee-%d-%d@demo.example", w, i)
					status, _ = call(hc, "POST", lb+"/v1/operators/invitations", tokens[w], map[string]any{"username": fmt.Sprintf("inv%d_%d", w, i),
						"email": email, "first_name": "I", "last_name": "N", "roles": []string{"read_only"}, "all_accounts": true})
					if status == 201 {
						mu.Lock()
						invited = append(invited, email)
						mu.Unlock()
					}
				case len(mine) > 0 && i%3 == 1:
					id := mine[r.IntN(len(mine))]
					mu.Lock()
					v := versions[id]
					mu.Unlock()
					status, body = call(hc, "PATCH", lb+"/v1/endusers/"+id, tokens[w], map[string]any{"version": v, "tag": fmt.Sprintf("t%d", i)})
					if status == 200 {
						mu.Lock()
						versions[id] = int64(body["version"].(float64))
						mu.Unlock()
					}
				case i%3 == 2:
					status, _ = call(hc, "GET", lb+"/v1/endusers?limit=20&q=Soak", tokens[w], nil)
				default:
					status, body = call(hc, "POST", lb+"/v1/endusers", tokens[w], map[string]any{"type": "business", "legal_name": fmt.Sprintf("Soak %d-%d Ltd", w, i)})
					if status == 201 {
						id := body["id"].(string)
						mine = append(mine, id)
						mu.Lock()
						versions[id] = int64(body["version"].(float64))
						mu.Unlock()
					}
				}
				mu.Lock()
				statuses[status]++
				mu.Unlock()
				if status == 401 {
					unauthorized.Add(1)
				}
			}
		})
	}
	time.Sleep(4 * time.Second)
	require.NoError(t, inst[2].kill()) // SIGKILL, mid-load
	wg.Wait()
	t.Logf("answers through HAProxy: %v", statuses)
	assert.Zero(t, unauthorized.Load(), "sessions keep working on the other instances")
	for status, n := range statuses {
		ok := status >= 200 && status < 300 || status == 409 || status == 429 || status == 502 || status == 503
		assert.True(t, ok, "%d answers %d: only successes, stale versions, the abuse limits, and the requests in flight at the kill", n, status)
	}
	assert.LessOrEqual(t, statuses[502]+statuses[503], workers, "at most the requests in flight at the kill failed")

	// Every acknowledged change is there.
	for id, v := range versions {
		got := c.must(200, c.do("GET", "/v1/endusers/"+id, admin, nil))
		assert.GreaterOrEqual(t, got.num("version"), v, "end user %s", id)
	}
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	var created int
	ids := make([]string, 0, len(versions))
	for id := range versions {
		ids = append(ids, id)
	}
	require.NoError(t, db.QueryRow(`SELECT count(DISTINCT target_id) FROM backoffice_audit_entries WHERE action = 'enduser.create' AND target_id = ANY($1)`,
		"{"+strings.Join(ids, ",")+"}").Scan(&created))
	assert.Equal(t, len(versions), created, "each acknowledged end user has its creation's audit entry")

	// Every invitation's notice is delivered, under one key.
	require.Eventually(t, func() bool {
		var pending int
		return db.QueryRow(`SELECT count(*) FROM backoffice_outbox WHERE status <> 'delivered'`).Scan(&pending) == nil && pending == 0
	}, 30*time.Second, 100*time.Millisecond, "the outbox drains, the killed instance's claims passed to the others")
	keys := map[string]map[string]bool{} // email → idempotency keys
	sent := map[string]int{}             // key → deliveries
	for _, s := range inst {
		sc := bufio.NewScanner(strings.NewReader(s.log()))
		sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg, To, Key, Kind string
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "email to operator" || !strings.HasPrefix(line.To, "invitee-") {
				continue
			}
			if keys[line.To] == nil {
				keys[line.To] = map[string]bool{}
			}
			keys[line.To][line.Key] = true
			sent[line.Key]++
		}
	}
	var again int
	for _, email := range invited {
		assert.Len(t, keys[email], 1, "the invitation of %s: one notice, one key", email)
	}
	for _, n := range sent {
		again += n - 1
	}
	t.Logf("%d end users, %d invitations acknowledged; %d notices sent again under their key after the kill", len(versions), len(invited), again)
	assert.Positive(t, len(invited))

	v := c.must(200, c.do("GET", "/v1/audit/verify", admin, nil))
	assert.Nil(t, v.body["break"], "the chain holds")
}
