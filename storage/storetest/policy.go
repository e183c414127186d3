package storetest

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// The policy tests: each item of the PCIDSS4 preset, time-bound access,
// break-glass and access reviews, through two service instances over the
// stores under test, with the clock moved, never slept.

const (
	pw1 = backoffice.Secret("Sapphire-Lantern-71")
	pw2 = backoffice.Secret("Copper-Harbour-82!")
	pw3 = backoffice.Secret("Velvet-Compass-93?")
	pw4 = backoffice.Secret("Marble-Orchard-04#")
	pw5 = backoffice.Secret("Silver-Kestrel-15$")
)

// policyEnv is a race environment whose tenant runs under PCIDSS4,
// changed by edit.
func policyEnv(t *testing.T, newStores func(*testing.T) Stores, edit func(p *accessctl.Policy)) *raceEnv {
	t.Helper()
	e := newRaceEnv(t, newStores)
	e.setPolicy(edit)
	return e
}

func (e *raceEnv) setPolicy(edit func(p *accessctl.Policy)) {
	e.t.Helper()
	p := accessctl.PCIDSS4()
	if edit != nil {
		edit(&p)
	}
	tn, err := e.ops[0].Tenant(e.sys)
	require.NoError(e.t, err)
	_, err = e.ops[0].ConfigureTenant(e.sys, accessctl.TenantSettings{Version: tn.Version, Policy: &p})
	require.NoError(e.t, err)
}

// setPassword sets the operator's password as its manager would.
func (e *raceEnv) setPassword(id accessctl.OperatorID, pw backoffice.Secret) error {
	_, err := e.ops[0].SetPassword(e.sys, id, e.get(id).Version, pw, pw)
	return err
}

// login checks the operator's password on instance i from addr.
func (e *raceEnv) login(i int, o *accessctl.Operator, pw backoffice.Secret, addr string) (*accessctl.LoginResult, error) {
	return e.ops[i].Login(accessctl.WithClientAddr(ctx(), addr), raceTenant, o.Username, pw)
}

// fullLogin logs o in on instance i with its password and TOTP code,
// from addr, and returns the session token.
func (e *raceEnv) fullLogin(i int, o *accessctl.Operator, pw backoffice.Secret, addr string) backoffice.Secret {
	e.t.Helper()
	res, err := e.login(i, o, pw, addr)
	require.NoError(e.t, err)
	require.Empty(e.t, res.Session, "P4: a password alone opens no session when MFA is required")
	e.step()
	done, err := e.ops[i].CompleteLogin(accessctl.WithClientAddr(ctx(), addr), res.Challenge, e.code(o.ID))
	require.NoError(e.t, err)
	return done.Session
}

