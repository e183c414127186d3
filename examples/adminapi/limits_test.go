package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/examples/adminapi/jsonapi"
	"github.com/backoffice-go/backoffice/internal/testserver"
)

// rss is the resident memory of a process, in bytes, from /proc.
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// filler is n bytes of 'a', made as they are read.
type filler struct{ n int64 }

func (f *filler) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), f.n)
	for i := range n {
		p[i] = 'a'
	}
	f.n -= n
	return int(n), nil
}

// B1: a thousand anonymous logins with 8 MB names, half to the JSON API
// and half to the console's form, leave the process less than 50 MB
// larger: bodies are cut off before they are parsed, and names bounded
// before they touch the limiter.
func TestHugeLoginsCostBoundedMemory(t *testing.T) {
	t.Run("Memory", func(t *testing.T) { hugeLogins(t, nil) })
	t.Run("PostgresRedis", func(t *testing.T) {
		hugeLogins(t, []string{"-postgres", testserver.Schema(t), "-redis", testserver.RedisURL(t), "-redis-prefix", freshPrefix("huge")})
	})
}

func hugeLogins(t *testing.T, args []string) {
	s := startBinary(t, args, "BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root",
		"BACKOFFICE_ADMIN_PASSWORD="+adminPW, "BACKOFFICE_TENANT=acme")
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var mu sync.Mutex
	answers := map[string]int{}
	send := func(i int) {
		const name = 8 << 20
		var prefix, suffix, path, ctype string
		if i%2 == 0 {
			prefix, suffix, path, ctype = `{"tenant":"acme","login":"`, `","password":"Wrong-Password-1"}`, "/v1/login", "application/json"
		} else {
			prefix, suffix, path, ctype = "username=", "&password=Wrong-Password-1", "/login", "application/x-www-form-urlencoded"
		}
		body := io.MultiReader(strings.NewReader(prefix), &filler{n: name}, strings.NewReader(suffix))
		req, err := http.NewRequest("POST", s.base+path, body)
		require.NoError(t, err)
		req.Header.Set("Content-Type", ctype)
		req.ContentLength = int64(len(prefix) + name + len(suffix))
		resp, err := client.Do(req)
		outcome := "cut off"
		if err == nil {
			outcome = path + " " + strconv.Itoa(resp.StatusCode)
		}
		mu.Lock()
		answers[outcome]++
		mu.Unlock()
		if err == nil { // the server may close before the client is done sending
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.Contains(t, []int{http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusOK, http.StatusBadRequest,
				http.StatusUnauthorized, http.StatusUnprocessableEntity}, resp.StatusCode)
		}
	}
	for i := range 20 { // warm up: the first requests grow every pool
		send(i)
	}
	before := rss(t, s.proc.Pid)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range work {
				send(i)
			}
		})
	}
	for i := range 1000 {
		work <- i
	}
	close(work)
	wg.Wait()
	after := rss(t, s.proc.Pid)
	t.Logf("resident memory %d MB before, %d MB after; answers %v", before>>20, after>>20, answers)
	assert.Less(t, after-before, int64(50<<20), "a thousand 8 MB logins grow the process by less than 50 MB")
}

// B3: one operator's searches are counted once across every surface:
// the API's search, its unfiltered list, and the console's search and
// list, whichever credential (bearer or cookie) carries the operator.
func TestSearchLimitOnEverySurface(t *testing.T) {
	frozen := time.Now()
	a := newTestAPIWith(t, func(c *config) { c.limiterClock = func() time.Time { return frozen } }) // no call refills the allowance, however slow the machine
	searches, _ := jsonapi.Allowance("search_actor")
	srv := httptest.NewServer(a.site())
	defer srv.Close()
	c := &client{t: t, base: srv.URL, http: http.DefaultClient}
	secrets := map[string]string{}
	token := c.login("acme", "root", adminPW, secrets, 0)
	for i := range searches {
		path := "/v1/endusers/search?name=ada"
		if i%2 == 1 {
			path = "/v1/endusers?limit=5"
		}
		c.must(200, c.do("GET", path, token, nil))
	}
	c.must(429, c.do("GET", "/v1/endusers?limit=5", token, nil))
	actor, err := a.ops.Authenticate(context.Background(), backoffice.Secret(token))
	require.NoError(t, err)
	r := httptest.NewRequest("GET", "/users", nil)
	r = r.WithContext(accessctl.NewContext(r.Context(), actor))
	require.ErrorIs(t, a.api.ConsoleLimit(r, "search", ""), jsonapi.ErrRateLimited, "the console's search counts with the API's for the same operator")

	other := c.login("acme", "root", adminPW, secrets, 1)
	c.must(429, c.do("GET", "/v1/endusers/search?name=ada", other, nil)) // another session of the same operator is the same operator
}

