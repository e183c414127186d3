package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

const admin = accessctl.RoleAdministrator

type fixture struct {
	Stores
	ids *seq
}

func newFixture(t *testing.T, newStores func(t *testing.T) Stores) *fixture {
	t.Helper()
	return &fixture{Stores: newStores(t), ids: &seq{}}
}

func (f *fixture) entry(tenant backoffice.TenantID, typ, id string, action backoffice.Action) backoffice.AuditEntry {
	return backoffice.AuditEntry{ID: f.ids.next("audit"), Tenant: tenant, Actor: backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:test", Name: "test"},
		Action: action, TargetType: typ, TargetID: id, At: base, Changes: []backoffice.Change{{Field: "status", Before: "", After: "x"}}}
}

func (f *fixture) tenant(t *testing.T, id backoffice.TenantID) *accessctl.Tenant {
	t.Helper()
	tn := &accessctl.Tenant{ID: id, Name: "Tenant " + string(id), Preset: accessctl.PresetDashboard, CreatedAt: base, UpdatedAt: base}
	require.NoError(t, f.Tenants.CreateTenant(ctx(), tn, f.entry(id, accessctl.TargetTenant, string(id), "tenant.create")))
	return tn
}

func (f *fixture) operator(t *testing.T, tenant backoffice.TenantID, name string, roles ...accessctl.RoleName) *accessctl.Operator {
	t.Helper()
	o := &accessctl.Operator{ID: accessctl.OperatorID(f.ids.next("op")), Tenant: tenant, Username: name, Email: name + "@example.com",
		FirstName: "First", LastName: "Last", Roles: roles, AllAccounts: true, Status: accessctl.StatusActive,
		PasswordHash: "$argon2id$stub", CreatedAt: base, UpdatedAt: base}
	require.NoError(t, f.Operators.CreateOperator(ctx(), o, accessctl.Guard{}, f.entry(tenant, accessctl.TargetOperator, string(o.ID), "operator.create")))
	return o
}

func (f *fixture) history(t *testing.T, tenant backoffice.TenantID, typ, id string) []backoffice.AuditEntry {
	t.Helper()
	es, err := f.Audit.AuditEntries(ctx(), tenant, accessctl.AuditQuery{TargetType: typ, TargetID: id})
	require.NoError(t, err)
	return es
}

func requireKind(t *testing.T, err, kind error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, kind), "got %v, want %v", err, kind)
}

func testTenants(t *testing.T, newStores func(*testing.T) Stores) {
	t.Run("CreateAndRead", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		tn := f.tenant(t, "t1")
		assert.Equal(t, int64(1), tn.Version)
		got, err := f.Tenants.Tenant(ctx(), "t1")
		require.NoError(t, err)
		assert.Equal(t, tn, got)
		assert.Len(t, f.history(t, "t1", accessctl.TargetTenant, "t1"), 1, "X2: the entry is written with the change")
	})
	t.Run("ErrConflict", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		err := f.Tenants.CreateTenant(ctx(), &accessctl.Tenant{ID: "t1", Name: "again", Preset: "dashboard", CreatedAt: base, UpdatedAt: base},
			f.entry("t1", accessctl.TargetTenant, "t1", "tenant.create"))
		requireKind(t, err, backoffice.ErrConflict)
		assert.Len(t, f.history(t, "t1", accessctl.TargetTenant, "t1"), 1, "X2: no entry without its change")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		_, err := f.Tenants.Tenant(ctx(), "nope")
		requireKind(t, err, backoffice.ErrNotFound)
	})
	t.Run("UpdateVersions", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		tn := f.tenant(t, "t1")
		// I1, I4: what the tenant trusts of its identity provider survives.
		tn.SSO = accessctl.SSOConfig{Enabled: true, GroupRoles: map[string][]accessctl.RoleName{"ops": {admin}, "known": nil}, LinkByEmail: true,
			SAML: accessctl.SAMLConfig{IdPMetadata: "<EntityDescriptor/>", IdPMetadataURL: "https://idp.example/metadata", AllowIdPInitiated: true}}
		tn.SCIMTokens = []accessctl.SCIMToken{{ID: "tok-1", Name: "okta", Digest: "abc", CreatedBy: "op-1", ActivatedBy: "op-2", CreatedAt: base,
			ExpiresAt: base.Add(time.Hour), Pending: true, RevokedAt: base.Add(time.Minute)}}
		tn.IdPGroups = []accessctl.IdPGroupRecord{{ID: "grp-1", Name: "known", ExternalID: "okta-7"}}
		tn.WebAuthn = accessctl.WebAuthnConfig{RPID: "admin.acme.example", Origins: []string{"https://admin.acme.example"}, Passwordless: true}
		tn.EndUserForgotPasswordOff = true
		require.NoError(t, f.Tenants.UpdateTenant(ctx(), tn, 1, f.entry("t1", accessctl.TargetTenant, "t1", "tenant.configure")))
		assert.Equal(t, int64(2), tn.Version)
		got, err := f.Tenants.Tenant(ctx(), "t1")
		require.NoError(t, err)
		assert.Equal(t, tn, got)
		// X4: a stale version conflicts and changes nothing.
		stale := got.Clone()
		stale.Name = "stale"
		requireKind(t, f.Tenants.UpdateTenant(ctx(), stale, 1, f.entry("t1", accessctl.TargetTenant, "t1", "tenant.configure")), backoffice.ErrConflict)
		got, _ = f.Tenants.Tenant(ctx(), "t1")
		assert.Equal(t, tn.Name, got.Name)
		assert.Len(t, f.history(t, "t1", accessctl.TargetTenant, "t1"), 2)
		requireKind(t, f.Tenants.UpdateTenant(ctx(), &accessctl.Tenant{ID: "zz", Version: 1}, 1, f.entry("zz", accessctl.TargetTenant, "zz", "x")), backoffice.ErrNotFound)
	})
	t.Run("Copies", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		tn := f.tenant(t, "t1")
		tn.SSO.GroupRoles = map[string][]accessctl.RoleName{"g": {admin}}
		require.NoError(t, f.Tenants.UpdateTenant(ctx(), tn, 1, f.entry("t1", accessctl.TargetTenant, "t1", "u")))
		got, _ := f.Tenants.Tenant(ctx(), "t1")
		got.SSO.GroupRoles["g"][0] = "changed"
		tn.SSO.GroupRoles["g"][0] = "changed"
		again, _ := f.Tenants.Tenant(ctx(), "t1")
		assert.Equal(t, admin, again.SSO.GroupRoles["g"][0], "a store must not share its records")
	})
	t.Run("Cancelled", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		_, err := f.Tenants.Tenant(cancelled(), "t1")
		require.ErrorIs(t, err, context.Canceled)
	})
}