func testPolicy(t *testing.T, newStores func(*testing.T) Stores) {
	t.Run("P1IdleTimeoutAndLifetime", func(t *testing.T) {
		// P1 (PCI DSS v4.0 8.2.8): a session idle for the policy's 15
		// minutes ends, whichever instance it was used on; use keeps it
		// alive up to its absolute lifetime, which ends it anyway.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		m := e.operator("mara", accessctl.RoleManager)
		res, err := e.ops[0].StartSession(e.sys, m.ID)
		require.NoError(t, err)
		auth := func(i int) error { _, err := e.ops[i%2].Authenticate(ctx(), res.Session); return err }
		e.clock.Advance(14 * time.Minute)
		require.NoError(t, auth(0), "14 minutes idle is within the limit")
		e.clock.Advance(14 * time.Minute)
		require.NoError(t, auth(1), "the request on the other instance recorded the use")
		e.clock.Advance(15 * time.Minute)
		require.ErrorIs(t, auth(0), backoffice.ErrUnauthenticated, "15 minutes idle ends the session")
		require.ErrorIs(t, auth(1), backoffice.ErrUnauthenticated, "on every instance")

		res, err = e.ops[0].StartSession(e.sys, m.ID)
		require.NoError(t, err)
		assert.True(t, res.ExpiresAt.Equal(e.clock.Now().Add(8*time.Hour)))
		for i := range 47 {
			e.clock.Advance(10 * time.Minute)
			require.NoError(t, auth(i))
		}
		e.clock.Advance(10 * time.Minute)
		require.ErrorIs(t, auth(0), backoffice.ErrUnauthenticated, "the absolute lifetime ends a busy session")
	})

	t.Run("P2Lockout", func(t *testing.T) {
		// P2 (8.3.4): after a run of failures an operator stays locked out
		// until an operator manager unblocks it; the last Administrator,
		// which cannot be blocked, is refused for the policy's 30 minutes.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		o := e.operator("olga", accessctl.RoleManager)
		for i := range maxFailures {
			_, err := e.login(i%2, o, "wrong-password-123", "")
			require.ErrorIs(t, err, accessctl.ErrLoginRefused)
		}
		e.clock.Advance(31 * time.Minute)
		_, err := e.login(0, o, racePassword, "")
		require.ErrorIs(t, err, accessctl.ErrLoginRefused, "still locked out after 31 minutes")
		require.Equal(t, accessctl.StatusBlocked, e.get(o.ID).Status)
		_, err = e.ops[1].UnblockOperator(e.sys, o.ID, e.get(o.ID).Version)
		require.NoError(t, err)
		_, err = e.login(0, o, racePassword, "")
		require.NoError(t, err, "an operator manager unblocked it")

		// Only root is an Administrator here: the last one.
		for i := range maxFailures {
			_, err := e.login(i%2, e.root, "wrong-password-123", "")
			require.ErrorIs(t, err, accessctl.ErrLoginRefused)
		}
		e.clock.Advance(29 * time.Minute)
		_, err = e.login(1, e.root, racePassword, "")
		require.ErrorIs(t, err, accessctl.ErrLoginRefused, "the last Administrator is refused for 30 minutes")
		e.clock.Advance(time.Minute)
		_, err = e.login(0, e.root, racePassword, "")
		require.NoError(t, err)
	})

	t.Run("P3PasswordLengthAndHistory", func(t *testing.T) {
		// P3 (8.3.6, 8.3.7): a password shorter than the policy's minimum,
		// or one of the last four, is refused; only hashes are stored.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		o := e.operator("olga", accessctl.RoleManager)
		e.setPolicy(func(p *accessctl.Policy) { p.MinPasswordLength = 17 })
		err := e.setPassword(o.ID, "Sixteen-Chars-16")
		require.ErrorIs(t, err, backoffice.ErrInvalid)
		assert.Contains(t, err.Error(), "at least 17 characters")

		e.setPolicy(nil)
		require.NoError(t, e.setPassword(o.ID, pw1))
		for _, pw := range []backoffice.Secret{pw2, pw3, pw4} {
			require.NoError(t, e.setPassword(o.ID, pw))
		}
		for _, pw := range []backoffice.Secret{pw4, pw3, pw2, pw1} {
			err := e.setPassword(o.ID, pw)
			require.ErrorIs(t, err, backoffice.ErrInvalid, "reusing %s", pw)
			assert.Contains(t, err.Error(), "last 4 passwords")
		}
		require.NoError(t, e.setPassword(o.ID, pw5))
		require.NoError(t, e.setPassword(o.ID, pw1), "the fifth password back may come again")
		require.ErrorIs(t, e.setPassword(o.ID, pw3), backoffice.ErrInvalid, "pw1, pw5, pw4 and pw3 are the last four now")

		stored := e.get(o.ID)
		require.Len(t, stored.PasswordHistory, 3, "the current hash and three before it are kept")
		for _, h := range append(stored.PasswordHistory, stored.PasswordHash) {
			assert.True(t, strings.HasPrefix(string(h), "$argon2id$"), "only hashes are kept")
		}
		// A reset link is held to the same history, and stays usable.
		require.NoError(t, e.ops[0].SendPasswordReset(e.sys, o.ID))
		n, ok := e.rec.LastOperatorNotice(o.Email, accessctl.NoticePasswordReset)
		require.True(t, ok)
		require.ErrorIs(t, e.ops[1].ResetPassword(ctx(), n.Token, pw5, pw5), backoffice.ErrInvalid)
		require.NoError(t, e.ops[1].ResetPassword(ctx(), n.Token, pw2, pw2))
	})

	t.Run("P4MFAAndPasswordAge", func(t *testing.T) {
		// P4 (8.4.2, 8.3.9): under MFA required an operator without MFA
		// gets no session until it enrols; where MFA is optional, an
		// operator without MFA whose password is older than the policy
		// allows must set another first; one with MFA is not held to it.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		o := e.operator("olga", accessctl.RoleManager)
		withMFA := e.operator("mfa", accessctl.RoleManager)
		res, err := e.login(0, o, racePassword, "")
		require.NoError(t, err)
		assert.Empty(t, res.Session)
		assert.NotNil(t, res.Enrolment, "it enrols before it gets a session")
		e.fullLogin(1, withMFA, racePassword, "")

		e.setPolicy(func(p *accessctl.Policy) { p.MFA, p.DormantAfter = accessctl.MFAOptional, 0 })
		other := e.operator("other", accessctl.RoleManager)
		res, err = e.login(1, other, racePassword, "")
		require.NoError(t, err)
		require.NotEmpty(t, res.Session, "MFA optional: the password alone opens a session")
		e.clock.Advance(91 * 24 * time.Hour)
		_, err = e.login(0, other, "wrong-password-123", "")
		require.ErrorIs(t, err, accessctl.ErrLoginRefused, "a wrong password learns nothing of the age")
		_, err = e.login(0, other, racePassword, "")
		require.ErrorIs(t, err, accessctl.ErrPasswordExpired)
		require.NoError(t, e.setPassword(other.ID, pw2))
		res, err = e.login(1, other, pw2, "")
		require.NoError(t, err)
		assert.NotEmpty(t, res.Session)
		res, err = e.login(0, withMFA, racePassword, "")
		require.NoError(t, err)
		assert.NotEmpty(t, res.Challenge, "the operator with MFA logs in as ever")
	})

	t.Run("P5LastLoginAndDormancy", func(t *testing.T) {
		// P5 (8.2.6, 10.2): a complete login records its time and source;
		// operators idle for 90 days are listed for managers and blocked
		// at their next login, right password or not.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		o := e.operator("olga", accessctl.RoleManager)
		fresh := e.operator("fresh", accessctl.RoleReadOnly)
		e.fullLogin(0, o, racePassword, "203.0.113.7")
		cur := e.get(o.ID)
		assert.True(t, cur.LastLoginAt.Equal(e.clock.Now()))
		assert.Equal(t, "203.0.113.7", cur.LastLoginFrom)
		hist, err := e.ops[0].History(e.sys, o.ID, backoffice.PageRequest{Limit: 1})
		require.NoError(t, err)
		assert.Contains(t, hist.Items[0].Changes, backoffice.Change{Field: "source", After: "203.0.113.7"})

		e.clock.Advance(80 * 24 * time.Hour)
		e.fullLogin(1, fresh, racePassword, "198.51.100.2")
		e.clock.Advance(11 * 24 * time.Hour)
		dormant, err := e.ops[1].DormantOperators(e.sys)
		require.NoError(t, err)
		var ids []accessctl.OperatorID
		for _, d := range dormant {
			ids = append(ids, d.ID)
		}
		assert.Contains(t, ids, o.ID)
		assert.NotContains(t, ids, fresh.ID, "it logged in 11 days ago")

		_, err = e.login(1, o, racePassword, "")
		require.ErrorIs(t, err, accessctl.ErrLoginRefused)
		assert.Equal(t, accessctl.StatusBlocked, e.get(o.ID).Status, "blocked at its next login")
		assert.Equal(t, 1, e.actions(accessctl.TargetOperator, string(o.ID), backoffice.ActionOperatorBlock))
	})

	t.Run("T1TimeBoundAccess", func(t *testing.T) {
		// T1: a role and account access granted until a time stop counting
		// at that time with no job running; the grant and, once
		// ExpireGrants ran, the end are in the history.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		o := e.operator("olga", accessctl.RoleReadOnly)
		roles := []accessctl.RoleName{accessctl.RoleReadOnly, accessctl.RoleManager}
		until, access := e.clock.Now().Add(2*time.Hour), e.clock.Now().Add(3*time.Hour)
		_, err := e.ops[0].UpdateOperator(e.sys, o.ID, accessctl.OperatorUpdate{Version: o.Version, Roles: &roles,
			RoleUntil: &map[accessctl.RoleName]time.Time{accessctl.RoleManager: until}, AccessUntil: &access})
		require.NoError(t, err)
		res, err := e.ops[0].StartSession(e.sys, o.ID)
		require.NoError(t, err)
		actor := func(i int) *accessctl.Actor {
			t.Helper()
			a, err := e.ops[i].Authenticate(ctx(), res.Session)
			require.NoError(t, err)
			return a
		}
		assert.True(t, actor(0).Can(accessctl.PermEndUserDeactivate), "a Manager until then")
		e.clock.Advance(2 * time.Hour)
		assert.False(t, actor(1).Can(accessctl.PermEndUserDeactivate), "the role stopped counting at its time")
		assert.True(t, actor(0).CanOnAccount(accessctl.PermEndUserRead, "acc-1"))
		e.clock.Advance(time.Hour)
		assert.False(t, actor(1).CanOnAccount(accessctl.PermEndUserRead, "acc-1"), "the account access ended")

		n, err := e.ops[1].ExpireGrants(e.sys)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		cur := e.get(o.ID)
		assert.Equal(t, []accessctl.RoleName{accessctl.RoleReadOnly}, cur.Roles)
		assert.Nil(t, cur.RoleUntil)
		assert.False(t, cur.AllAccounts)
		assert.Equal(t, 1, e.actions(accessctl.TargetOperator, string(o.ID), backoffice.ActionOperatorGrantEnd))
		_, err = e.ops[1].Authenticate(ctx(), res.Session)
		require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "the recorded end ends its sessions")
	})

	t.Run("T2BreakGlass", func(t *testing.T) {
		// T2: an operator asks for a role for at most the policy's hours,
		// with a reason; a second operator approves on the other instance;
		// the role counts from the next login until its end.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		ro := e.operator("rory", accessctl.RoleReadOnly)
		e.clock.Advance(8 * 24 * time.Hour) // F4: the approver's account is a week old
		asker := e.session(0, ro.Username)
		_, err := e.ops[0].RequestElevation(asker, accessctl.RoleManager, 5*time.Hour, "incident 99")
		require.ErrorIs(t, err, backoffice.ErrInvalid, "beyond the policy's 4 hours")
		ap, err := e.ops[0].RequestElevation(asker, accessctl.RoleManager, 2*time.Hour, "incident 99: payouts stuck")
		require.NoError(t, err)
		done, err := e.ops[1].Approve(e.session(1, "root"), ap.ID, ap.EffectDigest)
		require.NoError(t, err)
		require.Equal(t, accessctl.ApprovalDone, done.Status, done.Outcome)
		_, err = e.ops[0].Authenticate(ctx(), e.fullLogin(0, ro, racePassword, ""))
		require.NoError(t, err)
		a, _ := accessctl.ActorFrom(e.session(1, ro.Username))
		assert.True(t, a.Can(accessctl.PermEndUserDeactivate))
		assert.Equal(t, 1, e.actions(accessctl.TargetOperator, string(ro.ID), backoffice.ActionOperatorElevate))
		e.clock.Advance(2 * time.Hour)
		res, err := e.ops[1].StartSession(e.sys, ro.ID)
		require.NoError(t, err)
		after, err := e.ops[1].Authenticate(ctx(), res.Session)
		require.NoError(t, err)
		assert.False(t, after.Can(accessctl.PermEndUserDeactivate), "the elevation ended with no job running")
	})

	t.Run("V1AccessReview", func(t *testing.T) {
		// V1 (7.2.4): a campaign lists every operator with roles, account
		// access, last login and dormant flag; reviewers on either
		// instance certify or revoke each line; the closed campaign is
		// kept and exported as CSV; overdue campaigns are reported.
		t.Parallel()
		e := policyEnv(t, newStores, nil)
		keep, leaver := e.operator("keep", accessctl.RoleManager), e.operator("leaver", accessctl.RoleBasicEditor)
		e.clock.Advance(91 * 24 * time.Hour)
		r, err := e.ops[0].StartReview(e.rootCtx[0], "Q2 access review", e.clock.Now().Add(14*24*time.Hour))
		require.NoError(t, err)
		require.Len(t, r.Lines, 3)
		for _, l := range r.Lines {
			assert.NotEmpty(t, l.Roles)
			assert.True(t, l.Dormant, "%s: no login for 91 days", l.Operator)
		}
		_, err = e.ops[0].DecideReview(e.rootCtx[0], r.ID, keep.ID, accessctl.ReviewCertified, "still on the team")
		require.NoError(t, err)
		_, err = e.ops[1].DecideReview(e.rootCtx[1], r.ID, leaver.ID, accessctl.ReviewRevoked, "left the company")
		require.NoError(t, err)
		assert.Equal(t, accessctl.StatusDeactivated, e.get(leaver.ID).Status)
		e.clock.Advance(15 * 24 * time.Hour)
		rep, err := e.ops[1].ReviewStatus(e.rootCtx[1])
		require.NoError(t, err)
		require.Len(t, rep.Overdue, 1)
		reviewer := e.operator("reviewer", accessctl.RoleAdministrator)
		closed, err := e.ops[1].DecideReview(e.session(1, reviewer.Username), r.ID, e.root.ID, accessctl.ReviewCertified, "")
		require.NoError(t, err)
		assert.True(t, closed.Closed())
		rep, err = e.ops[0].ReviewStatus(e.rootCtx[0])
		require.NoError(t, err)
		assert.Empty(t, rep.Overdue)
		assert.False(t, rep.Due)

		var buf bytes.Buffer
		require.NoError(t, e.ops[0].WriteReviewCSV(e.rootCtx[0], r.ID, &buf))
		rows, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 4)
		decisions := map[string]string{}
		for _, row := range rows[1:] {
			decisions[row[1]] = row[11]
		}
		assert.Equal(t, map[string]string{string(e.root.ID): "certified", string(keep.ID): "certified", string(leaver.ID): "revoked"}, decisions)
	})
}
