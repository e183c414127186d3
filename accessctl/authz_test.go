package accessctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// A1: authorization explains itself: which role grants, or what is missing.
func TestExplain(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	ctx, _ := e.as("editor", accessctl.RoleBasicEditor, accessctl.RoleTransferOnly)
	a, _ := accessctl.ActorFrom(ctx)
	d := a.Explain(accessctl.PermEndUserRead)
	assert.True(t, d.Allowed)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleBasicEditor, accessctl.RoleTransferOnly}, d.GrantedBy)
	d = a.Explain(accessctl.PermTransferCreate)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleTransferOnly}, d.GrantedBy)
	d = a.Explain(accessctl.PermOperatorCreate)
	assert.False(t, d.Allowed)
	assert.Contains(t, d.Reason, "operator.create")
	d = a.Explain("made.up")
	assert.False(t, d.Allowed)
	assert.Contains(t, d.Reason, "not in the permission catalog")
	err := a.Authorize(accessctl.PermOperatorCreate)
	requireKind(t, err, backoffice.ErrForbidden)
	assert.Contains(t, err.Error(), "operator.create")
	var nobody *accessctl.Actor
	requireKind(t, nobody.Authorize(accessctl.PermEndUserRead), backoffice.ErrUnauthenticated)
	assert.True(t, accessctl.SystemActor(tenantID, "job").Explain(accessctl.PermTenantConfigure).Allowed)
}

// A1: the host registers its own permissions and roles.
func TestCustomPermissionsAndRoles(t *testing.T) {
	cat, err := accessctl.NewCatalog(accessctl.PermissionInfo{Name: "payout.approve", Description: "Approve payouts"})
	require.NoError(t, err)
	_, err = accessctl.NewCatalog(accessctl.PermissionInfo{Name: "enduser.read"})
	requireKind(t, err, backoffice.ErrConflict)
	_, err = accessctl.NewCatalog(accessctl.PermissionInfo{Name: "Bad Name"})
	requireKind(t, err, backoffice.ErrInvalid)
	store := memory.New()
	c := memorytest.NewClock(time.Time{})
	svc, err := accessctl.NewService(accessctl.Config{Store: store, Catalog: cat, Hasher: sharedHasher(), Now: c.Now})
	require.NoError(t, err)
	admin := bootstrap(t, svc, accessctl.PresetDashboard)
	e := &env{t: t, svc: svc, store: store, clock: c}
	actx := e.actorCtx(admin)
	aa, _ := accessctl.ActorFrom(actx)
	assert.False(t, aa.Can("payout.approve"), "presets do not grant host permissions")
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor(tenantID, "setup"))
	r, err := svc.CreateRole(sys, accessctl.Role{Name: "payouts", Abbrev: "PO", Description: "Approves payouts",
		Permissions: []accessctl.Permission{"payout.approve", accessctl.PermEndUserRead}})
	require.NoError(t, err)
	_, err = svc.CreateRole(sys, accessctl.Role{Name: "payouts", Abbrev: "PO"})
	requireKind(t, err, backoffice.ErrConflict)
	_, err = svc.CreateRole(sys, accessctl.Role{Name: "manager", Abbrev: "M2"})
	requireFields(t, err, "name")
	_, err = svc.CreateRole(sys, accessctl.Role{Name: "ghost", Abbrev: "G", Permissions: []accessctl.Permission{"no.such"}})
	requireFields(t, err, "permissions")
	o, err := svc.InviteOperator(sys, newOp("payer", "payouts"))
	require.NoError(t, err)
	o.Status = accessctl.StatusActive
	require.NoError(t, store.UpdateOperator(context.Background(), o, o.Version, accessctl.Guard{}, backoffice.AuditEntry{ID: "x", Tenant: tenantID}))
	pa, err := svc.Authenticate(context.Background(), e.token(o))
	require.NoError(t, err)
	assert.True(t, pa.Can("payout.approve"))
	assert.False(t, pa.Can(accessctl.PermEndUserEdit))
	// The Administrator holds the role's permissions? No: so it cannot grant it (A5).
	_, err = svc.InviteOperator(actx, newOp("payer2", "payouts"))
	requireKind(t, err, backoffice.ErrForbidden)
	r.Permissions = []accessctl.Permission{accessctl.PermEndUserRead}
	_, err = svc.UpdateRole(sys, *r)
	require.NoError(t, err)
	_, err = svc.InviteOperator(actx, newOp("payer3", "payouts"))
	require.NoError(t, err, "now the role grants nothing the Administrator lacks")
	roles, err := svc.Roles(actx)
	require.NoError(t, err)
	assert.Len(t, roles, 9)
}

