//go:build !race

// The attacker's game hashes a password at most moves and replays
// thousands of them: under the race detector's slowdown it would take
// most of CI's budget, so make test runs it in a pass of its own without
// -race (the Makefile's test target); every rule it exercises runs under
// -race in foureyes_test.go and the conformance suite.

package accessctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// F4, F5, F6, F7: the attacker's game. From one operator's session, every
// sequence of up to three of the moves it may try (create, invite or
// duplicate accounts, grant roles, ask for an elevation, edit a custom
// role, map an SSO group, change the policy, change end dates, reactivate
// an old account and set its password, have one of its own accounts
// create another, wait a week) is played on a fresh tenant under
// PCIDSS4; then every account the attacker holds the keys of asks for
// every held action it may, and every other one of them tries to approve
// every pending request. No held action may run, and the tenant must
// still hold what it held: the end user active, the device locked, the
// policy's holds, no Administrator-level permission gained.
//
// Approvals are tried only at the end: the attacker's accounts only age
// and only gain what they were granted as the moves go on, so the end is
// when an approval is likeliest to be let through.
func TestAttackersGame(t *testing.T) {
	for _, v := range []struct {
		name  string
		roles []accessctl.RoleName
	}{
		{"Manager", []accessctl.RoleName{accessctl.RoleManager}},
		{"TimeBoundAdministrator", []accessctl.RoleName{accessctl.RoleManager, accessctl.RoleAdministrator}},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			played, tried := 0, 0
			var play func(seq []int)
			play = func(seq []int) {
				g := newGame(t, v.roles)
				var err error
				for _, m := range seq {
					err = moves[m].do(g)
				}
				n := g.check(t, seq)
				mu.Lock()
				played++
				tried += n
				mu.Unlock()
				// A refused move changed nothing: its sequence is its
				// prefix's, and so is every longer one.
				if len(seq) == 3 || (len(seq) > 0 && err != nil) {
					return
				}
				for m := range moves {
					play(append(slices.Clip(seq), m))
				}
			}
			play(nil)
			t.Logf("%d sequences played, %d approvals tried", played, tried)
			require.Greater(t, tried, 2*played, "the attacker's accounts asked and tried to approve")
		})
	}
}

const gamePW = backoffice.Secret("Obsidian-Heron-5521")

// game is one play: a tenant, its honest operators, and the accounts the
// attacker holds.
type game struct {
	t        *testing.T
	store    *memory.Store
	ops      *accessctl.Service
	users    *enduser.Service
	devices  *scadevice.Service
	clock    *memorytest.Clock
	sys      context.Context
	attacker accessctl.OperatorID
	mine     []accessctl.OperatorID // the attacker's accounts, the attacker first
	honest   accessctl.OperatorID
	dormant  accessctl.OperatorID
	user     *enduser.EndUser
	device   *scadevice.Device
	n        int
	until    time.Time // the end of the attacker's Administrator role, if any
}

func (g *game) must(err error) {
	g.t.Helper()
	require.NoError(g.t, err)
}

