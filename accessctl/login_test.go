package accessctl_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/accessctl/password"
)

const pw = backoffice.Secret("Zebra-Crossing-77")

// withPassword creates an active operator with a password.
func (e *env) withPassword(name string, roles ...accessctl.RoleName) *accessctl.Operator {
	e.t.Helper()
	in := newOp(name, roles...)
	in.Password, in.PasswordConfirmation = pw, pw
	o, err := e.svc.CreateOperator(e.adminCtx, in)
	require.NoError(e.t, err)
	return o
}

// A10, A18: the first login enrols TOTP, later logins verify it, and the
// session authenticates requests.
func TestLoginWithMFA(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("alice", accessctl.RoleReadOnly)
	res, err := e.svc.Login(context.Background(), tenantID, "alice", pw)
	require.NoError(t, err)
	require.NotNil(t, res.Enrolment, "A10: no MFA yet, so enrolment is offered")
	assert.Empty(t, res.Session)
	assert.True(t, strings.HasPrefix(string(res.Enrolment.URI), "otpauth://totp/backoffice:alice?"))
	assert.Contains(t, string(res.Enrolment.URI), "secret="+string(res.Enrolment.Secret))
	// A wrong code fails, counts, and spends the challenge.
	_, err = e.svc.CompleteLogin(context.Background(), res.Challenge, "000000")
	requireKind(t, err, backoffice.ErrUnauthenticated)
	_, err = e.svc.CompleteLogin(context.Background(), res.Challenge, "000000")
	requireKind(t, err, backoffice.ErrUnauthenticated)
	done, err := e.login("alice", pw)
	require.NoError(t, err)
	require.NotEmpty(t, done.Session)
	assert.True(t, e.get(o.ID).MFAEnrolled)
	actor, err := e.svc.Authenticate(context.Background(), done.Session)
	require.NoError(t, err)
	assert.Equal(t, string(o.ID), actor.ID())
	assert.True(t, actor.Can(accessctl.PermEndUserRead))
	// The second login needs the code but no enrolment.
	res, err = e.svc.Login(context.Background(), tenantID, "ALICE@acme.test", pw)
	require.NoError(t, err)
	assert.Nil(t, res.Enrolment)
	// A10: a code is never accepted twice.
	code, _ := accessctl.TOTPCode(e.get(o.ID).MFASecret, e.clock.Now())
	_, err = e.svc.CompleteLogin(context.Background(), res.Challenge, code)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	// A challenge expires.
	res, err = e.svc.Login(context.Background(), tenantID, "alice", pw)
	require.NoError(t, err)
	e.clock.Advance(6 * time.Minute)
	code, _ = accessctl.TOTPCode(e.get(o.ID).MFASecret, e.clock.Now())
	_, err = e.svc.CompleteLogin(context.Background(), res.Challenge, code)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	// A18: the session expires.
	e.clock.Advance(13 * time.Hour)
	_, err = e.svc.Authenticate(context.Background(), done.Session)
	requireKind(t, err, backoffice.ErrUnauthenticated)
}

// A10: after an admin's MFA reset the operator must enrol again.
func TestResetMFA(t *testing.T) {
	e := newEnv(t, accessctl.PresetPortal)
	o := e.withPassword("bob", accessctl.RolePortalViewer)
	done, err := e.login("bob", pw)
	require.NoError(t, err)
	old := e.get(o.ID).MFASecret
	_, err = e.svc.ResetMFA(e.adminCtx, o.ID, e.get(o.ID).Version)
	require.NoError(t, err)
	_, err = e.svc.Authenticate(context.Background(), done.Session)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	res, err := e.svc.Login(context.Background(), tenantID, "bob", pw)
	require.NoError(t, err)
	require.NotNil(t, res.Enrolment)
	assert.NotEqual(t, old, res.Enrolment.Secret)
	_, err = e.complete(res)
	require.NoError(t, err)
	hist := e.history(o.ID)
	var actions []string
	for _, h := range hist {
		actions = append(actions, string(h.Action))
	}
	assert.Contains(t, actions, "operator.reset_mfa")
	_, err = e.svc.ResetMFA(e.adminCtx, o.ID, 999)
	requireKind(t, err, backoffice.ErrConflict)
}

