package accessctl_test

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
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// head is the tenant's audit chain's length: what every change moves on.
func head(t *testing.T, k *memorytest.Kit) int64 {
	t.Helper()
	h, err := k.Store.AuditHead(context.Background(), k.Tenant)
	require.NoError(t, err)
	return h.Seq
}

// F6: asking for approval runs the action as the requester up to its
// gate and no further: for every action held, the request is the only
// entry written, the target is unchanged, and the request carries the
// effect the action would have.
func TestFourEyesRequestWritesOnlyTheRequest(t *testing.T) {
	k := pciKit(anyApproverAge)
	asker, _ := k.Operator(accessctl.RoleAdministrator)
	_, target := k.Operator(accessctl.RoleManager)
	desk := k.CustomRole("desk", accessctl.PermEndUserRead)
	_, holder := k.Operator(desk)
	u := validatedUser(t, k)
	d := lockedDevice(t, k)
	tn, err := k.Ops.Tenant(asker)
	require.NoError(t, err)
	weaker, err := json.Marshal(accessctl.Policy{Name: "lax"})
	require.NoError(t, err)
	v := func(n int64) string { return fmt.Sprint(n) }
	for _, in := range []accessctl.ApprovalRequest{
		{Action: backoffice.ActionEndUserDeactivate, TargetType: enduser.TargetEndUser, TargetID: string(u.ID), Params: map[string]string{"version": v(u.Version)}},
		{Action: backoffice.ActionDeviceUnlock, TargetType: scadevice.TargetDevice, TargetID: string(d.ID), Params: map[string]string{"version": v(d.Version), "identity_verified": "true"}},
		{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetOperator, TargetID: string(target.ID),
			Params: map[string]string{"version": v(target.Version), "roles": "administrator"}},
		{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetRole, TargetID: string(desk),
			Params: map[string]string{"version": "1", "abbrev": "D", "description": "d", "permissions": "enduser.read,tenant.configure"}},
		{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetTenant, TargetID: string(k.Tenant),
			Params: map[string]string{"version": v(tn.Version), "sso": `{"group_roles":{"ops":["administrator"]}}`}},
		{Action: accessctl.ApprovePolicyChange, TargetType: accessctl.TargetTenant, TargetID: string(k.Tenant),
			Params: map[string]string{"version": v(tn.Version), "policy": string(weaker)}},
	} {
		t.Run(string(in.Action)+"/"+in.TargetType, func(t *testing.T) {
			before := head(t, k)
			in.Reason = "ticket 1"
			ap, err := k.Ops.RequestApproval(asker, in)
			require.NoError(t, err)
			assert.Equal(t, before+1, head(t, k), "the request's own entry, nothing else")
			assert.NotEmpty(t, ap.Effect)
			assert.Equal(t, accessctl.EffectDigest(ap.Effect), ap.EffectDigest)
		})
	}
	got, err := k.Users.Get(asker, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.Version, got.Version)
	o, err := k.Ops.Operator(asker, target.ID)
	require.NoError(t, err)
	assert.Equal(t, target.Version, o.Version)
	h, err := k.Ops.Operator(asker, holder.ID)
	require.NoError(t, err)
	assert.Equal(t, holder.Version, h.Version)
	now, err := k.Ops.Tenant(asker)
	require.NoError(t, err)
	assert.Equal(t, tn.Version, now.Version)

	before := head(t, k)
	_, err = k.Ops.RequestApproval(asker, accessctl.ApprovalRequest{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetOperator,
		TargetID: string(target.ID), Params: map[string]string{"version": v(target.Version), "roles": "manager,read_only"}, Reason: "not held"})
	require.ErrorIs(t, err, backoffice.ErrInvalid, "a change the policy does not hold is done directly")
	_, err = k.Ops.RequestApproval(asker, accessctl.ApprovalRequest{Action: accessctl.ApprovePolicyChange, TargetType: accessctl.TargetTenant,
		TargetID: string(k.Tenant), Params: map[string]string{"version": v(tn.Version), "sso": `{"group_roles":{"ops":["administrator"]}}`}, Reason: "mislabelled"})
	require.ErrorIs(t, err, backoffice.ErrInvalid, "a change held as another action is asked for as that one")
	assert.Equal(t, before, head(t, k), "a refused request writes nothing")
	o, err = k.Ops.Operator(asker, target.ID)
	require.NoError(t, err)
	assert.Equal(t, target.Version, o.Version)
}

