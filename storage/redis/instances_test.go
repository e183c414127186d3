package redis_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/redis"
)

type clock = memorytest.Clock

var hasher = memorytest.Hasher

const pw = backoffice.Secret("Zebra-Crossing-77")

// login runs the password and TOTP steps on svc.
func login(t *testing.T, svc *accessctl.Service, clk *clock, secret *backoffice.Secret, user string, password backoffice.Secret) (*accessctl.LoginResult, error) {
	t.Helper()
	res, err := svc.Login(context.Background(), "acme", user, password)
	if err != nil {
		return nil, err
	}
	if res.Enrolment != nil {
		*secret = res.Enrolment.Secret
	}
	clk.Advance(31 * time.Second)
	code, err := accessctl.TOTPCode(*secret, clk.Now())
	require.NoError(t, err)
	return svc.CompleteLogin(context.Background(), res.Challenge, code)
}

// D3: two independent service instances, each with its own PostgreSQL pool
// and Redis client, share one PostgreSQL and one Redis: a session revoked
// through A is refused by B; three wrong passwords spread over A and B
// block the operator; a reset token used through A cannot be used again
// through B.
func TestTwoInstances(t *testing.T) {
	dsn := testserver.Schema(t)
	prefix := fmt.Sprintf("inst%d", prefixes.Add(1))
	clk := memorytest.NewClock(time.Now().UTC().Truncate(time.Second))
	outbox := &memorytest.Recorder{}
	var svc [2]*accessctl.Service
	for i := range svc {
		db, err := sql.Open("postgres", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		if i == 0 {
			_, err := postgres.Migrate(context.Background(), db, nil)
			require.NoError(t, err)
		}
		durable, err := postgres.New(db, "postgres", nil)
		require.NoError(t, err)
		hot := redis.New(client(t), &redis.Options{Prefix: prefix})
		svc[i], err = accessctl.NewService(accessctl.Config{Store: durable, Sessions: hot, Tokens: hot, Attempts: hot,
			Notifier: outbox, Now: clk.Now, Hasher: hasher()})
		require.NoError(t, err)
	}
	a, b := svc[0], svc[1]
	_, err := a.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R", Password: "Correct-Horse-42", PasswordConfirmation: "Correct-Horse-42"}})
	require.NoError(t, err)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))
	o, err := a.CreateOperator(sys, accessctl.NewOperator{Username: "dora", Email: "dora@acme.test", FirstName: "D", LastName: "O",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
	require.NoError(t, err)
	var secret backoffice.Secret

	// A session made through A works through B until A revokes it.
	res, err := login(t, a, clk, &secret, "dora", pw)
	require.NoError(t, err)
	_, err = b.Authenticate(context.Background(), res.Session)
	require.NoError(t, err)
	require.NoError(t, a.RevokeSessions(sys, o.ID))
	_, err = b.Authenticate(context.Background(), res.Session)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated)

	// A reset token used through A is spent for B.
	require.NoError(t, a.SendPasswordReset(sys, o.ID))
	n, ok := outbox.LastOperatorNotice("dora@acme.test", accessctl.NoticePasswordReset)
	require.True(t, ok)
	const newPW = "Another-Zebra-88"
	require.NoError(t, a.ResetPassword(context.Background(), n.Token, newPW, newPW))
	err = b.ResetPassword(context.Background(), n.Token, "Third-Zebra-99", "Third-Zebra-99")
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	assert.Equal(t, []string{"token"}, backoffice.FieldsOf(err))

	// Three wrong passwords, spread over A and B, block her; a fourth
	// attempt, with the right password, is refused by either.
	for i, s := range []*accessctl.Service{a, b, a} {
		_, err := s.Login(context.Background(), "acme", "dora", "Wrong-Password-1")
		require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "attempt %d", i+1)
	}
	sess, err := b.Operator(sys, o.ID)
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusBlocked, sess.Status)
	for _, s := range []*accessctl.Service{b, a} {
		_, err := login(t, s, clk, &secret, "dora", newPW)
		require.ErrorIs(t, err, backoffice.ErrUnauthenticated)
	}
}