// A9: three failed logins in a row block the operator; it stays blocked
// with the right password until unblocked; a success resets the count.
func TestThreeStrikes(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("carol", accessctl.RoleReadOnly)
	done, err := e.login("carol", pw)
	require.NoError(t, err)
	// Two failures, then a success, reset the run.
	for range 2 {
		_, err = e.svc.Login(context.Background(), tenantID, "carol", "Wrong-Password-1")
		requireKind(t, err, backoffice.ErrUnauthenticated)
	}
	_, err = e.login("carol", pw)
	require.NoError(t, err)
	for range 3 {
		_, err = e.svc.Login(context.Background(), tenantID, "carol", "Wrong-Password-1")
		requireKind(t, err, backoffice.ErrUnauthenticated)
	}
	assert.Equal(t, accessctl.StatusBlocked, e.get(o.ID).Status)
	_, err = e.svc.Authenticate(context.Background(), done.Session)
	requireKind(t, err, backoffice.ErrUnauthenticated) // A18: blocking ends sessions
	_, err = e.svc.Login(context.Background(), tenantID, "carol", pw)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	hist := e.history(o.ID)
	assert.Equal(t, backoffice.ActionOperatorBlock, hist[0].Action)
	assert.Equal(t, backoffice.ActorSystem, hist[0].Actor.Kind)
	// Only an operator manager unblocks.
	roCtx, _ := e.as("reader", accessctl.RoleReadOnly)
	_, err = e.svc.UnblockOperator(roCtx, o.ID, e.get(o.ID).Version)
	requireKind(t, err, backoffice.ErrForbidden)
	_, err = e.svc.UnblockOperator(e.adminCtx, o.ID, e.get(o.ID).Version)
	require.NoError(t, err)
	_, err = e.login("carol", pw)
	require.NoError(t, err)
}

// A9: the answer never says whether the username exists, and invited,
// blocked and deactivated operators cannot log in.
func TestLoginRefusalsLookAlike(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	e.withPassword("dave", accessctl.RoleReadOnly)
	invited, err := e.svc.InviteOperator(e.adminCtx, newOp("ivy", accessctl.RoleReadOnly))
	require.NoError(t, err)
	gone := e.withPassword("gone", accessctl.RoleReadOnly)
	_, err = e.svc.DeactivateOperator(e.adminCtx, gone.ID, gone.Version)
	require.NoError(t, err)
	_, wrong := e.svc.Login(context.Background(), tenantID, "dave", "Wrong-Password-1")
	_, unknown := e.svc.Login(context.Background(), tenantID, "nobody", "Wrong-Password-1")
	_, noTenant := e.svc.Login(context.Background(), "no-such-tenant", "dave", pw)
	_, inv := e.svc.Login(context.Background(), tenantID, invited.Username, pw)
	_, deact := e.svc.Login(context.Background(), tenantID, "gone", pw)
	for _, err := range []error{wrong, unknown, noTenant, inv, deact} {
		requireKind(t, err, backoffice.ErrUnauthenticated)
		require.Same(t, accessctl.ErrLoginRefused, err, "A20: every refusal is the same value")
	}
}

// A15, A9: the last active Administrator is never blocked by failed logins;
// it is refused for a cool-down instead, so guessing stays slow.
func TestLastAdministratorLoginCooldown(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	for range 3 {
		_, err := e.svc.Login(context.Background(), tenantID, "root", "Wrong-Password-1")
		requireKind(t, err, backoffice.ErrUnauthenticated)
	}
	assert.Equal(t, accessctl.StatusActive, e.get(e.admin.ID).Status)
	_, err := e.svc.Login(context.Background(), tenantID, "root", adminPassword)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	e.clock.Advance(16 * time.Minute)
	_, err = e.login("root", adminPassword)
	require.NoError(t, err)
}