// F7: each value of the policy made weaker is held, even where the
// policy does not list policy changes, as long as it holds anything; the
// same value made stronger is not.
func TestFourEyesPolicyWeakeningsAreHeld(t *testing.T) {
	base := accessctl.PCIDSS4()
	base.FourEyes = []backoffice.Action{backoffice.ActionEndUserDeactivate}
	for _, c := range []struct {
		field            string
		weaker, stronger func(p *accessctl.Policy)
	}{
		{"idle_timeout", func(p *accessctl.Policy) { p.IdleTimeout = 0 }, func(p *accessctl.Policy) { p.IdleTimeout = 10 * time.Minute }},
		{"session_lifetime", func(p *accessctl.Policy) { p.SessionLifetime = 9 * time.Hour }, func(p *accessctl.Policy) { p.SessionLifetime = time.Hour }},
		{"lockout_duration", func(p *accessctl.Policy) { p.LockoutDuration = time.Minute }, func(p *accessctl.Policy) { p.LockoutDuration = time.Hour }},
		{"min_password_length", func(p *accessctl.Policy) { p.MinPasswordLength = 8 }, func(p *accessctl.Policy) { p.MinPasswordLength = 16 }},
		{"password_history", func(p *accessctl.Policy) { p.PasswordHistory = 1 }, func(p *accessctl.Policy) { p.PasswordHistory = 8 }},
		{"max_password_age", func(p *accessctl.Policy) { p.MaxPasswordAge = 0 }, func(p *accessctl.Policy) { p.MaxPasswordAge = 30 * 24 * time.Hour }},
		{"mfa", func(p *accessctl.Policy) { p.MFA = accessctl.MFAOptional }, nil},
		{"dormant_after", func(p *accessctl.Policy) { p.DormantAfter = 0 }, func(p *accessctl.Policy) { p.DormantAfter = 30 * 24 * time.Hour }},
		{"four_eyes", func(p *accessctl.Policy) { p.FourEyes = []backoffice.Action{accessctl.ApproveElevation} },
			func(p *accessctl.Policy) { p.FourEyes = append(p.FourEyes, backoffice.ActionDeviceUnlock) }},
		{"approval_ttl", func(p *accessctl.Policy) { p.ApprovalTTL = 30 * 24 * time.Hour }, func(p *accessctl.Policy) { p.ApprovalTTL = time.Hour }},
		{"max_elevation", func(p *accessctl.Policy) { p.MaxElevation = 48 * time.Hour }, func(p *accessctl.Policy) { p.MaxElevation = time.Hour }},
		{"review_interval", func(p *accessctl.Policy) { p.ReviewInterval = 400 * 24 * time.Hour }, func(p *accessctl.Policy) { p.ReviewInterval = 90 * 24 * time.Hour }},
		{"approver_min_age", func(p *accessctl.Policy) { p.ApproverMinAge = time.Hour }, func(p *accessctl.Policy) { p.ApproverMinAge = 14 * 24 * time.Hour }},
	} {
		t.Run(c.field, func(t *testing.T) {
			k := memorytest.New(&memorytest.Options{Policy: base})
			admin := k.As(accessctl.RoleAdministrator)
			set := func(edit func(p *accessctl.Policy)) error {
				tn, err := k.Ops.Tenant(admin)
				require.NoError(t, err)
				p := base
				p.FourEyes = append([]backoffice.Action(nil), base.FourEyes...)
				edit(&p)
				_, err = k.Ops.ConfigureTenant(admin, accessctl.TenantSettings{Version: tn.Version, Policy: &p})
				return err
			}
			require.ErrorIs(t, set(c.weaker), accessctl.ErrApprovalRequired, "weaker %s is held", c.field)
			if c.stronger != nil {
				require.NoError(t, set(c.stronger), "stronger %s is not", c.field)
			}
		})
	}

	// A policy that holds nothing holds none of its changes: a host that
	// uses no four-eyes is not made to.
	k := memorytest.New(nil)
	admin := k.As(accessctl.RoleAdministrator)
	tn, err := k.Ops.Tenant(admin)
	require.NoError(t, err)
	lax := accessctl.Policy{MFA: accessctl.MFAOptional}
	_, err = k.Ops.ConfigureTenant(admin, accessctl.TenantSettings{Version: tn.Version, Policy: &lax})
	require.NoError(t, err)
}

// F4: permissions added to a custom role are a grant to each of its
// holders, recorded on them before the role changes: a holder then
// decides none of the editor's requests.
func TestFourEyesRoleEditIsAGrantToItsHolders(t *testing.T) {
	k := pciKit(anyApproverAge)
	editor, ed := k.Operator(accessctl.RoleAdministrator)
	desk := k.CustomRole("desk", accessctl.PermEndUserRead, accessctl.PermEndUserDeactivate)
	_, holder := k.Operator(desk)
	_, bystander := k.Operator(accessctl.RoleManager)
	roles, err := k.Ops.Roles(editor)
	require.NoError(t, err)
	var r accessctl.Role
	for _, x := range roles {
		if x.Name == desk {
			r = x
		}
	}
	r.Permissions = append(r.Permissions, accessctl.PermEndUserEdit)
	_, err = k.Ops.UpdateRole(editor, r)
	require.NoError(t, err, "a lesser permission added is not held")
	h, err := k.Ops.Operator(editor, holder.ID)
	require.NoError(t, err)
	assert.Contains(t, h.GrantedBy, ed.ID)
	assert.Empty(t, h.ControlledBy, "a grant gives no keys")
	b, err := k.Ops.Operator(editor, bystander.ID)
	require.NoError(t, err)
	assert.NotContains(t, b.GrantedBy, ed.ID, "only the role's holders")

	u := validatedUser(t, k)
	ap, err := k.Ops.RequestApproval(editor, accessctl.ApprovalRequest{Action: backoffice.ActionEndUserDeactivate, TargetType: enduser.TargetEndUser,
		TargetID: string(u.ID), Params: map[string]string{"version": fmt.Sprint(u.Version)}, Reason: "closure"})
	require.NoError(t, err)
	_, err = k.Ops.Approve(k.Session(holder.ID), ap.ID, ap.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrForbidden)
}