func testOperators(t *testing.T, newStores func(*testing.T) Stores) {
	t.Run("CreateAndRead", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		o := &accessctl.Operator{ID: "op-1", Tenant: "t1", Username: "Alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Liddell",
			Roles: []accessctl.RoleName{accessctl.RoleManager, accessctl.RoleReadOnly}, Accounts: []accessctl.AccountID{"acc-1", "acc-2"},
			Status: accessctl.StatusInvited, EmailVerified: true, PasswordHash: "$argon2id$x", MFASecret: "JBSWY3DPEHPK3PXP", MFAEnrolled: true,
			MFALastStep: 12345, ExternalKey: "saml-1", SessionEpoch: 3, CreatedAt: base, UpdatedAt: base.Add(time.Second),
			Managed: true, Groups: []string{"ops", "staff"}, DisplayName: "Alice L.", Manager: "op-0",
			Passkeys: []accessctl.Passkey{{ID: "cred-1", Name: "Laptop", PublicKey: []byte{1, 2, 3}, SignCount: 7, BackupEligible: true, BackupState: true,
				Transports: []string{"internal"}, AAGUID: "00ff", AttestationType: "none", CreatedAt: base, LastUsedAt: base.Add(time.Hour), Cloned: true}}}
		require.NoError(t, f.Operators.CreateOperator(ctx(), o, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, "op-1", "operator.create")))
		assert.Equal(t, int64(1), o.Version)
		got, err := f.Operators.Operator(ctx(), "t1", "op-1")
		require.NoError(t, err)
		assert.Equal(t, o, got, "every field survives, times in UTC at microsecond precision")
		assert.Equal(t, time.UTC, got.CreatedAt.Location())
		got.Roles[0] = "changed"
		again, _ := f.Operators.Operator(ctx(), "t1", "op-1")
		assert.Equal(t, accessctl.RoleManager, again.Roles[0], "a store must not share its records")
	})
	t.Run("ErrConflict/Unique", func(t *testing.T) {
		t.Parallel()
		// A6: username and email unique within a tenant, email case-insensitively.
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		f.tenant(t, "t2")
		a := f.operator(t, "t1", "alice", admin)
		for _, tc := range []struct{ username, email, field string }{
			{"ALICE", "other@example.com", "username"},
			{"bob", "Alice@Example.COM", "email"},
		} {
			o := &accessctl.Operator{ID: accessctl.OperatorID(f.ids.next("op")), Tenant: "t1", Username: tc.username, Email: tc.email,
				FirstName: "B", LastName: "B", Roles: []accessctl.RoleName{admin}, Status: accessctl.StatusActive, CreatedAt: base, UpdatedAt: base}
			err := f.Operators.CreateOperator(ctx(), o, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(o.ID), "operator.create"))
			requireKind(t, err, backoffice.ErrConflict)
			var e *backoffice.Error
			require.ErrorAs(t, err, &e)
			assert.True(t, e.HasField(tc.field), "conflict names %s: %v", tc.field, err)
			_, err = f.Operators.Operator(ctx(), "t1", o.ID)
			requireKind(t, err, backoffice.ErrNotFound)
			assert.Empty(t, f.history(t, "t1", accessctl.TargetOperator, string(o.ID)), "X2: no entry without its change")
		}
		// X8: another tenant may reuse them.
		f.operator(t, "t2", "alice", admin)
		// Updating into a taken email conflicts too.
		b := f.operator(t, "t1", "bob", admin)
		b.Email = "ALICE@example.com"
		err := f.Operators.UpdateOperator(ctx(), b, 1, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(b.ID), "operator.update"))
		requireKind(t, err, backoffice.ErrConflict)
		got, _ := f.Operators.Operator(ctx(), "t1", b.ID)
		assert.Equal(t, "bob@example.com", got.Email)
		_ = a
	})
	t.Run("Lookups", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		f.tenant(t, "t2")
		a := f.operator(t, "t1", "alice", admin)
		a.ExternalKey = "idp|alice"
		require.NoError(t, f.Operators.UpdateOperator(ctx(), a, 1, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(a.ID), "u")))
		for _, login := range []string{"alice", "ALICE", "alice@example.com", "Alice@Example.com"} {
			got, err := f.Operators.OperatorByLogin(ctx(), "t1", login)
			require.NoError(t, err, login)
			assert.Equal(t, a.ID, got.ID)
		}
		_, err := f.Operators.OperatorByLogin(ctx(), "t2", "alice")
		requireKind(t, err, backoffice.ErrNotFound) // X8
		_, err = f.Operators.OperatorByLogin(ctx(), "t1", "")
		requireKind(t, err, backoffice.ErrNotFound)
		got, err := f.Operators.OperatorByExternalKey(ctx(), "t1", "idp|alice")
		require.NoError(t, err)
		assert.Equal(t, a.ID, got.ID)
		_, err = f.Operators.OperatorByExternalKey(ctx(), "t1", "idp|ALICE")
		requireKind(t, err, backoffice.ErrNotFound)
		_, err = f.Operators.Operator(ctx(), "t2", a.ID)
		requireKind(t, err, backoffice.ErrNotFound) // X8
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		f.tenant(t, "t2")
		var made []*accessctl.Operator
		for i := range 7 {
			role := accessctl.RoleReadOnly
			if i%2 == 0 {
				role = accessctl.RoleManager
			}
			made = append(made, f.operator(t, "t1", fmt.Sprintf("user%d", i), role))
		}
		f.operator(t, "t2", "other", admin)
		page, err := f.Operators.Operators(ctx(), "t1", accessctl.OperatorQuery{Limit: 3})
		require.NoError(t, err)
		require.Len(t, page, 3)
		assert.Equal(t, []accessctl.OperatorID{made[6].ID, made[5].ID, made[4].ID}, opIDs(page), "newest first")
		page, err = f.Operators.Operators(ctx(), "t1", accessctl.OperatorQuery{Limit: 3, After: made[4].ID})
		require.NoError(t, err)
		assert.Equal(t, []accessctl.OperatorID{made[3].ID, made[2].ID, made[1].ID}, opIDs(page))
		role := accessctl.RoleManager
		page, err = f.Operators.Operators(ctx(), "t1", accessctl.OperatorQuery{Role: &role, Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []accessctl.OperatorID{made[6].ID, made[4].ID, made[2].ID, made[0].ID}, opIDs(page))
		st := accessctl.StatusBlocked
		page, err = f.Operators.Operators(ctx(), "t1", accessctl.OperatorQuery{Status: &st, Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, page)
	})
	t.Run("Update/ErrConflict", func(t *testing.T) {
		t.Parallel()
		// X4: a stale version fails with a conflict and changes nothing.
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		o := f.operator(t, "t1", "alice", admin)
		o.FirstName = "Changed"
		require.NoError(t, f.Operators.UpdateOperator(ctx(), o, 1, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(o.ID), "u1")))
		assert.Equal(t, int64(2), o.Version)
		stale := o.Clone()
		stale.FirstName = "Stale"
		err := f.Operators.UpdateOperator(ctx(), stale, 1, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(o.ID), "u2"))
		requireKind(t, err, backoffice.ErrConflict)
		got, _ := f.Operators.Operator(ctx(), "t1", o.ID)
		assert.Equal(t, "Changed", got.FirstName)
		assert.Equal(t, int64(2), got.Version)
		assert.Len(t, f.history(t, "t1", accessctl.TargetOperator, string(o.ID)), 2, "X2: the failed update wrote no entry")
		missing := o.Clone()
		missing.ID = "nope"
		requireKind(t, f.Operators.UpdateOperator(ctx(), missing, 1, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, "nope", "u")), backoffice.ErrNotFound)
	})
	t.Run("Update/Concurrent", func(t *testing.T) {
		t.Parallel()
		// X4: of many writers with the same version, exactly one wins.
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		o := f.operator(t, "t1", "alice", admin)
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				c := o.Clone()
				c.FirstName = fmt.Sprintf("N%d", i)
				err := f.Operators.UpdateOperator(ctx(), c, 1, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(o.ID), "u"))
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, backoffice.ErrConflict):
					conflicts.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
		assert.Equal(t, int32(19), conflicts.Load())
		assert.Len(t, f.history(t, "t1", accessctl.TargetOperator, string(o.ID)), 2)
	})
	t.Run("Guard/LastAdministrator", func(t *testing.T) {
		t.Parallel()
		// A15: the last active Administrator cannot be deactivated, blocked,
		// demoted or deleted.
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		a := f.operator(t, "t1", "alice", admin)
		f.operator(t, "t1", "mgr", accessctl.RoleManager)
		g := accessctl.Guard{KeepAdmin: admin}
		for _, change := range []func(o *accessctl.Operator){
			func(o *accessctl.Operator) { o.Status = accessctl.StatusDeactivated },
			func(o *accessctl.Operator) { o.Status = accessctl.StatusBlocked },
			func(o *accessctl.Operator) { o.Roles = []accessctl.RoleName{accessctl.RoleManager} },
		} {
			c := a.Clone()
			change(c)
			err := f.Operators.UpdateOperator(ctx(), c, a.Version, g, f.entry("t1", accessctl.TargetOperator, string(a.ID), "u"))
			requireKind(t, err, backoffice.ErrFailedPrecondition)
			require.ErrorIs(t, err, accessctl.ErrLastAdministrator)
		}
		err := f.Operators.DeleteOperator(ctx(), "t1", a.ID, a.Version, g, f.entry("t1", accessctl.TargetOperator, string(a.ID), "d"))
		require.ErrorIs(t, err, accessctl.ErrLastAdministrator)
		got, err := f.Operators.Operator(ctx(), "t1", a.ID)
		require.NoError(t, err)
		assert.Equal(t, a, got)
		assert.Len(t, f.history(t, "t1", accessctl.TargetOperator, string(a.ID)), 1)
		// With a second active Administrator the change goes through.
		f.operator(t, "t1", "bob", admin)
		c := a.Clone()
		c.Status = accessctl.StatusDeactivated
		require.NoError(t, f.Operators.UpdateOperator(ctx(), c, a.Version, g, f.entry("t1", accessctl.TargetOperator, string(a.ID), "u")))
	})
	t.Run("Guard/Race", func(t *testing.T) {
		t.Parallel()
		// A15 under a race: 50 writers try to deactivate or demote the last
		// two Administrators; at least one active Administrator remains.
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		admins := []*accessctl.Operator{f.operator(t, "t1", "a1", admin), f.operator(t, "t1", "a2", admin)}
		g := accessctl.Guard{KeepAdmin: admin}
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				target := admins[i%2]
				for range 5 {
					cur, err := f.Operators.Operator(ctx(), "t1", target.ID)
					if err != nil {
						return
					}
					c := cur.Clone()
					switch i % 3 {
					case 0:
						c.Status = accessctl.StatusDeactivated
					case 1:
						c.Roles = []accessctl.RoleName{accessctl.RoleManager}
					default:
						err = f.Operators.DeleteOperator(ctx(), "t1", cur.ID, cur.Version, g, f.entry("t1", accessctl.TargetOperator, string(cur.ID), "d"))
						if err == nil || !errors.Is(err, backoffice.ErrConflict) {
							return
						}
						continue
					}
					err = f.Operators.UpdateOperator(ctx(), c, cur.Version, g, f.entry("t1", accessctl.TargetOperator, string(c.ID), "u"))
					if err == nil || !errors.Is(err, backoffice.ErrConflict) {
						return
					}
				}
			})
		}
		wg.Wait()
		active := accessctl.StatusActive
		r := admin
		left, err := f.Operators.Operators(ctx(), "t1", accessctl.OperatorQuery{Status: &active, Role: &r, Limit: 10})
		require.NoError(t, err)
		assert.Len(t, left, 1, "exactly one of the two Administrators could be removed")
	})
	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		o := f.operator(t, "t1", "alice", accessctl.RoleReadOnly)
		requireKind(t, f.Operators.DeleteOperator(ctx(), "t1", o.ID, 7, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(o.ID), "d")), backoffice.ErrConflict)
		require.NoError(t, f.Operators.DeleteOperator(ctx(), "t1", o.ID, 1, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(o.ID), "d")))
		_, err := f.Operators.Operator(ctx(), "t1", o.ID)
		requireKind(t, err, backoffice.ErrNotFound)
		assert.Len(t, f.history(t, "t1", accessctl.TargetOperator, string(o.ID)), 2, "A14: history outlives the operator")
		// The username is free again.
		f.operator(t, "t1", "alice", accessctl.RoleReadOnly)
		requireKind(t, f.Operators.DeleteOperator(ctx(), "t1", o.ID, 1, accessctl.Guard{}, f.entry("t1", accessctl.TargetOperator, string(o.ID), "d")), backoffice.ErrNotFound)
	})
	t.Run("Cancelled", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		_, err := f.Operators.Operator(cancelled(), "t1", "x")
		require.ErrorIs(t, err, context.Canceled)
	})
}

