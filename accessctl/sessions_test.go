package accessctl_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// sessionsDown is a session store that cannot end sessions.
type sessionsDown struct{ *memory.Store }

func (sessionsDown) DeleteOperatorSessions(context.Context, backoffice.TenantID, accessctl.OperatorID) error {
	return backoffice.NewError(backoffice.ErrUnavailable, "test: sessions", "down")
}

// D8, A13: a change that must end an operator's sessions fails closed when
// the session store cannot end them: the call says so (the change is
// stored, the sessions must be ended with RevokeSessions), so a call that
// returned success has always ended them.
func TestEndingSessionsFailsClosed(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("carol", accessctl.RoleReadOnly)
	svc, err := accessctl.NewService(accessctl.Config{Store: e.store, Sessions: sessionsDown{e.store}, Now: e.clock.Now, NewID: e.ids.NewID, Hasher: sharedHasher()})
	require.NoError(t, err)
	ctx := e.actorCtx(e.admin)
	_, err = svc.DeactivateOperator(ctx, o.ID, e.get(o.ID).Version)
	require.ErrorIs(t, err, backoffice.ErrUnavailable)
	assert.Contains(t, err.Error(), "RevokeSessions")
	assert.Equal(t, accessctl.StatusDeactivated, e.get(o.ID).Status, "the change itself is stored")
	err = svc.RevokeSessions(ctx, o.ID)
	require.True(t, errors.Is(err, backoffice.ErrUnavailable), "and ending them is retried by the caller")
}

// D8: a session carries its operator's roles and account access, and the
// tenant's roles version comes with it: authenticating reads nothing else.
func TestSessionCarriesTheOperator(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("dave", accessctl.RoleManager)
	ctx := e.actorCtx(o)
	list, err := e.svc.Sessions(ctx, o.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleManager}, list[0].Roles)
	assert.Equal(t, "dave", list[0].Name)
	assert.True(t, list[0].AllAccounts)
}

// M3: the actor of an operator the host authenticated is the operator as
// it is now: its roles and access of this moment; one that is not active
// is refused; and it registers no passkey (no login of the library's).
func TestActorOfAHostAuthenticatedOperator(t *testing.T) {
	k := memorytest.New(nil)
	_, o := k.Operator(accessctl.RoleManager)
	a, err := k.Ops.ActorOf(context.Background(), k.Tenant, o.ID)
	require.NoError(t, err)
	assert.True(t, a.Can(accessctl.PermOperatorRead))
	assert.False(t, a.Can(accessctl.PermTenantConfigure))
	ctx := accessctl.NewContext(context.Background(), a)
	_, err = k.Ops.Operators(ctx, accessctl.OperatorFilter{}, backoffice.PageRequest{Limit: 5})
	require.NoError(t, err)
	_, err = k.Ops.BeginPasskeyRegistration(ctx)
	require.ErrorIs(t, err, backoffice.ErrForbidden)

	cur, err := k.Ops.Operator(k.System(), o.ID)
	require.NoError(t, err)
	_, err = k.Ops.DeactivateOperator(k.System(), o.ID, cur.Version)
	require.NoError(t, err)
	_, err = k.Ops.ActorOf(context.Background(), k.Tenant, o.ID)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated)
	_, err = k.Ops.ActorOf(context.Background(), k.Tenant, "nobody")
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated)
	// An actor built before the deactivation writes nothing after it.
	_, err = k.Ops.InviteOperator(ctx, accessctl.NewOperator{Username: "late", Email: "late@acme.test", FirstName: "L", LastName: "T",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
	require.Error(t, err)
}
