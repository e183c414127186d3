package accessctl_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

const (
	pw1 = backoffice.Secret("Sapphire-Lantern-71")
	pw2 = backoffice.Secret("Copper-Harbour-82!")
	pw3 = backoffice.Secret("Velvet-Compass-93?")
	pw4 = backoffice.Secret("Marble-Orchard-04#")
	pw5 = backoffice.Secret("Silver-Kestrel-15$")
)

// pciKit is a kit whose tenants run under PCIDSS4, changed by edit.
func pciKit(edit func(p *accessctl.Policy)) *memorytest.Kit {
	p := accessctl.PCIDSS4()
	if edit != nil {
		edit(&p)
	}
	return memorytest.New(&memorytest.Options{Policy: p})
}

// withPassword is an active operator holding the roles, with password pw.
func withPassword(t *testing.T, k *memorytest.Kit, pw backoffice.Secret, roles ...accessctl.RoleName) *accessctl.Operator {
	t.Helper()
	_, o := k.Operator(roles...)
	o, err := k.Ops.SetPassword(k.System(), o.ID, o.Version, pw, pw)
	require.NoError(t, err)
	return o
}

// fullLogin logs o in with its password and TOTP code, from addr, and
// returns the session token.
func fullLogin(t *testing.T, k *memorytest.Kit, o *accessctl.Operator, pw backoffice.Secret, addr string) backoffice.Secret {
	t.Helper()
	ctx := accessctl.WithClientAddr(context.Background(), addr)
	res, err := k.Ops.Login(ctx, k.Tenant, o.Username, pw)
	require.NoError(t, err)
	require.Empty(t, res.Session, "P4: a password alone opens no session when MFA is required")
	k.Clock.Advance(30 * time.Second) // a new TOTP step
	done, err := k.Ops.CompleteLogin(ctx, res.Challenge, k.Code(o.ID))
	require.NoError(t, err)
	require.NotEmpty(t, done.Session)
	return done.Session
}

// P1 (PCI DSS v4.0 8.2.8): a session idle for the policy's 15 minutes ends;
// use keeps it alive up to its absolute lifetime, which ends it anyway.
func TestPolicyP1IdleTimeoutAndLifetime(t *testing.T) {
	k := pciKit(nil)
	_, o := k.Operator(accessctl.RoleManager)
	res, err := k.Ops.StartSession(k.System(), o.ID)
	require.NoError(t, err)
	auth := func() error { _, err := k.Ops.Authenticate(context.Background(), res.Session); return err }

	k.Clock.Advance(14 * time.Minute)
	require.NoError(t, auth(), "14 minutes idle is within the limit")
	k.Clock.Advance(14 * time.Minute)
	require.NoError(t, auth(), "the request before recorded the session's use")
	k.Clock.Advance(15 * time.Minute)
	require.ErrorIs(t, auth(), backoffice.ErrUnauthenticated, "15 minutes idle ends the session")
	require.ErrorIs(t, auth(), backoffice.ErrUnauthenticated, "and it stays ended")

	// A session used every 10 minutes lives its 8 hours, not a minute more.
	res, err = k.Ops.StartSession(k.System(), o.ID)
	require.NoError(t, err)
	assert.True(t, res.ExpiresAt.Equal(k.Clock.Now().Add(8*time.Hour)))
	for range 47 {
		k.Clock.Advance(10 * time.Minute)
		require.NoError(t, auth())
	}
	k.Clock.Advance(10 * time.Minute)
	require.ErrorIs(t, auth(), backoffice.ErrUnauthenticated, "the absolute lifetime ends a busy session")

	// Without the policy, sessions have no idle limit.
	plain := memorytest.New(nil)
	_, p := plain.Operator(accessctl.RoleManager)
	r, err := plain.Ops.StartSession(plain.System(), p.ID)
	require.NoError(t, err)
	plain.Clock.Advance(11 * time.Hour)
	_, err = plain.Ops.Authenticate(context.Background(), r.Session)
	require.NoError(t, err)
}