func opIDs(ops []*accessctl.Operator) []accessctl.OperatorID {
	out := make([]accessctl.OperatorID, len(ops))
	for i, o := range ops {
		out[i] = o.ID
	}
	return out
}

func testAudit(t *testing.T, newStores func(*testing.T) Stores) {
	t.Run("NewestFirstPaged", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		o := f.operator(t, "t1", "alice", admin)
		for i := range 5 {
			o.FirstName = fmt.Sprintf("N%d", i)
			e := f.entry("t1", accessctl.TargetOperator, string(o.ID), backoffice.Action(fmt.Sprintf("u%d", i)))
			e.At = base.Add(time.Duration(i) * time.Minute)
			e.Changes = []backoffice.Change{{Field: "first_name", Before: "a", After: o.FirstName}}
			require.NoError(t, f.Operators.UpdateOperator(ctx(), o, o.Version, accessctl.Guard{}, e))
		}
		all := f.history(t, "t1", accessctl.TargetOperator, string(o.ID))
		require.Len(t, all, 6)
		assert.Equal(t, backoffice.Action("u4"), all[0].Action)
		assert.Equal(t, backoffice.ActionOperatorCreate, all[5].Action)
		assert.Equal(t, base.Add(4*time.Minute), all[0].At)
		assert.Equal(t, []backoffice.Change{{Field: "first_name", Before: "a", After: "N4"}}, all[0].Changes)
		assert.Equal(t, backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:test", Name: "test"}, all[0].Actor)
		page, err := f.Audit.AuditEntries(ctx(), "t1", accessctl.AuditQuery{TargetType: accessctl.TargetOperator, TargetID: string(o.ID), Limit: 2, Before: all[1].ID})
		require.NoError(t, err)
		require.Len(t, page, 2)
		assert.Equal(t, []string{all[2].ID, all[3].ID}, []string{page[0].ID, page[1].ID})
		other, err := f.Audit.AuditEntries(ctx(), "t2", accessctl.AuditQuery{TargetType: accessctl.TargetOperator, TargetID: string(o.ID)})
		require.NoError(t, err)
		assert.Empty(t, other, "X8")
	})
}

