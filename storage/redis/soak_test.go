package redis_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/redis"
)

// soakDuration is how long the soak's load runs: BACKOFFICE_SOAK (a Go
// duration, at most 2 minutes), default 45 seconds.
func soakDuration(t *testing.T) time.Duration {
	d := 45 * time.Second
	if v := os.Getenv("BACKOFFICE_SOAK"); v != "" {
		var err error
		d, err = time.ParseDuration(v)
		require.NoError(t, err, "BACKOFFICE_SOAK")
	}
	return min(d, 2*time.Minute)
}

// instance is one application instance: its own PostgreSQL pool and Redis
// client, the three services with the outbox on, and a dispatcher.
type instance struct {
	ops     *accessctl.Service
	users   *enduser.Service
	devices *scadevice.Service
	store   *postgres.Store
}

// soakState is what the workers share: the ids each tenant has, and what
// they saw.
type soakState struct {
	mu      sync.Mutex
	users   map[backoffice.TenantID][]enduser.ID
	devices map[backoffice.TenantID][]scadevice.ID
	victims map[backoffice.TenantID][]accessctl.OperatorID
	admins  map[backoffice.TenantID][]accessctl.OperatorID

	// done counts the calls that succeeded, by the action their audit
	// entry must carry.
	done sync.Map // backoffice.Action → *atomic.Int64
	// names numbers the names edits set, so that no edit sets the name
	// a record has already: that edit would change nothing and write no
	// entry, and the count of entries by action would be one short.
	names  atomic.Int64
	calls  atomic.Int64
	errs   sync.Map // error kind → *atomic.Int64
	wrong  atomic.Int64
	failed chan string // unexpected outcomes, the first few
}

