package accessctl_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// H1, H2: every change the services record lands in the tenant's chain,
// which VerifyAudit walks whole, in pages, and finds intact; it needs
// audit.read.
func TestVerifyAudit(t *testing.T) {
	k := memorytest.New(nil)
	sys := k.System()
	o, err := k.Ops.InviteOperator(sys, accessctl.NewOperator{Username: "newbie", Email: "newbie@acme.test", FirstName: "N", LastName: "B",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
	require.NoError(t, err)
	// More entries than one page of the walk.
	for i := range 1100 {
		name := fmt.Sprintf("N%d", i)
		o, err = k.Ops.UpdateOperator(sys, o.ID, accessctl.OperatorUpdate{Version: o.Version, FirstName: &name})
		require.NoError(t, err)
	}
	admin, _ := k.Operator(accessctl.RoleAdministrator)
	v, err := k.Ops.VerifyAudit(admin)
	require.NoError(t, err)
	assert.Nil(t, v.Break)
	assert.Equal(t, v.Head.Seq, v.Verified)
	assert.Greater(t, v.Verified, int64(1100))
	assert.Equal(t, backoffice.TenantID("acme"), v.Tenant)
	assert.True(t, v.At.Equal(k.Clock.Now()))

	_, err = k.Ops.VerifyAudit(k.As(accessctl.RoleReadOnly))
	require.ErrorIs(t, err, backoffice.ErrForbidden)
}

// B3: a routine verification goes on from the checkpoint the last intact
// walk left, reading only what was written since; a full one walks from
// the first entry, and runs at most once every FullVerifyEvery.
func TestVerifyAuditFromItsCheckpoint(t *testing.T) {
	k := memorytest.New(nil)
	admin, _ := k.Operator(accessctl.RoleAdministrator)
	first, err := k.Ops.VerifyAudit(admin)
	require.NoError(t, err)
	require.Nil(t, first.Break)
	assert.Zero(t, first.From)
	assert.Equal(t, first.Head.Seq, first.Verified)

	for range 5 {
		k.As(accessctl.RoleReadOnly) // an operator made, accepted and logged in: a few entries each
	}
	next, err := k.Ops.VerifyAudit(admin)
	require.NoError(t, err)
	require.Nil(t, next.Break)
	assert.Equal(t, first.Head.Seq, next.From, "it goes on from the last head")
	assert.Equal(t, next.Head.Seq-first.Head.Seq, next.Verified, "and reads only what was written since")
	again, err := k.Ops.VerifyAudit(admin)
	require.NoError(t, err)
	assert.Zero(t, again.Verified, "nothing new, nothing read")

	full, err := k.Ops.VerifyAuditFull(admin)
	require.NoError(t, err)
	assert.Zero(t, full.From)
	assert.Equal(t, full.Head.Seq, full.Verified)
	_, err = k.Ops.VerifyAuditFull(admin)
	require.ErrorIs(t, err, backoffice.ErrFailedPrecondition, "a full walk at most every ten minutes")
	k.Clock.Advance(accessctl.FullVerifyEvery)
	_, err = k.Ops.VerifyAuditFull(admin)
	require.NoError(t, err)
	_, err = k.Ops.VerifyAuditFull(k.As(accessctl.RoleReadOnly))
	require.ErrorIs(t, err, backoffice.ErrForbidden)
}
