// Package memorytest is a kit for a host's own tests, in the spirit of
// net/http/httptest: in one call it gives the three services of the back
// office on one in-memory store, with a tenant and its first
// Administrator, a clock the test moves, a recorder of every notice sent,
// and wallet balances the test sets. A test then acts as any operator:
//
//	k := memorytest.New(nil)
//	manager := k.As(accessctl.RoleManager)
//	u, err := k.Users.Create(manager, enduser.NewEndUser{…})
//
// The kit takes its shortcuts only where a test needs none of the real
// path: operators it creates for As are activated in the store and get a
// session through accessctl.Service.StartSession, without a password hash.
package memorytest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/accessctl/password"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
)

// Options configure a Kit; nil means the defaults.
type Options struct {
	// Tenant is the tenant's id, default "acme".
	Tenant backoffice.TenantID
	// Preset is the tenant's role preset, default accessctl.PresetDashboard.
	Preset string
	// Start is where the clock starts, default 2026-01-05 09:00 UTC.
	Start time.Time
	// Policy is the security policy of every tenant (accessctl.Config's);
	// the zero value keeps the library's defaults.
	Policy accessctl.Policy
}

// Kit is the three services on one in-memory store, with a seeded tenant.
type Kit struct {
	Store   *memory.Store
	Ops     *accessctl.Service
	Users   *enduser.Service
	Devices *scadevice.Service
	// Clock is the services' clock: move it instead of sleeping.
	Clock *Clock
	// Outbox records every notice the services send.
	Outbox *Recorder
	// Wallets are the end users' balances the services check before a
	// deactivation; zero unless a test sets one.
	Wallets *Wallets
	// Tenant is the seeded tenant, and Admin its first Administrator,
	// whose password is AdminPassword.
	Tenant backoffice.TenantID
	Admin  *accessctl.Operator
	// Reported holds what the services reported to ReportError.
	Reported *Errors

	n     atomic.Int64
	newID func() string
}

// AdminPassword is the password of every Kit's first Administrator.
const AdminPassword = backoffice.Secret("Tangerine-Kite-2048")

// hasher is built once per test binary: building one costs a hash.
var hasher = sync.OnceValue(func() *password.Hasher {
	h, err := password.NewHasher(password.Params{}, 0)
	if err != nil {
		panic(err)
	}
	return h
})

// Hasher returns the argon2id hasher every Kit of the test binary shares,
// for tests that build services of their own.
func Hasher() *password.Hasher { return hasher() }

// New returns a kit. It panics if the services cannot be built, as
// httptest.NewServer does: that is a bug in the test.
func New(opts *Options) *Kit {
	o := Options{Tenant: "acme", Preset: accessctl.PresetDashboard, Start: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	if opts != nil {
		if opts.Tenant != "" {
			o.Tenant = opts.Tenant
		}
		if opts.Preset != "" {
			o.Preset = opts.Preset
		}
		if !opts.Start.IsZero() {
			o.Start = opts.Start
		}
		o.Policy = opts.Policy
	}
	k := &Kit{Store: memory.New(), Clock: NewClock(o.Start), Outbox: &Recorder{}, Wallets: &Wallets{}, Tenant: o.Tenant, Reported: &Errors{}}
	ids := backoffice.NewIDs(k.Clock.Now)
	k.newID = ids
	var err error
	k.Ops, err = accessctl.NewService(accessctl.Config{Store: k.Store, Notifier: k.Outbox, Now: k.Clock.Now, NewID: ids,
		Hasher: hasher(), ReportError: k.Reported.add, Policy: o.Policy})
	must(err)
	k.Users, err = enduser.NewService(enduser.Config{Store: k.Store, Tenants: k.Store, Balances: k.Wallets, Notifier: k.Outbox,
		Now: k.Clock.Now, NewID: ids, ReportError: k.Reported.add, Approvals: k.Ops})
	must(err)
	k.Devices, err = scadevice.NewService(scadevice.Config{Store: k.Store, Users: k.Store, Notifier: k.Outbox, Now: k.Clock.Now,
		NewID: ids, ReportError: k.Reported.add, Approvals: k.Ops})
	must(err)
	k.Admin, err = k.Ops.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: o.Tenant, Name: "Tenant " + string(o.Tenant),
		Preset: o.Preset, Admin: accessctl.NewOperator{Username: "admin", Email: "admin@" + string(o.Tenant) + ".test",
			FirstName: "Ada", LastName: "Admin", Password: AdminPassword, PasswordConfirmation: AdminPassword}})
	must(err)
	return k
}

