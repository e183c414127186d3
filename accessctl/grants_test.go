package accessctl_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// actions lists the actions of an operator's history, oldest first.
func actions(t *testing.T, k *memorytest.Kit, id accessctl.OperatorID) []backoffice.Action {
	t.Helper()
	h, err := k.Ops.History(k.System(), id, backoffice.PageRequest{Limit: 100})
	require.NoError(t, err)
	var out []backoffice.Action
	for i := len(h.Items) - 1; i >= 0; i-- {
		out = append(out, h.Items[i].Action)
	}
	return out
}

// T1: a role and account access granted until a time stop counting at
// that time, with no job running: a session opened before sees them go at
// its next request; ExpireGrants then records the end in the history.
func TestTimeBoundAccess(t *testing.T) {
	k := memorytest.New(nil)
	sys := k.System()
	_, o := k.Operator(accessctl.RoleReadOnly)
	roles := []accessctl.RoleName{accessctl.RoleReadOnly, accessctl.RoleManager}
	until := k.Clock.Now().Add(2 * time.Hour)
	access := k.Clock.Now().Add(3 * time.Hour)
	o, err := k.Ops.UpdateOperator(sys, o.ID, accessctl.OperatorUpdate{Version: o.Version, Roles: &roles,
		RoleUntil: &map[accessctl.RoleName]time.Time{accessctl.RoleManager: until}, AccessUntil: &access})
	require.NoError(t, err)
	hist, err := k.Ops.History(sys, o.ID, backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	assert.Contains(t, hist.Items[0].Changes, backoffice.Change{Field: "role_until", Before: "", After: "manager=" + until.Format(time.RFC3339Nano)},
		"the grant and its end are in the history")

	res, err := k.Ops.StartSession(sys, o.ID)
	require.NoError(t, err)
	actor := func() *accessctl.Actor {
		t.Helper()
		a, err := k.Ops.Authenticate(context.Background(), res.Session)
		require.NoError(t, err)
		return a
	}
	assert.True(t, actor().Can(accessctl.PermEndUserDeactivate), "a Manager until then")
	assert.True(t, actor().CanOnAccount(accessctl.PermEndUserRead, "acc-1"))
	k.Clock.Advance(2 * time.Hour)
	assert.False(t, actor().Can(accessctl.PermEndUserDeactivate), "the role stopped counting at its time")
	assert.True(t, actor().Can(accessctl.PermEndUserRead), "the permanent role stays")
	k.Clock.Advance(time.Hour)
	assert.False(t, actor().CanOnAccount(accessctl.PermEndUserRead, "acc-1"), "the account access ended")

	// A refused end: in the past, or for a role the operator lacks.
	cur, err := k.Ops.Operator(sys, o.ID)
	require.NoError(t, err)
	_, err = k.Ops.UpdateOperator(sys, o.ID, accessctl.OperatorUpdate{Version: cur.Version,
		RoleUntil: &map[accessctl.RoleName]time.Time{accessctl.RoleBasicEditor: k.Clock.Now().Add(time.Hour)}})
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	past := k.Clock.Now().Add(-time.Minute)
	_, err = k.Ops.UpdateOperator(sys, o.ID, accessctl.OperatorUpdate{Version: cur.Version, AccessUntil: &past})
	require.ErrorIs(t, err, backoffice.ErrInvalid)

	n, err := k.Ops.ExpireGrants(sys)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	cur, err = k.Ops.Operator(sys, o.ID)
	require.NoError(t, err)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleReadOnly}, cur.Roles)
	assert.False(t, cur.AllAccounts)
	assert.Zero(t, cur.AccessUntil)
	assert.Equal(t, backoffice.ActionOperatorGrantEnd, actions(t, k, o.ID)[len(actions(t, k, o.ID))-1])
	n, err = k.Ops.ExpireGrants(sys)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to end")
}

