package accessctl_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/accessctl/passkeytest"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/redis"
)

const (
	rpOrigin = "https://admin.acme.example"
	rpID     = "admin.acme.example"
)

// pkEnv is a tenant whose operators use passkeys, on two instances of the
// service over one set of stores, with a movable clock.
type pkEnv struct {
	t      *testing.T
	a, b   *accessctl.Service
	clock  *memorytest.Clock
	st     accessctl.Store
	att    accessctl.AttemptStore
	admin  *accessctl.Operator
	tenant backoffice.TenantID
}

var pkPrefixes atomic.Int64

// newPKEnv builds the two instances on memory, or on PostgreSQL with
// Redis for sessions, tokens (so ceremonies) and attempts.
func newPKEnv(t *testing.T, onPostgres bool, policy accessctl.Policy) *pkEnv {
	t.Helper()
	e := &pkEnv{t: t, clock: memorytest.NewClock(time.Now().UTC().Truncate(time.Second)), tenant: "acme"}
	cfg := accessctl.Config{Now: e.clock.Now, NewID: backoffice.NewIDs(e.clock.Now), Hasher: memorytest.Hasher(), Policy: policy,
		WebAuthn: accessctl.WebAuthnConfig{RPID: rpID, Origins: []string{rpOrigin}}}
	if onPostgres {
		db, err := sql.Open("postgres", testserver.Schema(t))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		_, err = postgres.Migrate(context.Background(), db, nil)
		require.NoError(t, err)
		pg, err := postgres.New(db, "postgres", nil)
		require.NoError(t, err)
		opt, err := goredis.ParseURL(testserver.RedisURL(t))
		require.NoError(t, err)
		rc := goredis.NewClient(opt)
		t.Cleanup(func() { rc.Close() })
		rs := redis.New(rc, &redis.Options{Prefix: fmt.Sprintf("pk%d-%d", time.Now().UnixNano(), pkPrefixes.Add(1))})
		cfg.Store, cfg.Sessions, cfg.Tokens, cfg.Attempts = pg, rs, rs, rs
		e.st, e.att = pg, rs
	} else {
		st := memory.New()
		cfg.Store, e.st, e.att = st, st, st
	}
	var err error
	e.a, err = accessctl.NewService(cfg)
	require.NoError(t, err)
	e.b, err = accessctl.NewService(cfg)
	require.NoError(t, err)
	e.admin, err = e.a.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: e.tenant, Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "Oot",
			Password: memorytest.AdminPassword, PasswordConfirmation: memorytest.AdminPassword}})
	require.NoError(t, err)
	return e
}

func (e *pkEnv) sys() context.Context {
	return accessctl.NewContext(context.Background(), accessctl.SystemActor(e.tenant, "test"))
}

func (e *pkEnv) operator(name string, roles ...accessctl.RoleName) *accessctl.Operator {
	e.t.Helper()
	o, err := e.a.CreateOperator(e.sys(), accessctl.NewOperator{Username: name, Email: name + "@acme.test", FirstName: name, LastName: "Op",
		Roles: roles, AllAccounts: true, Password: memorytest.AdminPassword, PasswordConfirmation: memorytest.AdminPassword})
	require.NoError(e.t, err)
	return o
}

// session is a request context of the operator, logged in now.
func (e *pkEnv) session(o *accessctl.Operator) context.Context {
	e.t.Helper()
	res, err := e.a.StartSession(e.sys(), o.ID)
	require.NoError(e.t, err)
	a, err := e.a.Authenticate(context.Background(), res.Session)
	require.NoError(e.t, err)
	return accessctl.NewContext(context.Background(), a)
}

// register adds a passkey from the authenticator to the operator.
func (e *pkEnv) register(o *accessctl.Operator, auth *passkeytest.Authenticator, name string) *accessctl.Passkey {
	e.t.Helper()
	ctx := e.session(o)
	c, err := e.a.BeginPasskeyRegistration(ctx)
	require.NoError(e.t, err)
	require.True(e.t, c.Registration)
	resp, _, err := auth.Create(c.Options, nil)
	require.NoError(e.t, err)
	p, err := e.b.FinishPasskeyRegistration(ctx, c.Ceremony, name, resp)
	require.NoError(e.t, err)
	return p
}

// passwordStep logs in with the password and returns its challenge.
func (e *pkEnv) passwordStep(o *accessctl.Operator) *accessctl.LoginResult {
	e.t.Helper()
	res, err := e.a.Login(context.Background(), e.tenant, o.Username, memorytest.AdminPassword)
	require.NoError(e.t, err)
	return res
}

