package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// testSessionPolicy: P1, T1: a session keeps its idle limit, last use
// and time-bound grants; TouchSession only moves the last use forward.
func testSessionPolicy(t *testing.T, newStores func(*testing.T) Stores) {
	t.Parallel()
	f := newFixture(t, newStores)
	now := time.Now().UTC().Truncate(time.Microsecond)
	s := &accessctl.Session{ID: "s1", Tenant: "t1", Operator: "op1", Epoch: 1, Name: "ada", Roles: []accessctl.RoleName{accessctl.RoleManager},
		AllAccounts: true, CreatedAt: now, ExpiresAt: now.Add(8 * time.Hour), IdleTimeout: 15 * time.Minute, LastSeen: now,
		RoleUntil: map[accessctl.RoleName]time.Time{accessctl.RoleManager: now.Add(time.Hour)}, AccessUntil: now.Add(2 * time.Hour)}
	require.NoError(t, f.Sessions.CreateSession(ctx(), s))
	got, err := f.Sessions.Session(ctx(), "t1", "s1")
	require.NoError(t, err)
	got.RolesVersion = 0
	assert.Equal(t, s, got)
	require.NoError(t, f.Sessions.TouchSession(ctx(), "t1", "s1", now.Add(5*time.Minute)))
	require.NoError(t, f.Sessions.TouchSession(ctx(), "t1", "s1", now.Add(4*time.Minute)), "an older use is no error")
	require.NoError(t, f.Sessions.TouchSession(ctx(), "t2", "s1", now.Add(9*time.Minute)), "X8: another tenant touches nothing")
	require.NoError(t, f.Sessions.TouchSession(ctx(), "t1", "missing", now), "touching a missing session is no error")
	got, err = f.Sessions.Session(ctx(), "t1", "s1")
	require.NoError(t, err)
	assert.True(t, got.LastSeen.Equal(now.Add(5*time.Minute)), "last seen %s", got.LastSeen)
	_, err = f.Sessions.Session(ctx(), "t1", "missing")
	requireKind(t, err, backoffice.ErrNotFound) // a touch creates no session
}

// testPolicyRecords: P1-P5, T1: a tenant's policy and an operator's
// password history, last login and time-bound grants are kept as
// written; an Administrator until a time does not keep a tenant
// administered.
func testPolicyRecords(t *testing.T, newStores func(*testing.T) Stores) {
	t.Parallel()
	f := newFixture(t, newStores)
	tn := f.tenant(t, "t1")
	p := accessctl.PCIDSS4()
	tn.Policy = &p
	require.NoError(t, f.Tenants.UpdateTenant(ctx(), tn, tn.Version, f.entry("t1", accessctl.TargetTenant, "t1", backoffice.ActionTenantConfigure)))
	got, err := f.Tenants.Tenant(ctx(), "t1")
	require.NoError(t, err)
	assert.Equal(t, tn, got)
	tn.Policy = nil
	require.NoError(t, f.Tenants.UpdateTenant(ctx(), tn, tn.Version, f.entry("t1", accessctl.TargetTenant, "t1", backoffice.ActionTenantConfigure)))
	got, err = f.Tenants.Tenant(ctx(), "t1")
	require.NoError(t, err)
	assert.Nil(t, got.Policy, "back on the service's policy")

	root := f.operator(t, "t1", "root", admin)
	o := f.operator(t, "t1", "temp", admin)
	o.PasswordHistory = []backoffice.Secret{"$argon2id$old1", "$argon2id$old2"}
	o.PasswordChangedAt, o.LastLoginAt, o.LastLoginFrom = base.Add(time.Hour), base.Add(2*time.Hour), "203.0.113.9"
	o.RoleUntil = map[accessctl.RoleName]time.Time{admin: base.Add(48 * time.Hour)}
	o.AccessUntil = base.Add(72 * time.Hour)
	require.NoError(t, f.Operators.UpdateOperator(ctx(), o, o.Version, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(o.ID), "operator.update")))
	stored, err := f.Operators.Operator(ctx(), "t1", o.ID)
	require.NoError(t, err)
	assert.Equal(t, o, stored)

	// The only Administrator for good cannot go, though another holds
	// the role until a time.
	demoted := root.Clone()
	demoted.Roles = []accessctl.RoleName{accessctl.RoleManager}
	err = f.Operators.UpdateOperator(ctx(), demoted, root.Version, accessctl.Guard{KeepAdmin: admin},
		f.entry("t1", accessctl.TargetOperator, string(root.ID), "operator.update"))
	require.ErrorIs(t, err, accessctl.ErrLastAdministrator)
	o.RoleUntil = nil
	require.NoError(t, f.Operators.UpdateOperator(ctx(), o, o.Version, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(o.ID), "operator.update")))
	require.NoError(t, f.Operators.UpdateOperator(ctx(), demoted, root.Version, accessctl.Guard{KeepAdmin: admin},
		f.entry("t1", accessctl.TargetOperator, string(root.ID), "operator.update")), "now another holds it for good")
}

