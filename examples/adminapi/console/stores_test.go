package console_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	_ "github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/redis"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// The console on PostgreSQL and Redis, as examples/adminapi runs it with
// -postgres and -redis: log in with TOTP, search, open a profile, and be
// logged out at the next click once deactivated.
func TestOnPostgresAndRedis(t *testing.T) {
	db, err := sql.Open("postgres", testserver.Schema(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = postgres.Migrate(context.Background(), db, nil)
	require.NoError(t, err)
	pg, err := postgres.New(db, "postgres", nil)
	require.NoError(t, err)
	opt, err := goredis.ParseURL(testserver.RedisURL(t))
	require.NoError(t, err)
	rc := goredis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	hot := redis.New(rc, &redis.Options{Prefix: fmt.Sprintf("console%d", time.Now().UnixNano())})
	clk := memorytest.NewClock(time.Now().UTC().Truncate(time.Second))
	ops, err := accessctl.NewService(accessctl.Config{Store: pg, Sessions: hot, Tokens: hot, Now: clk.Now, Hasher: memorytest.Hasher()})
	require.NoError(t, err)
	users, err := enduser.NewService(enduser.Config{Store: pg, Tenants: pg, Balances: &memorytest.Wallets{}, Now: clk.Now})
	require.NoError(t, err)
	devices, err := scadevice.NewService(scadevice.Config{Store: pg, Users: pg, Now: clk.Now})
	require.NoError(t, err)
	_, err = ops.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "Oot", Password: pw, PasswordConfirmation: pw}})
	require.NoError(t, err)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))
	manager, err := ops.CreateOperator(sys, accessctl.NewOperator{Username: "manager", Email: "manager@acme.test", FirstName: "M", LastName: "Anager",
		Roles: []accessctl.RoleName{accessctl.RoleManager}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
	require.NoError(t, err)
	ada, err := users.Create(sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.test"})
	require.NoError(t, err)

	c, err := console.New(console.Config{Ops: ops, Users: users, Devices: devices, Tenant: "acme", Now: clk.Now})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	e := &env{srv: srv, ops: map[string]*accessctl.Operator{"manager": manager}, k: &memorytest.Kit{Clock: clk}}
	b := e.browser(t)
	e.login(t, b, "manager")
	_, body := e.get(t, b, "/users?name=lovel")
	assert.Contains(t, body, "Ada Lovelace")
	resp, body := e.get(t, b, "/users/"+string(ada.ID)+"?tab=history")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, ">enduser.create<")

	o, err := ops.Operator(sys, manager.ID)
	require.NoError(t, err)
	_, err = ops.DeactivateOperator(sys, o.ID, o.Version)
	require.NoError(t, err)
	resp, _ = e.get(t, b, "/users")
	assert.Equal(t, "/login", resp.Request.URL.Path, "the Redis session ended with the deactivation")
}
