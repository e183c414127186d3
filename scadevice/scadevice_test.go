package scadevice_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

const tenantID = backoffice.TenantID("acme")

// env is the test kit's services, with the names these tests use.
type env struct {
	t     *testing.T
	store *memory.Store
	rec   *memorytest.Recorder
	ops   *accessctl.Service
	users *enduser.Service
	svc   *scadevice.Service
	sys   context.Context
	admin *accessctl.Operator
	kit   *memorytest.Kit
}

func newEnv(t *testing.T, preset string) *env {
	t.Helper()
	k := memorytest.New(&memorytest.Options{Tenant: tenantID, Preset: preset})
	return &env{t: t, store: k.Store, rec: k.Outbox, ops: k.Ops, users: k.Users, svc: k.Devices, sys: k.System(), admin: k.Admin, kit: k}
}

// as returns the context of a new operator holding the role, through a
// session as a request would have.
func (e *env) as(_ string, role accessctl.RoleName) context.Context { return e.kit.As(role) }

func (e *env) user(name string) *enduser.EndUser {
	e.t.Helper()
	u, err := e.users.Create(e.sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: name, LastName: "User", Email: name + "@example.com"})
	require.NoError(e.t, err)
	return u
}

// device enrols a device for the user as the user itself, and brings it to
// the status.
func (e *env) device(u *enduser.EndUser, kind scadevice.Kind, status scadevice.Status) *scadevice.Device {
	e.t.Helper()
	self := accessctl.NewContext(context.Background(), accessctl.EndUserActor(tenantID, string(u.ID)))
	d, err := e.svc.Enrol(self, u.ID, scadevice.Enrolment{Kind: kind, Tag: "primary", Info: "Pixel 9, Android 16"})
	require.NoError(e.t, err)
	if status == scadevice.StatusPasscodeMissing {
		return d
	}
	d, err = e.svc.SetPasscode(self, d.ID, d.Version)
	require.NoError(e.t, err)
	if status == scadevice.StatusLocked {
		d, err = e.svc.Lock(e.sys, d.ID, d.Version, scadevice.ReasonSuspectedFraud, "card used abroad")
		require.NoError(e.t, err)
	}
	return d
}

func (e *env) unchanged(d *scadevice.Device) {
	e.t.Helper()
	got, err := e.store.Device(context.Background(), tenantID, d.ID)
	require.NoError(e.t, err)
	require.Equal(e.t, d, got, "X7: a refused command changed the device")
}

func requireKind(t *testing.T, err, kind error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, kind), "got %v, want %v", err, kind)
}

// documented is the status × command matrix of the package docs (S7):
// which commands a device's state allows, whoever asks.
var documented = map[scadevice.Status]map[scadevice.Kind][]scadevice.Command{
	scadevice.StatusPasscodeMissing: {
		scadevice.KindMobile: {scadevice.CommandLock, scadevice.CommandDelete},
		scadevice.KindWeb:    {scadevice.CommandLock, scadevice.CommandDelete},
	},
	scadevice.StatusActive: {
		scadevice.KindMobile: {scadevice.CommandLock, scadevice.CommandResetPIN, scadevice.CommandDelete},
		scadevice.KindWeb:    {scadevice.CommandLock, scadevice.CommandDelete},
	},
	scadevice.StatusLocked: {
		scadevice.KindMobile: {scadevice.CommandUnlock, scadevice.CommandDelete},
		scadevice.KindWeb:    {scadevice.CommandUnlock, scadevice.CommandDelete},
	},
}

func (e *env) runCommand(ctx context.Context, c scadevice.Command, d *scadevice.Device) (*scadevice.Device, error) {
	switch c {
	case scadevice.CommandLock:
		return e.svc.Lock(ctx, d.ID, d.Version, scadevice.ReasonLostOrStolen, "reported by phone")
	case scadevice.CommandUnlock:
		return e.svc.Unlock(ctx, d.ID, d.Version, true)
	case scadevice.CommandResetPIN:
		return e.svc.ResetPIN(ctx, d.ID, d.Version, true)
	default:
		return e.svc.Delete(ctx, d.ID, d.Version)
	}
}