// newGame sets up a tenant without hashing a password: operators are
// invited, and their acceptance recorded as the kit does.
func newGame(t *testing.T, attackerRoles []accessctl.RoleName) *game {
	g := &game{t: t, store: memory.New(), clock: memorytest.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))}
	ids := backoffice.NewIDs(g.clock.Now)
	var err error
	g.ops, err = accessctl.NewService(accessctl.Config{Store: g.store, Notifier: &memorytest.Recorder{}, Now: g.clock.Now, NewID: ids,
		Hasher: memorytest.Hasher(), Policy: accessctl.PCIDSS4()})
	g.must(err)
	g.users, err = enduser.NewService(enduser.Config{Store: g.store, Tenants: g.store, Now: g.clock.Now, NewID: ids, Approvals: g.ops,
		Balances: enduser.BalancesFunc(func(context.Context, *enduser.EndUser) ([]enduser.Balance, error) { return nil, nil })})
	g.must(err)
	g.devices, err = scadevice.NewService(scadevice.Config{Store: g.store, Users: g.store, Now: g.clock.Now, NewID: ids, Approvals: g.ops})
	g.must(err)
	now := g.clock.Now()
	sysRef := backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:game", Name: "game"}
	g.must(g.store.CreateTenant(context.Background(), &accessctl.Tenant{ID: "acme", Name: "Acme", Preset: accessctl.PresetDashboard, CreatedAt: now, UpdatedAt: now},
		backoffice.AuditEntry{ID: ids(), Tenant: "acme", Actor: sysRef, Action: backoffice.ActionTenantCreate, TargetType: accessctl.TargetTenant, TargetID: "acme", At: now}))
	g.sys = accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "game"))
	desk, err := g.ops.CreateRole(g.sys, accessctl.Role{Name: "desk", Abbrev: "D", Description: "front desk", Permissions: []accessctl.Permission{accessctl.PermEndUserRead}})
	g.must(err)
	g.invited("root", accessctl.RoleAdministrator)
	g.honest = g.invited("hank", accessctl.RoleManager, desk.Name)
	g.dormant = g.invited("zoe", accessctl.RoleManager)
	z := g.get(g.dormant)
	_, err = g.ops.DeactivateOperator(g.sys, z.ID, z.Version)
	g.must(err)
	g.attacker = g.invited("mallory", attackerRoles...)
	g.mine = []accessctl.OperatorID{g.attacker}
	if slices.Contains(attackerRoles, accessctl.RoleAdministrator) {
		g.until = now.Add(60 * 24 * time.Hour)
		m := g.get(g.attacker)
		_, err = g.ops.UpdateOperator(g.sys, m.ID, accessctl.OperatorUpdate{Version: m.Version, RoleUntil: &map[accessctl.RoleName]time.Time{accessctl.RoleAdministrator: g.until}})
		g.must(err)
	}
	u, err := g.users.Create(g.sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Jo", LastName: "Doe", Email: "jo@example.com"})
	g.must(err)
	u, err = g.users.RequestKYCReview(g.sys, u.ID, u.Version)
	g.must(err)
	g.user, err = g.users.RecordKYCOutcome(g.sys, u.ID, u.Version, enduser.KYCValidated, "ok")
	g.must(err)
	own := accessctl.NewContext(context.Background(), accessctl.EndUserActor("acme", string(u.ID)))
	d, err := g.devices.Enrol(own, u.ID, scadevice.Enrolment{Kind: scadevice.KindMobile, Tag: "phone"})
	g.must(err)
	d, err = g.devices.SetPasscode(own, d.ID, d.Version)
	g.must(err)
	g.device, err = g.devices.Lock(g.sys, d.ID, d.Version, scadevice.ReasonSuspectedFraud, "")
	g.must(err)
	g.clock.Advance(30 * 24 * time.Hour) // every account of the tenant is old enough to approve
	return g
}

// invited invites an operator as the host would and records its
// acceptance, without hashing a password.
func (g *game) invited(name string, roles ...accessctl.RoleName) accessctl.OperatorID {
	o, err := g.ops.InviteOperator(g.sys, accessctl.NewOperator{Username: name, Email: name + "@acme.test", FirstName: "F", LastName: "L",
		Roles: roles, AllAccounts: true})
	g.must(err)
	g.accept(o.ID)
	return o.ID
}

// accept activates an invited operator, as its following the link does.
func (g *game) accept(id accessctl.OperatorID) {
	o := g.get(id)
	o.Status = accessctl.StatusActive
	g.must(g.store.UpdateOperator(context.Background(), o, o.Version, accessctl.Guard{}, backoffice.AuditEntry{ID: fmt.Sprintf("accept-%s", id),
		Tenant: "acme", Actor: backoffice.ActorRef{Kind: backoffice.ActorOperator, ID: string(id), Name: o.Username},
		Action: backoffice.ActionOperatorAcceptInvitation, TargetType: accessctl.TargetOperator, TargetID: string(id), At: g.clock.Now()}))
}

func (g *game) get(id accessctl.OperatorID) *accessctl.Operator {
	o, err := g.store.Operator(context.Background(), "acme", id)
	g.must(err)
	return o
}

// as is a request of the operator, through a session of its own.
func (g *game) as(id accessctl.OperatorID) context.Context {
	res, err := g.ops.StartSession(g.sys, id)
	g.must(err)
	a, err := g.ops.Authenticate(context.Background(), res.Session)
	g.must(err)
	return accessctl.NewContext(context.Background(), a)
}

func (g *game) name() string { g.n++; return fmt.Sprintf("sock%d", g.n) }

func (g *game) newOperator(roles []accessctl.RoleName, withPassword bool) accessctl.NewOperator {
	n := g.name()
	in := accessctl.NewOperator{Username: n, Email: n + "@mallory.test", FirstName: "S", LastName: "P", Roles: roles, AllAccounts: true}
	if withPassword {
		in.Password, in.PasswordConfirmation = gamePW, gamePW
	}
	return in
}

// puppet is the attacker's newest account other than itself, if any.
func (g *game) puppet() (accessctl.OperatorID, bool) {
	if len(g.mine) < 2 {
		return "", false
	}
	return g.mine[len(g.mine)-1], true
}

