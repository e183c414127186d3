package redis_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/redis"
)

// countingDurable counts the calls that reach the durable store.
type countingDurable struct {
	accessctl.Store
	calls atomic.Int64
}

func (c *countingDurable) Tenant(ctx context.Context, id backoffice.TenantID) (*accessctl.Tenant, error) {
	c.calls.Add(1)
	return c.Store.Tenant(ctx, id)
}

func (c *countingDurable) Roles(ctx context.Context, id backoffice.TenantID) ([]accessctl.Role, error) {
	c.calls.Add(1)
	return c.Store.Roles(ctx, id)
}

func (c *countingDurable) Operator(ctx context.Context, t backoffice.TenantID, id accessctl.OperatorID) (*accessctl.Operator, error) {
	c.calls.Add(1)
	return c.Store.Operator(ctx, t, id)
}

// pair is two service instances, each with its own PostgreSQL pool and
// Redis client, over one PostgreSQL and one Redis.
type pair struct {
	a, b    *accessctl.Service
	durable [2]*countingDurable
	rt      [2]*roundTrips
	sys     context.Context
}

func newPair(t testing.TB) *pair {
	dsn := testserver.Schema(t)
	prefix := fmt.Sprintf("auth%d", prefixes.Add(1))
	p := &pair{sys: accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))}
	var svc [2]*accessctl.Service
	for i := range svc {
		db, err := sql.Open("postgres", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		if i == 0 {
			_, err := postgres.Migrate(context.Background(), db, nil)
			require.NoError(t, err)
		}
		pg, err := postgres.New(db, "postgres", nil)
		require.NoError(t, err)
		p.durable[i] = &countingDurable{Store: pg}
		opt, err := goredis.ParseURL(testserver.RedisURL(t))
		require.NoError(t, err)
		c := goredis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		p.rt[i] = &roundTrips{}
		c.AddHook(p.rt[i])
		hot := redis.New(c, &redis.Options{Prefix: prefix})
		svc[i], err = accessctl.NewService(accessctl.Config{Store: p.durable[i], Sessions: hot, Tokens: hot, Attempts: hot, Hasher: hasher()})
		require.NoError(t, err)
	}
	p.a, p.b = svc[0], svc[1]
	_, err := p.a.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R", Password: "Correct-Horse-42", PasswordConfirmation: "Correct-Horse-42"}})
	require.NoError(t, err)
	return p
}

// session opens a session of the operator through instance a.
func (p *pair) session(t testing.TB, id accessctl.OperatorID) backoffice.Secret {
	t.Helper()
	res, err := p.a.StartSession(p.sys, id)
	require.NoError(t, err)
	return res.Session
}

// D8: each change that must reach an operator's requests, made through
// instance A, is what instance B answers at its very next request, with
// no cache to wait for: a role's permissions edited, the operator's roles
// changed, its MFA reset, it blocked, it deactivated.
func TestChangesReachEveryInstance(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	support, err := p.a.CreateRole(p.sys, accessctl.Role{Name: "support", Abbrev: "S", Description: "support desk",
		Permissions: []accessctl.Permission{accessctl.PermEndUserRead}})
	require.NoError(t, err)
	o, err := p.a.CreateOperator(p.sys, accessctl.NewOperator{Username: "dora", Email: "dora@acme.test", FirstName: "D", LastName: "O",
		Roles: []accessctl.RoleName{"support"}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
	require.NoError(t, err)
	fresh := func() *accessctl.Operator {
		o, err := p.a.Operator(p.sys, o.ID)
		require.NoError(t, err)
		return o
	}

	// 1. An edit of a role's permissions.
	token := p.session(t, o.ID)
	actor, err := p.b.Authenticate(ctx, token) // B compiles and caches the roles
	require.NoError(t, err)
	require.Error(t, actor.Authorize(accessctl.PermEndUserEdit))
	support.Permissions = append(support.Permissions, accessctl.PermEndUserEdit)
	_, err = p.a.UpdateRole(p.sys, *support)
	require.NoError(t, err)
	actor, err = p.b.Authenticate(ctx, token)
	require.NoError(t, err)
	assert.NoError(t, actor.Authorize(accessctl.PermEndUserEdit), "B sees the role's new permission at once")

	// 2. A change of the operator's roles.
	roles := []accessctl.RoleName{accessctl.RoleReadOnly}
	_, err = p.a.UpdateOperator(p.sys, o.ID, accessctl.OperatorUpdate{Version: fresh().Version, Roles: &roles})
	require.NoError(t, err)
	_, err = p.b.Authenticate(ctx, token)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "a role change ends the sessions")
	token = p.session(t, o.ID)
	actor, err = p.b.Authenticate(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, roles, actor.Roles())

	// 3. An MFA reset.
	enrolled := p.enrol(t, o.ID)
	token = p.session(t, o.ID)
	_, err = p.b.Authenticate(ctx, token)
	require.NoError(t, err)
	_, err = p.a.ResetMFA(p.sys, o.ID, enrolled.Version)
	require.NoError(t, err)
	_, err = p.b.Authenticate(ctx, token)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "an MFA reset ends the sessions")

	// 4. A block.
	token = p.session(t, o.ID)
	_, err = p.b.Authenticate(ctx, token)
	require.NoError(t, err)
	blocked, err := p.a.BlockOperator(p.sys, o.ID, fresh().Version)
	require.NoError(t, err)
	_, err = p.b.Authenticate(ctx, token)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "a block ends the sessions")
	_, err = p.a.UnblockOperator(p.sys, o.ID, blocked.Version)
	require.NoError(t, err)

	// 5. A deactivation.
	token = p.session(t, o.ID)
	_, err = p.b.Authenticate(ctx, token)
	require.NoError(t, err)
	_, err = p.a.DeactivateOperator(p.sys, o.ID, fresh().Version)
	require.NoError(t, err)
	_, err = p.b.Authenticate(ctx, token)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "a deactivation ends the sessions")
}

