package accessctl_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/accessctl/password"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// A20: every refusal is the very same value, whatever its reason, so no
// caller can tell them apart by type, text or status.
func TestLoginRefusalIsOneValue(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	e.withPassword("dave", accessctl.RoleReadOnly)
	blocked := e.withPassword("bob", accessctl.RoleReadOnly)
	_, err := e.svc.BlockOperator(e.adminCtx, blocked.ID, blocked.Version)
	require.NoError(t, err)
	res, err := e.svc.Login(context.Background(), tenantID, "dave", pw)
	require.NoError(t, err)
	_, err = e.svc.CompleteLogin(context.Background(), res.Challenge, "000000")
	require.Same(t, accessctl.ErrLoginRefused, err, "a wrong code")
	_, err = e.svc.CompleteLogin(context.Background(), res.Challenge, "000000")
	require.Same(t, accessctl.ErrLoginRefused, err, "a spent challenge")
	_, err = e.svc.CompleteLogin(context.Background(), "not-a-challenge", "123456")
	require.Same(t, accessctl.ErrLoginRefused, err, "an unknown challenge")
	_, err = e.svc.Login(context.Background(), tenantID, "bob", pw)
	require.Same(t, accessctl.ErrLoginRefused, err, "blocked, right password")
	_, err = e.svc.Login(context.Background(), tenantID, "dave", "Wrong-Password-1")
	require.Same(t, accessctl.ErrLoginRefused, err, "a wrong password")
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated)
}

// A20: a right password does not end the run of failures; only a complete
// login does. Otherwise whoever holds the password could guess codes
// forever, clearing the count with the password between guesses.
func TestRightPasswordKeepsTheRun(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("carol", accessctl.RoleReadOnly)
	_, err := e.login("carol", pw)
	require.NoError(t, err)
	for range 2 {
		res, err := e.svc.Login(context.Background(), tenantID, "carol", pw)
		require.NoError(t, err)
		_, err = e.svc.CompleteLogin(context.Background(), res.Challenge, "000000")
		require.Same(t, accessctl.ErrLoginRefused, err)
	}
	res, err := e.svc.Login(context.Background(), tenantID, "carol", pw)
	require.NoError(t, err, "a right password still opens a challenge")
	_, err = e.svc.CompleteLogin(context.Background(), res.Challenge, "000000")
	require.Same(t, accessctl.ErrLoginRefused, err)
	assert.Equal(t, accessctl.StatusBlocked, e.get(o.ID).Status, "the third wrong code in a row blocks")
}

// A20: a code check reserves an attempt like a password check: with the
// run full, a right code on a live challenge is refused unchecked.
func TestCodeCheckReservesAnAttempt(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	// The last Administrator is never blocked (A15), so its full run is
	// what refuses it.
	res, err := e.svc.Login(context.Background(), tenantID, "root", adminPassword)
	require.NoError(t, err)
	for range 3 {
		_, err := e.svc.Login(context.Background(), tenantID, "root", "Wrong-Password-1")
		require.Same(t, accessctl.ErrLoginRefused, err)
	}
	e.clock.Advance(31 * time.Second)
	code, err := accessctl.TOTPCode(e.get(e.admin.ID).MFASecret, e.clock.Now())
	require.NoError(t, err)
	_, err = e.svc.CompleteLogin(context.Background(), res.Challenge, code)
	require.Same(t, accessctl.ErrLoginRefused, err, "no attempt left, so the right code is not even checked")
	assert.Equal(t, accessctl.StatusActive, e.get(e.admin.ID).Status)
	assert.Zero(t, e.get(e.admin.ID).MFALastStep, "the code was not used")
}

// settleFails is an attempt store whose settlements fail a number of
// times before they reach it, as in the moments of a failover.
type settleFails struct {
	accessctl.AttemptStore
	left atomic.Int32
}

func (s *settleFails) SettleAttempt(ctx context.Context, tenant backoffice.TenantID, id accessctl.OperatorID, now time.Time, out accessctl.AttemptOutcome) (accessctl.Attempts, error) {
	if s.left.Add(-1) >= 0 {
		return accessctl.Attempts{}, errDown
	}
	return s.AttemptStore.SettleAttempt(ctx, tenant, id, now, out)
}

