package accessctl_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/internal/ids"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

type clock = memorytest.Clock

const (
	adminPassword = "Correct-Horse-42"
	tenantID      = backoffice.TenantID("acme")
)

// env is one service on a fresh memory store with a bootstrapped tenant.
type env struct {
	t        testing.TB
	svc      *accessctl.Service
	store    *memory.Store
	rec      *memorytest.Recorder
	clock    *clock
	ids      *ids.Generator
	admin    *accessctl.Operator
	adminCtx context.Context
}

var e0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

var sharedHasher = memorytest.Hasher

func newEnv(t *testing.T, preset string) *env {
	t.Helper()
	e := &env{t: t, store: memory.New(), rec: &memorytest.Recorder{},
		clock: memorytest.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))}
	e.ids = ids.New(e.clock.Now)
	var err error
	e.svc, err = accessctl.NewService(accessctl.Config{Store: e.store, Notifier: e.rec, Now: e.clock.Now, NewID: e.ids.NewID, Hasher: sharedHasher()})
	require.NoError(t, err)
	e.admin, err = e.svc.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: tenantID, Name: "Acme Payments", Preset: preset,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "Ada", LastName: "Root",
			Password: adminPassword, PasswordConfirmation: adminPassword}})
	require.NoError(t, err)
	e.adminCtx = e.actorCtx(e.admin)
	return e
}

// token opens a session for an operator as the host's system actor would,
// without a login, and returns its token.
func (e *env) token(o *accessctl.Operator) backoffice.Secret {
	e.t.Helper()
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor(o.Tenant, "test"))
	res, err := e.svc.StartSession(sys, o.ID)
	require.NoError(e.t, err)
	return res.Session
}

// actorCtx authenticates the operator through a session, as a request would.
func (e *env) actorCtx(o *accessctl.Operator) context.Context {
	e.t.Helper()
	cur, err := e.store.Operator(context.Background(), o.Tenant, o.ID)
	require.NoError(e.t, err)
	a, err := e.svc.Authenticate(context.Background(), e.token(cur))
	require.NoError(e.t, err)
	return accessctl.NewContext(context.Background(), a)
}

// operator creates an active operator with the roles, without hashing a
// password, through the admin.
func (e *env) operator(name string, roles ...accessctl.RoleName) *accessctl.Operator {
	e.t.Helper()
	o, err := e.svc.InviteOperator(e.adminCtx, accessctl.NewOperator{Username: name, Email: name + "@acme.test",
		FirstName: "F" + name, LastName: "L" + name, Roles: roles, AllAccounts: true})
	require.NoError(e.t, err)
	// Activate it directly: the tests of invitations are elsewhere.
	o.Status = accessctl.StatusActive
	require.NoError(e.t, e.store.UpdateOperator(context.Background(), o, o.Version, accessctl.Guard{},
		backoffice.AuditEntry{ID: e.ids.NewID(), Tenant: o.Tenant, Action: "test.activate", TargetType: accessctl.TargetOperator, TargetID: string(o.ID)}))
	return o
}

// as returns a request context for a new operator holding the roles.
func (e *env) as(name string, roles ...accessctl.RoleName) (context.Context, *accessctl.Operator) {
	o := e.operator(name, roles...)
	return e.actorCtx(o), o
}

func (e *env) get(id accessctl.OperatorID) *accessctl.Operator {
	e.t.Helper()
	o, err := e.store.Operator(context.Background(), tenantID, id)
	require.NoError(e.t, err)
	return o
}

func (e *env) history(id accessctl.OperatorID) []backoffice.AuditEntry {
	e.t.Helper()
	es, err := e.store.AuditEntries(context.Background(), tenantID, accessctl.AuditQuery{TargetType: accessctl.TargetOperator, TargetID: string(id)})
	require.NoError(e.t, err)
	return es
}

// login runs the whole login, with the TOTP code of the operator's secret.
// It moves the clock past the TOTP step so that codes are never replayed.
func (e *env) login(login string, password backoffice.Secret) (*accessctl.LoginResult, error) {
	e.t.Helper()
	res, err := e.svc.Login(context.Background(), tenantID, login, password)
	if err != nil {
		return nil, err
	}
	return e.complete(res)
}

func (e *env) complete(res *accessctl.LoginResult) (*accessctl.LoginResult, error) {
	e.t.Helper()
	e.clock.Advance(31 * time.Second)
	o := e.get(res.Operator)
	code, err := accessctl.TOTPCode(o.MFASecret, e.clock.Now())
	require.NoError(e.t, err)
	return e.svc.CompleteLogin(context.Background(), res.Challenge, code)
}

// snapshot is everything a failed call must leave as it was (X7).
type snapshot struct {
	ops     []*accessctl.Operator
	entries int
	tenant  *accessctl.Tenant
	roles   []accessctl.Role
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	ops, err := e.store.Operators(context.Background(), tenantID, accessctl.OperatorQuery{Limit: 1000})
	require.NoError(e.t, err)
	n := 0
	for _, o := range ops {
		n += len(e.history(o.ID))
	}
	tn, err := e.store.Tenant(context.Background(), tenantID)
	require.NoError(e.t, err)
	roles, err := e.store.Roles(context.Background(), tenantID)
	require.NoError(e.t, err)
	return snapshot{ops: ops, entries: n, tenant: tn, roles: roles}
}

func (e *env) requireUnchanged(before snapshot) {
	e.t.Helper()
	after := e.snapshot()
	require.Equal(e.t, before, after, "X7: a refused call changed stored state")
}

func requireKind(t *testing.T, err, kind error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, kind), "got %v, want %v", err, kind)
}

func requireFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	requireKind(t, err, backoffice.ErrInvalid)
	got := backoffice.FieldsOf(err)
	for _, f := range fields {
		require.Contains(t, got, f, "error %v", err)
	}
}

// bootstrap makes the tenant and its first Administrator, "root", on svc.
func bootstrap(t testing.TB, svc *accessctl.Service, preset string) *accessctl.Operator {
	t.Helper()
	o, err := svc.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: tenantID, Name: "Acme", Preset: preset,
		Admin: accessctl.NewOperator{Username: "root", Email: "r@acme.test", FirstName: "R", LastName: "R", Password: adminPassword, PasswordConfirmation: adminPassword}})
	require.NoError(t, err)
	return o
}