// A9: wrong passwords arriving at two instances at the same moment never
// let a fourth attempt through: the count is atomic in Redis.
func TestConcurrentFailuresBlock(t *testing.T) {
	prefix := fmt.Sprintf("conc%d", prefixes.Add(1))
	durable := memory.New()
	clk := memorytest.NewClock(time.Now().UTC())
	var svc [2]*accessctl.Service
	for i := range svc {
		hot := redis.New(client(t), &redis.Options{Prefix: prefix})
		var err error
		svc[i], err = accessctl.NewService(accessctl.Config{Store: durable, Sessions: hot, Tokens: hot, Attempts: hot, Now: clk.Now, Hasher: hasher()})
		require.NoError(t, err)
	}
	_, err := svc[0].Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R", Password: "Correct-Horse-42", PasswordConfirmation: "Correct-Horse-42"}})
	require.NoError(t, err)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))
	o, err := svc[0].CreateOperator(sys, accessctl.NewOperator{Username: "eve", Email: "eve@acme.test", FirstName: "E", LastName: "V",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
	require.NoError(t, err)
	var wg sync.WaitGroup
	var through atomic.Int32
	for i := range 6 {
		wg.Go(func() {
			if _, err := svc[i%2].Login(context.Background(), "acme", "eve", "Wrong-Password-1"); err == nil {
				through.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, through.Load())
	got, err := durable.Operator(context.Background(), "acme", o.ID)
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusBlocked, got.Status)
	_, err = svc[1].Login(context.Background(), "acme", "eve", pw)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated)
}

// D3, A20: when Redis is down, session checks fail closed with
// ErrUnavailable and logins with the one login refusal (whose cause, an
// ErrUnavailable, goes to ReportError), and they recover by themselves when
// it is back.
func TestRedisDownFailsClosed(t *testing.T) {
	srv := testserver.StartRedis(t)
	hot := redis.New(impatient(t, srv), nil)
	clk := memorytest.NewClock(time.Now().UTC())
	var reported atomic.Int32
	svc, err := accessctl.NewService(accessctl.Config{Store: memory.New(), Sessions: hot, Tokens: hot, Attempts: hot, Now: clk.Now, Hasher: hasher(),
		ReportError: func(_ context.Context, err error) {
			if errors.Is(err, backoffice.ErrUnavailable) {
				reported.Add(1)
			}
		}})
	require.NoError(t, err)
	_, err = svc.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R", Password: pw, PasswordConfirmation: pw}})
	require.NoError(t, err)
	var secret backoffice.Secret
	res, err := login(t, svc, clk, &secret, "root", pw)
	require.NoError(t, err)

	srv.Stop()
	_, err = svc.Authenticate(context.Background(), res.Session)
	require.ErrorIs(t, err, backoffice.ErrUnavailable, "a session check fails closed")
	assert.Contains(t, err.Error(), "unavailable; retry shortly")
	_, err = svc.Login(context.Background(), "acme", "root", pw)
	require.Same(t, accessctl.ErrLoginRefused, err, "a login fails closed")
	_, err = svc.Login(context.Background(), "acme", "root", "Wrong-Password-1")
	require.Same(t, accessctl.ErrLoginRefused, err)
	assert.Equal(t, int32(2), reported.Load(), "each hidden store failure is reported")

	srv.Start(t)
	require.Eventually(t, func() bool { return hot.Ping(context.Background()) == nil }, 10*time.Second, 50*time.Millisecond)
	// The restarted server is empty: the old session is gone, and a new
	// login works without anyone touching the client.
	_, err = svc.Authenticate(context.Background(), res.Session)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated)
	res, err = login(t, svc, clk, &secret, "root", pw)
	require.NoError(t, err)
	_, err = svc.Authenticate(context.Background(), res.Session)
	require.NoError(t, err)
}

// roundTrips counts the client's round trips: one per command or pipeline.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (r *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// D3: a session check, a token consumption and a failed-login count are
// each exactly one round trip, counted with a go-redis hook.
func TestOneRoundTrip(t *testing.T) {
	opt, err := goredis.ParseURL(testserver.RedisURL(t))
	require.NoError(t, err)
	c := goredis.NewClient(opt)
	defer c.Close()
	rt := &roundTrips{}
	c.AddHook(rt)
	s := redis.New(c, &redis.Options{Prefix: fmt.Sprintf("rt%d", prefixes.Add(1))})
	ctx := context.Background()
	now := time.Now().UTC()
	id := func(d string) string { return "digest-" + d }
	tok := func(d string) *accessctl.Token {
		return &accessctl.Token{ID: id(d), Purpose: accessctl.PurposePasswordReset, Tenant: "acme", Operator: "op-1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	// Warm up: the first call of each script loads it into the server.
	require.NoError(t, s.IssueToken(ctx, tok("warm")))
	_, err = s.ConsumeToken(ctx, accessctl.PurposePasswordReset, "acme", id("warm"))
	require.NoError(t, err)
	require.NoError(t, s.DeleteOperatorTokens(ctx, "acme", "op-0"))
	_, err = s.Sessions(ctx, "acme", "op-0")
	require.NoError(t, err)
	require.NoError(t, s.DeleteOperatorSessions(ctx, "acme", "op-0"))
	// and a MULTI, which go-redis may run on a connection of its own.
	require.NoError(t, s.CreateSession(ctx, &accessctl.Session{ID: id("warm"), Tenant: "acme", Operator: "op-0", Epoch: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	lim := accessctl.AttemptLimit{Max: 3, Window: time.Hour, Cooldown: time.Minute, Lease: time.Minute}
	_, err = s.ReserveAttempt(ctx, "acme", "op-0", now, lim)
	require.NoError(t, err)
	_, err = s.SettleAttempt(ctx, "acme", "op-0", now, accessctl.AttemptFailed)
	require.NoError(t, err)

	count := func(name string, f func() error) {
		t.Helper()
		before := rt.n.Load()
		require.NoError(t, f(), name)
		assert.Equal(t, int64(1), rt.n.Load()-before, "%s: round trips", name)
	}
	count("CreateSession", func() error {
		return s.CreateSession(ctx, &accessctl.Session{ID: id("s"), Tenant: "acme", Operator: "op-1", Epoch: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	count("Session", func() error { _, err := s.Session(ctx, "acme", id("s")); return err })
	count("IssueToken", func() error { return s.IssueToken(ctx, tok("t")) })
	count("ConsumeToken", func() error {
		_, err := s.ConsumeToken(ctx, accessctl.PurposePasswordReset, "acme", id("t"))
		return err
	})
	count("ReserveAttempt", func() error { _, err := s.ReserveAttempt(ctx, "acme", "op-1", now, lim); return err })
	count("SettleAttempt", func() error { _, err := s.SettleAttempt(ctx, "acme", "op-1", now, accessctl.AttemptFailed); return err })
	count("Attempts", func() error { _, err := s.Attempts(ctx, "acme", "op-1"); return err })
	count("DeleteOperatorSessions", func() error { return s.DeleteOperatorSessions(ctx, "acme", "op-1") })
	before := rt.n.Load()
	_, err = s.ConsumeToken(ctx, accessctl.PurposePasswordReset, "acme", id("t"))
	require.True(t, errors.Is(err, backoffice.ErrNotFound))
	assert.Equal(t, int64(1), rt.n.Load()-before, "a spent token also costs one round trip")
}
