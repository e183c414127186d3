package accessctl_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

func ptr[T any](v T) *T { return &v }

func newOp(name string, roles ...accessctl.RoleName) accessctl.NewOperator {
	return accessctl.NewOperator{Username: name, Email: name + "@acme.test", FirstName: "F", LastName: "L", Roles: roles, AllAccounts: true}
}

// A4, A5: every escalation path is refused with ErrForbidden and changes
// nothing.
func TestEscalationDenied(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	mgrCtx, _ := e.as("manager1", accessctl.RoleManager)
	beCtx, _ := e.as("editor1", accessctl.RoleBasicEditor)
	peer := e.operator("peer", accessctl.RoleReadOnly)
	otherAdmin := e.operator("admin2", accessctl.RoleAdministrator)
	limited := e.operator("limited", accessctl.RoleManager)
	limited.AllAccounts = false
	limited.Accounts = []accessctl.AccountID{"acc-1"}
	require.NoError(t, e.store.UpdateOperator(context.Background(), limited, limited.Version, accessctl.Guard{},
		backoffice.AuditEntry{ID: e.ids.NewID(), Tenant: tenantID, TargetType: accessctl.TargetOperator, TargetID: string(limited.ID)}))
	limitedCtx := e.actorCtx(limited)
	narrow, err := e.svc.UpdateOperator(e.adminCtx, peer.ID, accessctl.OperatorUpdate{Version: e.get(peer.ID).Version, AllAccounts: ptr(false),
		Accounts: &[]accessctl.AccountID{"acc-1"}})
	require.NoError(t, err)
	peer = e.get(peer.ID)
	otherAdmin = e.get(otherAdmin.ID)

	cases := []struct {
		name string
		call func() error
	}{
		{"A4/ManagerCreatesAdministrator", func() error {
			_, err := e.svc.CreateOperator(mgrCtx, accessctl.NewOperator{Username: "xx1", Email: "xx1@acme.test", FirstName: "X", LastName: "Y",
				Roles: []accessctl.RoleName{accessctl.RoleAdministrator}, AllAccounts: true, Password: "Zebra-Crossing-77", PasswordConfirmation: "Zebra-Crossing-77"})
			return err
		}},
		{"A4/ManagerInvitesAdministrator", func() error {
			_, err := e.svc.InviteOperator(mgrCtx, newOp("xx2", accessctl.RoleAdministrator))
			return err
		}},
		{"A4/ManagerGrantsAdministrator", func() error {
			_, err := e.svc.UpdateOperator(mgrCtx, peer.ID, accessctl.OperatorUpdate{Version: peer.Version,
				Roles: &[]accessctl.RoleName{accessctl.RoleAdministrator}})
			return err
		}},
		{"A4/ManagerEditsAdministrator", func() error {
			_, err := e.svc.UpdateOperator(mgrCtx, otherAdmin.ID, accessctl.OperatorUpdate{Version: otherAdmin.Version, FirstName: ptr("Eve")})
			return err
		}},
		{"A4/ManagerDeactivatesAdministrator", func() error {
			_, err := e.svc.DeactivateOperator(mgrCtx, otherAdmin.ID, otherAdmin.Version)
			return err
		}},
		{"A4/ManagerDeletesAdministrator", func() error { return e.svc.DeleteOperator(mgrCtx, otherAdmin.ID, otherAdmin.Version) }},
		{"A4/ManagerBlocksAdministrator", func() error {
			_, err := e.svc.BlockOperator(mgrCtx, otherAdmin.ID, otherAdmin.Version)
			return err
		}},
		{"A4/ManagerResetsAdministratorMFA", func() error {
			_, err := e.svc.ResetMFA(mgrCtx, otherAdmin.ID, otherAdmin.Version)
			return err
		}},
		{"A4/ManagerSetsAdministratorPassword", func() error {
			_, err := e.svc.SetPassword(mgrCtx, otherAdmin.ID, otherAdmin.Version, "Zebra-Crossing-77", "Zebra-Crossing-77")
			return err
		}},
		{"A4/ManagerSendsAdministratorReset", func() error { return e.svc.SendPasswordReset(mgrCtx, otherAdmin.ID) }},
		{"A3/BasicEditorCreatesOperator", func() error {
			_, err := e.svc.InviteOperator(beCtx, newOp("xx3", accessctl.RoleReadOnly))
			return err
		}},
		{"A3/BasicEditorEditsOperator", func() error {
			_, err := e.svc.UpdateOperator(beCtx, peer.ID, accessctl.OperatorUpdate{Version: peer.Version, FirstName: ptr("Eve")})
			return err
		}},
		{"A3/BasicEditorDeletesOperator", func() error { return e.svc.DeleteOperator(beCtx, peer.ID, peer.Version) }},
		{"A3/BasicEditorBlocksOperator", func() error {
			_, err := e.svc.BlockOperator(beCtx, peer.ID, peer.Version)
			return err
		}},
		{"A3/BasicEditorDuplicatesOperator", func() error {
			_, err := e.svc.DuplicateOperator(beCtx, peer.ID, newOp("xx4"))
			return err
		}},
		{"A5/GrantAccountNotHeld", func() error {
			_, err := e.svc.InviteOperator(limitedCtx, accessctl.NewOperator{Username: "xx5", Email: "xx5@acme.test", FirstName: "X", LastName: "Y",
				Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, Accounts: []accessctl.AccountID{"acc-2"}})
			return err
		}},
		{"A5/GrantAllAccountsNotHeld", func() error {
			_, err := e.svc.UpdateOperator(limitedCtx, narrow.ID, accessctl.OperatorUpdate{Version: narrow.Version, AllAccounts: ptr(true)})
			return err
		}},
		{"A5/DuplicateWithRolesNotHeld", func() error {
			in := newOp("xx6")
			in.Roles = []accessctl.RoleName{accessctl.RoleAdministrator}
			_, err := e.svc.DuplicateOperator(mgrCtx, otherAdmin.ID, in)
			return err
		}},
		{"A5/ManagerCreatesRoleBeyondItself", func() error {
			_, err := e.svc.CreateRole(mgrCtx, accessctl.Role{Name: "superuser", Abbrev: "SU", Permissions: []accessctl.Permission{accessctl.PermTenantConfigure}})
			return err
		}},
		{"A17/ManagerConfiguresSSO", func() error {
			_, err := e.svc.ConfigureTenant(mgrCtx, accessctl.TenantSettings{Version: 1, SSO: &accessctl.SSOConfig{Enabled: true,
				GroupRoles: map[string][]accessctl.RoleName{"staff": {accessctl.RoleAdministrator}}}})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			sent := len(e.rec.OperatorNotices())
			err := tc.call()
			requireKind(t, err, backoffice.ErrForbidden)
			e.requireUnchanged(before)
			assert.Len(t, e.rec.OperatorNotices(), sent, "N1: nothing sent for a refused change")
		})
	}
}

