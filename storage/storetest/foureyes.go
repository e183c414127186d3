package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/storage/memory"
)

// The attacks on four-eyes approval (F4-F7) found by trying
// adminapi -demo -policy pci-dss-4.0 as an insider would, each refused
// with nothing changed, through two service instances over the stores
// under test. The clock is moved past the policy's approver age wherever
// an attack waits for it, so that age alone never stops one.

const week = 8 * 24 * time.Hour

// puppet creates, as the attacker, an operator with racePassword and the
// roles: an account the attacker holds the keys of.
func (e *raceEnv) puppet(attacker context.Context, name string, roles ...accessctl.RoleName) *accessctl.Operator {
	e.t.Helper()
	o, err := e.ops[0].CreateOperator(attacker, accessctl.NewOperator{Username: name, Email: name + "@acme.test", FirstName: "P",
		LastName: "P", Roles: roles, AllAccounts: true, Password: racePassword, PasswordConfirmation: racePassword})
	require.NoError(e.t, err)
	return o
}

// validatedUser is an end user whose deactivation the rules allow.
func (e *raceEnv) validatedUser() *enduser.EndUser {
	e.t.Helper()
	u, err := e.users[0].Create(e.sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Jo", LastName: "Doe", Email: "jo@example.com"})
	require.NoError(e.t, err)
	u, err = e.users[0].RequestKYCReview(e.sys, u.ID, u.Version)
	require.NoError(e.t, err)
	u, err = e.users[0].RecordKYCOutcome(e.sys, u.ID, u.Version, enduser.KYCValidated, "ok")
	require.NoError(e.t, err)
	return u
}

// unchanged asserts that the operator's stored record is the one given.
func (e *raceEnv) unchanged(o *accessctl.Operator, msg string) {
	e.t.Helper()
	now := e.get(o.ID)
	assert.Equal(e.t, o.Version, now.Version, msg)
	assert.Equal(e.t, o.Roles, now.Roles, msg)
	assert.Equal(e.t, o.RoleUntil, now.RoleUntil, msg)
}

func testFourEyes(t *testing.T, adapter func(*testing.T) Stores) {
	// End users and devices, which an adapter of the hot stores alone
	// (Redis) does not keep, come from memory, as the rest does.
	newStores := func(t *testing.T) Stores {
		st := adapter(t)
		if st.EndUsers == nil || st.Devices == nil {
			m := memory.New()
			st.EndUsers, st.Devices = m, m
		}
		return st
	}
	t.Run("F4ManagerCannotMintAnAdministrator", func(t *testing.T) {
		// F4: a Manager creates a second account with a password, asks for
		// a break-glass elevation to Administrator and approves it with
		// the second account, a week later: refused, as the second account
		// is its own and no Administrator; an elevation to a lesser role
		// is refused to the puppet too.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		m := e.operator("mallory", accessctl.RoleManager)
		mctx := e.session(0, m.Username)
		p := e.puppet(mctx, "sock", accessctl.RoleManager)
		assert.Equal(t, []accessctl.OperatorID{m.ID}, e.get(p.ID).GrantedBy, "F4: the puppet's account names who made it")
		e.clock.Advance(week)
		mctx = e.session(0, m.Username)
		ap, err := e.ops[0].RequestElevation(mctx, accessctl.RoleAdministrator, 4*time.Hour, "incident 1")
		require.NoError(t, err)
		assert.True(t, ap.AdminLevel)
		before := e.get(m.ID)
		_, err = e.ops[1].Approve(e.session(1, p.Username), ap.ID, ap.EffectDigest)
		require.ErrorIs(t, err, backoffice.ErrForbidden)
		lesser, err := e.ops[0].RequestElevation(mctx, accessctl.RoleAllRightsEditor, 4*time.Hour, "incident 2")
		require.NoError(t, err)
		assert.False(t, lesser.AdminLevel)
		_, err = e.ops[1].Approve(e.session(1, p.Username), lesser.ID, lesser.EffectDigest)
		require.ErrorIs(t, err, backoffice.ErrForbidden, "F4: the puppet decides nothing its maker asked for")
		e.unchanged(before, "the Manager gained nothing")

		// Nor the other way round: the puppet asks, its maker approves.
		pap, err := e.ops[0].RequestElevation(e.session(0, p.Username), accessctl.RoleAllRightsEditor, time.Hour, "incident 3")
		require.NoError(t, err)
		_, err = e.ops[1].Approve(e.session(1, m.Username), pap.ID, pap.EffectDigest)
		require.ErrorIs(t, err, backoffice.ErrForbidden)
		e.unchanged(e.get(p.ID), "the puppet gained nothing")
	})

	t.Run("F4PuppetsOfPuppets", func(t *testing.T) {
		// F4: an account made by an account the requester made is its own
		// too, however long ago.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		m := e.operator("mallory", accessctl.RoleManager)
		p := e.puppet(e.session(0, m.Username), "sock", accessctl.RoleManager)
		q := e.puppet(e.session(0, p.Username), "sock2", accessctl.RoleManager)
		assert.ElementsMatch(t, []accessctl.OperatorID{m.ID, p.ID}, e.get(q.ID).GrantedBy)
		e.clock.Advance(week)
		u := e.validatedUser()
		ap, err := e.ops[0].RequestApproval(e.session(0, m.Username), accessctl.ApprovalRequest{Action: backoffice.ActionEndUserDeactivate,
			TargetType: enduser.TargetEndUser, TargetID: string(u.ID), Params: map[string]string{"version": fmt.Sprint(u.Version)}, Reason: "closure"})
		require.NoError(t, err)
		_, err = e.ops[1].Approve(e.session(1, q.Username), ap.ID, ap.EffectDigest)
		require.ErrorIs(t, err, backoffice.ErrForbidden)
		got, err := e.users[0].Get(e.sys, u.ID)
		require.NoError(t, err)
		assert.Equal(t, enduser.StatusValidated, got.Status)
	})

	t.Run("F4FreshAccountsApproveNothing", func(t *testing.T) {
		// F4: four-eyes on deactivating an end user was satisfied by an
		// account the requester had just created: refused; and an account
		// younger than the policy's approver age, made by someone else,
		// approves nothing either.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		m := e.operator("mallory", accessctl.RoleManager)
		e.clock.Advance(week)
		mctx := e.session(0, m.Username)
		u := e.validatedUser()
		ap, err := e.ops[0].RequestApproval(mctx, accessctl.ApprovalRequest{Action: backoffice.ActionEndUserDeactivate,
			TargetType: enduser.TargetEndUser, TargetID: string(u.ID), Params: map[string]string{"version": fmt.Sprint(u.Version)}, Reason: "closure"})
		require.NoError(t, err)
		p := e.puppet(mctx, "sock", accessctl.RoleManager)
		_, err = e.ops[1].Approve(e.session(1, p.Username), ap.ID, ap.EffectDigest)
		require.ErrorIs(t, err, backoffice.ErrForbidden)
		fresh := e.operator("newbie", accessctl.RoleManager)
		_, err = e.ops[1].Approve(e.session(1, fresh.Username), ap.ID, ap.EffectDigest)
		require.ErrorIs(t, err, backoffice.ErrForbidden, "F4: younger than the approver age")
		got, err := e.users[0].Get(e.sys, u.ID)
		require.NoError(t, err)
		assert.Equal(t, enduser.StatusValidated, got.Status)
		e.clock.Advance(week)
		ap, err = e.ops[0].RequestApproval(e.session(0, m.Username), accessctl.ApprovalRequest{Action: backoffice.ActionEndUserDeactivate,
			TargetType: enduser.TargetEndUser, TargetID: string(u.ID), Params: map[string]string{"version": fmt.Sprint(u.Version)}, Reason: "closure"})
		require.NoError(t, err)
		done, err := e.ops[1].Approve(e.session(1, fresh.Username), ap.ID, ap.EffectDigest)
		require.NoError(t, err, "a week later, a second real person may")
		assert.Equal(t, accessctl.ApprovalDone, done.Status, done.Outcome)
	})

	t.Run("F5EndDateMovedIsHeld", func(t *testing.T) {
		// F5: an operator holding Administrator until a time clears or
		// moves its own end date: held like granting Administrator.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		m := e.operator("mallory", accessctl.RoleManager)
		until := e.clock.Now().Add(2 * time.Hour)
		_, err := e.ops[0].UpdateOperator(e.sys, m.ID, accessctl.OperatorUpdate{Version: m.Version,
			Roles: &[]accessctl.RoleName{accessctl.RoleManager, accessctl.RoleAdministrator}, RoleUntil: &map[accessctl.RoleName]time.Time{accessctl.RoleAdministrator: until}})
		require.NoError(t, err)
		mctx := e.session(0, m.Username)
		before := e.get(m.ID)
		_, err = e.ops[0].UpdateOperator(mctx, m.ID, accessctl.OperatorUpdate{Version: before.Version, RoleUntil: &map[accessctl.RoleName]time.Time{}})
		require.ErrorIs(t, err, accessctl.ErrApprovalRequired, "clearing the end")
		_, err = e.ops[0].UpdateOperator(mctx, m.ID, accessctl.OperatorUpdate{Version: before.Version,
			RoleUntil: &map[accessctl.RoleName]time.Time{accessctl.RoleAdministrator: until.Add(24 * time.Hour)}})
		require.ErrorIs(t, err, accessctl.ErrApprovalRequired, "moving it later")
		_, err = e.ops[0].UpdateOperator(mctx, m.ID, accessctl.OperatorUpdate{Version: before.Version,
			RoleUntil: &map[accessctl.RoleName]time.Time{accessctl.RoleAdministrator: until.Add(-time.Hour)}})
		require.NoError(t, err, "ending it sooner is not a grant")
	})

	t.Run("F5CustomRoleAndSSOMapping", func(t *testing.T) {
		// F5: one Administrator alone gave another operator every
		// permission through a custom role, and made an Administrator by
		// mapping an SSO group to the Administrator role: both held; a
		// custom role with Administrator-level permissions is granted
		// only as Administrator is.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		desk, err := e.ops[0].CreateRole(e.sys, accessctl.Role{Name: "desk", Abbrev: "D", Description: "desk", Permissions: []accessctl.Permission{accessctl.PermEndUserRead}})
		require.NoError(t, err)
		x := e.operator("xavier", "desk")
		root := e.session(0, "root")
		all := []accessctl.Permission{accessctl.PermEndUserRead, accessctl.PermTenantConfigure, accessctl.PermRoleManage}
		_, err = e.ops[0].UpdateRole(root, accessctl.Role{Name: "desk", Abbrev: "D", Description: "desk", Permissions: all, Version: desk.Version})
		require.ErrorIs(t, err, accessctl.ErrApprovalRequired)
		roles, err := e.ops[0].Roles(root)
		require.NoError(t, err)
		for _, r := range roles {
			if r.Name == "desk" {
				assert.Equal(t, []accessctl.Permission{accessctl.PermEndUserRead}, r.Permissions, "the role is unchanged")
			}
		}
		_, err = e.ops[0].CreateRole(root, accessctl.Role{Name: "superdesk", Abbrev: "S", Description: "s", Permissions: all})
		require.NoError(t, err, "a role nobody holds grants nothing yet")
		xs := e.get(x.ID)
		_, err = e.ops[0].UpdateOperator(root, x.ID, accessctl.OperatorUpdate{Version: xs.Version, Roles: &[]accessctl.RoleName{"desk", "superdesk"}})
		require.ErrorIs(t, err, accessctl.ErrApprovalRequired, "granting it is held like granting Administrator")
		e.unchanged(xs, "xavier gained nothing")

		tn, err := e.ops[0].Tenant(root)
		require.NoError(t, err)
		_, err = e.ops[0].ConfigureTenant(root, accessctl.TenantSettings{Version: tn.Version,
			SSO: &accessctl.SSOConfig{GroupRoles: map[string][]accessctl.RoleName{"ops": {accessctl.RoleAdministrator}}}})
		require.ErrorIs(t, err, accessctl.ErrApprovalRequired)
		_, err = e.ops[0].ConfigureTenant(root, accessctl.TenantSettings{Version: tn.Version,
			SSO: &accessctl.SSOConfig{GroupRoles: map[string][]accessctl.RoleName{"ops": {"superdesk"}}}})
		require.ErrorIs(t, err, accessctl.ErrApprovalRequired, "a role with its permissions alike")
		after, err := e.ops[0].Tenant(root)
		require.NoError(t, err)
		assert.Equal(t, tn.Version, after.Version)
		assert.Empty(t, after.SSO.GroupRoles)
		_, err = e.ops[0].ConfigureTenant(root, accessctl.TenantSettings{Version: tn.Version,
			SSO: &accessctl.SSOConfig{GroupRoles: map[string][]accessctl.RoleName{"ops": {accessctl.RoleManager}}}})
		require.NoError(t, err, "a group mapped to a lesser role is not held")
	})

	t.Run("F6F7ApproverSeesEveryValue", func(t *testing.T) {
		// F6, F7: "raise the minimum password length" that also switches
		// four-eyes, MFA and the idle timeout off is shown value by value,
		// approved by its digest only; a weakening is held even where the
		// policy does not list policy changes; an approval whose action
		// would now do something else fails with nothing changed.
		t.Parallel()
		e := policyEnv(t, newStores, func(p *accessctl.Policy) {
			p.FourEyes = []backoffice.Action{accessctl.ApproveGrantAdministrator, backoffice.ActionEndUserDeactivate}
		})
		zed := e.operator("zed", accessctl.RoleAdministrator)
		e.clock.Advance(week)
		root := e.session(0, "root")
		tn, err := e.ops[0].Tenant(root)
		require.NoError(t, err)
		tighter := *tn.Policy
		tighter.MinPasswordLength = 14
		tn2, err := e.ops[0].ConfigureTenant(root, accessctl.TenantSettings{Version: tn.Version, Policy: &tighter})
		require.NoError(t, err, "F7: strengthening is not held when the policy does not hold policy changes")

		sly := tighter
		sly.MinPasswordLength, sly.FourEyes, sly.MFA, sly.IdleTimeout = 16, nil, accessctl.MFAOptional, 0
		_, err = e.ops[0].ConfigureTenant(root, accessctl.TenantSettings{Version: tn2.Version, Policy: &sly})
		require.ErrorIs(t, err, accessctl.ErrApprovalRequired, "F7: a weakening is held")
		raw, err := json.Marshal(sly)
		require.NoError(t, err)
		ap, err := e.ops[0].RequestApproval(root, accessctl.ApprovalRequest{Action: accessctl.ApprovePolicyChange, TargetType: accessctl.TargetTenant,
			TargetID: string(raceTenant), Params: map[string]string{"version": fmt.Sprint(tn2.Version), "policy": string(raw)}, Reason: "longer passwords"})
		require.NoError(t, err)
		shown := map[string]backoffice.Change{}
		for _, c := range ap.Effect {
			shown[c.Field] = c
		}
		assert.Equal(t, "16", shown["policy.min_password_length"].After)
		assert.Contains(t, shown, "policy.four_eyes")
		assert.Equal(t, "optional", shown["policy.mfa"].After)
		assert.Equal(t, "0", shown["policy.idle_timeout"].After)
		got, err := e.ops[1].Approval(e.session(1, zed.Username), ap.ID)
		require.NoError(t, err)
		assert.Equal(t, ap.Effect, got.Effect, "F6: stored as computed, on every store")
		assert.Equal(t, accessctl.EffectDigest(ap.Effect), got.EffectDigest)
		_, err = e.ops[1].Approve(e.session(1, zed.Username), ap.ID, accessctl.EffectDigest(ap.Effect[:1]))
		require.ErrorIs(t, err, backoffice.ErrFailedPrecondition, "F6: only the effect shown is approved")
		p, err := e.ops[0].Policy(root)
		require.NoError(t, err)
		assert.Equal(t, 14, p.MinPasswordLength)
		assert.NotEmpty(t, p.FourEyes)

		// The requester's roles change after the request: the elevation
		// would now do something else, and fails with nothing changed.
		m := e.operator("mallory", accessctl.RoleReadOnly)
		e.clock.Advance(week)
		el, err := e.ops[0].RequestElevation(e.session(0, m.Username), accessctl.RoleManager, time.Hour, "incident 7")
		require.NoError(t, err)
		mo := e.get(m.ID)
		_, err = e.ops[0].UpdateOperator(e.sys, m.ID, accessctl.OperatorUpdate{Version: mo.Version,
			Roles: &[]accessctl.RoleName{accessctl.RoleReadOnly, accessctl.RoleBasicEditor}})
		require.NoError(t, err)
		mo = e.get(m.ID)
		done, err := e.ops[1].Approve(e.session(1, zed.Username), el.ID, el.EffectDigest)
		require.NoError(t, err)
		assert.Equal(t, accessctl.ApprovalFailed, done.Status)
		assert.Contains(t, done.Outcome, "other values than were approved")
		e.unchanged(mo, "F6: nothing but what was approved runs")
	})
}

// FourEyes runs the four-eyes attacks alone (F4-F7), for a combination
// of stores a host deploys that the adapters' own suites do not run:
// PostgreSQL for the records with Redis for sessions, tokens and
// attempts, say.
func FourEyes(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Helper()
	testFourEyes(t, newStores)
}