// S7, S9: every command × every status × every kind × every preset role:
// the available commands and the outcome of running each one match the
// documented matrices; refused commands change nothing.
func TestCommandMatrix(t *testing.T) {
	for _, p := range accessctl.Presets() {
		t.Run(p.Name, func(t *testing.T) {
			e := newEnv(t, p.Name)
			u := e.user("matrix")
			for _, r := range p.Roles {
				ctx := e.as("op_"+string(r.Name), r.Name)
				a, _ := accessctl.ActorFrom(ctx)
				for _, status := range scadevice.Statuses() {
					for _, kind := range []scadevice.Kind{scadevice.KindMobile, scadevice.KindWeb} {
						d := e.device(u, kind, status)
						var want []scadevice.Command
						for _, c := range documented[status][kind] {
							if a.Can(c.Permission()) {
								want = append(want, c)
							}
						}
						got, err := e.svc.AvailableCommands(ctx, d.ID)
						if !a.Can(accessctl.PermDeviceRead) {
							requireKind(t, err, backoffice.ErrForbidden)
						} else {
							require.NoError(t, err)
							assert.Equal(t, want, got, "%s/%s/%s/%s", p.Name, r.Name, status, kind)
						}
						for _, c := range scadevice.Commands() {
							fresh := e.device(u, kind, status)
							_, err := e.runCommand(ctx, c, fresh)
							if slices.Contains(want, c) {
								require.NoError(t, err, "%s %s on %s %s", r.Name, c, status, kind)
								continue
							}
							require.Error(t, err, "%s %s on %s %s", r.Name, c, status, kind)
							if !a.Can(c.Permission()) {
								requireKind(t, err, backoffice.ErrForbidden)
							} else {
								requireKind(t, err, backoffice.ErrFailedPrecondition)
							}
							e.unchanged(fresh)
						}
					}
				}
			}
		})
	}
}

// S1, S8: the end user enrols a device and sets its passcode; nobody else
// can, and the device carries its information.
func TestEnrolAndPasscode(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	u := e.user("enrol")
	other := e.user("other")
	self := accessctl.NewContext(context.Background(), accessctl.EndUserActor(tenantID, string(u.ID)))
	d, err := e.svc.Enrol(self, u.ID, scadevice.Enrolment{Kind: scadevice.KindMobile, Tag: "work phone", Info: "iPhone 15, iOS 18"})
	require.NoError(t, err)
	assert.Equal(t, scadevice.StatusPasscodeMissing, d.Status)
	assert.Equal(t, u.ID, d.User)
	assert.Equal(t, "iPhone 15, iOS 18", d.Info)
	assert.False(t, d.CreatedAt.IsZero())
	_, err = e.svc.Enrol(self, other.ID, scadevice.Enrolment{Kind: scadevice.KindWeb})
	requireKind(t, err, backoffice.ErrForbidden)
	_, err = e.svc.Enrol(e.as("admin2", accessctl.RoleAdministrator), u.ID, scadevice.Enrolment{Kind: scadevice.KindWeb})
	requireKind(t, err, backoffice.ErrForbidden) // operators do not enrol devices for users
	_, err = e.svc.Enrol(self, u.ID, scadevice.Enrolment{Kind: "watch", Tag: "bad\x00"})
	require.ElementsMatch(t, []string{"kind", "tag"}, backoffice.FieldsOf(err))
	otherSelf := accessctl.NewContext(context.Background(), accessctl.EndUserActor(tenantID, string(other.ID)))
	_, err = e.svc.SetPasscode(otherSelf, d.ID, d.Version)
	requireKind(t, err, backoffice.ErrForbidden)
	d, err = e.svc.SetPasscode(self, d.ID, d.Version)
	require.NoError(t, err)
	assert.Equal(t, scadevice.StatusActive, d.Status)
	assert.True(t, d.PasscodeSet)
	_, err = e.svc.SetPasscode(self, d.ID, d.Version)
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	_, err = e.svc.Enrol(self, "nope", scadevice.Enrolment{Kind: scadevice.KindWeb})
	requireKind(t, err, backoffice.ErrForbidden)
	_, err = e.svc.Enrol(e.sys, "nope", scadevice.Enrolment{Kind: scadevice.KindWeb})
	requireKind(t, err, backoffice.ErrNotFound)
}

// S2, S6: the active and deleted lists; deletion is final.
func TestListsAndDelete(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	u := e.user("lists")
	d1 := e.device(u, scadevice.KindMobile, scadevice.StatusActive)
	d2 := e.device(u, scadevice.KindWeb, scadevice.StatusPasscodeMissing)
	e.device(e.user("someone"), scadevice.KindWeb, scadevice.StatusActive)
	ro := e.as("reader", accessctl.RoleReadOnly)
	active, err := e.svc.Devices(ro, u.ID)
	require.NoError(t, err)
	assert.Len(t, active, 2)
	deleted, err := e.svc.DeletedDevices(ro, u.ID)
	require.NoError(t, err)
	assert.Empty(t, deleted)
	ar := e.as("allrights", accessctl.RoleAllRightsEditor)
	_, err = e.svc.Delete(ro, d1.ID, d1.Version)
	requireKind(t, err, backoffice.ErrForbidden)
	gone, err := e.svc.Delete(ar, d1.ID, d1.Version)
	require.NoError(t, err)
	assert.True(t, gone.Deleted)
	active, _ = e.svc.Devices(ro, u.ID)
	assert.Equal(t, []scadevice.ID{d2.ID}, []scadevice.ID{active[0].ID})
	deleted, _ = e.svc.DeletedDevices(ro, u.ID)
	require.Len(t, deleted, 1)
	assert.Equal(t, d1.ID, deleted[0].ID)
	for _, c := range scadevice.Commands() {
		_, err := e.runCommand(e.sys, c, gone)
		requireKind(t, err, backoffice.ErrFailedPrecondition)
	}
	e.unchanged(gone)
	_, err = e.svc.Devices(ro, "nope")
	requireKind(t, err, backoffice.ErrNotFound)
}