// A7: an invitation link is valid 14 days; the operator verifies its
// email, sets a password and enrols MFA through it. Resending issues a
// link valid 24 hours and voids the earlier ones.
func TestInvitation(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o, err := e.svc.InviteOperator(e.adminCtx, newOp("erin", accessctl.RoleBasicEditor))
	require.NoError(t, err)
	first, ok := e.rec.LastOperatorNotice("erin@acme.test", accessctl.NoticeInvitation)
	require.True(t, ok, "N1: the invitation is sent")
	assert.Equal(t, e.clock.Now().Add(14*24*time.Hour), first.ExpiresAt)
	require.NoError(t, e.svc.ResendInvitation(e.adminCtx, o.ID))
	second, ok := e.rec.LastOperatorNotice("erin@acme.test", accessctl.NoticeVerification)
	require.True(t, ok)
	assert.Equal(t, e.clock.Now().Add(24*time.Hour), second.ExpiresAt)
	// The first link is void.
	_, err = e.svc.AcceptInvitation(context.Background(), first.Token, pw, pw)
	requireFields(t, err, "token")
	// Bad input leaves the link usable and the operator unchanged.
	before := e.snapshot()
	_, err = e.svc.AcceptInvitation(context.Background(), second.Token, "short", "short")
	requireFields(t, err, "password")
	_, err = e.svc.AcceptInvitation(context.Background(), second.Token, pw, pw+"x")
	requireFields(t, err, "password_confirmation")
	e.requireUnchanged(before)
	res, err := e.svc.AcceptInvitation(context.Background(), second.Token, pw, pw)
	require.NoError(t, err)
	require.NotNil(t, res.Enrolment)
	got := e.get(o.ID)
	assert.Equal(t, accessctl.StatusActive, got.Status)
	assert.True(t, got.EmailVerified)
	done, err := e.complete(res)
	require.NoError(t, err)
	assert.NotEmpty(t, done.Session)
	assert.True(t, e.get(o.ID).MFAEnrolled)
	// A used link does not work again.
	_, err = e.svc.AcceptInvitation(context.Background(), second.Token, pw, pw)
	requireFields(t, err, "token")
	require.Error(t, e.svc.ResendInvitation(e.adminCtx, o.ID))
}

// A7: an expired invitation link is refused.
func TestInvitationExpires(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	_, err := e.svc.InviteOperator(e.adminCtx, newOp("fred", accessctl.RoleReadOnly))
	require.NoError(t, err)
	n, _ := e.rec.LastOperatorNotice("fred@acme.test", accessctl.NoticeInvitation)
	e.clock.Advance(14*24*time.Hour + time.Second)
	_, err = e.svc.AcceptInvitation(context.Background(), n.Token, pw, pw)
	requireFields(t, err, "token")
}

// A11: a manager sends a reset link; an operator asks for one from the
// login page; the link lasts 24 hours, works once, and sets a password
// meeting the policy; the operator's sessions end.
func TestPasswordReset(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("gina", accessctl.RoleReadOnly)
	done, err := e.login("gina", pw)
	require.NoError(t, err)
	require.NoError(t, e.svc.SendPasswordReset(e.adminCtx, o.ID))
	n, ok := e.rec.LastOperatorNotice("gina@acme.test", accessctl.NoticePasswordReset)
	require.True(t, ok)
	assert.Equal(t, e.clock.Now().Add(24*time.Hour), n.ExpiresAt)
	require.Error(t, e.svc.ResetPassword(context.Background(), n.Token, "weak", "weak"))
	const newPW = "Another-Zebra-88"
	require.NoError(t, e.svc.ResetPassword(context.Background(), n.Token, newPW, newPW))
	requireFields(t, e.svc.ResetPassword(context.Background(), n.Token, newPW, newPW), "token")
	_, err = e.svc.Authenticate(context.Background(), done.Session)
	requireKind(t, err, backoffice.ErrUnauthenticated) // A18: password change ends sessions
	_, err = e.login("gina", pw)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	_, err = e.login("gina", newPW)
	require.NoError(t, err)

	// Forgot password: same answer for a stranger, a link only for a real operator.
	sent := len(e.rec.OperatorNotices())
	require.NoError(t, e.svc.ForgotPassword(context.Background(), tenantID, "nobody"))
	assert.Len(t, e.rec.OperatorNotices(), sent)
	require.NoError(t, e.svc.ForgotPassword(context.Background(), tenantID, "GINA"))
	n2, ok := e.rec.LastOperatorNotice("gina@acme.test", accessctl.NoticePasswordReset)
	require.True(t, ok)
	e.clock.Advance(25 * time.Hour)
	requireFields(t, e.svc.ResetPassword(context.Background(), n2.Token, "Third-Zebra-99", "Third-Zebra-99"), "token")
}