// P2 (8.3.4): after a run of failures an operator is locked out until an
// operator manager unblocks it, however long that takes; the last
// Administrator, which cannot be blocked, is refused for the policy's 30
// minutes, not the service's 15.
func TestPolicyP2Lockout(t *testing.T) {
	k := pciKit(nil)
	o := withPassword(t, k, pw1, accessctl.RoleManager)
	for range 3 {
		_, err := k.Ops.Login(context.Background(), k.Tenant, o.Username, "wrong-password-123")
		require.ErrorIs(t, err, accessctl.ErrLoginRefused)
	}
	k.Clock.Advance(31 * time.Minute)
	_, err := k.Ops.Login(context.Background(), k.Tenant, o.Username, pw1)
	require.ErrorIs(t, err, accessctl.ErrLoginRefused, "still blocked after 31 minutes")
	cur, err := k.Ops.Operator(k.System(), o.ID)
	require.NoError(t, err)
	require.Equal(t, accessctl.StatusBlocked, cur.Status)
	_, err = k.Ops.UnblockOperator(k.System(), o.ID, cur.Version)
	require.NoError(t, err)
	_, err = k.Ops.Login(context.Background(), k.Tenant, o.Username, pw1)
	require.NoError(t, err, "an operator manager unblocked it")

	for range 3 {
		_, err := k.Ops.Login(context.Background(), k.Tenant, k.Admin.Username, "wrong-password-123")
		require.ErrorIs(t, err, accessctl.ErrLoginRefused)
	}
	k.Clock.Advance(29 * time.Minute)
	_, err = k.Ops.Login(context.Background(), k.Tenant, k.Admin.Username, memorytest.AdminPassword)
	require.ErrorIs(t, err, accessctl.ErrLoginRefused, "the last Administrator is refused for 30 minutes")
	k.Clock.Advance(time.Minute)
	_, err = k.Ops.Login(context.Background(), k.Tenant, k.Admin.Username, memorytest.AdminPassword)
	require.NoError(t, err)
}

// P3 (8.3.6, 8.3.7): a password shorter than the policy's minimum, or
// equal to one of the last four, is refused; only hashes are kept.
func TestPolicyP3PasswordLengthAndHistory(t *testing.T) {
	k := pciKit(func(p *accessctl.Policy) { p.MinPasswordLength = 16 })
	o := withPassword(t, k, pw1+"-extra", accessctl.RoleManager)
	_, err := k.Ops.SetPassword(k.System(), o.ID, o.Version, "Short-But-Ok-12", "Short-But-Ok-12")
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	assert.Contains(t, err.Error(), "at least 16 characters")

	k = pciKit(nil)
	o = withPassword(t, k, pw1, accessctl.RoleManager)
	set := func(pw backoffice.Secret) error {
		t.Helper()
		cur, err := k.Ops.Operator(k.System(), o.ID)
		require.NoError(t, err)
		_, err = k.Ops.SetPassword(k.System(), o.ID, cur.Version, pw, pw)
		return err
	}
	for _, pw := range []backoffice.Secret{pw2, pw3, pw4} {
		require.NoError(t, set(pw))
	}
	// The current password and the three before it are refused.
	for _, pw := range []backoffice.Secret{pw4, pw3, pw2, pw1} {
		err := set(pw)
		require.ErrorIs(t, err, backoffice.ErrInvalid, "reusing %s", pw)
		assert.Contains(t, err.Error(), "last 4 passwords")
	}
	require.NoError(t, set(pw5))
	require.NoError(t, set(pw1), "the fifth password back may come again")
	require.ErrorIs(t, set(pw3), backoffice.ErrInvalid, "pw1, pw5, pw4 and pw3 are the last four now")

	stored, err := k.Store.Operator(context.Background(), k.Tenant, o.ID)
	require.NoError(t, err)
	require.Len(t, stored.PasswordHistory, 3, "the current hash and three before it are kept")
	for _, h := range append(stored.PasswordHistory, stored.PasswordHash) {
		assert.True(t, strings.HasPrefix(string(h), "$argon2id$"), "only hashes are kept")
		for _, pw := range []backoffice.Secret{pw1, pw2, pw3, pw4, pw5} {
			assert.NotContains(t, string(h), string(pw))
		}
	}
	// A reset link is held to the same history.
	require.NoError(t, k.Ops.SendPasswordReset(k.System(), o.ID))
	n, ok := k.Outbox.LastOperatorNotice(o.Email, accessctl.NoticePasswordReset)
	require.True(t, ok)
	require.ErrorIs(t, k.Ops.ResetPassword(context.Background(), n.Token, pw5, pw5), backoffice.ErrInvalid)
	require.NoError(t, k.Ops.ResetPassword(context.Background(), n.Token, pw2, pw2), "the link stayed usable")
}