// S3, S4, S5: lock needs a listed reason and keeps the message; unlock and
// reset PIN need the identity statement; reset PIN is for mobiles, makes
// the device PasscodeMissing and notifies the end user.
func TestLockUnlockResetPIN(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	u := e.user("locks")
	d := e.device(u, scadevice.KindMobile, scadevice.StatusActive)
	_, err := e.svc.Lock(e.sys, d.ID, d.Version, "bored", "x")
	require.Equal(t, []string{"reason"}, backoffice.FieldsOf(err))
	e.unchanged(d)
	d, err = e.svc.Lock(e.sys, d.ID, d.Version, scadevice.ReasonSuspectedFraud, "  three declined payments  ")
	require.NoError(t, err)
	assert.Equal(t, scadevice.StatusLocked, d.Status)
	assert.Equal(t, scadevice.ReasonSuspectedFraud, d.LockReason)
	assert.Equal(t, "three declined payments", d.LockMessage)
	_, err = e.svc.Unlock(e.sys, d.ID, d.Version, false)
	require.Equal(t, []string{"identity_verified"}, backoffice.FieldsOf(err))
	e.unchanged(d)
	d, err = e.svc.Unlock(e.sys, d.ID, d.Version, true)
	require.NoError(t, err)
	assert.Equal(t, scadevice.StatusActive, d.Status)
	assert.Empty(t, d.LockReason)
	_, err = e.svc.Unlock(e.sys, d.ID, d.Version, true)
	requireKind(t, err, backoffice.ErrFailedPrecondition) // unlocking an Active device
	_, err = e.svc.ResetPIN(e.sys, d.ID, d.Version, false)
	require.Equal(t, []string{"identity_verified"}, backoffice.FieldsOf(err))
	d, err = e.svc.ResetPIN(e.sys, d.ID, d.Version, true)
	require.NoError(t, err)
	assert.Equal(t, scadevice.StatusPasscodeMissing, d.Status)
	require.Len(t, e.rec.PINResetNotices(), 1)
	assert.Equal(t, scadevice.PINResetNotice{Tenant: tenantID, User: u.ID, Device: d.ID}, e.rec.PINResetNotices()[0])
	web := e.device(u, scadevice.KindWeb, scadevice.StatusActive)
	_, err = e.svc.ResetPIN(e.sys, web.ID, web.Version, true)
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	assert.Contains(t, err.Error(), "only a mobile device")
	e.unchanged(web)
	// A locked device that never had a PIN unlocks to PasscodeMissing.
	fresh := e.device(u, scadevice.KindMobile, scadevice.StatusPasscodeMissing)
	fresh, err = e.svc.Lock(e.sys, fresh.ID, fresh.Version, scadevice.ReasonLostOrStolen, "")
	require.NoError(t, err)
	fresh, err = e.svc.Unlock(e.sys, fresh.ID, fresh.Version, true)
	require.NoError(t, err)
	assert.Equal(t, scadevice.StatusPasscodeMissing, fresh.Status)
	// Stale versions conflict (X4).
	_, err = e.svc.Lock(e.sys, fresh.ID, 1, scadevice.ReasonOther, "")
	requireKind(t, err, backoffice.ErrConflict)
}

// S9: every change is audited with its actor, and nothing crosses tenants.
func TestAuditAndTenancy(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	u := e.user("audit")
	d := e.device(u, scadevice.KindMobile, scadevice.StatusLocked)
	um := e.as("usermgr", accessctl.RoleUserManagement)
	d, err := e.svc.Unlock(um, d.ID, d.Version, true)
	require.NoError(t, err)
	hist, err := e.store.AuditEntries(context.Background(), tenantID, accessctl.AuditQuery{TargetType: scadevice.TargetDevice, TargetID: string(d.ID)})
	require.NoError(t, err)
	var actions []string
	for _, h := range hist {
		actions = append(actions, fmt.Sprintf("%s by %s", h.Action, h.Actor.Kind))
	}
	assert.Equal(t, []string{"scadevice.unlock by operator", "scadevice.lock by system", "scadevice.set_passcode by enduser", "scadevice.enrol by enduser"}, actions)
	assert.Contains(t, hist[1].Changes, backoffice.Change{Field: "lock_reason", Before: "", After: "suspected_fraud"})
	other := accessctl.NewContext(context.Background(), accessctl.SystemActor("globex", "t"))
	_, err = e.svc.Device(other, d.ID)
	requireKind(t, err, backoffice.ErrNotFound)
	_, err = e.svc.Lock(other, d.ID, d.Version, scadevice.ReasonOther, "")
	requireKind(t, err, backoffice.ErrNotFound)
	_, err = e.svc.Devices(other, u.ID)
	requireKind(t, err, backoffice.ErrNotFound)
	_, err = e.svc.Device(context.Background(), d.ID)
	requireKind(t, err, backoffice.ErrUnauthenticated)
}