// A3, A4: a Manager manages non-Administrators; an Administrator manages
// Administrators.
func TestOperatorManagementAllowed(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	mgrCtx, _ := e.as("manager1", accessctl.RoleManager)
	o, err := e.svc.InviteOperator(mgrCtx, newOp("ro1", accessctl.RoleReadOnly, accessctl.RoleTransferOnly))
	require.NoError(t, err, "A5: a Manager grants roles whose permissions it holds")
	o, err = e.svc.UpdateOperator(mgrCtx, o.ID, accessctl.OperatorUpdate{Version: o.Version, FirstName: ptr("Renamed")})
	require.NoError(t, err)
	assert.Equal(t, "Renamed", o.FirstName)
	a2, err := e.svc.InviteOperator(e.adminCtx, newOp("admin2", accessctl.RoleAdministrator))
	require.NoError(t, err, "A4: an Administrator creates Administrators")
	a2, err = e.svc.UpdateOperator(e.adminCtx, a2.ID, accessctl.OperatorUpdate{Version: a2.Version, LastName: ptr("Second")})
	require.NoError(t, err)
	require.NoError(t, e.svc.DeleteOperator(e.adminCtx, a2.ID, a2.Version), "A4: an Administrator deletes Administrators")
	require.NoError(t, e.svc.DeleteOperator(mgrCtx, o.ID, o.Version))
}