func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("memorytest: %v", err))
	}
}

// System returns a context acting as the host's system actor of the tenant.
func (k *Kit) System() context.Context {
	return accessctl.NewContext(context.Background(), accessctl.SystemActor(k.Tenant, "test"))
}

// As returns the context of a request by a new active operator holding the
// roles, preset or custom, authenticated through a real session as a
// host's middleware would. It panics if the roles do not exist.
func (k *Kit) As(roles ...accessctl.RoleName) context.Context {
	ctx, _ := k.Operator(roles...)
	return ctx
}

// Operator is As that also returns the operator.
func (k *Kit) Operator(roles ...accessctl.RoleName) (context.Context, *accessctl.Operator) {
	n := k.n.Add(1)
	name := fmt.Sprintf("operator%d", n)
	o, err := k.Ops.InviteOperator(k.System(), accessctl.NewOperator{Username: name, Email: name + "@" + string(k.Tenant) + ".test",
		FirstName: "Test", LastName: fmt.Sprintf("Operator %d", n), Roles: roles, AllAccounts: true})
	must(err)
	o.Status = accessctl.StatusActive // the invitation's own path is tested in accessctl
	must(k.Store.UpdateOperator(context.Background(), o, o.Version, accessctl.Guard{},
		backoffice.AuditEntry{ID: k.newID(), Tenant: k.Tenant, Actor: backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:test", Name: "test"},
			Action: backoffice.ActionOperatorAcceptInvitation, TargetType: accessctl.TargetOperator, TargetID: string(o.ID), At: backoffice.Truncate(k.Clock.Now()),
			Changes: []backoffice.Change{{Field: "status", Before: string(accessctl.StatusInvited), After: string(accessctl.StatusActive)}}}))
	return k.Session(o.ID), o
}

// Session returns the context of a request by an existing active operator,
// through a new session.
func (k *Kit) Session(id accessctl.OperatorID) context.Context {
	res, err := k.Ops.StartSession(k.System(), id)
	must(err)
	a, err := k.Ops.Authenticate(context.Background(), res.Session)
	must(err)
	return accessctl.NewContext(context.Background(), a)
}

// CustomRole creates a custom role of the tenant with the permissions and
// returns its name, for As.
func (k *Kit) CustomRole(name string, perms ...accessctl.Permission) accessctl.RoleName {
	r, err := k.Ops.CreateRole(k.System(), accessctl.Role{Name: accessctl.RoleName(name), Abbrev: name, Description: "a test role", Permissions: perms})
	must(err)
	return r.Name
}

// Code returns the operator's TOTP code at the clock's time, as its
// authenticator app would show it.
func (k *Kit) Code(id accessctl.OperatorID) string {
	o, err := k.Store.Operator(context.Background(), k.Tenant, id)
	must(err)
	c, err := accessctl.TOTPCode(o.MFASecret, k.Clock.Now())
	must(err)
	return c
}

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Wallets is a balance source a test sets: enduser.Balances.
type Wallets struct {
	mu sync.Mutex
	m  map[enduser.ID][]enduser.Balance
}

// Set gives the user the balances, replacing any it had.
func (w *Wallets) Set(user enduser.ID, balances ...enduser.Balance) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[enduser.ID][]enduser.Balance{}
	}
	w.m[user] = append([]enduser.Balance(nil), balances...)
}

// Balances implements enduser.Balances.
func (w *Wallets) Balances(_ context.Context, u *enduser.EndUser) ([]enduser.Balance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]enduser.Balance(nil), w.m[u.ID]...), nil
}

// Errors collects what the services reported to ReportError.
type Errors struct {
	mu   sync.Mutex
	errs []error
}

func (e *Errors) add(_ context.Context, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err)
}

// All returns the errors reported so far.
func (e *Errors) All() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.errs...)
}
