package accessctl_test

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// The scenarios of T1, T2 and V1 run on every store in the conformance
// suite (storage/storetest); these are the refusals around them.

// T1: an end must be in the future and for a role the operator holds;
// the grant, with its end, is in the history.
func TestTimeBoundGrantRefusals(t *testing.T) {
	k := pciKit(nil)
	sys := k.System()
	_, o := k.Operator(accessctl.RoleReadOnly)
	_, err := k.Ops.UpdateOperator(sys, o.ID, accessctl.OperatorUpdate{Version: o.Version,
		RoleUntil: &map[accessctl.RoleName]time.Time{accessctl.RoleBasicEditor: k.Clock.Now().Add(time.Hour)}})
	require.ErrorIs(t, err, backoffice.ErrInvalid, "a role it does not hold")
	past := k.Clock.Now().Add(-time.Minute)
	_, err = k.Ops.UpdateOperator(sys, o.ID, accessctl.OperatorUpdate{Version: o.Version, AccessUntil: &past})
	require.ErrorIs(t, err, backoffice.ErrInvalid, "an end in the past")
	until := k.Clock.Now().Add(time.Hour)
	_, err = k.Ops.UpdateOperator(sys, o.ID, accessctl.OperatorUpdate{Version: o.Version,
		RoleUntil: &map[accessctl.RoleName]time.Time{accessctl.RoleReadOnly: until}})
	require.NoError(t, err)
	hist, err := k.Ops.History(sys, o.ID, backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	assert.Contains(t, hist.Items[0].Changes, backoffice.Change{Field: "role_until", After: "read_only=" + until.Format(time.RFC3339Nano)})
	n, err := k.Ops.ExpireGrants(sys)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing ended yet")
}

// T2: an elevation is at most the policy's hours, with a reason, for a
// role not held; only another operator holding operator.edit approves.
func TestBreakGlassRefusals(t *testing.T) {
	k := pciKit(anyApproverAge)
	_, ro := k.Operator(accessctl.RoleReadOnly)
	asker := k.Session(ro.ID)
	_, err := k.Ops.RequestElevation(asker, accessctl.RoleManager, 5*time.Hour, "incident 99")
	require.ErrorIs(t, err, backoffice.ErrInvalid, "beyond the policy's 4 hours")
	_, err = k.Ops.RequestElevation(asker, accessctl.RoleManager, time.Hour, "")
	require.ErrorIs(t, err, backoffice.ErrInvalid, "a reason is required")
	_, err = k.Ops.RequestElevation(asker, accessctl.RoleReadOnly, time.Hour, "incident 99")
	require.ErrorIs(t, err, backoffice.ErrInvalid, "a role it holds")
	_, err = k.Ops.RequestElevation(k.System(), accessctl.RoleManager, time.Hour, "incident 99")
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "an operator asks, not the host")
	ap, err := k.Ops.RequestElevation(asker, accessctl.RoleManager, 2*time.Hour, "incident 99: payouts stuck")
	require.NoError(t, err)
	_, err = k.Ops.Approve(k.Session(ro.ID), ap.ID, ap.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrForbidden, "not by itself")
	_, err = k.Ops.Approve(k.As(accessctl.RoleBasicEditor), ap.ID, ap.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrForbidden, "the approver needs operator.edit")
	_, err = k.Ops.Approve(k.As(accessctl.RoleAdministrator), ap.ID, ap.EffectDigest)
	require.NoError(t, err)
	hist, err := k.Ops.History(k.System(), ro.ID, backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, backoffice.ActionOperatorElevate, hist.Items[0].Action)
	assert.Contains(t, hist.Items[0].Changes, backoffice.Change{Field: "reason", After: "incident 99: payouts stuck"})
}

// V1: a reviewer never decides its own line; a line is decided once; a
// closed campaign takes no more decisions; a review is due six months
// after the last one closed; no CSV cell is a formula.
func TestAccessReviewRules(t *testing.T) {
	k := pciKit(nil)
	reviewer, reviewerOp := k.Operator(accessctl.RoleAdministrator)
	_, keep := k.Operator(accessctl.RoleManager)
	_, err := k.Ops.StartReview(reviewer, "Q2", k.Clock.Now().Add(-time.Hour))
	require.ErrorIs(t, err, backoffice.ErrInvalid, "due in the past")
	r, err := k.Ops.StartReview(reviewer, "Q2", k.Clock.Now().Add(14*24*time.Hour))
	require.NoError(t, err)
	_, err = k.Ops.StartReview(k.As(accessctl.RoleReadOnly), "Q2", k.Clock.Now().Add(time.Hour))
	require.ErrorIs(t, err, backoffice.ErrForbidden, "(an operator made after the campaign began is not in it)")
	_, err = k.Ops.DecideReview(reviewer, r.ID, reviewerOp.ID, accessctl.ReviewCertified, "")
	require.ErrorIs(t, err, backoffice.ErrInvalid, "not its own line")
	_, err = k.Ops.DecideReview(reviewer, r.ID, keep.ID, "maybe", "")
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	_, err = k.Ops.DecideReview(reviewer, r.ID, keep.ID, accessctl.ReviewCertified, `=HYPERLINK("x")`)
	require.NoError(t, err)
	_, err = k.Ops.DecideReview(reviewer, r.ID, keep.ID, accessctl.ReviewRevoked, "")
	require.ErrorIs(t, err, backoffice.ErrFailedPrecondition, "decided once")
	_, err = k.Ops.DecideReview(reviewer, r.ID, "nobody", accessctl.ReviewRevoked, "")
	require.ErrorIs(t, err, backoffice.ErrNotFound)
	_, err = k.Ops.DecideReview(reviewer, r.ID, k.Admin.ID, accessctl.ReviewCertified, "")
	require.NoError(t, err)
	closed, err := k.Ops.DecideReview(k.As(accessctl.RoleAdministrator), r.ID, reviewerOp.ID, accessctl.ReviewCertified, "")
	require.NoError(t, err)
	require.True(t, closed.Closed())
	_, err = k.Ops.DecideReview(reviewer, r.ID, keep.ID, accessctl.ReviewRevoked, "")
	require.ErrorIs(t, err, backoffice.ErrFailedPrecondition, "closed")

	rep, err := k.Ops.ReviewStatus(reviewer)
	require.NoError(t, err)
	assert.False(t, rep.Due)
	k.Clock.Advance(184 * 24 * time.Hour)
	rep, err = k.Ops.ReviewStatus(reviewer)
	require.NoError(t, err)
	assert.True(t, rep.Due, "six months after the last review, another is due")

	var buf bytes.Buffer
	require.NoError(t, k.Ops.WriteReviewCSV(reviewer, r.ID, &buf))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	for _, row := range rows[1:] {
		if row[1] == string(keep.ID) {
			assert.Equal(t, `'=HYPERLINK("x")`, row[14], "a cell is never a formula")
		}
	}
}