func (e *pkEnv) failures(o *accessctl.Operator) int {
	e.t.Helper()
	run, err := e.att.Attempts(context.Background(), e.tenant, o.ID)
	require.NoError(e.t, err)
	return run.Failures
}

func (e *pkEnv) get(id accessctl.OperatorID) *accessctl.Operator {
	e.t.Helper()
	o, err := e.st.Operator(context.Background(), e.tenant, id)
	require.NoError(e.t, err)
	return o
}

func bothStores(t *testing.T, run func(t *testing.T, onPostgres bool)) {
	t.Run("Memory", func(t *testing.T) { run(t, false) })
	t.Run("PostgresAndRedis", func(t *testing.T) { run(t, true) })
}

// W1: an operator registers passkeys with a login of the last five
// minutes, names them, and sees when each was made and last used; the
// store keeps the public key and what the authenticator said, never a
// private key; a registration's answer is used once.
func TestPasskeyRegistration(t *testing.T) {
	bothStores(t, func(t *testing.T, onPostgres bool) {
		e := newPKEnv(t, onPostgres, accessctl.Policy{})
		o := e.operator("ann", accessctl.RoleManager)
		auth := passkeytest.New(rpOrigin)
		p := e.register(o, auth, "Work laptop")
		assert.Equal(t, "Work laptop", p.Name)
		assert.True(t, p.CreatedAt.Equal(e.clock.Now()))
		assert.True(t, p.LastUsedAt.IsZero())
		p2 := e.register(o, passkeytest.New(rpOrigin), "Phone") // another authenticator: the options exclude the first one's key
		got := e.get(o.ID)
		require.Len(t, got.Passkeys, 2)
		assert.Equal(t, base64.RawURLEncoding.EncodeToString(auth.Credentials[0].ID), got.Passkeys[0].ID)
		assert.NotEmpty(t, got.Passkeys[0].PublicKey)
		assert.Contains(t, got.Passkeys[0].Transports, "internal")
		assert.True(t, got.Passkeys[0].BackupEligible)
		assert.Equal(t, p2.ID, got.Passkeys[1].ID)
		hist, err := e.st.AuditEntries(context.Background(), e.tenant, accessctl.AuditQuery{TargetType: accessctl.TargetOperator, TargetID: string(o.ID)})
		require.NoError(t, err)
		assert.Equal(t, backoffice.ActionOperatorPasskeyAdd, hist[0].Action)

		// A login older than five minutes: log in again first.
		ctx := e.session(o)
		e.clock.Advance(accessctl.PasskeyRecentLogin + time.Second)
		_, err = e.a.BeginPasskeyRegistration(ctx)
		require.ErrorIs(t, err, backoffice.ErrForbidden)

		// The answer of a registration is used once.
		ctx = e.session(o)
		c, err := e.a.BeginPasskeyRegistration(ctx)
		require.NoError(t, err)
		resp, _, err := passkeytest.New(rpOrigin).Create(c.Options, nil)
		require.NoError(t, err)
		_, err = e.a.FinishPasskeyRegistration(ctx, c.Ceremony, "Key", resp)
		require.NoError(t, err)
		_, err = e.b.FinishPasskeyRegistration(ctx, c.Ceremony, "Again", resp)
		require.ErrorIs(t, err, backoffice.ErrInvalid)
		// Another operator's ceremony is not this one's.
		c, err = e.a.BeginPasskeyRegistration(ctx)
		require.NoError(t, err)
		resp, _, err = passkeytest.New(rpOrigin).Create(c.Options, nil)
		require.NoError(t, err)
		other := e.session(e.operator("bob", accessctl.RoleReadOnly))
		_, err = e.a.FinishPasskeyRegistration(other, c.Ceremony, "Stolen", resp)
		require.ErrorIs(t, err, backoffice.ErrInvalid)
		assert.Len(t, e.get(o.ID).Passkeys, 3)
		// A registration from another origin is refused.
		c, err = e.a.BeginPasskeyRegistration(ctx)
		require.NoError(t, err)
		resp, _, err = passkeytest.New("https://phish.example").Create(c.Options, nil)
		require.NoError(t, err)
		_, err = e.a.FinishPasskeyRegistration(ctx, c.Ceremony, "Phished", resp)
		require.ErrorIs(t, err, backoffice.ErrInvalid)
	})
}