// A18: sessions are stored hashed, listed and revoked per operator, and die
// with a role change and with an admin's password change.
func TestSessions(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("hank", accessctl.RoleReadOnly)
	s1, err := e.login("hank", pw)
	require.NoError(t, err)
	s2, err := e.login("hank", pw)
	require.NoError(t, err)
	list, err := e.svc.Sessions(e.adminCtx, o.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	for _, s := range list {
		assert.NotEqual(t, string(s1.Session), s.ID, "the token itself is never stored")
		assert.NotContains(t, s.ID, string(s1.Session)[strings.LastIndexByte(string(s1.Session), '.')+1:], "only a digest of it")
		assert.Equal(t, tenantID, s.Tenant)
		assert.Equal(t, o.ID, s.Operator)
	}
	// An operator may list its own sessions; a reader may not list others'.
	hankCtx, err := e.svc.Authenticate(context.Background(), s1.Session)
	require.NoError(t, err)
	own, err := e.svc.Sessions(accessctl.NewContext(context.Background(), hankCtx), o.ID)
	require.NoError(t, err)
	assert.Len(t, own, 2)
	_, err = e.svc.Sessions(accessctl.NewContext(context.Background(), hankCtx), e.admin.ID)
	requireKind(t, err, backoffice.ErrForbidden)
	require.NoError(t, e.svc.Logout(context.Background(), s1.Session))
	_, err = e.svc.Authenticate(context.Background(), s1.Session)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	_, err = e.svc.Authenticate(context.Background(), s2.Session)
	require.NoError(t, err)
	require.NoError(t, e.svc.RevokeSessions(e.adminCtx, o.ID))
	_, err = e.svc.Authenticate(context.Background(), s2.Session)
	requireKind(t, err, backoffice.ErrUnauthenticated)

	s3, err := e.login("hank", pw)
	require.NoError(t, err)
	_, err = e.svc.UpdateOperator(e.adminCtx, o.ID, accessctl.OperatorUpdate{Version: e.get(o.ID).Version,
		Roles: &[]accessctl.RoleName{accessctl.RoleBasicEditor}})
	require.NoError(t, err)
	_, err = e.svc.Authenticate(context.Background(), s3.Session)
	requireKind(t, err, backoffice.ErrUnauthenticated)

	s4, err := e.login("hank", pw)
	require.NoError(t, err)
	_, err = e.svc.SetPassword(e.adminCtx, o.ID, e.get(o.ID).Version, "Fresh-Zebra-55", "Fresh-Zebra-55")
	require.NoError(t, err)
	_, err = e.svc.Authenticate(context.Background(), s4.Session)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	_, err = e.svc.Authenticate(context.Background(), "")
	requireKind(t, err, backoffice.ErrUnauthenticated)
}

// A8: the actor's own password change checks the current one.
func TestChangePassword(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	e.withPassword("iris", accessctl.RoleReadOnly)
	s, err := e.login("iris", pw)
	require.NoError(t, err)
	a, err := e.svc.Authenticate(context.Background(), s.Session)
	require.NoError(t, err)
	ctx := accessctl.NewContext(context.Background(), a)
	requireFields(t, e.svc.ChangePassword(ctx, "Not-The-One-11", "Fresh-Zebra-55", "Fresh-Zebra-55"), "current_password")
	requireFields(t, e.svc.ChangePassword(ctx, pw, "iris-Zebra-55x", "iris-Zebra-55x"), "password")
	require.NoError(t, e.svc.ChangePassword(ctx, pw, "Fresh-Zebra-55", "Fresh-Zebra-55"))
	_, err = e.login("iris", "Fresh-Zebra-55")
	require.NoError(t, err)
	requireKind(t, e.svc.ChangePassword(context.Background(), pw, pw, pw), backoffice.ErrUnauthenticated)
}

// A8: the policy can be listed for a UI and is enforced.
func TestPasswordPolicy(t *testing.T) {
	p := password.DefaultPolicy()
	crit := p.Criteria()
	assert.Contains(t, crit, "between 12 and 128 characters")
	assert.Contains(t, crit, "must not contain the username or email")
	assert.Contains(t, crit, "must not be a commonly used password")
	for _, tc := range []struct {
		pw   string
		fail bool
	}{
		{"Zebra-Crossing-77", false},
		{"short1A", true},
		{"alllowercase123", true},
		{"ALLUPPERCASE123", true},
		{"NoDigitsHereAtAll", true},
		{"Password2024!", true},      // a common stem
		{"Mallory-Rocks-2026", true}, // contains the username
		{"Xy1" + strings.Repeat("a", 130), true},
	} {
		reasons := p.Check(tc.pw, "mallory", "mal@x.test")
		assert.Equal(t, tc.fail, len(reasons) > 0, "%q: %v", tc.pw, reasons)
		for _, r := range reasons {
			assert.NotContains(t, r, tc.pw)
		}
	}
	strict := p
	strict.RequireSymbol = true
	assert.NotEmpty(t, strict.Check("Zebracrossing77", "", ""))
	_, err := accessctl.NewService(accessctl.Config{Store: nil})
	requireKind(t, err, backoffice.ErrInvalid)
}

// N1: a notifier failure keeps the change, which is the call's result, and
// is reported to the host's ReportError; nothing is sent for a change that
// did not commit.
func TestNotifierFailure(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	var reported []error
	svc, err := accessctl.NewService(accessctl.Config{Store: e.store, Notifier: e.rec, Now: e.clock.Now, NewID: e.ids.NewID,
		Hasher: sharedHasher(), ReportError: func(_ context.Context, err error) { reported = append(reported, err) }})
	require.NoError(t, err)
	e.svc = svc
	e.rec.SetFailure(errors.New("smtp down"))
	o, err := e.svc.InviteOperator(e.adminCtx, newOp("jack", accessctl.RoleReadOnly))
	require.NoError(t, err, "the change happened, so the call succeeded")
	require.Len(t, reported, 1, "the failed notice goes to ReportError")
	require.ErrorIs(t, reported[0], backoffice.ErrNotDelivered)
	require.NotNil(t, o)
	assert.Equal(t, accessctl.StatusInvited, e.get(o.ID).Status, "the change was kept")
	e.rec.SetFailure(nil)
	require.NoError(t, e.svc.ResendInvitation(e.adminCtx, o.ID))
	_, ok := e.rec.LastOperatorNotice("jack@acme.test", accessctl.NoticeVerification)
	assert.True(t, ok)
	sent := len(e.rec.OperatorNotices())
	_, err = e.svc.InviteOperator(e.adminCtx, newOp("jack", accessctl.RoleReadOnly))
	requireKind(t, err, backoffice.ErrConflict)
	assert.Len(t, e.rec.OperatorNotices(), sent, "no notice for a change that did not commit")
}

// A8: raising the argon2id parameters rehashes a password at its next login.
func TestRehashOnLogin(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("mona", accessctl.RoleReadOnly)
	assert.Contains(t, string(e.get(o.ID).PasswordHash), "m=19456,")
	stronger, err := password.NewHasher(password.Params{MemoryKiB: 24 * 1024, Time: 2, Threads: 1}, 1)
	require.NoError(t, err)
	e.svc, err = accessctl.NewService(accessctl.Config{Store: e.store, Notifier: e.rec, Now: e.clock.Now, NewID: e.ids.NewID, Hasher: stronger})
	require.NoError(t, err)
	_, err = e.login("mona", pw)
	require.NoError(t, err)
	assert.Contains(t, string(e.get(o.ID).PasswordHash), "m=24576,")
	_, err = e.login("mona", pw)
	require.NoError(t, err, "the new hash verifies")
}