// A5: duplicating copies only what the actor may grant; the copy may have
// fewer permissions than the original.
func TestDuplicateOperator(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	mgrCtx, _ := e.as("manager1", accessctl.RoleManager)
	src := e.operator("both", accessctl.RoleAdministrator, accessctl.RoleReadOnly)
	dup, err := e.svc.DuplicateOperator(mgrCtx, src.ID, accessctl.NewOperator{Username: "copy", Email: "copy@acme.test", FirstName: "C", LastName: "P"})
	require.NoError(t, err)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleReadOnly}, dup.Roles, "the Administrator role is dropped")
	assert.Equal(t, accessctl.StatusInvited, dup.Status)
	n, ok := e.rec.LastOperatorNotice("copy@acme.test", accessctl.NoticeInvitation)
	require.True(t, ok, "N1: the duplicate is invited")
	assert.Equal(t, e.clock.Now().Add(14*24*60*60*1e9), n.ExpiresAt)
	hist := e.history(dup.ID)
	require.Len(t, hist, 1)
	assert.Equal(t, backoffice.ActionOperatorDuplicate, hist[0].Action)
	// The Administrator itself copies everything.
	full, err := e.svc.DuplicateOperator(e.adminCtx, src.ID, newOpNoRoles("copy2"))
	require.NoError(t, err)
	assert.Equal(t, src.Roles, full.Roles)
	// An actor holding none of the roles cannot copy anything.
	roCtx, _ := e.as("mgr_tm", accessctl.RoleManager)
	onlyAdmin := e.operator("onlyadmin", accessctl.RoleAdministrator)
	_, err = e.svc.DuplicateOperator(roCtx, onlyAdmin.ID, newOpNoRoles("copy3"))
	requireKind(t, err, backoffice.ErrForbidden)
}

func newOpNoRoles(name string) accessctl.NewOperator {
	return accessctl.NewOperator{Username: name, Email: name + "@acme.test", FirstName: "F", LastName: "L"}
}

// A6, X3, X7: bad input gets a typed error naming the fields and leaves the
// store unchanged.
func TestCreateOperatorValidation(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	e.operator("taken", accessctl.RoleReadOnly)
	good := func() accessctl.NewOperator {
		return accessctl.NewOperator{Username: "newbie", Email: "newbie@acme.test", FirstName: "New", LastName: "Bie",
			Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true, Password: "Zebra-Crossing-77", PasswordConfirmation: "Zebra-Crossing-77"}
	}
	cases := []struct {
		name   string
		change func(*accessctl.NewOperator)
		kind   error
		fields []string
	}{
		{"EmptyNames", func(n *accessctl.NewOperator) { n.FirstName, n.LastName = " ", "" }, backoffice.ErrInvalid, []string{"first_name", "last_name"}},
		{"NoUsernameNorEmail", func(n *accessctl.NewOperator) { n.Username, n.Email = "", "" }, backoffice.ErrInvalid, []string{"username"}},
		{"MalformedEmail", func(n *accessctl.NewOperator) { n.Email = "not-an-email" }, backoffice.ErrInvalid, []string{"email"}},
		{"MalformedUsername", func(n *accessctl.NewOperator) { n.Username = "a b" }, backoffice.ErrInvalid, []string{"username"}},
		{"NoRole", func(n *accessctl.NewOperator) { n.Roles = nil }, backoffice.ErrInvalid, []string{"roles"}},
		{"UnknownRole", func(n *accessctl.NewOperator) { n.Roles = []accessctl.RoleName{"wizard"} }, backoffice.ErrInvalid, []string{"roles"}},
		{"WeakPassword", func(n *accessctl.NewOperator) { n.Password, n.PasswordConfirmation = "qwerty", "qwerty" }, backoffice.ErrInvalid, []string{"password"}},
		{"PasswordWithUsername", func(n *accessctl.NewOperator) {
			n.Password, n.PasswordConfirmation = "Newbie-Rocks-2026", "Newbie-Rocks-2026"
		}, backoffice.ErrInvalid, []string{"password"}},
		{"MismatchedConfirmation", func(n *accessctl.NewOperator) { n.PasswordConfirmation = "Zebra-Crossing-78" }, backoffice.ErrInvalid, []string{"password_confirmation"}},
		{"DuplicateUsername", func(n *accessctl.NewOperator) { n.Username = "TAKEN" }, backoffice.ErrConflict, []string{"username"}},
		{"DuplicateEmail", func(n *accessctl.NewOperator) { n.Email = "Taken@ACME.test" }, backoffice.ErrConflict, []string{"email"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := good()
			tc.change(&in)
			before := e.snapshot()
			_, err := e.svc.CreateOperator(e.adminCtx, in)
			requireKind(t, err, tc.kind)
			var ae *backoffice.Error
			require.ErrorAs(t, err, &ae)
			for _, f := range tc.fields {
				assert.True(t, ae.HasField(f), "error names %s: %v", f, err)
			}
			assert.NotContains(t, err.Error(), string(in.Password), "X3: no secret in an error")
			e.requireUnchanged(before)
		})
	}
	o, err := e.svc.CreateOperator(e.adminCtx, good())
	require.NoError(t, err, "A7: an operator created with a valid password")
	assert.Equal(t, accessctl.StatusActive, o.Status)
}

