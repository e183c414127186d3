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
	"github.com/backoffice-go/backoffice/accessctl/password"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// The tests of this file run the services, two instances of each over one
// set of stores, the way two processes of a host share a database: every
// check-then-act of the services must hold when the check and the act of
// two requests interleave (A20). Concerns the adapter does not implement
// come from one shared memory store.

const (
	racePassword = backoffice.Secret("Correct-Horse-42")
	raceTenant   = backoffice.TenantID("acme")
	maxFailures  = 3
)

// accessStore assembles an accessctl.Store from the stores under test.
type accessStore struct {
	accessctl.TenantStore
	accessctl.OperatorStore
	accessctl.RoleStore
	accessctl.AuditStore
	accessctl.SessionStore
	accessctl.TokenStore
	accessctl.AttemptStore
	accessctl.ApprovalStore
	accessctl.ReviewStore
	accessctl.OnceStore
}

// countingAttempts counts the reservations granted, each of which allows
// one password or code check, and the failures settled, each of which is
// one wrong password or code checked.
type countingAttempts struct {
	accessctl.AttemptStore
	granted, failed atomic.Int64
}

func (c *countingAttempts) SettleAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, o accessctl.AttemptOutcome) (accessctl.Attempts, error) {
	a, err := c.AttemptStore.SettleAttempt(ctx, tenant, op, at, o)
	if err == nil && o == accessctl.AttemptFailed {
		c.failed.Add(1)
	}
	return a, err
}

func (c *countingAttempts) ReserveAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, l accessctl.AttemptLimit) (bool, error) {
	ok, err := c.AttemptStore.ReserveAttempt(ctx, tenant, op, at, l)
	if ok {
		c.granted.Add(1)
	}
	return ok, err
}

// raceEnv is two instances of every service over one set of stores.
type raceEnv struct {
	t        *testing.T
	st       Stores
	attempts *countingAttempts
	rec      *memorytest.Recorder
	clock    *memorytest.Clock
	hashers  [2]*password.Hasher
	ops      [2]*accessctl.Service
	users    [2]*enduser.Service   // nil when the adapter keeps no end users
	devices  [2]*scadevice.Service // nil when it keeps no devices
	sys      context.Context       // the system actor of the tenant
	root     *accessctl.Operator   // the first Administrator
	rootCtx  [2]context.Context    // root's session on each instance
}

func newRaceEnv(t *testing.T, newStores func(*testing.T) Stores) *raceEnv {
	t.Helper()
	st := newStores(t)
	mem := memory.New()
	if st.Tenants == nil {
		st.Tenants = mem
	}
	if st.Operators == nil {
		st.Operators = mem
	}
	if st.Roles == nil {
		st.Roles = mem
	}
	if st.Audit == nil {
		st.Audit = mem
	}
	if st.Approvals == nil {
		st.Approvals = mem
	}
	if st.Reviews == nil {
		st.Reviews = mem
	}
	e := &raceEnv{t: t, st: st, attempts: &countingAttempts{AttemptStore: st.Attempts}, rec: &memorytest.Recorder{},
		clock: memorytest.NewClock(time.Now().UTC().Truncate(time.Second))}
	store := accessStore{st.Tenants, st.Operators, st.Roles, st.Audit, st.Sessions, st.Tokens, e.attempts, st.Approvals, st.Reviews, st.Once}
	for i := range 2 {
		h, err := password.NewHasher(password.Params{}, 0)
		require.NoError(t, err)
		e.hashers[i] = h
		e.ops[i], err = accessctl.NewService(accessctl.Config{Store: store, Notifier: e.rec, Now: e.clock.Now, Hasher: h,
			MaxFailures: maxFailures, ReportError: func(_ context.Context, err error) { t.Errorf("reported: %v", err) }})
		require.NoError(t, err)
		if st.EndUsers != nil {
			e.users[i], err = enduser.NewService(enduser.Config{Store: st.EndUsers, Tenants: st.Tenants, Now: e.clock.Now, Approvals: e.ops[i],
				Balances: enduser.BalancesFunc(func(context.Context, *enduser.EndUser) ([]enduser.Balance, error) { return nil, nil })})
			require.NoError(t, err)
		}
		if st.Devices != nil && st.EndUsers != nil {
			e.devices[i], err = scadevice.NewService(scadevice.Config{Store: st.Devices, Users: st.EndUsers, Now: e.clock.Now, Approvals: e.ops[i]})
			require.NoError(t, err)
		}
	}
	var err error
	e.root, err = e.ops[0].Bootstrap(ctx(), accessctl.BootstrapInput{Tenant: raceTenant, Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R",
			Password: racePassword, PasswordConfirmation: racePassword}})
	require.NoError(t, err)
	e.sys = accessctl.NewContext(ctx(), accessctl.SystemActor(raceTenant, "test"))
	e.rootCtx[0] = e.session(0, "root")
	e.rootCtx[1] = e.session(1, "root")
	return e
}

