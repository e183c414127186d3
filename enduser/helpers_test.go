package enduser_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

const tenantID = backoffice.TenantID("acme")

type clock = memorytest.Clock

// env is the test kit's services, with the names these tests use.
type env struct {
	t       testing.TB
	store   *memory.Store
	rec     *memorytest.Recorder
	clock   *clock
	wallets *memorytest.Wallets
	ops     *accessctl.Service
	svc     *enduser.Service
	admin   context.Context
	sys     context.Context
	kit     *memorytest.Kit
}

func newEnv(t testing.TB) *env {
	t.Helper()
	k := memorytest.New(&memorytest.Options{Tenant: tenantID, Start: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)})
	return &env{t: t, store: k.Store, rec: k.Outbox, clock: k.Clock, wallets: k.Wallets, ops: k.Ops, svc: k.Users,
		admin: k.Session(k.Admin.ID), sys: k.System(), kit: k}
}

// as returns the context of a new operator with the roles.
func (e *env) as(_ string, roles ...accessctl.RoleName) context.Context { return e.kit.As(roles...) }

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