// weaker is the policy with its holds and its approver age removed and
// MFA made optional.
func weaker() accessctl.Policy {
	p := accessctl.PCIDSS4()
	p.FourEyes, p.ApproverMinAge, p.MFA = nil, 0, accessctl.MFAOptional
	return p
}

var moves = []struct {
	name string
	do   func(g *game) error
}{
	{"create", func(g *game) error {
		o, err := g.ops.CreateOperator(g.as(g.attacker), g.newOperator([]accessctl.RoleName{accessctl.RoleManager}, true))
		if err == nil {
			g.mine = append(g.mine, o.ID)
		}
		return err
	}},
	{"invite", func(g *game) error {
		o, err := g.ops.InviteOperator(g.as(g.attacker), g.newOperator([]accessctl.RoleName{accessctl.RoleManager}, false))
		if err == nil {
			g.accept(o.ID) // the link went to a mailbox of the attacker's
			g.mine = append(g.mine, o.ID)
		}
		return err
	}},
	{"duplicate", func(g *game) error {
		in := g.newOperator(nil, false)
		o, err := g.ops.DuplicateOperator(g.as(g.attacker), g.attacker, accessctl.NewOperator{Username: in.Username, Email: in.Email, FirstName: "S", LastName: "P"})
		if err == nil {
			g.accept(o.ID)
			g.mine = append(g.mine, o.ID)
		}
		return err
	}},
	{"grant", func(g *game) error {
		id, ok := g.puppet()
		if !ok {
			id = g.honest
		}
		o := g.get(id)
		roles := append(slices.Clone(o.Roles), g.get(g.attacker).Roles...)
		_, err := g.ops.UpdateOperator(g.as(g.attacker), id, accessctl.OperatorUpdate{Version: o.Version, Roles: &roles})
		return err
	}},
	{"elevate", func(g *game) error {
		_, err := g.ops.RequestElevation(g.as(g.attacker), accessctl.RoleAdministrator, 4*time.Hour, "incident")
		return err
	}},
	{"edit-role", func(g *game) error {
		ctx := g.as(g.attacker)
		roles, err := g.ops.Roles(ctx)
		if err != nil {
			return err
		}
		var desk accessctl.Role
		var perms []accessctl.Permission
		a, _ := accessctl.ActorFrom(ctx)
		for _, r := range roles {
			if r.Name == "desk" {
				desk = r
			}
			for _, p := range r.Permissions {
				if a.Can(p) {
					perms = append(perms, p)
				}
			}
		}
		desk.Permissions = perms
		_, err = g.ops.UpdateRole(ctx, desk)
		return err
	}},
	{"map-sso", func(g *game) error {
		ctx := g.as(g.attacker)
		tn, err := g.ops.Tenant(ctx)
		if err != nil {
			return err
		}
		_, err = g.ops.ConfigureTenant(ctx, accessctl.TenantSettings{Version: tn.Version,
			SSO: &accessctl.SSOConfig{GroupRoles: map[string][]accessctl.RoleName{"staff": {accessctl.RoleAdministrator}}}})
		return err
	}},
	{"policy", func(g *game) error {
		ctx := g.as(g.attacker)
		tn, err := g.ops.Tenant(ctx)
		if err != nil {
			return err
		}
		p := weaker()
		_, err = g.ops.ConfigureTenant(ctx, accessctl.TenantSettings{Version: tn.Version, Policy: &p})
		return err
	}},
	{"end-dates", func(g *game) error {
		m := g.get(g.attacker)
		_, err := g.ops.UpdateOperator(g.as(g.attacker), g.attacker, accessctl.OperatorUpdate{Version: m.Version, RoleUntil: &map[accessctl.RoleName]time.Time{}})
		return err
	}},
	{"reactivate", func(g *game) error {
		ctx := g.as(g.attacker)
		z, err := g.ops.ReactivateOperator(ctx, g.dormant, g.get(g.dormant).Version)
		if err != nil {
			return err
		}
		if _, err := g.ops.SetPassword(ctx, z.ID, z.Version, gamePW, gamePW); err == nil {
			g.mine = append(g.mine, z.ID)
		}
		return nil
	}},
	{"puppet-creates", func(g *game) error {
		id, ok := g.puppet()
		if !ok {
			return fmt.Errorf("no puppet yet")
		}
		o, err := g.ops.CreateOperator(g.as(id), g.newOperator(g.get(id).Roles, true))
		if err == nil {
			g.mine = append(g.mine, o.ID)
		}
		return err
	}},
	{"wait", func(g *game) error {
		g.clock.Advance(8 * 24 * time.Hour)
		return nil
	}},
}

func (g *game) seqName(seq []int) string {
	names := make([]string, len(seq))
	for i, m := range seq {
		names[i] = moves[m].name
	}
	return strings.Join(names, ",")
}