// P4 (8.4.2, 8.3.9): under MFA required an operator without MFA gets no
// session until it enrols; where MFA is optional, a password older than
// the policy's limit stops an operator without MFA until it sets another.
func TestPolicyP4MFAAndPasswordAge(t *testing.T) {
	k := pciKit(nil)
	o := withPassword(t, k, pw1, accessctl.RoleManager)
	res, err := k.Ops.Login(context.Background(), k.Tenant, o.Username, pw1)
	require.NoError(t, err)
	assert.Empty(t, res.Session)
	assert.NotNil(t, res.Enrolment, "the operator enrols before it gets a session")

	k = pciKit(func(p *accessctl.Policy) { p.MFA, p.DormantAfter = accessctl.MFAOptional, 0 })
	o = withPassword(t, k, pw1, accessctl.RoleManager)
	res, err = k.Ops.Login(context.Background(), k.Tenant, o.Username, pw1)
	require.NoError(t, err)
	require.NotEmpty(t, res.Session, "MFA optional: the password alone opens a session")
	k.Clock.Advance(91 * 24 * time.Hour)
	_, err = k.Ops.Login(context.Background(), k.Tenant, o.Username, "wrong-password-123")
	require.ErrorIs(t, err, accessctl.ErrLoginRefused, "a wrong password learns nothing of the age")
	_, err = k.Ops.Login(context.Background(), k.Tenant, o.Username, pw1)
	require.ErrorIs(t, err, accessctl.ErrPasswordExpired)
	cur, err := k.Ops.Operator(k.System(), o.ID)
	require.NoError(t, err)
	_, err = k.Ops.SetPassword(k.System(), o.ID, cur.Version, pw2, pw2)
	require.NoError(t, err)
	res, err = k.Ops.Login(context.Background(), k.Tenant, o.Username, pw2)
	require.NoError(t, err)
	assert.NotEmpty(t, res.Session)

	// An operator with MFA is not held to the age: it enrolled while the
	// tenant required MFA.
	k = pciKit(nil)
	m := withPassword(t, k, pw1, accessctl.RoleManager)
	fullLogin(t, k, m, pw1, "")
	optional := accessctl.PCIDSS4()
	optional.MFA, optional.DormantAfter = accessctl.MFAOptional, 0
	tn, err := k.Ops.Tenant(k.System())
	require.NoError(t, err)
	_, err = k.Ops.ConfigureTenant(k.System(), accessctl.TenantSettings{Version: tn.Version, Policy: &optional})
	require.NoError(t, err)
	k.Clock.Advance(91 * 24 * time.Hour)
	res, err = k.Ops.Login(context.Background(), k.Tenant, m.Username, pw1)
	require.NoError(t, err)
	assert.NotEmpty(t, res.Challenge)
}