func testRoles(t *testing.T, newStores func(*testing.T) Stores) {
	t.Run("CreateListUpdate", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		if f.Tenants != nil {
			f.tenant(t, "t1")
		}
		r := &accessctl.Role{Tenant: "t1", Name: "auditor", Abbrev: "AU", Description: "Reads the log",
			Permissions: []accessctl.Permission{accessctl.PermAuditRead, accessctl.PermOperatorRead}}
		require.NoError(t, f.Roles.CreateRole(ctx(), r, f.entry("t1", accessctl.TargetRole, "auditor", "role.create")))
		assert.Equal(t, int64(1), r.Version)
		dup := *r
		requireKind(t, f.Roles.CreateRole(ctx(), &dup, f.entry("t1", accessctl.TargetRole, "auditor", "role.create")), backoffice.ErrConflict)
		list, err := f.Roles.Roles(ctx(), "t1")
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, *r, list[0])
		r.Permissions = []accessctl.Permission{accessctl.PermAuditRead}
		require.NoError(t, f.Roles.UpdateRole(ctx(), r, 1, f.entry("t1", accessctl.TargetRole, "auditor", "role.update")))
		requireKind(t, f.Roles.UpdateRole(ctx(), r, 1, f.entry("t1", accessctl.TargetRole, "auditor", "role.update")), backoffice.ErrConflict)
		list, _ = f.Roles.Roles(ctx(), "t1")
		assert.Equal(t, []accessctl.Permission{accessctl.PermAuditRead}, list[0].Permissions)
		other, err := f.Roles.Roles(ctx(), "t2")
		require.NoError(t, err)
		assert.Empty(t, other, "X8")
		ghost := accessctl.Role{Tenant: "t1", Name: "ghost", Abbrev: "G", Version: 1}
		requireKind(t, f.Roles.UpdateRole(ctx(), &ghost, 1, f.entry("t1", accessctl.TargetRole, "ghost", "role.update")), backoffice.ErrNotFound)
	})
}