// B3 over HTTP, on memory and on PostgreSQL with Redis: ten wrong
// passwords for one operator, half typed as its username and half as its
// email in another case, fill its account's limit; the eleventh, by
// either name, is refused with 429, while another account logs in.
func TestLoginLimitCountsAPersonOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"Memory", func(*testing.T) []string { return nil }},
		{"PostgresRedis", func(t *testing.T) []string {
			return []string{"-postgres", testserver.Schema(t), "-redis", testserver.RedisURL(t), "-redis-prefix", freshPrefix("person")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startBinary(t, tc.args(t), "BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root",
				"BACKOFFICE_ADMIN_PASSWORD="+adminPW, "BACKOFFICE_TENANT=acme")
			c := &client{t: t, base: s.base, http: http.DefaultClient}
			admin := c.login("acme", "root", adminPW, map[string]string{}, 0)
			c.must(201, c.do("POST", "/v1/operators", admin, map[string]any{"username": "bob", "email": "bob@acme.test", "first_name": "B",
				"last_name": "B", "roles": []string{"read_only"}, "all_accounts": true, "password": managerPW, "password_confirmation": managerPW}))
			c.must(201, c.do("POST", "/v1/operators", admin, map[string]any{"username": "eve", "email": "eve@acme.test", "first_name": "E",
				"last_name": "E", "roles": []string{"read_only"}, "all_accounts": true, "password": managerPW, "password_confirmation": managerPW}))
			try := func(login string) int {
				return c.do("POST", "/v1/login", "", map[string]string{"tenant": "acme", "login": login, "password": "Wrong-Password-1"}).status
			}
			// At once, so that no slot refills (one every six seconds) however
			// slow the machine.
			logins, _ := jsonapi.Allowance("login_account")
			statuses := make([]int, logins)
			var wg sync.WaitGroup
			for i := range logins {
				login := "bob"
				if i%2 == 1 {
					login = "Bob@ACME.test"
				}
				wg.Go(func() { statuses[i] = try(login) })
			}
			wg.Wait()
			for i, st := range statuses {
				assert.Equal(t, http.StatusUnauthorized, st, "attempt %d", i+1)
			}
			assert.Equal(t, http.StatusTooManyRequests, try("bob@acme.test"), "one person, one limit")
			assert.Equal(t, http.StatusTooManyRequests, try("BOB"))
			assert.Equal(t, http.StatusUnauthorized, try("eve"), "another account is not limited")
		})
	}
}

// B3 on PostgreSQL with Redis: the end-user search and the unfiltered
// list share one limit per operator, kept in Redis for every instance:
// searches on one server and lists on another fill it together.
func TestSearchLimitSharedThroughRedis(t *testing.T) {
	dsn, redisURL := testserver.Schema(t), testserver.RedisURL(t)
	args := []string{"-postgres", dsn, "-redis", redisURL, "-redis-prefix", freshPrefix("search")}
	env := []string{"BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root", "BACKOFFICE_ADMIN_PASSWORD=" + adminPW, "BACKOFFICE_TENANT=acme"}
	one, two := startBinary(t, args, env...), startBinary(t, args, env...)
	c1 := &client{t: t, base: one.base, http: http.DefaultClient}
	c2 := &client{t: t, base: two.base, http: http.DefaultClient}
	token := c1.login("acme", "root", adminPW, map[string]string{}, 0)
	// At once; a slot refills every half second, and the machine may be
	// slow: what refilled while the test ran is counted below.
	start := time.Now()
	searches, per := jsonapi.Allowance("search_actor")
	statuses := make([]int, searches)
	var wg sync.WaitGroup
	for i := range searches {
		c, path := c1, "/v1/endusers/search?name=ada"
		if i%2 == 1 {
			c, path = c2, "/v1/endusers?limit=5"
		}
		wg.Go(func() { statuses[i] = c.do("GET", path, token, nil).status })
	}
	wg.Wait()
	for i, st := range statuses {
		assert.Equal(t, http.StatusOK, st, "call %d", i+1)
	}
	// Past the allowance, a call on either server is refused, but for the
	// slots that refilled meanwhile.
	extra := 0
	for c1.do("GET", "/v1/endusers/search?name=ada", token, nil).status != http.StatusTooManyRequests &&
		c2.do("GET", "/v1/endusers?limit=5", token, nil).status != http.StatusTooManyRequests {
		extra += 2
		require.Less(t, extra, 2*searches, "the limit never refused")
	}
	refilled := int(time.Since(start)/(per/time.Duration(searches))) + 1
	assert.LessOrEqual(t, extra, refilled, "%d calls past the allowance went through in %s", extra, time.Since(start))
}

// freshPrefix is a Redis key prefix no other run has used: the test
// helpers' Redis outlives one test, and a limit must start empty.
func freshPrefix(name string) string { return fmt.Sprintf("%s%d", name, time.Now().UnixNano()) }