// P5 (8.2.6, 10.2): a complete login records its time and source;
// operators idle for 90 days are listed for managers and blocked at their
// next login, right password or not.
func TestPolicyP5LastLoginAndDormancy(t *testing.T) {
	k := pciKit(nil)
	o := withPassword(t, k, pw1, accessctl.RoleManager)
	fresh := withPassword(t, k, pw2, accessctl.RoleReadOnly)
	fullLogin(t, k, o, pw1, "203.0.113.7")
	cur, err := k.Ops.Operator(k.System(), o.ID)
	require.NoError(t, err)
	assert.True(t, cur.LastLoginAt.Equal(k.Clock.Now()))
	assert.Equal(t, "203.0.113.7", cur.LastLoginFrom)
	hist, err := k.Ops.History(k.System(), o.ID, backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	assert.Contains(t, hist.Items[0].Changes, backoffice.Change{Field: "source", After: "203.0.113.7"})

	k.Clock.Advance(80 * 24 * time.Hour)
	fullLogin(t, k, fresh, pw2, "198.51.100.2")
	k.Clock.Advance(11 * 24 * time.Hour)
	dormant, err := k.Ops.DormantOperators(k.System())
	require.NoError(t, err)
	var ids []accessctl.OperatorID
	for _, d := range dormant {
		ids = append(ids, d.ID)
	}
	assert.Contains(t, ids, o.ID)
	assert.NotContains(t, ids, fresh.ID, "it logged in 11 days ago")

	_, err = k.Ops.Login(context.Background(), k.Tenant, o.Username, pw1)
	require.ErrorIs(t, err, accessctl.ErrLoginRefused)
	cur, err = k.Ops.Operator(k.System(), o.ID)
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusBlocked, cur.Status, "blocked at its next login")
	hist, err = k.Ops.History(k.System(), o.ID, backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, backoffice.ActionOperatorBlock, hist.Items[0].Action)
	assert.Contains(t, hist.Items[0].Changes[len(hist.Items[0].Changes)-1].After, "dormant")
}

// P1: a tenant takes a policy of its own, recorded field by field, and a
// bad one is refused with its fields named.
func TestTenantPolicy(t *testing.T) {
	k := memorytest.New(nil)
	sys := k.System()
	p, err := k.Ops.Policy(sys)
	require.NoError(t, err)
	assert.Zero(t, p.IdleTimeout, "no policy: the service's defaults")
	tn, err := k.Ops.Tenant(sys)
	require.NoError(t, err)
	bad := accessctl.PCIDSS4()
	bad.IdleTimeout, bad.PasswordHistory, bad.MFA = -time.Minute, 99, "sometimes"
	_, err = k.Ops.ConfigureTenant(sys, accessctl.TenantSettings{Version: tn.Version, Policy: &bad})
	var be *backoffice.Error
	require.ErrorAs(t, err, &be)
	assert.ElementsMatch(t, []string{"policy.idle_timeout", "policy.password_history", "policy.mfa"}, fieldsOf(be))

	pci := accessctl.PCIDSS4()
	tn, err = k.Ops.ConfigureTenant(sys, accessctl.TenantSettings{Version: tn.Version, Policy: &pci})
	require.NoError(t, err)
	p, err = k.Ops.Policy(sys)
	require.NoError(t, err)
	assert.Equal(t, accessctl.PCIDSS4(), p)
	hist, err := k.Ops.AuditLog(sys, accessctl.TargetTenant, string(k.Tenant), backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	assert.Contains(t, hist.Items[0].Changes, backoffice.Change{Field: "policy.idle_timeout", Before: "0", After: "900000000000"})

	_, err = accessctl.NewService(accessctl.Config{Store: k.Store, Policy: bad})
	require.ErrorIs(t, err, backoffice.ErrInvalid, "a host's bad default policy is refused at start")
}

func fieldsOf(e *backoffice.Error) []string {
	var out []string
	for _, v := range e.Fields {
		out = append(out, v.Field)
	}
	return out
}
