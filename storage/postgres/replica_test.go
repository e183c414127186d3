package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/storetest"
)

// lagging is a store whose every read that may lag is marked so, as the
// services mark theirs: the conformance suite, which calls the store
// itself, then reads through the replica wherever the services would.
type lagging struct{ *postgres.Store }

func lag(ctx context.Context) context.Context { return backoffice.WithLaggingReads(ctx) }

func (l lagging) Operators(ctx context.Context, t backoffice.TenantID, q accessctl.OperatorQuery) ([]*accessctl.Operator, error) {
	return l.Store.Operators(lag(ctx), t, q)
}

func (l lagging) AuditEntries(ctx context.Context, t backoffice.TenantID, q accessctl.AuditQuery) ([]backoffice.AuditEntry, error) {
	return l.Store.AuditEntries(lag(ctx), t, q)
}

func (l lagging) AuditChain(ctx context.Context, t backoffice.TenantID, after int64, limit int) ([]backoffice.AuditEntry, error) {
	return l.Store.AuditChain(lag(ctx), t, after, limit)
}

func (l lagging) AuditHead(ctx context.Context, t backoffice.TenantID) (backoffice.ChainHead, error) {
	return l.Store.AuditHead(lag(ctx), t)
}

func (l lagging) CountEndUsers(ctx context.Context, t backoffice.TenantID, q enduser.Query) (int, error) {
	return l.Store.CountEndUsers(lag(ctx), t, q)
}

func (l lagging) FindEndUsers(ctx context.Context, t backoffice.TenantID, q enduser.Query) ([]*enduser.EndUser, error) {
	return l.Store.FindEndUsers(lag(ctx), t, q)
}

func (l lagging) Onboardings(ctx context.Context, t backoffice.TenantID, q enduser.OnboardingQuery) ([]*enduser.Onboarding, error) {
	return l.Store.Onboardings(lag(ctx), t, q)
}

func (l lagging) Approvals(ctx context.Context, t backoffice.TenantID, q accessctl.ApprovalQuery) ([]*accessctl.Approval, error) {
	return l.Store.Approvals(lag(ctx), t, q)
}

func (l lagging) Reviews(ctx context.Context, t backoffice.TenantID, q accessctl.ReviewQuery) ([]*accessctl.Review, error) {
	return l.Store.Reviews(lag(ctx), t, q)
}

// replicated opens a migrated store on a fresh schema of the primary,
// reading what may lag from the standby.
func replicated(t testing.TB, primary, standby *testserver.Postgres, maxLag time.Duration, params ...string) (*postgres.Store, string) {
	t.Helper()
	dsn := primary.Schema(t)
	for i := 0; i+1 < len(params); i += 2 {
		dsn = testserver.WithParam(dsn, params[i], params[i+1])
	}
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = postgres.Migrate(context.Background(), db, nil)
	require.NoError(t, err)
	var path string
	require.NoError(t, db.QueryRow(`SHOW search_path`).Scan(&path))
	reader, err := sql.Open("postgres", testserver.WithParam(standby.DSN(), "search_path", path))
	require.NoError(t, err)
	t.Cleanup(func() { reader.Close() })
	s, err := postgres.New(db, "postgres", &postgres.Options{Reader: reader, ReaderMaxLag: maxLag})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, strings.TrimSpace(strings.Split(path, ",")[0])
}