func (s *soakState) count(m *sync.Map, key any) {
	v, _ := m.LoadOrStore(key, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// add records a new record's id under its tenant.
func add[T any](s *soakState, list map[backoffice.TenantID][]T, tenant backoffice.TenantID, id T) {
	s.mu.Lock()
	list[tenant] = append(list[tenant], id)
	s.mu.Unlock()
}

func pick[T any](s *soakState, r *rand.Rand, list map[backoffice.TenantID][]T, tenant backoffice.TenantID) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	l := list[tenant]
	if len(l) == 0 {
		return zero, false
	}
	return l[r.IntN(len(l))], true
}

// fail records an outcome no correct service gives.
func (s *soakState) fail(format string, args ...any) {
	s.wrong.Add(1)
	select {
	case s.failed <- fmt.Sprintf(format, args...):
	default:
	}
}

// settle counts a call's outcome: a success under its action, an error
// by kind, and an error of a kind the call may not give as a failure.
func (s *soakState) settle(what backoffice.Action, err error, allowed ...error) bool {
	s.calls.Add(1)
	if err == nil {
		if what != "" {
			s.count(&s.done, what)
		}
		return true
	}
	var kind error = errors.New("untyped")
	if e := (*backoffice.Error)(nil); errors.As(err, &e) {
		kind = e.Kind
	}
	s.count(&s.errs, kind.Error())
	for _, k := range allowed {
		if errors.Is(err, k) {
			return false
		}
	}
	s.fail("%s: %v", what, err)
	return false
}

// The soak. 32 workers on two instances sharing one PostgreSQL and
// one Redis run a mix of operator and end-user work in three tenants for
// BACKOFFICE_SOAK (45 s by default, at most 2 minutes), while the host's
// system actor shuffles each tenant's Administrators. Then: every change
// has its audit entry, versions only grew, no tenant saw another's data,
// every tenant kept an active Administrator, and every outbox message
// reached the idempotent sink exactly once.
func TestSoak(t *testing.T) {
	dsn := testserver.Schema(t)
	prefix := fmt.Sprintf("soak%d", prefixes.Add(1))
	sink := &memorytest.Recorder{}
	var db0 *sql.DB
	var inst [2]*instance
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var dispatchers sync.WaitGroup
	for i := range inst {
		db, err := sql.Open("postgres", dsn)
		require.NoError(t, err)
		db.SetMaxOpenConns(24)
		db.SetMaxIdleConns(24)
		t.Cleanup(func() { db.Close() })
		if i == 0 {
			db0 = db
			_, err := postgres.Migrate(context.Background(), db, nil)
			require.NoError(t, err)
		}
		pg, err := postgres.New(db, "postgres", nil)
		require.NoError(t, err)
		hot := redis.New(client(t), &redis.Options{Prefix: prefix})
		report := func(_ context.Context, err error) { t.Errorf("reported: %v", err) }
		in := &instance{store: pg}
		in.ops, err = accessctl.NewService(accessctl.Config{Store: pg, Sessions: hot, Tokens: hot, Attempts: hot, Outbox: true,
			Hasher: hasher(), ReportError: func(context.Context, error) {}})
		require.NoError(t, err)
		in.users, err = enduser.NewService(enduser.Config{Store: pg, Tenants: pg, Balances: &memorytest.Wallets{}, Outbox: true, ReportError: report})
		require.NoError(t, err)
		in.devices, err = scadevice.NewService(scadevice.Config{Store: pg, Users: pg, Outbox: true, ReportError: report})
		require.NoError(t, err)
		inst[i] = in
		d := &backoffice.Dispatcher{Store: pg, Poll: 20 * time.Millisecond, ReportError: report, Handlers: map[string]backoffice.Handler{
			accessctl.OutboxTopic: accessctl.OutboxHandler(sink),
			enduser.OutboxTopic:   enduser.OutboxHandler(sink),
			scadevice.OutboxTopic: scadevice.OutboxHandler(sink),
		}}
		dispatchers.Go(func() { _ = d.Run(ctx) })
	}

	tenants := []backoffice.TenantID{"acme", "globex", "initech"}
	st := &soakState{users: map[backoffice.TenantID][]enduser.ID{}, devices: map[backoffice.TenantID][]scadevice.ID{},
		victims: map[backoffice.TenantID][]accessctl.OperatorID{}, admins: map[backoffice.TenantID][]accessctl.OperatorID{},
		failed: make(chan string, 20)}
	const workers = 32
	sessions := make([]backoffice.Secret, workers)
	for _, tenant := range tenants {
		root, err := inst[0].ops.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: tenant, Name: string(tenant),
			Preset: accessctl.PresetDashboard, Admin: accessctl.NewOperator{Username: "root", Email: "root@" + string(tenant) + ".test",
				FirstName: "R", LastName: "R", Password: pw, PasswordConfirmation: pw}})
		require.NoError(t, err)
		st.admins[tenant] = append(st.admins[tenant], root.ID)
		sys := accessctl.NewContext(context.Background(), accessctl.SystemActor(tenant, "test"))
		newOp := func(name string, role accessctl.RoleName) *accessctl.Operator {
			o, err := inst[0].ops.CreateOperator(sys, accessctl.NewOperator{Username: name, Email: name + "@" + string(tenant) + ".test",
				FirstName: "F", LastName: "L", Roles: []accessctl.RoleName{role}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
			require.NoError(t, err)
			return o
		}
		for i := range 2 {
			st.admins[tenant] = append(st.admins[tenant], newOp(fmt.Sprintf("admin%d", i), accessctl.RoleAdministrator).ID)
		}
		for i := range 4 {
			st.victims[tenant] = append(st.victims[tenant], newOp(fmt.Sprintf("victim%d", i), accessctl.RoleReadOnly).ID)
		}
		newOp("target", accessctl.RoleReadOnly)
	}
	// Each worker is a Manager of its tenant, logged in with its password
	// and a TOTP code on the instance it will use.
	for w := range workers {
		tenant, in := tenants[w%len(tenants)], inst[w%2]
		sys := accessctl.NewContext(context.Background(), accessctl.SystemActor(tenant, "test"))
		name := fmt.Sprintf("worker%d", w)
		_, err := in.ops.CreateOperator(sys, accessctl.NewOperator{Username: name, Email: name + "@" + string(tenant) + ".test",
			FirstName: "W", LastName: "K", Roles: []accessctl.RoleName{accessctl.RoleManager}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
		require.NoError(t, err)
		res, err := in.ops.Login(context.Background(), tenant, name, pw)
		require.NoError(t, err)
		code, err := accessctl.TOTPCode(res.Enrolment.Secret, time.Now())
		require.NoError(t, err)
		res, err = in.ops.CompleteLogin(context.Background(), res.Challenge, code)
		require.NoError(t, err)
		sessions[w] = res.Session
	}
	before := auditCounts(t, db0)

	// A watcher checks every tenant's Administrators while the load runs.
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			for _, tenant := range tenants {
				if n := activeAdmins(t, db0, tenant); n < 1 {
					st.fail("%s had %d active Administrators", tenant, n)
				}
			}
		}
	})

	d := soakDuration(t)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 42))
			tenant, in := tenants[w%len(tenants)], inst[w%2]
			other := tenants[(w+1)%len(tenants)]
			seen := map[string]int64{} // versions this worker saw, by id
			observe := func(kind, id string, tn backoffice.TenantID, v int64) {
				if tn != tenant {
					st.fail("worker of %s saw %s %s of %s", tenant, kind, id, tn)
				}
				if last, ok := seen[id]; ok && v < last {
					st.fail("%s %s went back from version %d to %d", kind, id, last, v)
				}
				seen[id] = v
			}
			for time.Now().Before(deadline) {
				actor, err := in.ops.Authenticate(context.Background(), sessions[w])
				if !st.settle("", err) {
					return
				}
				soakStep(in, st, r, accessctl.NewContext(context.Background(), actor), tenant, other, observe)
			}
		})
	}
	// The host's system actor moves the Administrator role around and
	// deactivates Administrators, from both instances at once.
	for i := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(100+i), 7))
			tenant, in := tenants[i%len(tenants)], inst[i%2]
			sys := accessctl.NewContext(context.Background(), accessctl.SystemActor(tenant, "host-job"))
			for time.Now().Before(deadline) {
				id, _ := pick(st, r, st.admins, tenant)
				o, err := in.ops.Operator(sys, id)
				if !st.settle("", err) {
					continue
				}
				switch {
				case o.Status == accessctl.StatusDeactivated:
					_, err = in.ops.ReactivateOperator(sys, id, o.Version)
					st.settle(backoffice.ActionOperatorReactivate, err, backoffice.ErrConflict, backoffice.ErrFailedPrecondition)
				case r.IntN(2) == 0:
					_, err = in.ops.DeactivateOperator(sys, id, o.Version)
					st.settle(backoffice.ActionOperatorDeactivate, err, backoffice.ErrConflict, backoffice.ErrFailedPrecondition)
				default:
					roles := []accessctl.RoleName{accessctl.RoleAdministrator}
					if slices.Contains(o.Roles, accessctl.RoleAdministrator) {
						roles = []accessctl.RoleName{accessctl.RoleManager}
					}
					_, err = in.ops.UpdateOperator(sys, id, accessctl.OperatorUpdate{Version: o.Version, Roles: &roles})
					st.settle(backoffice.ActionOperatorUpdate, err, backoffice.ErrConflict, backoffice.ErrFailedPrecondition)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(stop)
	watch.Wait()

	// The dispatchers deliver what is left.
	require.Eventually(t, func() bool {
		var pending int
		err := db0.QueryRow(`SELECT count(*) FROM backoffice_outbox WHERE status <> 'delivered'`).Scan(&pending)
		return err == nil && pending == 0
	}, 60*time.Second, 50*time.Millisecond, "every message delivered")
	cancel()
	dispatchers.Wait()

	close(st.failed)
	for msg := range st.failed {
		t.Error(msg)
	}
	assert.Zero(t, st.wrong.Load(), "unexpected outcomes")

	// Every change has its audit entry: the entries each action gained
	// are the calls that said they made it.
	after := auditCounts(t, db0)
	var changes int64
	st.done.Range(func(k, v any) bool {
		a, n := k.(backoffice.Action), v.(*atomic.Int64).Load()
		changes += n
		assert.Equal(t, n, after[a]-before[a], "audit entries of %s", a)
		return true
	})
	// Versions only grew, one entry each: an end user or device has as
	// many entries as its version.
	for _, target := range []string{enduser.TargetEndUser, scadevice.TargetDevice} {
		table := map[string]string{enduser.TargetEndUser: "backoffice_end_users", scadevice.TargetDevice: "backoffice_devices"}[target]
		var uneven int
		require.NoError(t, db0.QueryRow(`SELECT count(*) FROM `+table+` x WHERE x.version <> (SELECT count(*) FROM backoffice_audit_entries e
			WHERE e.tenant_id = x.tenant_id AND e.target_type = $1 AND e.target_id = x.id)`, target).Scan(&uneven))
		assert.Zero(t, uneven, "%s: one audit entry per version", target)
	}
	// No tenant sees another's: every row of every tenant's tables points
	// at records of its own tenant.
	var crossed int
	require.NoError(t, db0.QueryRow(`SELECT
		(SELECT count(*) FROM backoffice_devices d JOIN backoffice_end_users u ON u.id = d.user_id WHERE u.tenant_id <> d.tenant_id) +
		(SELECT count(*) FROM backoffice_audit_entries e JOIN backoffice_end_users u ON u.id = e.target_id WHERE u.tenant_id <> e.tenant_id) +
		(SELECT count(*) FROM backoffice_audit_entries e JOIN backoffice_operators o ON o.id = e.target_id WHERE o.tenant_id <> e.tenant_id)`).Scan(&crossed))
	assert.Zero(t, crossed, "no record refers across tenants")
	for _, tenant := range tenants {
		assert.GreaterOrEqual(t, activeAdmins(t, db0, tenant), 1, "%s keeps an active Administrator", tenant)
	}
	// Every outbox message reached the sink exactly once.
	var messages int
	require.NoError(t, db0.QueryRow(`SELECT count(*) FROM backoffice_outbox`).Scan(&messages))
	keys := map[string]int{}
	for _, n := range sink.OperatorNotices() {
		keys[n.IdempotencyKey]++
	}
	for _, n := range sink.EndUserNotices() {
		keys[n.IdempotencyKey]++
	}
	for _, n := range sink.PINResetNotices() {
		keys[n.IdempotencyKey]++
	}
	assert.Len(t, keys, messages, "one delivery per message")
	for k, n := range keys {
		assert.Equal(t, 1, n, "message %s delivered %d times", k, n)
	}
	var errs []string
	st.errs.Range(func(k, v any) bool {
		errs = append(errs, fmt.Sprintf("%v %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	t.Logf("%s, %d workers, 2 instances: %d calls (%.0f/s), %d changes, %d messages delivered; refusals by kind: %v",
		d, workers, st.calls.Load(), float64(st.calls.Load())/d.Seconds(), changes, messages, errs)
}

// soakStep is one step of a worker: a Manager's realistic mix of reads
// and changes.
func soakStep(in *instance, st *soakState, r *rand.Rand, ctx context.Context, tenant, other backoffice.TenantID,
	observe func(kind, id string, tenant backoffice.TenantID, v int64)) {
	conflict, precondition := backoffice.ErrConflict, backoffice.ErrFailedPrecondition
	seeUser := func(u *enduser.EndUser) { observe("end user", string(u.ID), u.Tenant, u.Version) }
	// readUser reads one of the tenant's end users.
	readUser := func() (*enduser.EndUser, bool) {
		id, ok := pick(st, r, st.users, tenant)
		if !ok {
			return nil, false
		}
		u, err := in.users.Get(ctx, id)
		if !st.settle("", err) {
			return nil, false
		}
		seeUser(u)
		return u, true
	}
	switch n := r.IntN(100); {
	case n < 12: // create an end user
		u, err := in.users.Create(ctx, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Eve",
			LastName: fmt.Sprintf("Soak%d", r.IntN(1e6)), Email: fmt.Sprintf("eve%d@example.test", r.Int64())})
		if st.settle(backoffice.ActionEndUserCreate, err) {
			seeUser(u)
			add(st, st.users, tenant, u.ID)
		}
	case n < 30: // read one, then edit it
		u, ok := readUser()
		if !ok {
			return
		}
		name := fmt.Sprintf("Edit%d", st.names.Add(1))
		u, err := in.users.Update(ctx, u.ID, enduser.Update{Version: u.Version, FirstName: &name})
		if st.settle(backoffice.ActionEndUserUpdate, err, conflict, precondition) {
			seeUser(u)
		}
	case n < 36: // KYC: request a review, record its outcome
		u, ok := readUser()
		if !ok {
			return
		}
		id := u.ID
		var err error
		if u.KYC == enduser.KYCPending {
			u, err = in.users.RecordKYCOutcome(ctx, id, u.Version, enduser.KYCValidated, "documents checked")
			if st.settle(backoffice.ActionEndUserKYCOutcome, err, conflict, precondition) {
				seeUser(u)
			}
		} else {
			u, err = in.users.RequestKYCReview(ctx, id, u.Version)
			if st.settle(backoffice.ActionEndUserKYCRequest, err, conflict, precondition) {
				seeUser(u)
			}
		}
	case n < 38: // deactivate a validated user
		u, ok := readUser()
		if !ok || u.Status != enduser.StatusValidated {
			return
		}
		u, err := in.users.Deactivate(ctx, u.ID, u.Version)
		if st.settle(backoffice.ActionEndUserDeactivate, err, conflict, precondition) {
			seeUser(u)
		}
	case n < 52: // search and list
		var page backoffice.Page[*enduser.EndUser]
		var err error
		if n < 45 {
			page, err = in.users.Search(ctx, enduser.SearchQuery{Name: "soa"}, backoffice.PageRequest{Limit: 20})
		} else {
			page, err = in.users.List(ctx, enduser.Filter{}, backoffice.PageRequest{Limit: 20})
		}
		if st.settle("", err) {
			for _, u := range page.Items {
				seeUser(u)
			}
		}
	case n < 60: // devices: enrol one, or run the command its state allows
		id, ok := pick(st, r, st.users, tenant)
		if !ok {
			return
		}
		if r.IntN(3) == 0 {
			// The end user enrols a device from its app, and sets its passcode.
			self := accessctl.NewContext(context.Background(), accessctl.EndUserActor(tenant, string(id)))
			d, err := in.devices.Enrol(self, id, scadevice.Enrolment{Kind: scadevice.KindMobile, Tag: "phone", Info: "soak"})
			if st.settle(backoffice.ActionDeviceEnrol, err, precondition) {
				observe("device", string(d.ID), d.Tenant, d.Version)
				add(st, st.devices, tenant, d.ID)
				d, err = in.devices.SetPasscode(self, d.ID, d.Version)
				if st.settle(backoffice.ActionDeviceSetPasscode, err, conflict, precondition) {
					observe("device", string(d.ID), d.Tenant, d.Version)
				}
			}
			return
		}
		did, ok := pick(st, r, st.devices, tenant)
		if !ok {
			return
		}
		d, err := in.devices.Device(ctx, did)
		if !st.settle("", err) {
			return
		}
		observe("device", string(d.ID), d.Tenant, d.Version)
		switch {
		case scadevice.CommandLock.Allowed(d):
			d, err = in.devices.Lock(ctx, did, d.Version, scadevice.ReasonLostOrStolen, "")
			st.settle(backoffice.ActionDeviceLock, err, conflict, precondition)
		case scadevice.CommandUnlock.Allowed(d):
			d, err = in.devices.Unlock(ctx, did, d.Version, true)
			st.settle(backoffice.ActionDeviceUnlock, err, conflict, precondition)
		case scadevice.CommandResetPIN.Allowed(d):
			d, err = in.devices.ResetPIN(ctx, did, d.Version, true)
			st.settle(backoffice.ActionDeviceResetPIN, err, conflict, precondition)
		}
		if err == nil && d != nil {
			observe("device", string(d.ID), d.Tenant, d.Version)
		}
	case n < 70: // operators: invite, or change one of the read-only ones
		if n < 64 {
			_, err := in.ops.InviteOperator(ctx, accessctl.NewOperator{Username: fmt.Sprintf("inv%d", r.Int64()),
				Email: fmt.Sprintf("inv%d@%s.test", r.Int64(), tenant), FirstName: "I", LastName: "V",
				Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
			st.settle(backoffice.ActionOperatorInvite, err, conflict)
			return
		}
		id, _ := pick(st, r, st.victims, tenant)
		o, err := in.ops.Operator(ctx, id)
		if !st.settle("", err) {
			return
		}
		observe("operator", string(o.ID), o.Tenant, o.Version)
		switch {
		case o.Status == accessctl.StatusDeactivated:
			_, err = in.ops.ReactivateOperator(ctx, id, o.Version)
			st.settle(backoffice.ActionOperatorReactivate, err, conflict, precondition)
		case n < 66:
			_, err = in.ops.DeactivateOperator(ctx, id, o.Version)
			st.settle(backoffice.ActionOperatorDeactivate, err, conflict, precondition)
		case n < 68:
			err = in.ops.SendPasswordReset(ctx, id)
			st.settle(backoffice.ActionOperatorSendPasswordReset, err, precondition)
		default:
			name := fmt.Sprintf("Renamed%d", renames.Add(1))
			_, err = in.ops.UpdateOperator(ctx, id, accessctl.OperatorUpdate{Version: o.Version, FirstName: &name})
			st.settle(backoffice.ActionOperatorUpdate, err, conflict)
		}
	case n < 74: // an attacker guesses the target's password; a manager unblocks it
		if n < 73 {
			_, err := in.ops.Login(context.Background(), tenant, "target", "Wrong-Password-9")
			if !errors.Is(err, accessctl.ErrLoginRefused) {
				st.fail("a wrong password got %v", err)
			}
			st.calls.Add(1)
			return
		}
		page, err := in.ops.Operators(ctx, accessctl.OperatorFilter{Status: ptr(accessctl.StatusBlocked)}, backoffice.PageRequest{Limit: 50})
		if !st.settle("", err) {
			return
		}
		for _, o := range page.Items {
			observe("operator", string(o.ID), o.Tenant, o.Version)
			_, err := in.ops.UnblockOperator(ctx, o.ID, o.Version)
			st.settle(backoffice.ActionOperatorUnblock, err, conflict, precondition)
		}
	case n < 80: // history
		id, _ := pick(st, r, st.victims, tenant)
		page, err := in.ops.History(ctx, id, backoffice.PageRequest{Limit: 20})
		if st.settle("", err) {
			for _, e := range page.Items {
				if e.Tenant != tenant {
					st.fail("history of %s shows an entry of %s", tenant, e.Tenant)
				}
			}
		}
	case n < 84: // another tenant's ids answer not found
		if id, ok := pick(st, r, st.users, other); ok {
			_, err := in.users.Get(ctx, id)
			if !errors.Is(err, backoffice.ErrNotFound) {
				st.fail("%s read %s's end user %s: %v", tenant, other, id, err)
			}
			name := "Intruder"
			_, err = in.users.Update(ctx, id, enduser.Update{Version: 1, FirstName: &name})
			if !errors.Is(err, backoffice.ErrNotFound) {
				st.fail("%s edited %s's end user %s: %v", tenant, other, id, err)
			}
			st.calls.Add(2)
		}
	default: // the operators listing
		page, err := in.ops.Operators(ctx, accessctl.OperatorFilter{}, backoffice.PageRequest{Limit: 50})
		if st.settle("", err) {
			for _, o := range page.Items {
				observe("operator", string(o.ID), o.Tenant, o.Version)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// renames makes every rename a change.
var renames atomic.Int64

// auditCounts counts the audit entries by action.
func auditCounts(t *testing.T, db *sql.DB) map[backoffice.Action]int64 {
	t.Helper()
	rows, err := db.Query(`SELECT action, count(*) FROM backoffice_audit_entries GROUP BY action`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[backoffice.Action]int64{}
	for rows.Next() {
		var a string
		var n int64
		require.NoError(t, rows.Scan(&a, &n))
		out[backoffice.Action(a)] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// activeAdmins counts a tenant's active Administrators.
func activeAdmins(t *testing.T, db *sql.DB, tenant backoffice.TenantID) int {
	var n int
	err := db.QueryRow(`SELECT count(*) FROM backoffice_operators WHERE tenant_id = $1 AND status = 'active' AND roles ? $2`,
		string(tenant), string(accessctl.RoleAdministrator)).Scan(&n)
	if err != nil {
		t.Errorf("count Administrators: %v", err)
		return 1
	}
	return n
}