// testApprovals: F1, F3: requests are kept with their version; of two
// decisions on one version one wins; lists are newest first, filtered by
// status, and per tenant.
func testApprovals(t *testing.T, newStores func(*testing.T) Stores) {
	t.Parallel()
	f := newFixture(t, newStores)
	mk := func(tenant backoffice.TenantID, i int) *accessctl.Approval {
		a := &accessctl.Approval{ID: fmt.Sprintf("apr-%02d", i), Tenant: tenant, Action: backoffice.ActionEndUserDeactivate, TargetType: "enduser",
			TargetID: fmt.Sprintf("u-%d", i), Params: map[string]string{"version": "3"}, Reason: "closing", RequestedBy: "op1",
			RequesterName: "ann", Status: accessctl.ApprovalPending, CreatedAt: base, ExpiresAt: base.Add(72 * time.Hour)}
		require.NoError(t, f.Approvals.CreateApproval(ctx(), a, f.entry(tenant, accessctl.TargetApproval, a.ID, backoffice.ActionApprovalRequest)))
		assert.Equal(t, int64(1), a.Version)
		return a
	}
	a1, a2, a3 := mk("t1", 1), mk("t1", 2), mk("t1", 3)
	mk("t2", 4)
	got, err := f.Approvals.Approval(ctx(), "t1", a1.ID)
	require.NoError(t, err)
	assert.Equal(t, a1, got)
	_, err = f.Approvals.Approval(ctx(), "t2", a1.ID)
	requireKind(t, err, backoffice.ErrNotFound)

	won := a2.Clone()
	won.Status, won.DecidedBy, won.DecidedAt = accessctl.ApprovalApproved, "op2", base.Add(time.Minute)
	require.NoError(t, f.Approvals.UpdateApproval(ctx(), won, a2.Version, f.entry("t1", accessctl.TargetApproval, a2.ID, backoffice.ActionApprovalApprove)))
	assert.Equal(t, int64(2), won.Version)
	lost := a2.Clone()
	lost.Status = accessctl.ApprovalRejected
	requireKind(t, f.Approvals.UpdateApproval(ctx(), lost, a2.Version, f.entry("t1", accessctl.TargetApproval, a2.ID, backoffice.ActionApprovalReject)),
		backoffice.ErrConflict)
	missing := a1.Clone()
	missing.ID = "nope"
	requireKind(t, f.Approvals.UpdateApproval(ctx(), missing, 1, f.entry("t1", accessctl.TargetApproval, "nope", "x")), backoffice.ErrNotFound)
	stored, err := f.Approvals.Approval(ctx(), "t1", a2.ID)
	require.NoError(t, err)
	assert.Equal(t, won, stored)

	all, err := f.Approvals.Approvals(ctx(), "t1", accessctl.ApprovalQuery{})
	require.NoError(t, err)
	assert.Equal(t, []string{a3.ID, a2.ID, a1.ID}, approvalIDs(all))
	pending := accessctl.ApprovalPending
	open, err := f.Approvals.Approvals(ctx(), "t1", accessctl.ApprovalQuery{Status: &pending, After: a3.ID, Limit: 5})
	require.NoError(t, err)
	assert.Equal(t, []string{a1.ID}, approvalIDs(open))
	assert.Len(t, f.history(t, "t1", accessctl.TargetApproval, a2.ID), 2, "each change with its entry")
}

func approvalIDs(as []*accessctl.Approval) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

// testReviews: V1: campaigns are kept whole with their lines, updated
// under their version, listed newest first per tenant.
func testReviews(t *testing.T, newStores func(*testing.T) Stores) {
	t.Parallel()
	f := newFixture(t, newStores)
	mk := func(tenant backoffice.TenantID, id string) *accessctl.Review {
		r := &accessctl.Review{ID: id, Tenant: tenant, Name: "Q1 " + id, StartedBy: "op1", CreatedAt: base, DueAt: base.Add(14 * 24 * time.Hour),
			Lines: []accessctl.ReviewLine{
				{Operator: "op1", Name: "Ann", Email: "ann@x.test", Status: accessctl.StatusActive, Roles: []accessctl.RoleName{admin}, AllAccounts: true,
					LastLoginAt: base, LastLoginFrom: "203.0.113.1"},
				{Operator: "op2", Name: "Bob", Status: accessctl.StatusActive, Roles: []accessctl.RoleName{accessctl.RoleManager},
					RoleUntil: map[accessctl.RoleName]time.Time{accessctl.RoleManager: base.Add(time.Hour)}, Accounts: []accessctl.AccountID{"acc-1"}, Dormant: true},
			}}
		require.NoError(t, f.Reviews.CreateReview(ctx(), r, f.entry(tenant, accessctl.TargetReview, id, backoffice.ActionReviewStart)))
		return r
	}
	r1, r2 := mk("t1", "rev-1"), mk("t1", "rev-2")
	mk("t2", "rev-3")
	got, err := f.Reviews.Review(ctx(), "t1", r1.ID)
	require.NoError(t, err)
	assert.Equal(t, r1, got)
	_, err = f.Reviews.Review(ctx(), "t2", r1.ID)
	requireKind(t, err, backoffice.ErrNotFound)
	next := r1.Clone()
	next.Lines[1].Decision, next.Lines[1].DecidedBy, next.Lines[1].DecidedAt = accessctl.ReviewRevoked, "op1", base.Add(time.Hour)
	next.ClosedAt = base.Add(time.Hour)
	require.NoError(t, f.Reviews.UpdateReview(ctx(), next, r1.Version, f.entry("t1", accessctl.TargetReview, r1.ID, backoffice.ActionReviewDecide)))
	requireKind(t, f.Reviews.UpdateReview(ctx(), r1.Clone(), r1.Version, f.entry("t1", accessctl.TargetReview, r1.ID, "x")), backoffice.ErrConflict)
	got, err = f.Reviews.Review(ctx(), "t1", r1.ID)
	require.NoError(t, err)
	assert.Equal(t, next, got)
	list, err := f.Reviews.Reviews(ctx(), "t1", accessctl.ReviewQuery{})
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{r2.ID, r1.ID}, []string{list[0].ID, list[1].ID})
	page, err := f.Reviews.Reviews(ctx(), "t1", accessctl.ReviewQuery{After: r2.ID, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, r1.ID, page[0].ID)
}