// W2: a passkey as the second factor after the password, and alone
// (username-less) where the tenant allows; the passkey's last use and
// counter are recorded.
func TestPasskeySignIn(t *testing.T) {
	bothStores(t, func(t *testing.T, onPostgres bool) {
		e := newPKEnv(t, onPostgres, accessctl.Policy{})
		o := e.operator("ann", accessctl.RoleManager)
		auth := passkeytest.New(rpOrigin)
		e.register(o, auth, "Laptop")

		res := e.passwordStep(o)
		assert.True(t, res.Passkey, "the passkey step is offered")
		c, err := e.a.BeginPasskeyLogin(context.Background(), res.Challenge)
		require.NoError(t, err)
		assert.False(t, c.Registration)
		resp, err := auth.Get(c.Options, nil)
		require.NoError(t, err)
		e.clock.Advance(time.Minute)
		done, err := e.b.CompletePasskeyLogin(context.Background(), res.Challenge, c.Ceremony, "", resp)
		require.NoError(t, err)
		require.NotEmpty(t, done.Session)
		pk := e.get(o.ID).Passkeys[0]
		assert.True(t, pk.LastUsedAt.Equal(e.clock.Now()))
		assert.Equal(t, uint32(1), pk.SignCount)

		// Alone: refused until the tenant allows it.
		_, err = e.a.BeginPasskeySignIn(context.Background(), e.tenant)
		require.ErrorIs(t, err, backoffice.ErrFailedPrecondition)
		tn, err := e.a.Tenant(e.sys())
		require.NoError(t, err)
		_, err = e.a.ConfigureTenant(e.sys(), accessctl.TenantSettings{Version: tn.Version, WebAuthn: &accessctl.WebAuthnConfig{
			RPID: rpID, Origins: []string{rpOrigin}, Passwordless: true}})
		require.NoError(t, err)
		c, err = e.a.BeginPasskeySignIn(context.Background(), e.tenant)
		require.NoError(t, err)
		resp, err = auth.Get(c.Options, nil)
		require.NoError(t, err)
		done, err = e.b.FinishPasskeySignIn(context.Background(), c.Ceremony, resp)
		require.NoError(t, err)
		assert.Equal(t, o.ID, done.Operator)
		assert.Equal(t, uint32(2), e.get(o.ID).Passkeys[0].SignCount)
	})
}