// A7, C1: the attacker's guesses count even when the store fails to
// settle them for a moment: a settlement is tried again, so no checked
// guess is left to lapse with its reservation. The third wrong password
// blocks, though each guess's settlement failed twice first.
func TestFailedGuessesCountThroughStoreHiccups(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("mallory", accessctl.RoleReadOnly)
	flaky := &settleFails{AttemptStore: e.store}
	var reported atomic.Int32
	svc, err := accessctl.NewService(accessctl.Config{Store: e.store, Attempts: flaky, Now: e.clock.Now, Hasher: sharedHasher(),
		ReportError: func(context.Context, error) { reported.Add(1) }})
	require.NoError(t, err)
	for i := range 3 {
		flaky.left.Store(2)
		_, err := svc.Login(context.Background(), tenantID, "mallory", "Wrong-Password-1")
		require.Same(t, accessctl.ErrLoginRefused, err)
		att, err := e.store.Attempts(context.Background(), tenantID, o.ID)
		require.NoError(t, err)
		assert.Equal(t, i+1, att.Failures, "guess %d counted", i+1)
		assert.Zero(t, att.Pending, "no reservation left to lapse")
	}
	assert.Equal(t, accessctl.StatusBlocked, e.get(o.ID).Status)
	assert.Zero(t, reported.Load(), "a settlement that got through is no failure to report")
	_, err = svc.Login(context.Background(), tenantID, "mallory", pw)
	require.Same(t, accessctl.ErrLoginRefused, err, "blocked, even with the right password")
}

// failingAttempts is an attempt store that cannot be reached.
type failingAttempts struct{ accessctl.AttemptStore }

var errDown = backoffice.NewError(backoffice.ErrUnavailable, "test: attempts", "the store is down")

func (failingAttempts) ReserveAttempt(context.Context, backoffice.TenantID, accessctl.OperatorID, time.Time, accessctl.AttemptLimit) (bool, error) {
	return false, errDown
}

// A20, X3: a store failure during login reaches the caller as the one
// refusal, never as its own text, and is reported to the host.
func TestLoginHidesStoreFailures(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	var reported []error
	var mu sync.Mutex
	svc, err := accessctl.NewService(accessctl.Config{Store: e.store, Attempts: failingAttempts{e.store}, Now: e.clock.Now,
		Hasher: sharedHasher(), ReportError: func(_ context.Context, err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }})
	require.NoError(t, err)
	_, err = svc.Login(context.Background(), tenantID, "root", adminPassword)
	require.Same(t, accessctl.ErrLoginRefused, err)
	assert.NotContains(t, err.Error(), "down")
	require.Len(t, reported, 1)
	assert.ErrorIs(t, reported[0], errDown)
}

// conflictOnce makes the first write of an operator fail with a conflict,
// as when another instance changed it between the read and the write.
type conflictOnce struct {
	*memory.Store
	done atomic.Bool
}

func (c *conflictOnce) UpdateOperator(ctx context.Context, o *accessctl.Operator, v int64, g accessctl.Guard, e backoffice.AuditEntry) error {
	if !c.done.Swap(true) {
		cur, err := c.Store.Operator(ctx, o.Tenant, o.ID)
		if err != nil {
			return err
		}
		cur.UpdatedAt = cur.UpdatedAt.Add(time.Microsecond) // someone else's edit
		if err := c.Store.UpdateOperator(ctx, cur, cur.Version, accessctl.Guard{}, backoffice.AuditEntry{ID: "other-" + string(o.ID), Tenant: o.Tenant}); err != nil {
			return err
		}
		return backoffice.NewError(backoffice.ErrConflict, "test", "changed")
	}
	return c.Store.UpdateOperator(ctx, o, v, g, e)
}