// A12: in the three-role preset an Admin turns a Viewer into an Admin and back.
func TestPortalAdminChangesRoles(t *testing.T) {
	e := newEnv(t, accessctl.PresetPortal)
	v := e.operator("viewer1", accessctl.RolePortalViewer)
	tok := e.token(v)
	v, err := e.svc.UpdateOperator(e.adminCtx, v.ID, accessctl.OperatorUpdate{Version: e.get(v.ID).Version, Roles: &[]accessctl.RoleName{accessctl.RolePortalAdmin}})
	require.NoError(t, err)
	assert.Equal(t, []accessctl.RoleName{accessctl.RolePortalAdmin}, v.Roles)
	// A18: the role change ended the old session.
	_, err = e.svc.Authenticate(context.Background(), tok)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	v, err = e.svc.UpdateOperator(e.adminCtx, v.ID, accessctl.OperatorUpdate{Version: v.Version, Roles: &[]accessctl.RoleName{accessctl.RolePortalViewer}})
	require.NoError(t, err)
	assert.Equal(t, []accessctl.RoleName{accessctl.RolePortalViewer}, v.Roles)
	// A Viewer manages no one.
	_, err = e.svc.InviteOperator(e.actorCtx(v), newOp("xxx", accessctl.RolePortalViewer))
	requireKind(t, err, backoffice.ErrForbidden)
}

// A13: deactivation ends sessions at once, keeps history, can be undone;
// an actor cannot deactivate itself.
func TestDeactivateReactivate(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.operator("worker", accessctl.RoleBasicEditor)
	tok := e.token(o)
	_, err := e.svc.Authenticate(context.Background(), tok)
	require.NoError(t, err)
	o, err = e.svc.DeactivateOperator(e.adminCtx, o.ID, o.Version)
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusDeactivated, o.Status)
	_, err = e.svc.Authenticate(context.Background(), tok)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	sessions, err := e.svc.Sessions(e.adminCtx, o.ID)
	require.NoError(t, err)
	assert.Empty(t, sessions)
	_, err = e.svc.DeactivateOperator(e.adminCtx, o.ID, o.Version)
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	o, err = e.svc.ReactivateOperator(e.adminCtx, o.ID, o.Version)
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusInvited, o.Status, "it never set a password, so it is invited again")
	hist := e.history(o.ID)
	assert.Equal(t, backoffice.ActionOperatorReactivate, hist[0].Action)
	assert.Equal(t, backoffice.ActionOperatorDeactivate, hist[1].Action)

	before := e.snapshot()
	_, err = e.svc.DeactivateOperator(e.adminCtx, e.admin.ID, e.get(e.admin.ID).Version)
	requireKind(t, err, backoffice.ErrForbidden)
	e.requireUnchanged(before)
}

// A14: delete is irreversible, needs the permission, never oneself.
func TestDeleteOperator(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	mgrCtx, mgr := e.as("mgr", accessctl.RoleManager)
	o := e.operator("leaver", accessctl.RoleReadOnly)
	tok := e.token(o)
	before := e.snapshot()
	requireKind(t, e.svc.DeleteOperator(mgrCtx, mgr.ID, e.get(mgr.ID).Version), backoffice.ErrForbidden)
	e.requireUnchanged(before)
	require.NoError(t, e.svc.DeleteOperator(mgrCtx, o.ID, o.Version))
	_, err := e.svc.Operator(mgrCtx, o.ID)
	requireKind(t, err, backoffice.ErrNotFound)
	_, err = e.svc.Authenticate(context.Background(), tok)
	requireKind(t, err, backoffice.ErrUnauthenticated) // A18: deletion ends sessions
	hist, err := e.svc.History(mgrCtx, o.ID, backoffice.PageRequest{})
	require.NoError(t, err)
	assert.Equal(t, backoffice.ActionOperatorDelete, hist.Items[0].Action, "history survives deletion")
	requireKind(t, e.svc.DeleteOperator(mgrCtx, o.ID, o.Version), backoffice.ErrNotFound)
}