func testSessions(t *testing.T, newStores func(*testing.T) Stores) {
	sess := func(digest string, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time) *accessctl.Session {
		return &accessctl.Session{ID: digest, Tenant: tenant, Operator: op, Epoch: 2, Name: "ada",
			Roles: []accessctl.RoleName{accessctl.RoleReadOnly, accessctl.RoleBasicEditor}, Accounts: []accessctl.AccountID{"acc-1"},
			CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
	}
	t.Run("RolesVersion", func(t *testing.T) {
		// D8: a session is read with its tenant's roles version, in one
		// call, and an edit of the tenant's roles moves it.
		t.Parallel()
		f := newFixture(t, newStores)
		now := time.Now().UTC().Truncate(time.Microsecond)
		require.NoError(t, f.Sessions.CreateSession(ctx(), sess("s1", "t1", "op1", now)))
		if f.Tenants == nil || f.Roles == nil {
			// A store that does not hold tenants returns what it was told.
			require.NoError(t, f.Sessions.SetRolesVersion(ctx(), "t1", 7))
			got, err := f.Sessions.Session(ctx(), "t1", "s1")
			require.NoError(t, err)
			assert.Equal(t, int64(7), got.RolesVersion)
			return
		}
		f.tenant(t, "t1")
		tn, err := f.Tenants.Tenant(ctx(), "t1")
		require.NoError(t, err)
		got, err := f.Sessions.Session(ctx(), "t1", "s1")
		require.NoError(t, err)
		assert.Equal(t, tn.RolesVersion, got.RolesVersion)
		r := &accessctl.Role{Tenant: "t1", Name: "custom", Abbrev: "C", Description: "d", Permissions: []accessctl.Permission{accessctl.PermEndUserRead}}
		require.NoError(t, f.Roles.CreateRole(ctx(), r, f.entry("t1", accessctl.TargetRole, "custom", backoffice.ActionRoleCreate)))
		after, err := f.Sessions.Session(ctx(), "t1", "s1")
		require.NoError(t, err)
		assert.Greater(t, after.RolesVersion, got.RolesVersion, "creating a role moves the version")
		require.NoError(t, f.Roles.UpdateRole(ctx(), r, r.Version, f.entry("t1", accessctl.TargetRole, "custom", backoffice.ActionRoleUpdate)))
		last, err := f.Sessions.Session(ctx(), "t1", "s1")
		require.NoError(t, err)
		assert.Greater(t, last.RolesVersion, after.RolesVersion, "editing a role moves the version")
	})
	t.Run("Lifecycle", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		now := time.Now().UTC().Truncate(time.Microsecond)
		s1, s2, s3, s4 := sess("s1", "t1", "op1", now), sess("s2", "t1", "op1", now.Add(time.Second)), sess("s3", "t1", "op2", now), sess("s4", "t2", "op1", now)
		for _, s := range []*accessctl.Session{s1, s2, s3, s4} {
			require.NoError(t, f.Sessions.CreateSession(ctx(), s))
		}
		got, err := f.Sessions.Session(ctx(), "t1", s1.ID)
		require.NoError(t, err)
		assert.Equal(t, s1, got)
		_, err = f.Sessions.Session(ctx(), "t1", "nope")
		requireKind(t, err, backoffice.ErrNotFound)
		_, err = f.Sessions.Session(ctx(), "t2", s1.ID)
		requireKind(t, err, backoffice.ErrNotFound) // X8: another tenant's digest is not found
		list, err := f.Sessions.Sessions(ctx(), "t1", "op1")
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, s1.ID, list[0].ID)
		require.NoError(t, f.Sessions.DeleteSession(ctx(), "t2", s1.ID))
		_, err = f.Sessions.Session(ctx(), "t1", s1.ID)
		require.NoError(t, err, "X8: deleting in another tenant removes nothing")
		require.NoError(t, f.Sessions.DeleteSession(ctx(), "t1", s1.ID))
		require.NoError(t, f.Sessions.DeleteSession(ctx(), "t1", s1.ID), "deleting a missing session is not an error")
		_, err = f.Sessions.Session(ctx(), "t1", s1.ID)
		requireKind(t, err, backoffice.ErrNotFound)
		list, err = f.Sessions.Sessions(ctx(), "t1", "op1")
		require.NoError(t, err)
		require.Len(t, list, 1)
		// A18: revoking every session of an operator is one call.
		require.NoError(t, f.Sessions.DeleteOperatorSessions(ctx(), "t1", "op1"))
		_, err = f.Sessions.Session(ctx(), "t1", s2.ID)
		requireKind(t, err, backoffice.ErrNotFound)
		for _, s := range []*accessctl.Session{s3, s4} {
			_, err = f.Sessions.Session(ctx(), s.Tenant, s.ID)
			require.NoError(t, err, "other operators' and tenants' sessions stay")
		}
	})
}