// T2: break-glass: an operator asks for a role for at most the policy's
// hours, with a reason; a second operator approves; the role counts from
// the next login until its end, and both are in the history.
func TestBreakGlass(t *testing.T) {
	k := pciKit(nil)
	_, ro := k.Operator(accessctl.RoleReadOnly)
	asker := k.Session(ro.ID)
	_, err := k.Ops.RequestElevation(asker, accessctl.RoleManager, 5*time.Hour, "incident 99")
	require.ErrorIs(t, err, backoffice.ErrInvalid, "beyond the policy's 4 hours")
	_, err = k.Ops.RequestElevation(asker, accessctl.RoleManager, time.Hour, "")
	require.ErrorIs(t, err, backoffice.ErrInvalid, "a reason is required")
	_, err = k.Ops.RequestElevation(asker, accessctl.RoleReadOnly, time.Hour, "incident 99")
	require.ErrorIs(t, err, backoffice.ErrInvalid, "a role it holds")
	ap, err := k.Ops.RequestElevation(asker, accessctl.RoleManager, 2*time.Hour, "incident 99: payouts stuck")
	require.NoError(t, err)
	_, err = k.Ops.Approve(k.Session(ro.ID), ap.ID)
	require.ErrorIs(t, err, backoffice.ErrForbidden)
	_, err = k.Ops.Approve(k.As(accessctl.RoleBasicEditor), ap.ID)
	require.ErrorIs(t, err, backoffice.ErrForbidden, "the approver needs operator.edit")
	done, err := k.Ops.Approve(k.As(accessctl.RoleAdministrator), ap.ID)
	require.NoError(t, err)
	require.Equal(t, accessctl.ApprovalDone, done.Status, done.Outcome)

	elevated := k.Session(ro.ID)
	a, _ := accessctl.ActorFrom(elevated)
	assert.True(t, a.Can(accessctl.PermEndUserDeactivate))
	o, err := k.Ops.Operator(k.System(), ro.ID)
	require.NoError(t, err)
	assert.True(t, o.RoleUntil[accessctl.RoleManager].Equal(k.Clock.Now().Add(2*time.Hour)))
	hist, err := k.Ops.History(k.System(), ro.ID, backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, backoffice.ActionOperatorElevate, hist.Items[0].Action)
	assert.Contains(t, hist.Items[0].Changes, backoffice.Change{Field: "reason", After: "incident 99: payouts stuck"})

	k.Clock.Advance(2 * time.Hour)
	res, err := k.Ops.StartSession(k.System(), ro.ID)
	require.NoError(t, err)
	after, err := k.Ops.Authenticate(context.Background(), res.Session)
	require.NoError(t, err)
	assert.False(t, after.Can(accessctl.PermEndUserDeactivate), "the elevation ended with no job running")
	_, err = k.Ops.ExpireGrants(k.System())
	require.NoError(t, err)
	got := actions(t, k, ro.ID)
	assert.Equal(t, []backoffice.Action{backoffice.ActionOperatorElevate, backoffice.ActionOperatorGrantEnd}, got[len(got)-2:])
}