// operator creates an active operator with racePassword and the roles.
func (e *raceEnv) operator(name string, roles ...accessctl.RoleName) *accessctl.Operator {
	e.t.Helper()
	o, err := e.ops[0].CreateOperator(e.sys, accessctl.NewOperator{Username: name, Email: name + "@acme.test", FirstName: "F",
		LastName: "L", Roles: roles, AllAccounts: true, Password: racePassword, PasswordConfirmation: racePassword})
	require.NoError(e.t, err)
	return o
}

func (e *raceEnv) get(id accessctl.OperatorID) *accessctl.Operator {
	e.t.Helper()
	o, err := e.st.Operators.Operator(ctx(), raceTenant, id)
	require.NoError(e.t, err)
	return o
}

// code is the operator's TOTP code now, from its stored secret.
func (e *raceEnv) code(id accessctl.OperatorID) string {
	e.t.Helper()
	c, err := accessctl.TOTPCode(e.get(id).MFASecret, e.clock.Now())
	require.NoError(e.t, err)
	return c
}

// step moves the clock to the next TOTP step, so that a new code is due.
func (e *raceEnv) step() { e.clock.Advance(30 * time.Second) }

// session logs the operator in on instance i, password then code, and
// returns a request context carrying its actor, as a host builds one.
func (e *raceEnv) session(i int, login string) context.Context {
	e.t.Helper()
	res, err := e.ops[i].Login(ctx(), raceTenant, login, racePassword)
	require.NoError(e.t, err)
	e.step()
	done, err := e.ops[i].CompleteLogin(ctx(), res.Challenge, e.code(res.Operator))
	require.NoError(e.t, err)
	a, err := e.ops[i].Authenticate(ctx(), done.Session)
	require.NoError(e.t, err)
	return accessctl.NewContext(ctx(), a)
}

// actions counts the audit entries of an action about a target.
func (e *raceEnv) actions(typ, id string, action backoffice.Action) int {
	e.t.Helper()
	es, err := e.st.Audit.AuditEntries(ctx(), raceTenant, accessctl.AuditQuery{TargetType: typ, TargetID: id, Limit: 1000})
	require.NoError(e.t, err)
	n := 0
	for _, x := range es {
		if x.Action == action {
			n++
		}
	}
	return n
}

// verifies is how many passwords both instances have checked.
func (e *raceEnv) verifies() int64 {
	return e.hashers[0].Stats().Verifies + e.hashers[1].Stats().Verifies
}

// together runs n calls at once, alternating the instance, and returns
// their errors by index.
func together(n int, call func(i, instance int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = call(i, i%2)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// succeeded counts the nil errors and requires every other one to be one
// of the kinds given: a race may lose, but never with an untyped error.
func succeeded(t *testing.T, errs []error, kinds ...error) int {
	t.Helper()
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
			continue
		}
		typed := false
		for _, k := range kinds {
			typed = typed || errors.Is(err, k)
		}
		assert.True(t, typed, "unexpected error: %v", err)
	}
	return n
}

// once checks that of concurrent calls on one record exactly one
// succeeded, the others losing with one of the kinds, and that one audit
// entry records the action.
func (e *raceEnv) once(t *testing.T, errs []error, typ, id string, action backoffice.Action, kinds ...error) {
	t.Helper()
	assert.Equal(t, 1, succeeded(t, errs, kinds...), "one call succeeds: %v", errs)
	assert.Equal(t, 1, e.actions(typ, id, action), "one %s entry", action)
}

