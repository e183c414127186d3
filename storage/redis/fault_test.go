package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/redis"
)

// impatient is a client that does not retry: a server that is down
// refuses its connections at once. Its timeouts leave room for a busy CI
// machine, where a slow answer must not pass for an outage.
func impatient(t *testing.T, srv *testserver.Redis) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DialTimeout: time.Second, ReadTimeout: 3 * time.Second,
		WriteTimeout: 3 * time.Second, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// Redis stopped, and crashed, in the middle of an attack on one
// operator's password, on a Redis that keeps its writes (CheckDurable
// says so). While it is down, logins and session checks fail closed.
// Once it is back, the run of failures stands: however the guesses fall
// around the restart, no more than MaxFailures are checked, the operator
// is blocked, and the sessions opened before live on.
func TestRedisRestartKeepsCounters(t *testing.T) {
	for _, tc := range []struct {
		name string
		halt func(*testserver.Redis)
	}{
		{"Stop", (*testserver.Redis).Stop},
		{"Crash", (*testserver.Redis).Crash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testserver.StartDurableRedis(t)
			hot := redis.New(impatient(t, srv), nil)
			require.NoError(t, hot.CheckDurable(context.Background()))
			durable := memory.New()
			clk := memorytest.NewClock(time.Now().UTC())
			svc, err := accessctl.NewService(accessctl.Config{Store: durable, Sessions: hot, Tokens: hot, Attempts: hot, Now: clk.Now,
				Hasher: hasher(), ReportError: func(context.Context, error) {}})
			require.NoError(t, err)
			_, err = svc.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
				Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R", Password: pw, PasswordConfirmation: pw}})
			require.NoError(t, err)
			sys := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))
			eve, err := svc.CreateOperator(sys, accessctl.NewOperator{Username: "eve", Email: "eve@acme.test", FirstName: "E", LastName: "V",
				Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
			require.NoError(t, err)
			var secret backoffice.Secret
			root, err := login(t, svc, clk, &secret, "root", pw)
			require.NoError(t, err)

			for range 2 {
				_, err := svc.Login(context.Background(), "acme", "eve", "Wrong-Password-1")
				require.Same(t, accessctl.ErrLoginRefused, err)
			}
			tc.halt(srv)
			_, err = svc.Login(context.Background(), "acme", "eve", pw)
			require.Same(t, accessctl.ErrLoginRefused, err, "the right password is refused while the count cannot be read")
			_, err = svc.Authenticate(context.Background(), root.Session)
			require.ErrorIs(t, err, backoffice.ErrUnavailable, "a session check fails closed")

			srv.Start(t)
			require.Eventually(t, func() bool { return hot.Ping(context.Background()) == nil }, 10*time.Second, 50*time.Millisecond)
			got, err := hot.Attempts(context.Background(), "acme", eve.ID)
			require.NoError(t, err)
			assert.Equal(t, 2, got.Failures, "the run of failures survived")
			_, err = svc.Authenticate(context.Background(), root.Session)
			require.NoError(t, err, "a session opened before lives on")

			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() { _, _ = svc.Login(context.Background(), "acme", "eve", "Wrong-Password-2") })
			}
			wg.Wait()
			got, err = hot.Attempts(context.Background(), "acme", eve.ID)
			require.NoError(t, err)
			assert.Equal(t, 3, got.Failures+got.Pending, "one more guess was checked, not ten")
			o, err := durable.Operator(context.Background(), "acme", eve.ID)
			require.NoError(t, err)
			assert.Equal(t, accessctl.StatusBlocked, o.Status)
			_, err = svc.Login(context.Background(), "acme", "eve", pw)
			require.Same(t, accessctl.ErrLoginRefused, err)
		})
	}
}

// A Redis that restarts empty is named for what it is, so a host does
// not keep login attempts in it; one that cannot be reached is
// unavailable.
func TestCheckDurable(t *testing.T) {
	srv := testserver.StartRedis(t)
	hot := redis.New(impatient(t, srv), nil)
	err := hot.CheckDurable(context.Background())
	require.ErrorIs(t, err, backoffice.ErrFailedPrecondition)
	assert.Contains(t, err.Error(), "appendonly no")
	srv.Stop()
	require.ErrorIs(t, hot.CheckDurable(context.Background()), backoffice.ErrUnavailable)
}