// X1: every operation needs an actor and its permission.
func TestEveryOperationNeedsActorAndPermission(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	target := e.operator("target", accessctl.RoleReadOnly)
	roCtx, _ := e.as("reader", accessctl.RoleReadOnly)
	ops := map[string]func(ctx context.Context) error{
		"CreateOperator": func(ctx context.Context) error {
			_, err := e.svc.CreateOperator(ctx, newOp("n1", accessctl.RoleReadOnly))
			return err
		},
		"InviteOperator": func(ctx context.Context) error {
			_, err := e.svc.InviteOperator(ctx, newOp("n2", accessctl.RoleReadOnly))
			return err
		},
		"DuplicateOperator": func(ctx context.Context) error {
			_, err := e.svc.DuplicateOperator(ctx, target.ID, newOpNoRoles("n3"))
			return err
		},
		"ResendInvitation": func(ctx context.Context) error { return e.svc.ResendInvitation(ctx, target.ID) },
		"Operator":         func(ctx context.Context) error { _, err := e.svc.Operator(ctx, target.ID); return err },
		"UpdateOperator": func(ctx context.Context) error {
			_, err := e.svc.UpdateOperator(ctx, target.ID, accessctl.OperatorUpdate{Version: 1, FirstName: ptr("Q")})
			return err
		},
		"DeactivateOperator": func(ctx context.Context) error { _, err := e.svc.DeactivateOperator(ctx, target.ID, 1); return err },
		"ReactivateOperator": func(ctx context.Context) error { _, err := e.svc.ReactivateOperator(ctx, target.ID, 1); return err },
		"BlockOperator":      func(ctx context.Context) error { _, err := e.svc.BlockOperator(ctx, target.ID, 1); return err },
		"UnblockOperator":    func(ctx context.Context) error { _, err := e.svc.UnblockOperator(ctx, target.ID, 1); return err },
		"ResetMFA":           func(ctx context.Context) error { _, err := e.svc.ResetMFA(ctx, target.ID, 1); return err },
		"DeleteOperator":     func(ctx context.Context) error { return e.svc.DeleteOperator(ctx, target.ID, 1) },
		"SetPassword":        func(ctx context.Context) error { _, err := e.svc.SetPassword(ctx, target.ID, 1, pw, pw); return err },
		"SendPasswordReset":  func(ctx context.Context) error { return e.svc.SendPasswordReset(ctx, target.ID) },
		"History": func(ctx context.Context) error {
			_, err := e.svc.History(ctx, target.ID, backoffice.PageRequest{})
			return err
		},
		"AuditLog": func(ctx context.Context) error {
			_, err := e.svc.AuditLog(ctx, accessctl.TargetOperator, string(target.ID), backoffice.PageRequest{})
			return err
		},
		"Sessions":       func(ctx context.Context) error { _, err := e.svc.Sessions(ctx, target.ID); return err },
		"RevokeSessions": func(ctx context.Context) error { return e.svc.RevokeSessions(ctx, target.ID) },
		"ConfigureTenant": func(ctx context.Context) error {
			_, err := e.svc.ConfigureTenant(ctx, accessctl.TenantSettings{Version: 1, Name: ptr("X")})
			return err
		},
		"CreateRole": func(ctx context.Context) error {
			_, err := e.svc.CreateRole(ctx, accessctl.Role{Name: "r1", Abbrev: "R1"})
			return err
		},
		"UpdateRole": func(ctx context.Context) error {
			_, err := e.svc.UpdateRole(ctx, accessctl.Role{Name: "r1", Abbrev: "R1"})
			return err
		},
	}
	for name, call := range ops {
		t.Run(name, func(t *testing.T) {
			before := e.snapshot()
			requireKind(t, call(context.Background()), backoffice.ErrUnauthenticated)
			requireKind(t, call(roCtx), backoffice.ErrForbidden)
			e.requireUnchanged(before)
		})
	}
	// Read-only operations without permission the reader lacks too.
	_, err := e.svc.Operators(context.Background(), accessctl.OperatorFilter{}, backoffice.PageRequest{})
	requireKind(t, err, backoffice.ErrUnauthenticated)
	_, err = e.svc.Roles(context.Background())
	requireKind(t, err, backoffice.ErrUnauthenticated)
	_, err = e.svc.Tenant(context.Background())
	requireKind(t, err, backoffice.ErrUnauthenticated)
}