// A15: the last active Administrator cannot be deactivated, deleted,
// blocked or demoted.
func TestLastAdministrator(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	a2 := e.operator("admin2", accessctl.RoleAdministrator)
	a2ctx := e.actorCtx(a2)
	root := e.get(e.admin.ID)
	// With two, one may go.
	_, err := e.svc.BlockOperator(a2ctx, root.ID, root.Version)
	require.NoError(t, err)
	before := e.snapshot()
	a2 = e.get(a2.ID)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor(tenantID, "ops"))
	for name, call := range map[string]func() error{
		"Demote": func() error {
			_, err := e.svc.UpdateOperator(sys, a2.ID, accessctl.OperatorUpdate{Version: a2.Version, Roles: &[]accessctl.RoleName{accessctl.RoleManager}})
			return err
		},
		"Deactivate": func() error { _, err := e.svc.DeactivateOperator(sys, a2.ID, a2.Version); return err },
		"Block":      func() error { _, err := e.svc.BlockOperator(sys, a2.ID, a2.Version); return err },
		"Delete":     func() error { return e.svc.DeleteOperator(sys, a2.ID, a2.Version) },
	} {
		t.Run("System"+name, func(t *testing.T) {
			err := call()
			requireKind(t, err, backoffice.ErrFailedPrecondition)
			require.ErrorIs(t, err, accessctl.ErrLastAdministrator)
			e.requireUnchanged(before)
		})
	}
}

// A15: 50 goroutines race to deactivate and demote the last two
// Administrators through the service; one active Administrator remains.
func TestLastAdministratorRace(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	a2 := e.operator("admin2", accessctl.RoleAdministrator)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor(tenantID, "race"))
	targets := []accessctl.OperatorID{e.admin.ID, a2.ID}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			id := targets[i%2]
			for range 10 {
				o, err := e.store.Operator(context.Background(), tenantID, id)
				if err != nil {
					return
				}
				if i%4 < 2 {
					_, err = e.svc.DeactivateOperator(sys, id, o.Version)
				} else {
					_, err = e.svc.UpdateOperator(sys, id, accessctl.OperatorUpdate{Version: o.Version, Roles: &[]accessctl.RoleName{accessctl.RoleManager}})
				}
				if !errors.Is(err, backoffice.ErrConflict) {
					return
				}
			}
		})
	}
	wg.Wait()
	active := accessctl.StatusActive
	role := accessctl.RoleAdministrator
	left, err := e.svc.Operators(sys, accessctl.OperatorFilter{Status: &active, Role: &role}, backoffice.PageRequest{})
	require.NoError(t, err)
	assert.Len(t, left.Items, 1)
}

// A16: history lists changes newest first with editor, action, date and
// details, paginated.
func TestHistory(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o, err := e.svc.InviteOperator(e.adminCtx, newOp("hist", accessctl.RoleReadOnly))
	require.NoError(t, err)
	for _, name := range []string{"A", "B", "C", "D"} {
		e.clock.Advance(61e9)
		o, err = e.svc.UpdateOperator(e.adminCtx, o.ID, accessctl.OperatorUpdate{Version: o.Version, FirstName: ptr(name)})
		require.NoError(t, err)
	}
	p1, err := e.svc.History(e.adminCtx, o.ID, backoffice.PageRequest{Limit: 3})
	require.NoError(t, err)
	require.Len(t, p1.Items, 3)
	require.NotEmpty(t, p1.Next)
	first := p1.Items[0]
	assert.Equal(t, backoffice.ActionOperatorUpdate, first.Action)
	assert.Equal(t, e.admin.ID, accessctl.OperatorID(first.Actor.ID))
	assert.Equal(t, "root", first.Actor.Name)
	assert.Equal(t, e.clock.Now(), first.At)
	assert.Equal(t, []backoffice.Change{{Field: "first_name", Before: "C", After: "D"}}, first.Changes)
	p2, err := e.svc.History(e.adminCtx, o.ID, backoffice.PageRequest{Limit: 3, Cursor: p1.Next})
	require.NoError(t, err)
	require.Len(t, p2.Items, 2)
	assert.Empty(t, p2.Next)
	assert.Equal(t, backoffice.ActionOperatorInvite, p2.Items[1].Action)
	assert.True(t, p2.Items[0].At.Before(first.At))
	_, err = e.svc.History(e.adminCtx, o.ID, backoffice.PageRequest{Cursor: "%%%"})
	requireFields(t, err, "cursor")
	roCtx, _ := e.as("reader", accessctl.RoleReadOnly)
	_, err = e.svc.History(roCtx, o.ID, backoffice.PageRequest{})
	requireKind(t, err, backoffice.ErrForbidden)
}