// statements are the statements a server ran on the library's tables,
// from pg_stat_statements.
func statements(t *testing.T, dsn string) map[string]int64 {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT query, calls FROM pg_stat_statements WHERE query LIKE '%backoffice\_%'`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var q string
		var n int64
		require.NoError(t, rows.Scan(&q, &n))
		out[strings.Join(strings.Fields(q), " ")] += n
	}
	return out
}

// C2: the conformance suite's every query, on a primary with a real
// streaming replica (pg_basebackup -R): the reads that may lag went to
// the replica, and only they; every write and every read that decides
// one ran on the primary. The test logs which statements ran where.
func TestConformanceWithAReadReplica(t *testing.T) {
	primary, standby := testserver.StartReplicated(t)
	var mu sync.Mutex
	var stores []*postgres.Store
	t.Run("Suite", func(t *testing.T) {
		storetest.RunQueries(t, func(t *testing.T) storetest.Stores {
			s, _ := replicated(t, primary, standby, 5*time.Second)
			mu.Lock()
			stores = append(stores, s)
			mu.Unlock()
			return storetest.FromStore(lagging{s})
		})
	})
	var onReplica int64
	for _, s := range stores {
		onReplica += s.Reads().Replica.Load()
	}
	assert.Positive(t, onReplica, "reads went to the replica")

	ran := statements(t, standby.DSN())
	require.NotEmpty(t, ran)
	// What may lag: the listings, counts, searches, histories and the
	// chain's walk, all of them SELECTs.
	mayLag := []string{"FROM backoffice_end_users", "FROM backoffice_operators", "FROM backoffice_audit_entries", "FROM backoffice_audit_heads",
		"FROM backoffice_onboardings", "FROM backoffice_approvals", "FROM backoffice_reviews"}
	for q, n := range ran {
		t.Logf("replica %6d× %.150s", n, q)
		assert.True(t, strings.HasPrefix(q, "SELECT"), "only reads on the replica: %s", q)
		assert.NotContains(t, q, "FOR UPDATE", "no locking read on the replica")
		found := false
		for _, m := range mayLag {
			found = found || strings.Contains(q, m)
		}
		assert.True(t, found, "a read that may lag: %s", q)
	}
	var writes int
	for q, n := range statements(t, primary.DSN()) {
		if !strings.HasPrefix(q, "SELECT") {
			writes++
		}
		if n > 200 {
			t.Logf("primary %6d× %.150s", n, q)
		}
	}
	assert.Positive(t, writes, "writes ran on the primary")
}

// C2: a replica that falls behind by more than ReaderMaxLag, or stops,
// sends the reads that may lag back to the primary, which sees every
// write; once it catches up, the reads go back to it. No read fails.
func TestAReplicaBehindOrDownFallsBack(t *testing.T) {
	primary, standby := testserver.StartReplicated(t)
	// This store's writes do not wait for the standby, so it can fall
	// behind.
	s, schema := replicated(t, primary, standby, 200*time.Millisecond, "synchronous_commit", "local")
	ctx := context.Background()
	tenant := backoffice.TenantID("acme")
	require.NoError(t, s.CreateTenant(ctx, &accessctl.Tenant{ID: tenant, Name: "Acme", Preset: accessctl.PresetDashboard, CreatedAt: time.Now(), UpdatedAt: time.Now()},
		backoffice.AuditEntry{ID: "e-0", Tenant: tenant, Action: backoffice.ActionTenantCreate, TargetType: accessctl.TargetTenant, TargetID: "acme", At: time.Now()}))
	add := func(i int) {
		u := &enduser.EndUser{ID: enduser.ID(fmt.Sprintf("u-%d", i)), Tenant: tenant, Type: enduser.TypePhysicalPerson, Status: enduser.StatusPending,
			KYC: enduser.KYCNone, FirstName: "Ada", LastName: fmt.Sprintf("Replica%d", i), Email: fmt.Sprintf("u%d@acme.test", i), CreatedAt: time.Now(), UpdatedAt: time.Now()}
		require.NoError(t, s.CreateEndUser(ctx, u, backoffice.AuditEntry{ID: fmt.Sprintf("e-%d", i), Tenant: tenant, Action: backoffice.ActionEndUserCreate,
			TargetType: "enduser", TargetID: string(u.ID), At: time.Now()}))
	}
	count := func() int {
		n, err := s.CountEndUsers(lag(ctx), tenant, enduser.Query{})
		require.NoError(t, err)
		return n
	}
	add(1)
	require.Eventually(t, func() bool { return count() == 1 && s.Reads().Replica.Load() > 0 }, 10*time.Second, 20*time.Millisecond,
		"the caught-up replica serves")

	standbyDB, err := sql.Open("postgres", standby.DSN())
	require.NoError(t, err)
	defer standbyDB.Close()
	_, err = standbyDB.Exec(`SELECT pg_wal_replay_pause()`)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond) // the last replayed commit is older than the bound
	add(2)
	primaryBefore := s.Reads().Primary.Load()
	require.Eventually(t, func() bool { return count() == 2 }, 5*time.Second, 50*time.Millisecond, "the primary answers while the replica is behind")
	assert.Greater(t, s.Reads().Primary.Load(), primaryBefore)
	var onStandby int
	require.NoError(t, standbyDB.QueryRow(`SELECT count(*) FROM `+schema+`.backoffice_end_users`).Scan(&onStandby))
	assert.Equal(t, 1, onStandby, "the replica is indeed behind")

	_, err = standbyDB.Exec(`SELECT pg_wal_replay_resume()`)
	require.NoError(t, err)
	replicaBefore := s.Reads().Replica.Load()
	require.Eventually(t, func() bool { return count() == 2 && s.Reads().Replica.Load() > replicaBefore }, 10*time.Second, 50*time.Millisecond,
		"caught up, it serves again")

	// The standby stops; the primary stops waiting for it first, as an
	// operator would (else every commit would wait).
	primaryDB, err := sql.Open("postgres", primary.DSN())
	require.NoError(t, err)
	defer primaryDB.Close()
	for _, q := range []string{`ALTER SYSTEM SET synchronous_standby_names = ''`, `SELECT pg_reload_conf()`} {
		_, err = primaryDB.Exec(q)
		require.NoError(t, err)
	}
	standby.Stop()
	add(3)
	assert.Equal(t, 3, count(), "the replica is down: the primary answers, and no read fails")
	assert.Equal(t, 3, count())
	stats := s.Reads()
	t.Logf("reads: replica %d, primary %d, fallback %d", stats.Replica.Load(), stats.Primary.Load(), stats.Fallback.Load())
	assert.Positive(t, stats.Fallback.Load()+stats.Primary.Load()-primaryBefore)

	// A read that does not allow lag never went to the replica.
	u, err := s.EndUser(ctx, tenant, "u-3")
	require.NoError(t, err)
	assert.Equal(t, "Replica3", u.LastName)
}