// X2: every state change is audited with actor, action, target, time and
// changes, and never a secret.
func TestAuditHasNoSecrets(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("kate", accessctl.RoleReadOnly)
	_, err := e.login("kate", pw)
	require.NoError(t, err)
	_, err = e.svc.SetPassword(e.adminCtx, o.ID, e.get(o.ID).Version, "Fresh-Zebra-55", "Fresh-Zebra-55")
	require.NoError(t, err)
	_, err = e.svc.ResetMFA(e.adminCtx, o.ID, e.get(o.ID).Version)
	require.NoError(t, err)
	require.NoError(t, e.svc.SendPasswordReset(e.adminCtx, o.ID))
	cur := e.get(o.ID)
	secrets := []string{string(pw), "Fresh-Zebra-55", string(cur.PasswordHash)}
	for _, n := range e.rec.OperatorNotices() {
		secrets = append(secrets, string(n.Token))
	}
	hist := e.history(o.ID)
	require.GreaterOrEqual(t, len(hist), 4)
	var actions []string
	for _, h := range hist {
		actions = append(actions, string(h.Action))
		assert.NotEmpty(t, h.ID)
		assert.NotEmpty(t, h.Actor.ID)
		assert.Equal(t, accessctl.TargetOperator, h.TargetType)
		assert.Equal(t, string(o.ID), h.TargetID)
		assert.False(t, h.At.IsZero())
		raw := fmt.Sprintf("%+v", h)
		for _, s := range secrets {
			assert.NotContains(t, raw, s)
		}
		assert.NotContains(t, raw, "$argon2id$")
	}
	assert.Contains(t, actions, "operator.create")
	assert.Contains(t, actions, "operator.set_password")
	assert.Contains(t, actions, "operator.reset_mfa")
	for _, h := range hist {
		if h.Action == "operator.set_password" {
			assert.Equal(t, []backoffice.Change{{Field: "password", Before: "[redacted]", After: "[redacted]"}}, h.Changes)
		}
	}
}

// X3: secrets never appear in String, %v, %+v, %#v, JSON or slog output.
func TestSecretsNeverPrinted(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("liam", accessctl.RoleReadOnly)
	res, err := e.svc.Login(context.Background(), tenantID, "liam", pw)
	require.NoError(t, err)
	full := e.get(o.ID)
	secrets := []string{string(full.PasswordHash), string(full.MFASecret), string(res.Challenge), string(res.Enrolment.Secret)}
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("op", "operator", full, "result", res)
	js, err := json.Marshal(struct {
		O *accessctl.Operator
		R *accessctl.LoginResult
	}{full, res})
	require.NoError(t, err)
	for _, out := range []string{fmt.Sprint(full), fmt.Sprintf("%+v %#v %s %q %x", full, full, full.PasswordHash, full.MFASecret, full.MFASecret),
		fmt.Sprintf("%v %+v %#v", res, res, *res.Enrolment), string(js), logs.String()} {
		for _, s := range secrets {
			assert.NotContains(t, out, s)
		}
		assert.Contains(t, out, "[redacted]")
	}
}

