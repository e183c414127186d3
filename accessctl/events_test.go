package accessctl_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

const (
	pw1 = backoffice.Secret("Sapphire-Lantern-71")
	pw2 = backoffice.Secret("Copper-Harbour-82!")
)

// Config.Events hears each login step's outcome, each MFA failure and
// each lockout, for a host's metrics.
func TestEvents(t *testing.T) {
	var mu sync.Mutex
	var got []accessctl.Event
	clock := memorytest.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	svc, err := accessctl.NewService(accessctl.Config{Store: memory.New(), Hasher: memorytest.Hasher(), Now: clock.Now,
		Events: func(_ context.Context, e accessctl.Event) { mu.Lock(); got = append(got, e); mu.Unlock() }})
	require.NoError(t, err)
	ctx := context.Background()
	root, err := svc.Bootstrap(ctx, accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R", Password: pw1, PasswordConfirmation: pw1}})
	require.NoError(t, err)
	sys := accessctl.NewContext(ctx, accessctl.SystemActor("acme", "test"))
	bob, err := svc.CreateOperator(sys, accessctl.NewOperator{Username: "bob", Email: "bob@acme.test", FirstName: "B", LastName: "B",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, Password: pw2, PasswordConfirmation: pw2})
	require.NoError(t, err)
	kinds := func() []accessctl.EventKind {
		mu.Lock()
		defer mu.Unlock()
		var out []accessctl.EventKind
		for _, e := range got {
			out = append(out, e.Kind)
		}
		got = nil
		return out
	}

	_, err = svc.Login(ctx, "acme", "nobody", pw1)
	require.ErrorIs(t, err, accessctl.ErrLoginRefused)
	assert.Equal(t, []accessctl.EventKind{accessctl.EventLoginRefused}, kinds())

	res, err := svc.Login(ctx, "acme", "root", pw1)
	require.NoError(t, err)
	assert.Empty(t, kinds(), "a password step that goes on to its code is no outcome yet")
	_, err = svc.CompleteLogin(ctx, res.Challenge, "000000")
	require.ErrorIs(t, err, accessctl.ErrLoginRefused)
	assert.Equal(t, []accessctl.EventKind{accessctl.EventMFAFailed}, kinds())
	res, err = svc.Login(ctx, "acme", "root", pw1)
	require.NoError(t, err)
	o, err := svc.Operator(sys, root.ID)
	require.NoError(t, err)
	code, err := accessctl.TOTPCode(o.MFASecret, clock.Now())
	require.NoError(t, err)
	done, err := svc.CompleteLogin(ctx, res.Challenge, code)
	require.NoError(t, err)
	mu.Lock()
	last := got[len(got)-1]
	mu.Unlock()
	assert.Equal(t, accessctl.Event{Kind: accessctl.EventLoginSucceeded, Tenant: "acme", Operator: root.ID}, last)
	kinds()

	for range 3 {
		_, err = svc.Login(ctx, "acme", "bob", "Wrong-Password-99")
		require.ErrorIs(t, err, accessctl.ErrLoginRefused)
	}
	assert.ElementsMatch(t, []accessctl.EventKind{accessctl.EventLoginRefused, accessctl.EventLoginRefused, accessctl.EventLockout,
		accessctl.EventLoginRefused}, kinds())
	cur, err := svc.Operator(sys, bob.ID)
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusBlocked, cur.Status)

	// L1: a session ended, by its operator or by a revocation, is heard
	// too; a logout of a session already ended is not.
	require.NoError(t, svc.Logout(ctx, done.Session))
	mu.Lock()
	assert.Equal(t, []accessctl.Event{{Kind: accessctl.EventSessionEnded, Tenant: "acme", Operator: root.ID, Reason: "logout"}}, got)
	mu.Unlock()
	kinds()
	require.NoError(t, svc.Logout(ctx, done.Session))
	assert.Empty(t, kinds())
	require.NoError(t, svc.RevokeSessions(sys, bob.ID))
	mu.Lock()
	assert.Equal(t, []accessctl.Event{{Kind: accessctl.EventSessionEnded, Tenant: "acme", Operator: bob.ID, Reason: "every session revoked by test"}}, got)
	mu.Unlock()
}