// A20: the bookkeeping of a right password (creating the MFA secret) and
// of a right code (storing its step) is retried over a concurrent change;
// it never turns a right answer into a refusal or a conflict.
func TestBookkeepingRetriesConflicts(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("erin", accessctl.RoleReadOnly)
	st := &conflictOnce{Store: e.store}
	svc, err := accessctl.NewService(accessctl.Config{Store: st, Now: e.clock.Now, NewID: e.ids.NewID, Hasher: sharedHasher(),
		ReportError: func(_ context.Context, err error) { t.Errorf("reported: %v", err) }})
	require.NoError(t, err)
	res, err := svc.Login(context.Background(), tenantID, "erin", pw)
	require.NoError(t, err, "a conflict on creating the MFA secret is retried")
	require.NotNil(t, res.Enrolment)
	assert.Equal(t, res.Enrolment.Secret, e.get(o.ID).MFASecret)
	st.done.Store(false)
	e.clock.Advance(31 * time.Second)
	code, err := accessctl.TOTPCode(res.Enrolment.Secret, e.clock.Now())
	require.NoError(t, err)
	done, err := svc.CompleteLogin(context.Background(), res.Challenge, code)
	require.NoError(t, err, "a conflict on storing the code's step is retried")
	require.NotEmpty(t, done.Session)
	assert.True(t, e.get(o.ID).MFAEnrolled)
}

// A20: many right-password logins of one not-yet-enrolled operator at once
// (the case that answered 409 with store text) all get a challenge with
// one and the same MFA secret.
func TestConcurrentFirstLogins(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	o := e.withPassword("fred", accessctl.RoleReadOnly)
	var wg sync.WaitGroup
	secrets := make([]backoffice.Secret, 3) // three fit in one run
	errs := make([]error, 3)
	for i := range secrets {
		wg.Go(func() {
			res, err := e.svc.Login(context.Background(), tenantID, "fred", pw)
			errs[i] = err
			if err == nil {
				secrets[i] = res.Enrolment.Secret
			}
		})
	}
	wg.Wait()
	for i := range secrets {
		require.NoError(t, errs[i])
		assert.Equal(t, e.get(o.ID).MFASecret, secrets[i])
	}
}

// A13: an operator cannot reactivate or unblock itself, whatever its role.
func TestNoSelfReactivation(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	_, err := e.svc.ReactivateOperator(e.adminCtx, e.admin.ID, e.get(e.admin.ID).Version)
	requireKind(t, err, backoffice.ErrForbidden)
	_, err = e.svc.UnblockOperator(e.adminCtx, e.admin.ID, e.get(e.admin.ID).Version)
	requireKind(t, err, backoffice.ErrForbidden)
}

// A20, A9: a flood of refusals that need no hash (unknown usernames, a
// blocked operator) does not hold up a real login: it completes within
// twice its idle time, measured in the same run. The refusals wait as long
// as a hash takes, without taking a hashing slot. Each side is the best of
// seven logins, which other work on the machine cannot make look better.
func TestFloodOfRefusalsLeavesRealLoginsFast(t *testing.T) {
	f := newFlood(t)
	f.login() // warm up
	idle := f.best(7)
	stop, refused := f.start(200)
	verifies := f.hasher.Stats().Verifies
	flooded := f.best(7)
	floodVerifies := f.hasher.Stats().Verifies - verifies
	stop()
	t.Logf("idle %v, under a flood of 200: %v (ratio %.2f), %d refusals", idle, flooded, float64(flooded)/float64(idle), refused.Load())
	assert.Positive(t, refused.Load())
	assert.Equal(t, int64(7), floodVerifies, "only the real logins hashed during the flood")
	assert.Less(t, flooded, 2*idle, "a real login under the flood takes under twice its idle time")
}

// flood is a service with a hasher of its own, sized like a small host's
// (2 slots, so that a flood would fill them if refusals hashed), a tenant
// whose root logs in for real, and a blocked operator.
type flood struct {
	t      testing.TB
	svc    *accessctl.Service
	hasher *password.Hasher
}

func newFlood(t testing.TB) *flood {
	h, err := password.NewHasher(password.Params{}, 2)
	require.NoError(t, err)
	clk := memorytest.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	svc, err := accessctl.NewService(accessctl.Config{Store: memory.New(), Now: clk.Now, Hasher: h})
	require.NoError(t, err)
	bootstrap(t, svc, accessctl.PresetDashboard)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor(tenantID, "test"))
	b, err := svc.CreateOperator(sys, accessctl.NewOperator{Username: "blocked", Email: "b@acme.test", FirstName: "B", LastName: "B",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
	require.NoError(t, err)
	_, err = svc.BlockOperator(sys, b.ID, b.Version)
	require.NoError(t, err)
	return &flood{t: t, svc: svc, hasher: h}
}

// login is a real password step, timed.
func (f *flood) login() time.Duration {
	start := time.Now()
	_, err := f.svc.Login(context.Background(), tenantID, "root", adminPassword)
	require.NoError(f.t, err)
	return time.Since(start)
}

func (f *flood) best(n int) time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = f.login()
	}
	return slices.Min(d)
}