func testTokens(t *testing.T, newStores func(*testing.T) Stores) {
	tok := func(digest string, purpose accessctl.TokenPurpose, op accessctl.OperatorID) *accessctl.Token {
		now := time.Now().UTC().Truncate(time.Microsecond)
		return &accessctl.Token{ID: digest, Purpose: purpose, Tenant: "t1", Operator: op, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	t.Run("IssueVoidsEarlier", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		require.NoError(t, f.Tokens.IssueToken(ctx(), tok("a", accessctl.PurposeInvitation, "op1")))
		require.NoError(t, f.Tokens.IssueToken(ctx(), tok("r", accessctl.PurposePasswordReset, "op1")))
		require.NoError(t, f.Tokens.IssueToken(ctx(), tok("o", accessctl.PurposeInvitation, "op2")))
		b := tok("b", accessctl.PurposeInvitation, "op1")
		require.NoError(t, f.Tokens.IssueToken(ctx(), b))
		_, err := f.Tokens.Token(ctx(), accessctl.PurposeInvitation, "t1", "a")
		requireKind(t, err, backoffice.ErrNotFound) // A7: a resend voids earlier links
		got, err := f.Tokens.Token(ctx(), accessctl.PurposeInvitation, "t1", b.ID)
		require.NoError(t, err)
		assert.Equal(t, b, got)
		_, err = f.Tokens.Token(ctx(), accessctl.PurposePasswordReset, "t1", "r")
		require.NoError(t, err, "another purpose keeps its token")
		_, err = f.Tokens.Token(ctx(), accessctl.PurposeInvitation, "t1", "o")
		require.NoError(t, err, "another operator keeps its token")
		_, err = f.Tokens.Token(ctx(), accessctl.PurposeInvitation, "t2", b.ID)
		requireKind(t, err, backoffice.ErrNotFound) // X8
	})
	t.Run("ConsumeOnce", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		a := tok("a", accessctl.PurposePasswordReset, "op1")
		require.NoError(t, f.Tokens.IssueToken(ctx(), a))
		_, err := f.Tokens.ConsumeToken(ctx(), accessctl.PurposeInvitation, "t1", a.ID)
		requireKind(t, err, backoffice.ErrNotFound) // wrong purpose spends nothing
		_, err = f.Tokens.ConsumeToken(ctx(), accessctl.PurposePasswordReset, "t1", "other")
		requireKind(t, err, backoffice.ErrNotFound) // wrong digest spends nothing
		_, err = f.Tokens.ConsumeToken(ctx(), accessctl.PurposePasswordReset, "t2", a.ID)
		requireKind(t, err, backoffice.ErrNotFound) // X8: another tenant spends nothing
		got, err := f.Tokens.ConsumeToken(ctx(), accessctl.PurposePasswordReset, "t1", a.ID)
		require.NoError(t, err)
		assert.Equal(t, a, got)
		_, err = f.Tokens.ConsumeToken(ctx(), accessctl.PurposePasswordReset, "t1", a.ID)
		requireKind(t, err, backoffice.ErrNotFound) // A11: single use
	})
	t.Run("ConsumeConcurrent", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		a := tok("a", accessctl.PurposePasswordReset, "op1")
		require.NoError(t, f.Tokens.IssueToken(ctx(), a))
		var ok, missing atomic.Int32
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				_, err := f.Tokens.ConsumeToken(ctx(), accessctl.PurposePasswordReset, "t1", a.ID)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, backoffice.ErrNotFound):
					missing.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), ok.Load())
		assert.Equal(t, int32(99), missing.Load())
	})
	t.Run("DeleteOperatorTokens", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		require.NoError(t, f.Tokens.IssueToken(ctx(), tok("a", accessctl.PurposePasswordReset, "op1")))
		require.NoError(t, f.Tokens.IssueToken(ctx(), tok("b", accessctl.PurposeInvitation, "op1")))
		require.NoError(t, f.Tokens.IssueToken(ctx(), tok("c", accessctl.PurposeInvitation, "op2")))
		require.NoError(t, f.Tokens.DeleteOperatorTokens(ctx(), "t1", "op1"))
		_, err := f.Tokens.Token(ctx(), accessctl.PurposePasswordReset, "t1", "a")
		requireKind(t, err, backoffice.ErrNotFound)
		_, err = f.Tokens.Token(ctx(), accessctl.PurposeInvitation, "t1", "b")
		requireKind(t, err, backoffice.ErrNotFound)
		_, err = f.Tokens.Token(ctx(), accessctl.PurposeInvitation, "t1", "c")
		require.NoError(t, err)
	})
	t.Run("OperatorTokens", func(t *testing.T) {
		// The live tokens of one operator, one per purpose, as the
		// service's Links shows them; never another operator's or
		// tenant's, never one used or voided.
		t.Parallel()
		f := newFixture(t, newStores)
		purposes := func(op accessctl.OperatorID) map[accessctl.TokenPurpose]string {
			t.Helper()
			toks, err := f.Tokens.OperatorTokens(ctx(), "t1", op)
			require.NoError(t, err)
			out := map[accessctl.TokenPurpose]string{}
			for _, tk := range toks {
				assert.Equal(t, op, tk.Operator)
				assert.False(t, tk.CreatedAt.IsZero())
				assert.True(t, tk.ExpiresAt.After(tk.CreatedAt))
				out[tk.Purpose] = tk.ID
			}
			return out
		}
		assert.Empty(t, purposes("op1"))
		require.NoError(t, f.Tokens.IssueToken(ctx(), tok("a", accessctl.PurposeInvitation, "op1")))
		require.NoError(t, f.Tokens.IssueToken(ctx(), tok("b", accessctl.PurposeInvitation, "op1")))
		require.NoError(t, f.Tokens.IssueToken(ctx(), tok("r", accessctl.PurposePasswordReset, "op1")))
		require.NoError(t, f.Tokens.IssueToken(ctx(), tok("o", accessctl.PurposeInvitation, "op2")))
		assert.Equal(t, map[accessctl.TokenPurpose]string{accessctl.PurposeInvitation: "b", accessctl.PurposePasswordReset: "r"}, purposes("op1"))
		_, err := f.Tokens.ConsumeToken(ctx(), accessctl.PurposePasswordReset, "t1", "r")
		require.NoError(t, err)
		assert.Equal(t, map[accessctl.TokenPurpose]string{accessctl.PurposeInvitation: "b"}, purposes("op1"))
		other, err := f.Tokens.OperatorTokens(ctx(), "t2", "op1")
		require.NoError(t, err)
		assert.Empty(t, other, "another tenant's operator of the same id has none")
		require.NoError(t, f.Tokens.DeleteOperatorTokens(ctx(), "t1", "op1"))
		assert.Empty(t, purposes("op1"))
		assert.Equal(t, map[accessctl.TokenPurpose]string{accessctl.PurposeInvitation: "o"}, purposes("op2"))
	})
}