// attack is what a burst of guesses at one operator did.
type attack struct {
	checked int64 // passwords hashed, or codes checked
	failed  int64 // wrong guesses checked
	blocked bool
}

// requireContained checks the outcome of a burst of guesses (A20): no more
// than MaxFailures wrong guesses checked, nothing checked beyond those and
// the right one, and the operator blocked exactly when its run filled.
func (e *raceEnv) requireContained(t *testing.T, a attack) {
	t.Helper()
	assert.LessOrEqual(t, a.failed, int64(maxFailures), "wrong guesses checked")
	assert.GreaterOrEqual(t, a.checked, a.failed)
	assert.LessOrEqual(t, a.checked, a.failed+1, "nothing checked but the wrong guesses and the right one")
	assert.Equal(t, a.failed == maxFailures, a.blocked, "blocked exactly when the run filled (%d wrong checked)", a.failed)
}

func testRaces(t *testing.T, newStores func(*testing.T) Stores, endUsers bool) {
	t.Run("LoginUnderAttack", func(t *testing.T) {
		// A20, A9: 50 simultaneous guesses at one operator, one of them
		// right, from two instances: at most MaxFailures wrong passwords are
		// checked, every refusal is the same value, and the run that fills
		// blocks the operator, once.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		for trial, tc := range []struct {
			enrolled bool
			right    int
		}{{true, 0}, {false, 0}, {true, 49}, {false, 25}} {
			t.Run(fmt.Sprintf("Trial%d", trial), func(t *testing.T) {
				victim := e.operator(fmt.Sprintf("victim%d", trial), accessctl.RoleReadOnly)
				if tc.enrolled {
					e.session(trial%2, victim.Username)
				}
				before, failedBefore := e.verifies(), e.attempts.failed.Load()
				results := make([]*accessctl.LoginResult, 50)
				errs := together(50, func(i, inst int) error {
					guess := backoffice.Secret(fmt.Sprintf("Wrong-Guess-%02d", i))
					if i == tc.right {
						guess = racePassword
					}
					var err error
					results[i], err = e.ops[inst].Login(ctx(), raceTenant, victim.Username, guess)
					return err
				})
				rightIn := errs[tc.right] == nil
				for i, err := range errs {
					if i == tc.right && rightIn {
						require.NotEmpty(t, results[i].Challenge)
						if !tc.enrolled {
							require.NotNil(t, results[i].Enrolment, "a first login gets its MFA enrolment")
							assert.Equal(t, e.get(victim.ID).MFASecret, results[i].Enrolment.Secret)
						}
						continue
					}
					require.Same(t, accessctl.ErrLoginRefused, err, "guess %d", i)
					require.Nil(t, results[i])
				}
				wrong := e.attempts.failed.Load() - failedBefore
				blocked := e.get(victim.ID).Status == accessctl.StatusBlocked
				e.requireContained(t, attack{checked: e.verifies() - before, failed: wrong, blocked: blocked})
				if !rightIn {
					assert.Equal(t, int64(maxFailures), wrong, "a run that never saw the right guess fills")
				}
				want := 0
				if blocked {
					want = 1
				}
				assert.Equal(t, want, e.actions(accessctl.TargetOperator, string(victim.ID), "operator.block"), "the block is decided once")
				if !blocked {
					// The run holds the failures; the next wrong guess fills it.
					_, err := e.ops[1].Login(ctx(), raceTenant, victim.Username, "Wrong-Guess-99")
					require.Same(t, accessctl.ErrLoginRefused, err)
					if wrong == maxFailures-1 {
						assert.Equal(t, accessctl.StatusBlocked, e.get(victim.ID).Status)
					}
				}
			})
		}
	})
	t.Run("CodesUnderAttack", func(t *testing.T) {
		// A20, A10: 50 TOTP codes sent at once on 50 challenges of one
		// operator: at most MaxFailures codes are checked. (Each challenge
		// voids the ones before it, so only the newest can even reach a
		// check; the reservation bounds the checks whatever the challenges.)
		t.Parallel()
		e := newRaceEnv(t, newStores)
		victim := e.operator("victim", accessctl.RoleReadOnly)
		e.session(0, victim.Username)
		challenges := make([]backoffice.Secret, 50)
		var wg sync.WaitGroup
		for w := range 2 { // two at a time never fill a run of three
			wg.Go(func() {
				for i := w; i < 50; i += 2 {
					res, err := e.ops[w].Login(ctx(), raceTenant, victim.Username, racePassword)
					if assert.NoError(t, err) {
						challenges[i] = res.Challenge
					}
				}
			})
		}
		wg.Wait()
		e.step()
		right := e.code(victim.ID)
		due := map[string]bool{right: true}
		for _, d := range []time.Duration{-30 * time.Second, 30 * time.Second} {
			c, err := accessctl.TOTPCode(e.get(victim.ID).MFASecret, e.clock.Now().Add(d))
			require.NoError(t, err)
			due[c] = true
		}
		const rightAt = 49 // the live challenge
		before, failedBefore := e.attempts.granted.Load(), e.attempts.failed.Load()
		sessions := make([]*accessctl.LoginResult, 50)
		errs := together(50, func(i, inst int) error {
			code := right
			if i != rightAt {
				for n := i; ; n += 50 {
					if code = fmt.Sprintf("%06d", 100000+n*7919%900000); !due[code] {
						break
					}
				}
			}
			var err error
			sessions[i], err = e.ops[inst].CompleteLogin(ctx(), challenges[i], code)
			return err
		})
		rightIn := errs[rightAt] == nil
		for i, err := range errs {
			if i == rightAt && rightIn {
				require.NotEmpty(t, sessions[i].Session)
				continue
			}
			require.Same(t, accessctl.ErrLoginRefused, err, "code %d", i)
		}
		e.requireContained(t, attack{checked: e.attempts.granted.Load() - before, failed: e.attempts.failed.Load() - failedBefore,
			blocked: e.get(victim.ID).Status == accessctl.StatusBlocked})
	})
	t.Run("CodeReplay", func(t *testing.T) {
		// A20, A10: one code presented on two challenges at once opens one
		// session; the other is refused.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		for trial := range 3 {
			victim := e.operator(fmt.Sprintf("victim%d", trial), accessctl.RoleReadOnly)
			e.session(0, victim.Username)
			var challenges [2]backoffice.Secret
			for i := range 2 {
				res, err := e.ops[i].Login(ctx(), raceTenant, victim.Username, racePassword)
				require.NoError(t, err)
				challenges[i] = res.Challenge
			}
			e.step()
			code := e.code(victim.ID)
			errs := together(2, func(i, inst int) error {
				_, err := e.ops[inst].CompleteLogin(ctx(), challenges[i], code)
				return err
			})
			require.Equal(t, 1, succeeded(t, errs, accessctl.ErrLoginRefused), "a code opens one session: %v", errs)
			sessions, err := e.st.Sessions.Sessions(ctx(), raceTenant, victim.ID)
			require.NoError(t, err)
			assert.Len(t, sessions, 2, "the first login's session and one of the two")
		}
	})
	t.Run("ResetLinkUsedOnce", func(t *testing.T) {
		// A11: one reset link used ten times at once sets one password.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		victim := e.operator("victim", accessctl.RoleReadOnly)
		require.NoError(t, e.ops[0].SendPasswordReset(e.rootCtx[0], victim.ID))
		n, ok := e.rec.LastOperatorNotice(victim.Email, accessctl.NoticePasswordReset)
		require.True(t, ok)
		errs := together(10, func(i, inst int) error {
			pw := backoffice.Secret(fmt.Sprintf("Fresh-Password-%02d", i))
			return e.ops[inst].ResetPassword(ctx(), n.Token, pw, pw)
		})
		e.once(t, errs, accessctl.TargetOperator, string(victim.ID), "operator.reset_password", backoffice.ErrInvalid)
	})
	t.Run("InvitationAcceptedOnce", func(t *testing.T) {
		// A7: one invitation accepted ten times at once activates once.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		o, err := e.ops[0].InviteOperator(e.rootCtx[0], accessctl.NewOperator{Username: "newbie", Email: "newbie@acme.test",
			FirstName: "N", LastName: "B", Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
		require.NoError(t, err)
		n, ok := e.rec.LastOperatorNotice(o.Email, accessctl.NoticeInvitation)
		require.True(t, ok)
		errs := together(10, func(i, inst int) error {
			pw := backoffice.Secret(fmt.Sprintf("Fresh-Password-%02d", i))
			_, err := e.ops[inst].AcceptInvitation(ctx(), n.Token, pw, pw)
			return err
		})
		e.once(t, errs, accessctl.TargetOperator, string(o.ID), "operator.accept_invitation", backoffice.ErrInvalid)
		assert.Equal(t, accessctl.StatusActive, e.get(o.ID).Status)
	})
	t.Run("ReactivatedOnce", func(t *testing.T) {
		// A13, X4: ten reactivations of one version, from two instances,
		// change it once.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		o := e.operator("leaver", accessctl.RoleReadOnly)
		o, err := e.ops[0].DeactivateOperator(e.rootCtx[0], o.ID, o.Version)
		require.NoError(t, err)
		errs := together(10, func(i, inst int) error {
			_, err := e.ops[inst].ReactivateOperator(e.rootCtx[inst], o.ID, o.Version)
			return err
		})
		e.once(t, errs, accessctl.TargetOperator, string(o.ID), "operator.reactivate", backoffice.ErrConflict, backoffice.ErrFailedPrecondition)
	})
	t.Run("StaleActor", func(t *testing.T) {
		// A13, A18, A20: an actor built before its own deactivation cannot
		// reactivate itself, nor act on anyone else, on any instance.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		m := e.operator("manager", accessctl.RoleManager)
		other := e.operator("other", accessctl.RoleReadOnly)
		mCtx := e.session(0, m.Username)
		m = e.get(m.ID)
		_, err := e.ops[1].DeactivateOperator(e.rootCtx[1], m.ID, m.Version)
		require.NoError(t, err)
		m = e.get(m.ID)
		for inst := range 2 {
			_, err = e.ops[inst].ReactivateOperator(mCtx, m.ID, m.Version)
			require.Error(t, err)
			assert.True(t, errors.Is(err, backoffice.ErrForbidden) || errors.Is(err, backoffice.ErrUnauthenticated), "got %v", err)
			roles := []accessctl.RoleName{accessctl.RoleManager}
			_, err = e.ops[inst].UpdateOperator(mCtx, other.ID, accessctl.OperatorUpdate{Version: other.Version, Roles: &roles})
			require.ErrorIs(t, err, accessctl.ErrActorChanged)
			_, err = e.ops[inst].CreateOperator(mCtx, accessctl.NewOperator{Username: fmt.Sprintf("late%d", inst), Email: fmt.Sprintf("late%d@acme.test", inst),
				FirstName: "L", LastName: "L", Roles: roles, AllAccounts: true, Password: racePassword, PasswordConfirmation: racePassword})
			require.ErrorIs(t, err, accessctl.ErrActorChanged)
		}
		assert.Equal(t, accessctl.StatusDeactivated, e.get(m.ID).Status)
		assert.Equal(t, other.Version, e.get(other.ID).Version)
	})
	t.Run("GrantWhileStripped", func(t *testing.T) {
		// A5, A12: a manager granting roles while an Administrator strips its
		// own: once the strip is stored, no grant of the old actor lands.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		m := e.operator("manager", accessctl.RoleManager)
		mCtx := e.session(0, m.Username)
		targets := make([]*accessctl.Operator, 20)
		for i := range targets {
			targets[i] = e.operator(fmt.Sprintf("target%d", i), accessctl.RoleReadOnly)
		}
		m = e.get(m.ID)
		var granted atomic.Int32
		var stop error
		var wg sync.WaitGroup
		wg.Go(func() {
			roles := []accessctl.RoleName{accessctl.RoleReadOnly, accessctl.RoleBasicEditor}
			for _, x := range targets {
				_, err := e.ops[0].UpdateOperator(mCtx, x.ID, accessctl.OperatorUpdate{Version: x.Version, Roles: &roles})
				if err != nil {
					stop = err
					return
				}
				granted.Add(1)
			}
		})
		readOnly := []accessctl.RoleName{accessctl.RoleReadOnly}
		_, err := e.ops[1].UpdateOperator(e.rootCtx[1], m.ID, accessctl.OperatorUpdate{Version: m.Version, Roles: &readOnly})
		require.NoError(t, err)
		wg.Wait()
		if stop != nil {
			require.ErrorIs(t, stop, accessctl.ErrActorChanged)
		}
		last := targets[len(targets)-1]
		transfer := []accessctl.RoleName{accessctl.RoleTransferOnly} // a change whatever the loop did
		_, err = e.ops[0].UpdateOperator(mCtx, last.ID, accessctl.OperatorUpdate{Version: e.get(last.ID).Version, Roles: &transfer})
		require.ErrorIs(t, err, accessctl.ErrActorChanged, "after the strip the old actor grants nothing")
		changed := 0
		for _, x := range targets {
			if e.get(x.ID).HasRole(accessctl.RoleBasicEditor) {
				changed++
			}
		}
		assert.Equal(t, int(granted.Load()), changed)
	})
	t.Run("LastAdministrator", func(t *testing.T) {
		// A15: three Administrators deactivating one another at once, on two
		// instances, leave at least one active.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		b := e.operator("admin-b", accessctl.RoleAdministrator)
		c := e.operator("admin-c", accessctl.RoleAdministrator)
		ctxs := []context.Context{e.rootCtx[0], e.session(1, b.Username), e.session(0, c.Username)}
		ids := []accessctl.OperatorID{e.root.ID, b.ID, c.ID}
		versions := []int64{e.get(ids[0]).Version, e.get(ids[1]).Version, e.get(ids[2]).Version}
		errs := together(3, func(i, inst int) error {
			next := (i + 1) % 3
			_, err := e.ops[inst].DeactivateOperator(ctxs[i], ids[next], versions[next])
			return err
		})
		succeeded(t, errs, backoffice.ErrUnauthenticated, backoffice.ErrFailedPrecondition, backoffice.ErrConflict)
		active := 0
		for _, id := range ids {
			if e.get(id).Status == accessctl.StatusActive {
				active++
			}
		}
		assert.GreaterOrEqual(t, active, 1, "an active Administrator is left: %v", errs)
	})
	if !endUsers {
		return // end users and devices live in another adapter
	}
	t.Run("EndUserDeactivatedOnce", func(t *testing.T) {
		// E6, X4: ten deactivations of one version, from two instances.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		u, err := e.users[0].Create(e.sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Jo", LastName: "Doe", Email: "jo@example.com"})
		require.NoError(t, err)
		u, err = e.users[0].RequestKYCReview(e.sys, u.ID, u.Version)
		require.NoError(t, err)
		u, err = e.users[0].RecordKYCOutcome(e.sys, u.ID, u.Version, enduser.KYCValidated, "ok")
		require.NoError(t, err)
		errs := together(10, func(i, inst int) error {
			_, err := e.users[inst].Deactivate(e.rootCtx[inst], u.ID, u.Version)
			return err
		})
		e.once(t, errs, enduser.TargetEndUser, string(u.ID), "enduser.deactivate", backoffice.ErrConflict, backoffice.ErrFailedPrecondition)
	})
	t.Run("DeviceUnlockedOnce", func(t *testing.T) {
		// S4, X4: ten unlocks of one version, from two instances.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		u, err := e.users[0].Create(e.sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Jo", LastName: "Doe", Email: "jo@example.com"})
		require.NoError(t, err)
		own := accessctl.NewContext(ctx(), accessctl.EndUserActor(raceTenant, string(u.ID)))
		d, err := e.devices[0].Enrol(own, u.ID, scadevice.Enrolment{Kind: scadevice.KindMobile, Tag: "phone"})
		require.NoError(t, err)
		d, err = e.devices[0].SetPasscode(own, d.ID, d.Version)
		require.NoError(t, err)
		d, err = e.devices[0].Lock(e.rootCtx[0], d.ID, d.Version, scadevice.ReasonSuspectedFraud, "")
		require.NoError(t, err)
		errs := together(10, func(i, inst int) error {
			_, err := e.devices[inst].Unlock(e.rootCtx[inst], d.ID, d.Version, true)
			return err
		})
		e.once(t, errs, scadevice.TargetDevice, string(d.ID), "scadevice.unlock", backoffice.ErrConflict, backoffice.ErrFailedPrecondition)
	})
	t.Run("ApprovedOnce", func(t *testing.T) {
		// F1, F2, F3: under four-eyes, a Manager's deactivation of an end
		// user is held; the requester cannot approve it from another
		// session; twenty approvals by another Manager, from two
		// instances at once, run it once.
		t.Parallel()
		e := newRaceEnv(t, newStores)
		tn, err := e.ops[0].Tenant(e.sys)
		require.NoError(t, err)
		pci := accessctl.PCIDSS4()
		_, err = e.ops[0].ConfigureTenant(e.sys, accessctl.TenantSettings{Version: tn.Version, Policy: &pci})
		require.NoError(t, err)
		asker, approver := e.operator("asker", accessctl.RoleManager), e.operator("approver", accessctl.RoleManager)
		e.clock.Advance(8 * 24 * time.Hour) // F4: an approver's account is a week old
		askCtx := e.session(0, asker.Username)
		u, err := e.users[0].Create(e.sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Jo", LastName: "Doe", Email: "jo@example.com"})
		require.NoError(t, err)
		u, err = e.users[0].RequestKYCReview(e.sys, u.ID, u.Version)
		require.NoError(t, err)
		u, err = e.users[0].RecordKYCOutcome(e.sys, u.ID, u.Version, enduser.KYCValidated, "ok")
		require.NoError(t, err)
		_, err = e.users[0].Deactivate(askCtx, u.ID, u.Version)
		require.ErrorIs(t, err, accessctl.ErrApprovalRequired)
		ap, err := e.ops[0].RequestApproval(askCtx, accessctl.ApprovalRequest{Action: backoffice.ActionEndUserDeactivate,
			TargetType: enduser.TargetEndUser, TargetID: string(u.ID), Params: map[string]string{"version": fmt.Sprint(u.Version)},
			Reason: "customer asked to close the account"})
		require.NoError(t, err)
		_, err = e.ops[1].Approve(e.session(1, asker.Username), ap.ID, ap.EffectDigest)
		require.ErrorIs(t, err, backoffice.ErrForbidden, "F2: not from the requester's other session")
		approverCtx := [2]context.Context{e.session(0, approver.Username), e.session(1, approver.Username)}
		results := make([]*accessctl.Approval, 20)
		errs := together(20, func(i, inst int) error {
			var err error
			results[i], err = e.ops[inst].Approve(approverCtx[inst], ap.ID, ap.EffectDigest)
			return err
		})
		e.once(t, errs, enduser.TargetEndUser, string(u.ID), "enduser.deactivate", backoffice.ErrConflict, backoffice.ErrFailedPrecondition)
		for i, err := range errs {
			if err == nil {
				assert.Equal(t, accessctl.ApprovalDone, results[i].Status)
			}
		}
		got, err := e.ops[0].Approval(askCtx, ap.ID)
		require.NoError(t, err)
		assert.Equal(t, accessctl.ApprovalDone, got.Status)
		assert.Equal(t, approver.ID, got.DecidedBy)
		deactivated, err := e.users[0].Get(e.sys, u.ID)
		require.NoError(t, err)
		assert.Equal(t, enduser.StatusCanceled, deactivated.Status)
		assert.Equal(t, 1, e.actions(accessctl.TargetApproval, ap.ID, backoffice.ActionApprovalApprove))
		assert.Equal(t, 1, e.actions(accessctl.TargetApproval, ap.ID, backoffice.ActionApprovalDone))
	})
}
