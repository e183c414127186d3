package accessctl_test

import (
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

// validatedUser is an end user whose deactivation the rules allow.
func validatedUser(t *testing.T, k *memorytest.Kit) *enduser.EndUser {
	t.Helper()
	sys := k.System()
	u, err := k.Users.Create(sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Jo", LastName: "Doe", Email: "jo@example.com"})
	require.NoError(t, err)
	u, err = k.Users.RequestKYCReview(sys, u.ID, u.Version)
	require.NoError(t, err)
	u, err = k.Users.RecordKYCOutcome(sys, u.ID, u.Version, enduser.KYCValidated, "ok")
	require.NoError(t, err)
	return u
}

// lockedDevice is a locked mobile device of a new end user.
func lockedDevice(t *testing.T, k *memorytest.Kit) *scadevice.Device {
	t.Helper()
	u, err := k.Users.Create(k.System(), enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Di", LastName: "Vice", Email: "di@example.com"})
	require.NoError(t, err)
	own := accessctl.NewContext(t.Context(), accessctl.EndUserActor(k.Tenant, string(u.ID)))
	d, err := k.Devices.Enrol(own, u.ID, scadevice.Enrolment{Kind: scadevice.KindMobile, Tag: "phone"})
	require.NoError(t, err)
	d, err = k.Devices.SetPasscode(own, d.ID, d.Version)
	require.NoError(t, err)
	d, err = k.Devices.Lock(k.System(), d.ID, d.Version, scadevice.ReasonSuspectedFraud, "")
	require.NoError(t, err)
	return d
}

func version(v int64) map[string]string { return map[string]string{"version": fmt.Sprint(v)} }

// F1: under PCIDSS4 each default action is held for a second operator:
// the direct call is refused, a request with its reason is stored
// pending, and approval runs it; actions the policy does not list run
// directly.
func TestFourEyesHoldsTheDefaultActions(t *testing.T) {
	k := pciKit(anyApproverAge)
	asker, _ := k.Operator(accessctl.RoleAdministrator)
	approver, _ := k.Operator(accessctl.RoleAdministrator)
	assert.ElementsMatch(t, []backoffice.Action{accessctl.ApproveGrantAdministrator, backoffice.ActionDeviceUnlock, backoffice.ActionDeviceResetPIN,
		backoffice.ActionEndUserDeactivate, accessctl.ApprovePolicyChange}, accessctl.PCIDSS4().FourEyes)

	request := func(action backoffice.Action, typ, id string, params map[string]string) *accessctl.Approval {
		t.Helper()
		ap, err := k.Ops.RequestApproval(asker, accessctl.ApprovalRequest{Action: action, TargetType: typ, TargetID: id, Params: params, Reason: "ticket 4711"})
		require.NoError(t, err)
		assert.Equal(t, accessctl.ApprovalPending, ap.Status)
		assert.True(t, ap.ExpiresAt.Equal(k.Clock.Now().Add(72*time.Hour)))
		done, err := k.Ops.Approve(approver, ap.ID, ap.EffectDigest)
		require.NoError(t, err)
		require.Equal(t, accessctl.ApprovalDone, done.Status, "outcome: %s", done.Outcome)
		return done
	}

	// Deactivating an end user.
	u := validatedUser(t, k)
	_, err := k.Users.Deactivate(asker, u.ID, u.Version)
	require.ErrorIs(t, err, accessctl.ErrApprovalRequired)
	request(backoffice.ActionEndUserDeactivate, enduser.TargetEndUser, string(u.ID), version(u.Version))
	got, err := k.Users.Get(asker, u.ID)
	require.NoError(t, err)
	assert.Equal(t, enduser.StatusCanceled, got.Status)

	// Unlocking a device, and resetting its PIN.
	d := lockedDevice(t, k)
	_, err = k.Devices.Unlock(asker, d.ID, d.Version, true)
	require.ErrorIs(t, err, accessctl.ErrApprovalRequired)
	_, err = k.Devices.Lock(asker, d.ID, d.Version, scadevice.ReasonLostOrStolen, "")
	require.ErrorIs(t, err, backoffice.ErrFailedPrecondition, "locking is not held (the device is locked already)")
	request(backoffice.ActionDeviceUnlock, scadevice.TargetDevice, string(d.ID), map[string]string{"version": fmt.Sprint(d.Version), "identity_verified": "true"})
	d, err = k.Devices.Device(asker, d.ID)
	require.NoError(t, err)
	assert.Equal(t, scadevice.StatusActive, d.Status)
	_, err = k.Devices.ResetPIN(asker, d.ID, d.Version, true)
	require.ErrorIs(t, err, accessctl.ErrApprovalRequired)
	request(backoffice.ActionDeviceResetPIN, scadevice.TargetDevice, string(d.ID), map[string]string{"version": fmt.Sprint(d.Version), "identity_verified": "true"})

	// Granting Administrator.
	_, m := k.Operator(accessctl.RoleManager)
	admins := []accessctl.RoleName{accessctl.RoleAdministrator}
	_, err = k.Ops.UpdateOperator(asker, m.ID, accessctl.OperatorUpdate{Version: m.Version, Roles: &admins})
	require.ErrorIs(t, err, accessctl.ErrApprovalRequired)
	request(accessctl.ApproveGrantAdministrator, accessctl.TargetOperator, string(m.ID), map[string]string{"version": fmt.Sprint(m.Version), "roles": "administrator"})
	m, err = k.Ops.Operator(asker, m.ID)
	require.NoError(t, err)
	assert.True(t, m.HasRole(accessctl.RoleAdministrator))

	// Editing the policy itself.
	tn, err := k.Ops.Tenant(asker)
	require.NoError(t, err)
	looser := accessctl.PCIDSS4()
	looser.IdleTimeout = 30 * time.Minute
	_, err = k.Ops.ConfigureTenant(asker, accessctl.TenantSettings{Version: tn.Version, Policy: &looser})
	require.ErrorIs(t, err, accessctl.ErrApprovalRequired)
	raw, err := json.Marshal(looser)
	require.NoError(t, err)
	request(accessctl.ApprovePolicyChange, accessctl.TargetTenant, string(k.Tenant), map[string]string{"version": fmt.Sprint(tn.Version), "policy": string(raw)})
	p, err := k.Ops.Policy(asker)
	require.NoError(t, err)
	assert.Equal(t, 30*time.Minute, p.IdleTimeout)

	// A name change is not held.
	tn, err = k.Ops.Tenant(asker)
	require.NoError(t, err)
	name := "Acme Payments"
	_, err = k.Ops.ConfigureTenant(asker, accessctl.TenantSettings{Version: tn.Version, Name: &name})
	require.NoError(t, err)

	// A request needs a reason and an action the policy holds.
	_, err = k.Ops.RequestApproval(asker, accessctl.ApprovalRequest{Action: backoffice.ActionEndUserDeactivate, TargetType: enduser.TargetEndUser,
		TargetID: "u", Params: version(1)})
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	_, err = k.Ops.RequestApproval(asker, accessctl.ApprovalRequest{Action: backoffice.ActionDeviceLock, TargetType: scadevice.TargetDevice,
		TargetID: "d", Params: version(1), Reason: "why not"})
	require.ErrorIs(t, err, backoffice.ErrInvalid)
}

// F2: only a different operator holding the action's permission decides;
// the requester cannot, from any session; a rejection needs a reason;
// a request nobody decided expires.
func TestFourEyesWhoDecides(t *testing.T) {
	k := pciKit(anyApproverAge)
	asker, askerOp := k.Operator(accessctl.RoleManager)
	u := validatedUser(t, k)
	ap, err := k.Ops.RequestApproval(asker, accessctl.ApprovalRequest{Action: backoffice.ActionEndUserDeactivate, TargetType: enduser.TargetEndUser,
		TargetID: string(u.ID), Params: version(u.Version), Reason: "account closure"})
	require.NoError(t, err)

	_, err = k.Ops.Approve(asker, ap.ID, ap.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrForbidden)
	_, err = k.Ops.Approve(k.Session(askerOp.ID), ap.ID, ap.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrForbidden, "not from another session of the requester")
	_, err = k.Ops.Reject(k.Session(askerOp.ID), ap.ID, "no")
	require.ErrorIs(t, err, backoffice.ErrForbidden)
	_, err = k.Ops.Approve(k.As(accessctl.RoleReadOnly), ap.ID, ap.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrForbidden, "a second operator without enduser.deactivate")
	_, err = k.Ops.Approve(k.System(), ap.ID, ap.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "the host's system actor is not a second operator")

	other := k.As(accessctl.RoleManager)
	_, err = k.Ops.Reject(other, ap.ID, " ")
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	rejected, err := k.Ops.Reject(other, ap.ID, "the customer withdrew")
	require.NoError(t, err)
	assert.Equal(t, accessctl.ApprovalRejected, rejected.Status)
	_, err = k.Ops.Approve(other, ap.ID, ap.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrFailedPrecondition, "decided once")
	got, err := k.Users.Get(asker, u.ID)
	require.NoError(t, err)
	assert.Equal(t, enduser.StatusValidated, got.Status, "a rejection changes nothing")

	late, err := k.Ops.RequestApproval(asker, accessctl.ApprovalRequest{Action: backoffice.ActionEndUserDeactivate, TargetType: enduser.TargetEndUser,
		TargetID: string(u.ID), Params: version(u.Version), Reason: "again"})
	require.NoError(t, err)
	k.Clock.Advance(72 * time.Hour)
	_, err = k.Ops.Approve(other, late.ID, late.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrFailedPrecondition, "expired")
	seen, err := k.Ops.Approval(asker, late.ID)
	require.NoError(t, err)
	assert.Equal(t, accessctl.ApprovalExpired, seen.Status)
	expired := accessctl.ApprovalExpired
	list, err := k.Ops.Approvals(other, &expired, backoffice.PageRequest{Limit: 10})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	assert.Equal(t, late.ID, list.Items[0].ID)
}

// F3: approval runs the action with every rule checked at that moment:
// a wallet no longer empty, a requester no longer allowed, or a record
// changed since the request leaves the request failed with the reason,
// and nothing else changed.
func TestFourEyesRechecksAtApproval(t *testing.T) {
	k := pciKit(anyApproverAge)
	asker, askerOp := k.Operator(accessctl.RoleManager)
	approver := k.As(accessctl.RoleManager)
	u := validatedUser(t, k)
	ask := func() *accessctl.Approval {
		ap, err := k.Ops.RequestApproval(asker, accessctl.ApprovalRequest{Action: backoffice.ActionEndUserDeactivate, TargetType: enduser.TargetEndUser,
			TargetID: string(u.ID), Params: version(u.Version), Reason: "closure"})
		require.NoError(t, err)
		return ap
	}

	ap := ask()
	k.Wallets.Set(u.ID, enduser.Balance{Currency: "EUR", Amount: 1200})
	done, err := k.Ops.Approve(approver, ap.ID, ap.EffectDigest)
	require.NoError(t, err)
	assert.Equal(t, accessctl.ApprovalFailed, done.Status)
	assert.Contains(t, done.Outcome, "balance")
	k.Wallets.Set(u.ID)

	ap = ask()
	cur, err := k.Ops.Operator(k.System(), askerOp.ID)
	require.NoError(t, err)
	_, err = k.Ops.DeactivateOperator(k.System(), askerOp.ID, cur.Version)
	require.NoError(t, err)
	done, err = k.Ops.Approve(approver, ap.ID, ap.EffectDigest)
	require.NoError(t, err)
	assert.Equal(t, accessctl.ApprovalFailed, done.Status, "the requester is no longer active")
	got, err := k.Users.Get(approver, u.ID)
	require.NoError(t, err)
	assert.Equal(t, enduser.StatusValidated, got.Status)
}