// W3: an assertion for another operator or tenant, a replay, a wrong
// origin or relying party id, an expired ceremony and a counter that goes
// backwards are each the one login refusal and count toward the lockout;
// a cloned key is flagged and recorded, and stays refused.
func TestPasskeyRefusals(t *testing.T) {
	bothStores(t, func(t *testing.T, onPostgres bool) {
		e := newPKEnv(t, onPostgres, accessctl.Policy{})
		tn, err := e.a.Tenant(e.sys())
		require.NoError(t, err)
		_, err = e.a.ConfigureTenant(e.sys(), accessctl.TenantSettings{Version: tn.Version, WebAuthn: &accessctl.WebAuthnConfig{
			RPID: rpID, Origins: []string{rpOrigin}, Passwordless: true}})
		require.NoError(t, err)
		ann, bob := e.operator("ann", accessctl.RoleManager), e.operator("bob", accessctl.RoleManager)
		annKey, bobKey := passkeytest.New(rpOrigin), passkeytest.New(rpOrigin)
		e.register(ann, annKey, "Ann's")
		e.register(bob, bobKey, "Bob's")

		// The second factor, tampered with.
		mfa := func(o *accessctl.Operator, auth *passkeytest.Authenticator, tamper *passkeytest.Tamper, ttl time.Duration) error {
			res := e.passwordStep(o)
			c, err := e.a.BeginPasskeyLogin(context.Background(), res.Challenge)
			require.NoError(t, err)
			resp, err := auth.Get(c.Options, tamper)
			require.NoError(t, err)
			e.clock.Advance(ttl)
			_, err = e.b.CompletePasskeyLogin(context.Background(), res.Challenge, c.Ceremony, "", resp)
			return err
		}
		for name, err := range map[string]error{
			"wrong origin":  mfa(ann, annKey, &passkeytest.Tamper{Origin: "https://phish.example"}, 0),
			"wrong RP id":   mfa(ann, annKey, &passkeytest.Tamper{RPID: "phish.example"}, 0),
			"other's key":   mfa(ann, annKey, &passkeytest.Tamper{Credential: bobKey.Credentials[0]}, 0),
			"old challenge": mfa(bob, bobKey, &passkeytest.Tamper{Challenge: "AAAA"}, 0),
			// The ceremony and the login's challenge both expired: the
			// login is over, nothing was checked, nothing counted.
			"expired": mfa(bob, bobKey, nil, accessctl.PasskeyCeremonyTTL),
		} {
			require.ErrorIs(t, err, accessctl.ErrLoginRefused, name)
		}
		assert.Equal(t, 3, e.failures(ann), "each counts like a wrong code")
		assert.Equal(t, accessctl.StatusBlocked, e.get(ann.ID).Status, "three refusals block, as wrong codes do")
		assert.Equal(t, 1, e.failures(bob))

		// Alone: another operator's handle, another tenant's ceremony, a replay.
		carl := e.operator("carl", accessctl.RoleManager)
		carlKey := passkeytest.New(rpOrigin)
		e.register(carl, carlKey, "Carl's")
		alone := func(tenant backoffice.TenantID, tamper *passkeytest.Tamper) ([]byte, backoffice.Secret) {
			c, err := e.a.BeginPasskeySignIn(context.Background(), tenant)
			require.NoError(t, err)
			resp, err := carlKey.Get(c.Options, tamper)
			require.NoError(t, err)
			return resp, c.Ceremony
		}
		resp, cer := alone(e.tenant, &passkeytest.Tamper{UserHandle: []byte(bob.ID)})
		_, err = e.a.FinishPasskeySignIn(context.Background(), cer, resp)
		require.ErrorIs(t, err, accessctl.ErrLoginRefused, "Carl's key claiming Bob")
		assert.Equal(t, 2, e.failures(bob), "counted on the operator it claimed")
		resp, cer = alone(e.tenant, nil)
		_, err = e.a.FinishPasskeySignIn(context.Background(), cer, resp)
		require.NoError(t, err)
		_, err = e.b.FinishPasskeySignIn(context.Background(), cer, resp)
		require.ErrorIs(t, err, accessctl.ErrLoginRefused, "a replay, on the other instance")
		// Another tenant's ceremony.
		_, err = e.a.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "beta", Name: "Beta", Preset: accessctl.PresetDashboard,
			Admin: accessctl.NewOperator{Username: "boss", Email: "boss@beta.test", FirstName: "B", LastName: "B",
				Password: memorytest.AdminPassword, PasswordConfirmation: memorytest.AdminPassword}})
		require.NoError(t, err)
		bt, err := e.a.Tenant(accessctl.NewContext(context.Background(), accessctl.SystemActor("beta", "test")))
		require.NoError(t, err)
		_, err = e.a.ConfigureTenant(accessctl.NewContext(context.Background(), accessctl.SystemActor("beta", "test")),
			accessctl.TenantSettings{Version: bt.Version, WebAuthn: &accessctl.WebAuthnConfig{RPID: rpID, Origins: []string{rpOrigin}, Passwordless: true}})
		require.NoError(t, err)
		resp, cer = alone("beta", nil)
		_, err = e.a.FinishPasskeySignIn(context.Background(), cer, resp)
		require.ErrorIs(t, err, accessctl.ErrLoginRefused, "acme's operator with beta's ceremony")

		// A cloned key: its counter goes backwards.
		cloned := carlKey.Clone()
		resp, cer = alone(e.tenant, nil)
		_, err = e.a.FinishPasskeySignIn(context.Background(), cer, resp)
		require.NoError(t, err)
		c, err := e.a.BeginPasskeySignIn(context.Background(), e.tenant)
		require.NoError(t, err)
		resp, err = cloned.Get(c.Options, nil)
		require.NoError(t, err)
		_, err = e.a.FinishPasskeySignIn(context.Background(), c.Ceremony, resp)
		require.ErrorIs(t, err, accessctl.ErrLoginRefused)
		pk := e.get(carl.ID).Passkeys[0]
		assert.True(t, pk.Cloned, "flagged")
		hist, err := e.st.AuditEntries(context.Background(), e.tenant, accessctl.AuditQuery{TargetType: accessctl.TargetOperator, TargetID: string(carl.ID)})
		require.NoError(t, err)
		assert.Equal(t, backoffice.ActionOperatorPasskeyCloned, hist[0].Action, "and recorded")
		resp, cer = alone(e.tenant, nil)
		_, err = e.a.FinishPasskeySignIn(context.Background(), cer, resp)
		require.ErrorIs(t, err, accessctl.ErrLoginRefused, "a flagged key signs nothing in any more")
	})
}

