package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/internal/testserver"
)

// cpuTicks is the CPU time (user and system, in clock ticks of 10 ms)
// the process has used, from /proc.
func cpuTicks(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(b, err)
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	s, _ := strconv.ParseInt(fields[12], 10, 64)
	return u + s
}

// pgCalls is how many statements the servers ran, from
// pg_stat_statements.
func pgCalls(b *testing.B, dsns ...string) int64 {
	var total int64
	for _, dsn := range dsns {
		db, err := sql.Open("postgres", dsn)
		require.NoError(b, err)
		var n int64
		require.NoError(b, db.QueryRow(`SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
			AND query NOT LIKE '%pg_is_in_recovery%'`).Scan(&n))
		db.Close()
		total += n
	}
	return total
}

// redisCalls is how many commands the cluster's nodes ran, from INFO
// commandstats, leaving out the cluster client's own (CLUSTER, PING,
// INFO).
func redisCalls(b *testing.B, addrs []string) int64 {
	var total int64
	for _, a := range addrs {
		c := goredis.NewClient(&goredis.Options{Addr: a})
		info, err := c.Info(b.Context(), "commandstats").Result()
		c.Close()
		require.NoError(b, err)
		for _, line := range strings.Split(info, "\n") {
			name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
			if !ok || !strings.HasPrefix(name, "cmdstat_") || strings.Contains(name, "cluster") || strings.Contains(name, "ping") ||
				strings.Contains(name, "info") || strings.Contains(name, "replconf") {
				continue
			}
			calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
			n, _ := strconv.ParseInt(calls, 10, 64)
			total += n
		}
	}
	return total
}

// BenchmarkRoundTrips measures, per request of each kind, the PostgreSQL
// statements (primary and replica), the Redis commands (every cluster
// node, WAIT included) and the CPU time of the adminapi processes, with
// one instance and with four behind HAProxy (make bench; docs/scaling.md).
// The outbox dispatchers' polls (one claim a 100 ms per instance) are in
// the counts: a few hundredths of a statement per request.
//
//	go test ./examples/adminapi -run '^$' -bench RoundTrips -benchtime 300x
func BenchmarkRoundTrips(b *testing.B) {
	primary, standby := testserver.StartReplicated(b)
	addrs := testserver.RedisClusterAddrs(b)
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("%dInstances", n), func(b *testing.B) {
			dsn := primary.Schema(b)
			u, err := url.Parse(dsn)
			require.NoError(b, err)
			reader := testserver.WithParam(standby.DSN(), "search_path", u.Query().Get("search_path"))
			args := []string{"-postgres", dsn, "-postgres-reader", reader, "-redis-cluster", strings.Join(addrs, ","),
				"-redis-prefix", fmt.Sprintf("rt%d", n), "-internal-secret", secretHdr}
			inst := []*server{startBinary(b, append(args, "-demo"))}
			_, _, pw := demoLines(b, inst[0])
			for range n - 1 {
				inst = append(inst, startBinary(b, args))
			}
			base := inst[0].base
			if n > 1 {
				backends := make([]string, n)
				for i, s := range inst {
					backends[i] = strings.TrimPrefix(s.base, "http://")
				}
				base = "http://" + testserver.StartHAProxy(b, backends)
			}
			c := &client{t: b, base: base, http: http.DefaultClient, secret: secretHdr}
			secrets := map[string]string{}
			token := c.login("default", "demo_admin", pw, secrets, 0)
			// Searches and lists are limited to 120 a minute per operator
			// (an abuse limit): a dozen operators share the load.
			tokens := []string{token}
			for w := range 11 {
				name := fmt.Sprintf("rt%d", w)
				c.must(201, c.do("POST", "/v1/operators", token, map[string]any{"username": name, "email": name + "@demo.example", "first_name": "R",
					"last_name": "T", "roles": []string{"administrator"}, "all_accounts": true, "password": adminPW, "password_confirmation": adminPW}))
				tokens = append(tokens, c.login("default", name, adminPW, secrets, 0))
			}
			user := c.must(201, c.do("POST", "/v1/endusers", token, map[string]any{"type": "business", "legal_name": "Round Trip Ltd"}))
			id, version := user.str("id"), user.num("version")
			hc := &http.Client{}
			ops := []struct {
				name string
				do   func(i int)
			}{
				{"GetMe", func(int) { call(hc, "GET", base+"/v1/me", token, nil) }},
				{"ListEndUsers", func(i int) {
					call(hc, "GET", base+"/v1/endusers?limit=20&status=validated", tokens[i%len(tokens)], nil)
				}},
				{"SearchEndUsers", func(i int) {
					call(hc, "GET", base+"/v1/endusers/search?name=hopper&limit=20", tokens[i%len(tokens)], nil)
				}},
				{"GetEndUser", func(int) { call(hc, "GET", base+"/v1/endusers/"+id, token, nil) }},
				{"CreateEndUser", func(i int) {
					call(hc, "POST", base+"/v1/endusers", token, map[string]any{"type": "business", "legal_name": fmt.Sprintf("RT %d Ltd", i)})
				}},
				{"EditEndUser", func(i int) {
					status, body := call(hc, "PATCH", base+"/v1/endusers/"+id, token, map[string]any{"version": version, "tag": fmt.Sprintf("rt-%d", i)})
					if status == 200 {
						version = int64(body["version"].(float64))
					}
				}},
			}
			for _, op := range ops {
				b.Run(op.name, func(b *testing.B) {
					pg0, rep0, r0 := pgCalls(b, primary.DSN()), pgCalls(b, standby.DSN()), redisCalls(b, addrs)
					var cpu0 int64
					for _, s := range inst {
						cpu0 += cpuTicks(b, s.proc.Pid)
					}
					i := 0
					for b.Loop() {
						op.do(i)
						i++
					}
					var cpu1 int64
					for _, s := range inst {
						cpu1 += cpuTicks(b, s.proc.Pid)
					}
					pg1, rep1, r1 := pgCalls(b, primary.DSN()), pgCalls(b, standby.DSN()), redisCalls(b, addrs)
					b.ReportMetric(float64(pg1-pg0)/float64(i), "pg-primary/op")
					b.ReportMetric(float64(rep1-rep0)/float64(i), "pg-replica/op")
					b.ReportMetric(float64(r1-r0)/float64(i), "redis/op")
					b.ReportMetric(float64(cpu1-cpu0)*10_000/float64(i), "cpu-µs/op")
				})
			}
		})
	}
}