// X4: an update based on a stale version fails and changes nothing.
func TestStaleVersion(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.operator("vvv", accessctl.RoleReadOnly)
	_, err := e.svc.UpdateOperator(e.adminCtx, o.ID, accessctl.OperatorUpdate{Version: o.Version, FirstName: ptr("One")})
	require.NoError(t, err)
	before := e.snapshot()
	_, err = e.svc.UpdateOperator(e.adminCtx, o.ID, accessctl.OperatorUpdate{Version: o.Version, FirstName: ptr("Two")})
	requireKind(t, err, backoffice.ErrConflict)
	_, err = e.svc.DeactivateOperator(e.adminCtx, o.ID, o.Version)
	requireKind(t, err, backoffice.ErrConflict)
	e.requireUnchanged(before)
}

// X8: nothing crosses tenants.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	other, err := e.svc.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "globex", Name: "Globex", Preset: accessctl.PresetPortal,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "G", LastName: "R", Password: adminPassword, PasswordConfirmation: adminPassword}})
	require.NoError(t, err, "the same username and email in another tenant")
	_, err = e.svc.Operator(e.adminCtx, other.ID)
	requireKind(t, err, backoffice.ErrNotFound)
	_, err = e.svc.DeactivateOperator(e.adminCtx, other.ID, other.Version)
	requireKind(t, err, backoffice.ErrNotFound)
	_, err = e.svc.History(e.adminCtx, other.ID, backoffice.PageRequest{})
	require.NoError(t, err)
	page, err := e.svc.Operators(e.adminCtx, accessctl.OperatorFilter{}, backoffice.PageRequest{})
	require.NoError(t, err)
	for _, o := range page.Items {
		assert.Equal(t, tenantID, o.Tenant)
	}
	_, err = e.svc.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "globex", Name: "Globex", Preset: accessctl.PresetPortal,
		Admin: accessctl.NewOperator{Username: "again", Email: "again@acme.test", FirstName: "G", LastName: "R", Password: adminPassword, PasswordConfirmation: adminPassword}})
	requireKind(t, err, backoffice.ErrConflict)
}

// A19: an operator limited to some accounts is authorized for those only,
// and can pass on only those.
func TestAccountAccess(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o, err := e.svc.InviteOperator(e.adminCtx, accessctl.NewOperator{Username: "acct", Email: "acct@acme.test", FirstName: "A", LastName: "C",
		Roles: []accessctl.RoleName{accessctl.RoleManager}, Accounts: []accessctl.AccountID{"acc-1", "acc-2"}})
	require.NoError(t, err)
	o.Status = accessctl.StatusActive
	require.NoError(t, e.store.UpdateOperator(context.Background(), o, o.Version, accessctl.Guard{}, backoffice.AuditEntry{ID: e.ids.NewID(), Tenant: tenantID}))
	ctx := e.actorCtx(o)
	a, _ := accessctl.ActorFrom(ctx)
	require.NoError(t, a.AuthorizeAccount(accessctl.PermEndUserRead, "acc-1"))
	requireKind(t, a.AuthorizeAccount(accessctl.PermEndUserRead, "acc-3"), backoffice.ErrForbidden)
	requireKind(t, a.AuthorizeAccount(accessctl.PermTenantConfigure, "acc-1"), backoffice.ErrForbidden)
	assert.True(t, a.CanOnAccount(accessctl.PermEndUserEdit, "acc-2"))
	n, err := e.svc.InviteOperator(ctx, accessctl.NewOperator{Username: "sub", Email: "sub@acme.test", FirstName: "S", LastName: "B",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, Accounts: []accessctl.AccountID{"acc-2"}})
	require.NoError(t, err)
	assert.Equal(t, []accessctl.AccountID{"acc-2"}, n.Accounts)
	// Duplicating an all-accounts operator gives the copy only the actor's accounts.
	full := e.operator("full", accessctl.RoleReadOnly)
	d, err := e.svc.DuplicateOperator(ctx, full.ID, newOpNoRoles("dup"))
	require.NoError(t, err)
	assert.False(t, d.AllAccounts)
	assert.Equal(t, []accessctl.AccountID{"acc-1", "acc-2"}, d.Accounts)
}
