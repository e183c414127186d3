package enduser_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/internal/ids"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

const tenantID = backoffice.TenantID("acme")

type clock = memorytest.Clock

// wallets is the host's balance source: a map of user → balances.
type wallets struct {
	mu sync.Mutex
	m  map[enduser.ID][]enduser.Balance
}

func (w *wallets) Balances(_ context.Context, u *enduser.EndUser) ([]enduser.Balance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.m[u.ID], nil
}

func (w *wallets) set(id enduser.ID, b ...enduser.Balance) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.m[id] = b
}

type env struct {
	t       testing.TB
	store   *memory.Store
	rec     *memorytest.Recorder
	clock   *clock
	wallets *wallets
	ops     *accessctl.Service
	svc     *enduser.Service
	admin   context.Context
	sys     context.Context
}

var hasher = memorytest.Hasher

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, store: memory.New(), rec: &memorytest.Recorder{}, clock: memorytest.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)),
		wallets: &wallets{m: map[enduser.ID][]enduser.Balance{}}}
	gen := ids.New(e.clock.Now)
	var err error
	e.ops, err = accessctl.NewService(accessctl.Config{Store: e.store, Notifier: e.rec, Now: e.clock.Now, NewID: gen.NewID, Hasher: hasher()})
	require.NoError(t, err)
	e.svc, err = enduser.NewService(enduser.Config{Store: e.store, Tenants: e.store, Balances: e.wallets, Notifier: e.rec, Now: e.clock.Now, NewID: gen.NewID})
	require.NoError(t, err)
	admin, err := e.ops.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: tenantID, Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R", Password: "Correct-Horse-42", PasswordConfirmation: "Correct-Horse-42"}})
	require.NoError(t, err)
	e.admin = e.login(admin)
	e.sys = accessctl.NewContext(context.Background(), accessctl.SystemActor(tenantID, "test"))
	return e
}

// login opens a session for an operator straight in the store and
// authenticates it, as a request would.
func (e *env) login(o *accessctl.Operator) context.Context {
	e.t.Helper()
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor(o.Tenant, "test"))
	res, err := e.ops.StartSession(sys, o.ID)
	require.NoError(e.t, err)
	a, err := e.ops.Authenticate(context.Background(), res.Session)
	require.NoError(e.t, err)
	return accessctl.NewContext(context.Background(), a)
}

// as returns the context of a new operator with the roles.
func (e *env) as(name string, roles ...accessctl.RoleName) context.Context {
	e.t.Helper()
	o, err := e.ops.CreateOperator(e.admin, accessctl.NewOperator{Username: name, Email: name + "@acme.test", FirstName: "F", LastName: "L",
		Roles: roles, AllAccounts: true, Password: "Zebra-Crossing-77", PasswordConfirmation: "Zebra-Crossing-77"})
	require.NoError(e.t, err)
	return e.login(o)
}

func person(first, last string) enduser.NewEndUser {
	return enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: first, LastName: last,
		Email: first + "." + last + "@example.com", BirthDate: time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)}
}

func (e *env) create(in enduser.NewEndUser) *enduser.EndUser {
	e.t.Helper()
	u, err := e.svc.Create(e.admin, in)
	require.NoError(e.t, err)
	return u
}

// validated creates a user whose KYC was validated.
func (e *env) validated(in enduser.NewEndUser) *enduser.EndUser {
	e.t.Helper()
	u := e.create(in)
	u, err := e.svc.RequestKYCReview(e.admin, u.ID, u.Version)
	require.NoError(e.t, err)
	u, err = e.svc.RecordKYCOutcome(e.admin, u.ID, u.Version, enduser.KYCValidated, "documents checked")
	require.NoError(e.t, err)
	return u
}

func (e *env) history(id enduser.ID) []backoffice.AuditEntry {
	e.t.Helper()
	es, err := e.store.AuditEntries(context.Background(), tenantID, accessctl.AuditQuery{TargetType: enduser.TargetEndUser, TargetID: string(id)})
	require.NoError(e.t, err)
	return es
}

// unchanged asserts a refused call left the user and its history alone (X7).
func (e *env) unchanged(before *enduser.EndUser) {
	e.t.Helper()
	got, err := e.store.EndUser(context.Background(), tenantID, before.ID)
	require.NoError(e.t, err)
	require.Equal(e.t, before, got, "X7: a refused call changed the user")
}

func requireKind(t testing.TB, err, kind error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, kind), "got %v, want %v", err, kind)
}

func requireFields(t testing.TB, err error, fields ...string) {
	t.Helper()
	requireKind(t, err, backoffice.ErrInvalid)
	got := backoffice.FieldsOf(err)
	for _, f := range fields {
		require.Contains(t, got, f, "error %v", err)
	}
}