// check has every account of the attacker's ask for every held action
// it may, every other one try to approve every pending request, and the
// tenant still hold what it held. It returns how many approvals it tried.
func (g *game) check(t *testing.T, seq []int) int {
	t.Helper()
	tn, err := g.store.Tenant(context.Background(), "acme")
	g.must(err)
	for _, r := range g.mine {
		ctx := g.as(r)
		o := g.get(r)
		_, _ = g.ops.RequestApproval(ctx, accessctl.ApprovalRequest{Action: backoffice.ActionEndUserDeactivate, TargetType: enduser.TargetEndUser,
			TargetID: string(g.user.ID), Params: map[string]string{"version": fmt.Sprint(g.user.Version)}, Reason: "closure"})
		_, _ = g.ops.RequestApproval(ctx, accessctl.ApprovalRequest{Action: backoffice.ActionDeviceUnlock, TargetType: scadevice.TargetDevice,
			TargetID: string(g.device.ID), Params: map[string]string{"version": fmt.Sprint(g.device.Version), "identity_verified": "true"}, Reason: "caller verified"})
		roles := append(slices.Clone(o.Roles), accessctl.RoleAdministrator)
		names := make([]string, len(roles))
		for i, x := range roles {
			names[i] = string(x)
		}
		_, _ = g.ops.RequestApproval(ctx, accessctl.ApprovalRequest{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetOperator,
			TargetID: string(r), Params: map[string]string{"version": fmt.Sprint(o.Version), "roles": strings.Join(names, ","), "role_until": "{}"}, Reason: "promotion"})
		_, _ = g.ops.RequestElevation(ctx, accessctl.RoleAdministrator, 4*time.Hour, "incident")
		raw, err := json.Marshal(weaker())
		g.must(err)
		_, _ = g.ops.RequestApproval(ctx, accessctl.ApprovalRequest{Action: accessctl.ApprovePolicyChange, TargetType: accessctl.TargetTenant,
			TargetID: "acme", Params: map[string]string{"version": fmt.Sprint(tn.Version), "policy": string(raw)}, Reason: "simpler"})
		_, _ = g.ops.RequestApproval(ctx, accessctl.ApprovalRequest{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetTenant,
			TargetID: "acme", Params: map[string]string{"version": fmt.Sprint(tn.Version), "sso": `{"group_roles":{"staff":["administrator"]}}`}, Reason: "sso"})
		_, _ = g.ops.RequestApproval(ctx, accessctl.ApprovalRequest{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetRole,
			TargetID: "desk", Params: map[string]string{"version": "1", "abbrev": "D", "description": "front desk",
				"permissions": "enduser.read,tenant.configure,role.manage"}, Reason: "desk"})
	}
	pending, err := g.store.Approvals(context.Background(), "acme", accessctl.ApprovalQuery{Limit: 1000})
	g.must(err)
	tried := 0
	for _, ap := range pending {
		for _, approver := range g.mine {
			tried++
			done, err := g.ops.Approve(g.as(approver), ap.ID, ap.EffectDigest)
			if err == nil && done.Status == accessctl.ApprovalDone {
				t.Fatalf("after %q, %s's request for %s on %s %s was approved by %s, an account of the attacker's", g.seqName(seq),
					ap.RequesterName, ap.Action, ap.TargetType, ap.TargetID, approver)
			}
		}
	}
	u, err := g.store.EndUser(context.Background(), "acme", g.user.ID)
	g.must(err)
	d, err := g.store.Device(context.Background(), "acme", g.device.ID)
	g.must(err)
	tn, err = g.store.Tenant(context.Background(), "acme")
	g.must(err)
	roles, err := g.store.Roles(context.Background(), "acme")
	g.must(err)
	bad := func(what string) { t.Fatalf("after %q: %s", g.seqName(seq), what) }
	switch {
	case u.Status != enduser.StatusValidated:
		bad("the end user was deactivated")
	case d.Status != g.device.Status:
		bad("the device was unlocked")
	case tn.Policy != nil || len(tn.SSO.GroupRoles) > 0:
		bad("the policy or the SSO mapping changed")
	}
	for _, r := range roles {
		if r.Name == "desk" && slices.Contains(r.Permissions, accessctl.PermTenantConfigure) {
			bad("the desk role reached Administrator-level permissions")
		}
	}
	for _, id := range append(slices.Clone(g.mine), g.honest) {
		o := g.get(id)
		if o.HasRole(accessctl.RoleAdministrator) && !(id == g.attacker && g.until.Equal(o.RoleUntil[accessctl.RoleAdministrator])) {
			bad(fmt.Sprintf("%s holds Administrator (until %v)", o.Username, o.RoleUntil))
		}
	}
	return tried
}