// enrol completes the operator's MFA enrolment through a real login.
func (p *pair) enrol(t *testing.T, id accessctl.OperatorID) *accessctl.Operator {
	t.Helper()
	res, err := p.a.Login(context.Background(), "acme", "dora", pw)
	require.NoError(t, err)
	code, err := accessctl.TOTPCode(res.Enrolment.Secret, time.Now())
	require.NoError(t, err)
	_, err = p.a.CompleteLogin(context.Background(), res.Challenge, code)
	require.NoError(t, err)
	o, err := p.a.Operator(p.sys, id)
	require.NoError(t, err)
	require.True(t, o.MFAEnrolled)
	return o
}

// D8: in the steady state, authenticating a request costs one Redis round
// trip and no call to the durable store.
func TestAuthenticateIsOneRoundTrip(t *testing.T) {
	p := newPair(t)
	o, err := p.a.CreateOperator(p.sys, accessctl.NewOperator{Username: "dora", Email: "dora@acme.test", FirstName: "D", LastName: "O",
		Roles: []accessctl.RoleName{accessctl.RoleManager}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
	require.NoError(t, err)
	token := p.session(t, o.ID)
	_, err = p.b.Authenticate(context.Background(), token) // warm: B compiles the roles once
	require.NoError(t, err)
	rt, durable := p.rt[1].n.Load(), p.durable[1].calls.Load()
	for range 20 {
		_, err := p.b.Authenticate(context.Background(), token)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(20), p.rt[1].n.Load()-rt, "one Redis round trip per request")
	assert.Zero(t, p.durable[1].calls.Load()-durable, "no read of the durable store")
}

// BenchmarkAuthenticate times Authenticate on PostgreSQL + Redis against
// a bare Redis GET of one key, on the same server, in the same run.
func BenchmarkAuthenticate(b *testing.B) {
	p := newPair(b)
	o, err := p.a.CreateOperator(p.sys, accessctl.NewOperator{Username: "dora", Email: "dora@acme.test", FirstName: "D", LastName: "O",
		Roles: []accessctl.RoleName{accessctl.RoleManager}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
	require.NoError(b, err)
	token := p.session(b, o.ID)
	ctx := context.Background()
	opt, err := goredis.ParseURL(testserver.RedisURL(b))
	require.NoError(b, err)
	bare := goredis.NewClient(opt)
	defer bare.Close()
	require.NoError(b, bare.Set(ctx, "bench:bare", "value", 0).Err())
	b.Run("BareRedisGET", func(b *testing.B) {
		for b.Loop() {
			if err := bare.Get(ctx, "bench:bare").Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Authenticate", func(b *testing.B) {
		for b.Loop() {
			if _, err := p.b.Authenticate(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
}
