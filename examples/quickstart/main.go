// Command quickstart walks through backoffice on the in-memory store. First
// the operators: it bootstraps a tenant's first Administrator, invites a
// Manager who accepts and logs in with MFA, blocks the Manager after three
// wrong passwords and unblocks it, refuses an escalation, deactivates an
// operator and prints its history. Then an operator's day: it searches
// and updates a customer, declares a US tax residence, locks and unlocks a
// device, and tries to deactivate a customer who still has money.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// clock moves forward 31 seconds on each tick, so that the walk-through
// can log in several times without waiting for new TOTP codes.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) tick()          { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(31 * time.Second) }

func run(out io.Writer) error {
	ctx := context.Background()
	store := memory.New()
	outbox := &memorytest.Recorder{} // stands in for the host's email provider
	clk := &clock{t: time.Now().UTC()}
	svc, err := accessctl.NewService(accessctl.Config{Store: store, Notifier: outbox, Now: clk.Now})
	if err != nil {
		return err
	}
	step := func(format string, args ...any) { fmt.Fprintf(out, "• "+format+"\n", args...) }

	// 1. Bootstrap the tenant and its first Administrator.
	const tenant = backoffice.TenantID("acme")
	const adminPW = backoffice.Secret("Tangerine-Sky-2048")
	admin, err := svc.Bootstrap(ctx, accessctl.BootstrapInput{Tenant: tenant, Name: "Acme Payments", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "ada", Email: "ada@acme.test", FirstName: "Ada", LastName: "Lovelace",
			Password: adminPW, PasswordConfirmation: adminPW}})
	if err != nil {
		return err
	}
	step("bootstrapped tenant %s with Administrator %s (%s)", tenant, admin.Username, admin.Roles[0])

	// The Administrator logs in: password, then TOTP enrolment.
	app := authenticator{}
	adminSession, err := app.login(svc, clk, tenant, "ada", adminPW)
	if err != nil {
		return err
	}
	adminActor, err := svc.Authenticate(ctx, adminSession)
	if err != nil {
		return err
	}
	adminCtx := accessctl.NewContext(ctx, adminActor)
	step("ada logged in with password and TOTP; session valid")

	// 2. Invite a Manager; the invitation goes through the notifier.
	mgr, err := svc.InviteOperator(adminCtx, accessctl.NewOperator{Username: "grace", Email: "grace@acme.test",
		FirstName: "Grace", LastName: "Hopper", Roles: []accessctl.RoleName{accessctl.RoleManager}, AllAccounts: true})
	if err != nil {
		return err
	}
	invite, _ := outbox.LastOperatorNotice("grace@acme.test", accessctl.NoticeInvitation)
	step("invited grace as %s; email sent, link valid until %s", mgr.Roles[0], invite.ExpiresAt.Format(time.DateOnly))

	// 3. Grace accepts: a weak password is refused, a good one activates her,
	// and she enrols TOTP to finish.
	_, err = svc.AcceptInvitation(ctx, invite.Token, "grace123", "grace123")
	step("grace tries a weak password: %v", err)
	const gracePW = backoffice.Secret("Compiler-Queen-1952")
	res, err := svc.AcceptInvitation(ctx, invite.Token, gracePW, gracePW)
	if err != nil {
		return err
	}
	clk.tick()
	app["grace"] = res.Enrolment.Secret
	code, _ := accessctl.TOTPCode(res.Enrolment.Secret, clk.Now())
	if _, err := svc.CompleteLogin(ctx, res.Challenge, code); err != nil {
		return err
	}
	step("grace accepted the invitation, set a password and enrolled MFA")

	// 4. Three wrong passwords block her; the Administrator unblocks her.
	for i := 1; i <= 3; i++ {
		_, err = svc.Login(ctx, tenant, "grace", "Wrong-Password-0")
		step("wrong password %d: %v", i, err)
	}
	g, _ := svc.Operator(adminCtx, mgr.ID)
	_, err = svc.Login(ctx, tenant, "grace", gracePW)
	step("grace is now %s; the right password is refused too: %t", g.Status, errors.Is(err, backoffice.ErrUnauthenticated))
	if _, err = svc.UnblockOperator(adminCtx, g.ID, g.Version); err != nil {
		return err
	}
	graceSession, err := app.login(svc, clk, tenant, "grace", gracePW)
	if err != nil {
		return err
	}
	graceActor, err := svc.Authenticate(ctx, graceSession)
	if err != nil {
		return err
	}
	graceCtx := accessctl.NewContext(ctx, graceActor)
	step("ada unblocked grace; grace logged in again")

	// 5. A Manager cannot make anyone an Administrator.
	clerk, err := svc.InviteOperator(graceCtx, accessctl.NewOperator{Username: "clerk", Email: "clerk@acme.test",
		FirstName: "Carl", LastName: "Clerk", Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
	if err != nil {
		return err
	}
	admins := []accessctl.RoleName{accessctl.RoleAdministrator}
	_, err = svc.UpdateOperator(graceCtx, clerk.ID, accessctl.OperatorUpdate{Version: clerk.Version, Roles: &admins})
	step("grace invited clerk (Read-only), then tried to make clerk Administrator: %v (forbidden: %t)",
		err, errors.Is(err, backoffice.ErrForbidden))
	d := graceActor.Explain(accessctl.PermTenantConfigure)
	step("why can grace not configure the tenant? %s", d.Reason)

	// 6. Deactivate grace: her session dies at once.
	g, _ = svc.Operator(adminCtx, mgr.ID)
	if _, err := svc.DeactivateOperator(adminCtx, g.ID, g.Version); err != nil {
		return err
	}
	_, err = svc.Authenticate(ctx, graceSession)
	step("ada deactivated grace; grace's session: %v", err)

	// The last Administrator cannot be removed.
	sys := accessctl.NewContext(ctx, accessctl.SystemActor(tenant, "quickstart"))
	a, _ := svc.Operator(adminCtx, admin.ID)
	_, err = svc.DeactivateOperator(sys, a.ID, a.Version)
	step("deactivating the last Administrator: %v", err)

	// 7. Grace's history, newest first.
	hist, err := svc.History(adminCtx, mgr.ID, backoffice.PageRequest{})
	if err != nil {
		return err
	}
	step("history of grace:")
	for _, e := range hist.Items {
		fmt.Fprintf(out, "    %s  %-28s by %-18s %v\n", e.At.Format(time.TimeOnly), e.Action, e.Actor.Name, e.Changes)
	}

	fmt.Fprintln(out, "\nAn operator's day with customers and devices:")
	return operatorDay(out, store, clk, adminCtx)
}

// authenticator stands in for each operator's authenticator app: the
// TOTP secrets they enrolled, by username.
type authenticator map[string]backoffice.Secret

// login runs the password and TOTP steps, enrolling MFA on first use.
func (app authenticator) login(svc *accessctl.Service, clk *clock, tenant backoffice.TenantID, user string, pw backoffice.Secret) (backoffice.Secret, error) {
	res, err := svc.Login(context.Background(), tenant, user, pw)
	if err != nil {
		return "", err
	}
	if res.Enrolment != nil {
		app[user] = res.Enrolment.Secret
	}
	clk.tick()
	code, err := accessctl.TOTPCode(app[user], clk.Now())
	if err != nil {
		return "", err
	}
	done, err := svc.CompleteLogin(context.Background(), res.Challenge, code)
	if err != nil {
		return "", err
	}
	return done.Session, nil
}