// limit is the attempt rule of the attempt tests.
var limit = accessctl.AttemptLimit{Max: 3, Window: time.Hour, Cooldown: 15 * time.Minute, Lease: time.Minute}

func testAttempts(t *testing.T, newStores func(*testing.T) Stores) {
	reserve := func(t *testing.T, f *fixture, at time.Time) bool {
		t.Helper()
		ok, err := f.Attempts.ReserveAttempt(ctx(), "t1", "op1", at, limit)
		require.NoError(t, err)
		return ok
	}
	settle := func(t *testing.T, f *fixture, at time.Time, o accessctl.AttemptOutcome) accessctl.Attempts {
		t.Helper()
		a, err := f.Attempts.SettleAttempt(ctx(), "t1", "op1", at, o)
		require.NoError(t, err)
		return a
	}
	get := func(t *testing.T, f *fixture, tenant backoffice.TenantID) accessctl.Attempts {
		t.Helper()
		a, err := f.Attempts.Attempts(ctx(), tenant, "op1")
		require.NoError(t, err)
		return a
	}
	now := base
	t.Run("ReserveUpToMax", func(t *testing.T) {
		// A20: reservations count before anything is evaluated; the one
		// past Max is refused and changes nothing.
		t.Parallel()
		f := newFixture(t, newStores)
		assert.Zero(t, get(t, f, "t1"))
		for i := range 3 {
			require.True(t, reserve(t, f, now.Add(time.Duration(i)*time.Second)), "reservation %d", i+1)
		}
		want := accessctl.Attempts{Pending: 3, Last: now.Add(2 * time.Second)}
		assert.Equal(t, want, get(t, f, "t1"))
		assert.False(t, reserve(t, f, now.Add(3*time.Second)))
		assert.Equal(t, want, get(t, f, "t1"), "a refused reservation changes nothing")
		assert.Zero(t, get(t, f, "t2"), "X8")
	})
	t.Run("SettleOutcomes", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		for range 3 {
			require.True(t, reserve(t, f, now))
		}
		a := settle(t, f, now.Add(time.Second), accessctl.AttemptFailed)
		assert.Equal(t, accessctl.Attempts{Failures: 1, Pending: 2, Last: now.Add(time.Second)}, a)
		a = settle(t, f, now.Add(2*time.Second), accessctl.AttemptReturned)
		assert.Equal(t, accessctl.Attempts{Failures: 1, Pending: 1, Last: now.Add(time.Second)}, a, "a returned attempt leaves the failures")
		require.True(t, reserve(t, f, now.Add(3*time.Second)), "a returned attempt can be taken again")
		a = settle(t, f, now.Add(4*time.Second), accessctl.AttemptFailed)
		assert.Equal(t, 2, a.Failures)
		a = settle(t, f, now.Add(5*time.Second), accessctl.AttemptSucceeded)
		assert.Equal(t, accessctl.Attempts{Failures: 0, Pending: 0, Last: now.Add(4 * time.Second)}, a, "a complete login clears the failures")
		for range 3 {
			require.True(t, reserve(t, f, now.Add(6*time.Second)))
		}
	})
	t.Run("SettleWithoutRun", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		assert.Zero(t, settle(t, f, now, accessctl.AttemptReturned))
		assert.Zero(t, get(t, f, "t1").Failures)
		a := settle(t, f, now, accessctl.AttemptFailed)
		assert.Equal(t, accessctl.Attempts{Failures: 1, Last: now}, a, "a failure after a reset starts a new run")
	})
	t.Run("FullRunWaitsForCooldown", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		for range 3 {
			require.True(t, reserve(t, f, now))
			settle(t, f, now, accessctl.AttemptFailed)
		}
		assert.False(t, reserve(t, f, now.Add(limit.Cooldown-time.Second)))
		require.True(t, reserve(t, f, now.Add(limit.Cooldown)), "a full run ends Cooldown after its last attempt")
		assert.Equal(t, accessctl.Attempts{Pending: 1, Last: now.Add(limit.Cooldown)}, get(t, f, "t1"))
	})
	t.Run("WindowRestarts", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		for range 2 {
			require.True(t, reserve(t, f, now))
			settle(t, f, now, accessctl.AttemptFailed)
		}
		require.True(t, reserve(t, f, now.Add(limit.Window)), "a run below Max ends Window after its last attempt")
		assert.Equal(t, accessctl.Attempts{Pending: 1, Last: now.Add(limit.Window)}, get(t, f, "t1"))
	})
	t.Run("LeaseForgetsReservations", func(t *testing.T) {
		// An instance that died mid-check never settles; its reservations
		// lapse after the lease instead of holding the run for good.
		t.Parallel()
		f := newFixture(t, newStores)
		require.True(t, reserve(t, f, now))
		settle(t, f, now, accessctl.AttemptFailed)
		require.True(t, reserve(t, f, now))
		require.True(t, reserve(t, f, now))
		assert.False(t, reserve(t, f, now.Add(limit.Lease)))
		require.True(t, reserve(t, f, now.Add(limit.Lease+time.Second)))
		assert.Equal(t, accessctl.Attempts{Failures: 1, Pending: 1, Last: now.Add(limit.Lease + time.Second)}, get(t, f, "t1"),
			"the failures stay; only the lapsed reservations go")
	})
	t.Run("Reset", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		require.True(t, reserve(t, f, now))
		settle(t, f, now, accessctl.AttemptFailed)
		require.True(t, reserve(t, f, now))
		require.NoError(t, f.Attempts.ResetAttempts(ctx(), "t1", "op1"))
		assert.Zero(t, get(t, f, "t1"))
	})
	t.Run("Cancelled", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		_, err := f.Attempts.ReserveAttempt(cancelled(), "t1", "op1", now, limit)
		require.Error(t, err)
		assert.Zero(t, get(t, f, "t1"))
	})
	t.Run("ConcurrentReservations", func(t *testing.T) {
		// A20: of 50 simultaneous reservations exactly Max succeed, and of
		// their concurrent failures each sees its own count, so exactly one
		// sees the run fill and takes the block decision.
		t.Parallel()
		f := newFixture(t, newStores)
		var granted atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				ok, err := f.Attempts.ReserveAttempt(ctx(), "t1", "op1", now, limit)
				if err != nil {
					t.Error(err)
				}
				if ok {
					granted.Add(1)
				}
			})
		}
		wg.Wait()
		require.Equal(t, int32(3), granted.Load())
		seen := make([]atomic.Int32, 4)
		for range 3 {
			wg.Go(func() {
				a, err := f.Attempts.SettleAttempt(ctx(), "t1", "op1", now, accessctl.AttemptFailed)
				if err != nil {
					t.Error(err)
					return
				}
				if a.Failures >= 1 && a.Failures <= 3 {
					seen[a.Failures].Add(1)
				}
			})
		}
		wg.Wait()
		for i := 1; i <= 3; i++ {
			assert.Equal(t, int32(1), seen[i].Load(), "failure count %d", i)
		}
		assert.Equal(t, accessctl.Attempts{Failures: 3, Last: now}, get(t, f, "t1"))
	})
}