// X5: time comes from the injected clock, ids from the injected generator.
func TestInjectedClockAndIDs(t *testing.T) {
	n := 0
	c := memorytest.NewClock(e0)
	svc, err := accessctl.NewService(accessctl.Config{Store: memory.New(), Hasher: sharedHasher(), Now: c.Now,
		NewID: func() string { n++; return fmt.Sprintf("id-%04d", n) }})
	require.NoError(t, err)
	o := bootstrap(t, svc, accessctl.PresetPortal)
	assert.Equal(t, accessctl.OperatorID("id-0002"), o.ID)
	assert.Equal(t, e0, o.CreatedAt)
}

// A1: authorization allocates nothing, allowed or denied; a denial still
// names the missing permission and is an ErrForbidden.
func TestAuthorizeAllocatesNothing(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	ctx, _ := e.as("reader", accessctl.RoleReadOnly)
	a, _ := accessctl.ActorFrom(ctx)
	err := a.Authorize(accessctl.PermEndUserDeactivate)
	requireKind(t, err, backoffice.ErrForbidden)
	assert.Contains(t, err.Error(), string(accessctl.PermEndUserDeactivate))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = a.Authorize(accessctl.PermEndUserRead) }), "allowed")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = a.Authorize(accessctl.PermEndUserDeactivate) }), "denied")
}

// Roles are shown as the seeds write them, custom ones readably.
func TestRoleTitles(t *testing.T) {
	for name, want := range map[accessctl.RoleName]string{
		accessctl.RoleReadOnly: "Read-only", accessctl.RoleBasicEditor: "Basic editor", accessctl.RoleUserManagement: "User management",
		accessctl.RoleUserBeneficiary: "User & beneficiary management", accessctl.RoleTransferOnly: "Transfer management only",
		accessctl.RoleAllRightsEditor: "All rights editor", accessctl.RoleManager: "Manager", accessctl.RoleAdministrator: "Administrator",
		"night_shift": "Night shift", "": "",
	} {
		assert.Equal(t, want, name.Title(), string(name))
	}
}

// A1: an operator's permissions listed are exactly those it can use, in
// the catalog's order, for every preset role and a pair of them; other
// actors list none; a caller may stop early.
func TestActorPermissions(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	roles, err := e.svc.Roles(e.adminCtx)
	require.NoError(t, err)
	sets := [][]accessctl.RoleName{{accessctl.RoleBasicEditor, accessctl.RoleTransferOnly}}
	for _, r := range roles {
		sets = append(sets, []accessctl.RoleName{r.Name})
	}
	for i, set := range sets {
		ctx, _ := e.as(fmt.Sprintf("lister%d", i), set...)
		a, _ := accessctl.ActorFrom(ctx)
		var want []accessctl.Permission
		for _, p := range e.svc.Catalog().Permissions() {
			if a.Can(p.Name) {
				want = append(want, p.Name)
			}
		}
		var got []accessctl.Permission
		for p := range a.Permissions() {
			got = append(got, p)
		}
		assert.Equal(t, want, got, "%v", set)
		for range a.Permissions() {
			break // stopping early is allowed
		}
	}
	for _, a := range []*accessctl.Actor{accessctl.SystemActor("acme", "x"), accessctl.EndUserActor("acme", "u1"), nil} {
		n := 0
		for range a.Permissions() {
			n++
		}
		assert.Zero(t, n, "%v", a)
	}
}
