package accessctl_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// H3, link status: a manager sees which links an operator was sent and has
// not followed, when each was sent and when it expires, never the link.
func TestLinks(t *testing.T) {
	k := memorytest.New(nil)
	sys := k.System()
	o, err := k.Ops.InviteOperator(sys, accessctl.NewOperator{Username: "newbie", Email: "newbie@acme.test", FirstName: "N", LastName: "B",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
	require.NoError(t, err)
	sent := k.Clock.Now()
	links, err := k.Ops.Links(sys, o.ID)
	require.NoError(t, err)
	require.Len(t, links, 1)
	assert.Equal(t, accessctl.PurposeInvitation, links[0].Purpose)
	assert.True(t, links[0].SentAt.Equal(sent))
	assert.True(t, links[0].ExpiresAt.Equal(sent.Add(14*24*time.Hour)), "an invitation lasts 14 days")

	k.Clock.Advance(time.Hour)
	require.NoError(t, k.Ops.ResendInvitation(sys, o.ID))
	links, err = k.Ops.Links(sys, o.ID)
	require.NoError(t, err)
	require.Len(t, links, 1, "the resent link replaced the first")
	assert.True(t, links[0].SentAt.Equal(k.Clock.Now()))
	assert.True(t, links[0].ExpiresAt.Equal(k.Clock.Now().Add(24*time.Hour)), "a resent link lasts 24 hours")

	k.Clock.Advance(25 * time.Hour)
	links, err = k.Ops.Links(sys, o.ID)
	require.NoError(t, err)
	assert.Empty(t, links, "an expired link is not outstanding")

	// An active operator sent a reset link, which it follows.
	_, admin := k.Operator(accessctl.RoleAdministrator)
	require.NoError(t, k.Ops.SendPasswordReset(sys, admin.ID))
	// (the kit made it active without using its invitation, still there)
	purposes := func() []accessctl.TokenPurpose {
		t.Helper()
		links, err := k.Ops.Links(sys, admin.ID)
		require.NoError(t, err)
		var out []accessctl.TokenPurpose
		for _, l := range links {
			out = append(out, l.Purpose)
		}
		return out
	}
	assert.Equal(t, []accessctl.TokenPurpose{accessctl.PurposeInvitation, accessctl.PurposePasswordReset}, purposes())
	n, ok := k.Outbox.LastOperatorNotice(admin.Email, accessctl.NoticePasswordReset)
	require.True(t, ok)
	const pw = backoffice.Secret("Fresh-Password-2048")
	require.NoError(t, k.Ops.ResetPassword(k.System(), n.Token, pw, pw))
	assert.Equal(t, []accessctl.TokenPurpose{accessctl.PurposeInvitation}, purposes(), "a followed link is gone")

	_, err = k.Ops.Links(k.As(accessctl.RoleReadOnly), o.ID)
	require.ErrorIs(t, err, backoffice.ErrForbidden)
	_, err = k.Ops.Links(sys, "no-such-operator")
	require.ErrorIs(t, err, backoffice.ErrNotFound)
}