// W2: two instances race one challenge: it is accepted once, and the
// other answer is the one refusal (counted, as a replay is: so a few
// rounds, below the lockout).
func TestPasskeyChallengeRace(t *testing.T) {
	bothStores(t, func(t *testing.T, onPostgres bool) {
		e := newPKEnv(t, onPostgres, accessctl.Policy{})
		o := e.operator("ann", accessctl.RoleManager)
		auth := passkeytest.New(rpOrigin)
		e.register(o, auth, "Laptop")
		for round := range 3 {
			res := e.passwordStep(o)
			c, err := e.a.BeginPasskeyLogin(context.Background(), res.Challenge)
			require.NoError(t, err)
			resp, err := auth.Get(c.Options, nil)
			require.NoError(t, err)
			var wins atomic.Int64
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, svc := range []*accessctl.Service{e.a, e.b} {
				wg.Go(func() {
					r, err := svc.CompletePasskeyLogin(context.Background(), res.Challenge, c.Ceremony, "", resp)
					errs[i] = err
					if err == nil && r.Session != "" {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			require.Equal(t, int64(1), wins.Load(), "round %d: %v", round, errs)
			assert.True(t, errors.Is(errs[0], accessctl.ErrLoginRefused) || errors.Is(errs[1], accessctl.ErrLoginRefused), "round %d: %v", round, errs)
			e.clock.Advance(time.Minute)
		}
	})
}

// W4: a tenant requires a passkey of everyone, or of Administrators: they
// cannot finish a login with TOTP, and one without a passkey enrols its
// first at the login; resetting MFA removes the passkeys and ends the
// sessions; an administrator lists an operator's passkeys and revokes one.
func TestPasskeyPolicy(t *testing.T) {
	bothStores(t, func(t *testing.T, onPostgres bool) {
		e := newPKEnv(t, onPostgres, accessctl.Policy{PhishingResistant: accessctl.PhishingResistantAdministrators})
		boss := e.operator("boss", accessctl.RoleAdministrator)
		clerk := e.operator("clerk", accessctl.RoleManager)

		// The Manager still logs in with TOTP.
		res := e.passwordStep(clerk)
		assert.False(t, res.PasskeyRequired)
		require.NotNil(t, res.Enrolment)

		// The Administrator may not.
		res = e.passwordStep(boss)
		assert.True(t, res.PasskeyRequired)
		assert.Nil(t, res.Enrolment, "no TOTP enrolment offered")
		_, err := e.a.CompleteLogin(context.Background(), res.Challenge, "123456")
		require.ErrorIs(t, err, accessctl.ErrPasskeyRequired)
		// It enrols a passkey at its login instead.
		res = e.passwordStep(boss)
		c, err := e.a.BeginPasskeyLogin(context.Background(), res.Challenge)
		require.NoError(t, err)
		require.True(t, c.Registration, "enrolment of a first passkey")
		auth := passkeytest.New(rpOrigin)
		resp, _, err := auth.Create(c.Options, nil)
		require.NoError(t, err)
		done, err := e.b.CompletePasskeyLogin(context.Background(), res.Challenge, c.Ceremony, "Boss's laptop", resp)
		require.NoError(t, err)
		require.NotEmpty(t, done.Session)
		require.Len(t, e.get(boss.ID).Passkeys, 1)
		// Next time with it.
		res = e.passwordStep(boss)
		c, err = e.a.BeginPasskeyLogin(context.Background(), res.Challenge)
		require.NoError(t, err)
		require.False(t, c.Registration)
		resp, err = auth.Get(c.Options, nil)
		require.NoError(t, err)
		done, err = e.a.CompletePasskeyLogin(context.Background(), res.Challenge, c.Ceremony, "", resp)
		require.NoError(t, err)

		// An administrator lists and revokes; a Manager may not touch
		// another's.
		rootCtx := e.session(e.admin)
		seen, err := e.a.Operator(rootCtx, boss.ID)
		require.NoError(t, err)
		require.Len(t, seen.Passkeys, 1)
		assert.Equal(t, "Boss's laptop", seen.Passkeys[0].Name)
		assert.False(t, seen.Passkeys[0].LastUsedAt.IsZero())
		require.ErrorIs(t, e.a.RevokePasskey(e.session(clerk), boss.ID, seen.Passkeys[0].ID), backoffice.ErrForbidden)

		// Reset MFA: passkeys gone, sessions ended.
		cur := e.get(boss.ID)
		_, err = e.a.ResetMFA(rootCtx, boss.ID, cur.Version)
		require.NoError(t, err)
		assert.Empty(t, e.get(boss.ID).Passkeys)
		_, err = e.a.Authenticate(context.Background(), done.Session)
		require.ErrorIs(t, err, backoffice.ErrUnauthenticated)

		// Revoke.
		p := e.register(clerk, passkeytest.New(rpOrigin), "Clerk's")
		require.NoError(t, e.a.RevokePasskey(rootCtx, clerk.ID, p.ID))
		assert.Empty(t, e.get(clerk.ID).Passkeys)
	})
}