// start runs n wrong logins in a loop, half for unknown usernames and half
// for the blocked operator, and returns once each was refused once.
func (f *flood) start(n int) (stop func(), refused *atomic.Int64) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg, running sync.WaitGroup
	refused = &atomic.Int64{}
	running.Add(n)
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("nobody-%d", i)
			if i%2 == 0 {
				name = "blocked"
			}
			for k := 0; ctx.Err() == nil; k++ {
				_, err := f.svc.Login(ctx, tenantID, name, "Wrong-Password-1")
				if errors.Is(err, accessctl.ErrLoginRefused) {
					refused.Add(1)
				}
				if k == 0 {
					running.Done()
				}
			}
		})
	}
	running.Wait()
	return func() { cancel(); wg.Wait() }, refused
}

// BenchmarkLoginUnderFlood times a real password step idle and while 200
// wrong logins for unknown and blocked usernames run at once (A20).
func BenchmarkLoginUnderFlood(b *testing.B) {
	f := newFlood(b)
	b.Run("Idle", func(b *testing.B) {
		for b.Loop() {
			f.login()
		}
	})
	b.Run("Flood200", func(b *testing.B) {
		stop, _ := f.start(200)
		defer stop()
		for b.Loop() {
			f.login()
		}
	})
}

// A7, A11: a link is spent before its change is written, so a concurrent
// edit of the operator in between is re-read and the change applied again
// rather than losing the user's action with its link.
func TestLinkWriteRetriesConflicts(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	invited, err := e.svc.InviteOperator(e.adminCtx, newOp("ivy", accessctl.RoleReadOnly))
	require.NoError(t, err)
	n, ok := e.rec.LastOperatorNotice(invited.Email, accessctl.NoticeInvitation)
	require.True(t, ok)
	st := &conflictOnce{Store: e.store}
	svc, err := accessctl.NewService(accessctl.Config{Store: st, Now: e.clock.Now, NewID: e.ids.NewID, Hasher: sharedHasher()})
	require.NoError(t, err)
	res, err := svc.AcceptInvitation(context.Background(), n.Token, pw, pw)
	require.NoError(t, err)
	require.NotNil(t, res.Enrolment)
	got := e.get(invited.ID)
	assert.Equal(t, accessctl.StatusActive, got.Status)
	assert.Equal(t, res.Enrolment.Secret, got.MFASecret)
}

// A9, A20: a login for an unknown username takes about as long as one for
// a real operator, but waits instead of hashing, so that a flood of them
// leaves the hashing slots to logins that may succeed.
func TestUnknownUserWaitsWithoutHashing(t *testing.T) {
	h, err := password.NewHasher(password.Params{}, 0)
	require.NoError(t, err)
	st := &fakeTenantStore{}
	s, err := accessctl.NewService(accessctl.Config{Store: st, Hasher: h})
	require.NoError(t, err)
	typical := h.Stats().Typical
	require.Positive(t, typical)
	start := time.Now()
	_, err = s.Login(context.Background(), "acme", "nobody", "Zebra-Crossing-77")
	took := time.Since(start)
	require.Same(t, accessctl.ErrLoginRefused, err)
	assert.Zero(t, h.Stats().Verifies, "no argon2id run for an unknown user")
	assert.GreaterOrEqual(t, took, typical, "the refusal waits as long as a check")
}

// fakeTenantStore knows one tenant with no operators; everything else is
// the zero Store, unused by the test.
type fakeTenantStore struct{ accessctl.Store }

func (fakeTenantStore) Tenant(context.Context, backoffice.TenantID) (*accessctl.Tenant, error) {
	return &accessctl.Tenant{ID: "acme", Preset: accessctl.PresetDashboard}, nil
}

func (fakeTenantStore) OperatorByLogin(context.Context, backoffice.TenantID, string) (*accessctl.Operator, error) {
	return nil, backoffice.NewError(backoffice.ErrNotFound, "test", "")
}