// V1 (7.2.4): a campaign lists every operator with its roles, account
// access, last login and dormant flag; reviewers certify or revoke each
// line (a revoke deactivates), never their own; the closed campaign is
// kept and exported as CSV; overdue campaigns and a due review are
// reported.
func TestAccessReview(t *testing.T) {
	k := pciKit(nil)
	sys := k.System()
	reviewer, reviewerOp := k.Operator(accessctl.RoleAdministrator)
	_, keep := k.Operator(accessctl.RoleManager)
	_, leaver := k.Operator(accessctl.RoleBasicEditor)
	k.Clock.Advance(91 * 24 * time.Hour) // everyone is dormant by now

	rep, err := k.Ops.ReviewStatus(reviewer)
	require.NoError(t, err)
	assert.True(t, rep.Due, "no review ever closed")

	_, err = k.Ops.StartReview(reviewer, "Q2 access review", k.Clock.Now().Add(-time.Hour))
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	r, err := k.Ops.StartReview(reviewer, "Q2 access review", k.Clock.Now().Add(14*24*time.Hour))
	require.NoError(t, err)
	require.Len(t, r.Lines, 4, "the Administrator, the reviewer and two operators")
	for _, l := range r.Lines {
		assert.True(t, l.Dormant, "%s", l.Operator)
		assert.NotEmpty(t, l.Roles)
	}

	_, err = k.Ops.DecideReview(reviewer, r.ID, reviewerOp.ID, accessctl.ReviewCertified, "")
	require.ErrorIs(t, err, backoffice.ErrInvalid, "not its own line")
	_, err = k.Ops.DecideReview(k.As(accessctl.RoleReadOnly), r.ID, keep.ID, accessctl.ReviewCertified, "")
	require.ErrorIs(t, err, backoffice.ErrForbidden)
	_, err = k.Ops.DecideReview(reviewer, r.ID, keep.ID, accessctl.ReviewCertified, "=HYPERLINK(\"x\")")
	require.NoError(t, err)
	_, err = k.Ops.DecideReview(reviewer, r.ID, keep.ID, accessctl.ReviewRevoked, "")
	require.ErrorIs(t, err, backoffice.ErrFailedPrecondition, "decided once")
	_, err = k.Ops.DecideReview(reviewer, r.ID, leaver.ID, accessctl.ReviewRevoked, "left the company")
	require.NoError(t, err)
	gone, err := k.Ops.Operator(sys, leaver.ID)
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusDeactivated, gone.Status, "a revoke deactivates")

	k.Clock.Advance(15 * 24 * time.Hour)
	rep, err = k.Ops.ReviewStatus(reviewer)
	require.NoError(t, err)
	require.Len(t, rep.Overdue, 1, "open after its due date")
	assert.Equal(t, r.ID, rep.Overdue[0].ID)

	_, err = k.Ops.DecideReview(reviewer, r.ID, k.Admin.ID, accessctl.ReviewCertified, "")
	require.NoError(t, err)
	second := k.As(accessctl.RoleAdministrator)
	closed, err := k.Ops.DecideReview(second, r.ID, reviewerOp.ID, accessctl.ReviewCertified, "")
	require.NoError(t, err)
	assert.True(t, closed.Closed())
	_, err = k.Ops.DecideReview(second, r.ID, keep.ID, accessctl.ReviewRevoked, "")
	require.ErrorIs(t, err, backoffice.ErrFailedPrecondition, "closed")

	rep, err = k.Ops.ReviewStatus(reviewer)
	require.NoError(t, err)
	assert.Empty(t, rep.Overdue)
	assert.False(t, rep.Due)
	assert.True(t, rep.LastClosed.Equal(k.Clock.Now()))
	k.Clock.Advance(184 * 24 * time.Hour)
	rep, err = k.Ops.ReviewStatus(reviewer)
	require.NoError(t, err)
	assert.True(t, rep.Due, "six months after the last review, another is due")

	var buf bytes.Buffer
	require.NoError(t, k.Ops.WriteReviewCSV(reviewer, r.ID, &buf))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 5)
	assert.Equal(t, []string{"campaign", "operator", "name", "email", "status", "roles", "all_accounts", "accounts",
		"last_login_at", "last_login_from", "dormant", "decision", "decided_by", "decided_at", "note"}, rows[0])
	byOp := map[string][]string{}
	for _, row := range rows[1:] {
		byOp[row[1]] = row
	}
	assert.Equal(t, "revoked", byOp[string(leaver.ID)][11])
	assert.Equal(t, "left the company", byOp[string(leaver.ID)][14])
	assert.Equal(t, "'=HYPERLINK(\"x\")", byOp[string(keep.ID)][14], "a cell is never a formula")
	assert.Equal(t, "true", byOp[string(keep.ID)][10])
}
