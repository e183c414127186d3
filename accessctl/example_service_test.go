package accessctl_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// A login is a password, then a TOTP code; the session token it ends with
// is what a host's middleware authenticates on every request.
func ExampleService_Login() {
	k := memorytest.New(nil)
	ctx := context.Background()
	step, err := k.Ops.Login(ctx, k.Tenant, "admin", memorytest.AdminPassword)
	if err != nil {
		panic(err)
	}
	fmt.Println("first login enrols MFA:", step.Enrolment != nil)
	done, err := k.Ops.CompleteLogin(ctx, step.Challenge, k.Code(step.Operator))
	if err != nil {
		panic(err)
	}
	actor, err := k.Ops.Authenticate(ctx, done.Session)
	if err != nil {
		panic(err)
	}
	fmt.Println(actor.Name(), actor.IsAdministrator())
	_, err = k.Ops.Login(ctx, k.Tenant, "admin", "Wrong-Password-0")
	fmt.Println(err == accessctl.ErrLoginRefused)
	// Output:
	// first login enrols MFA: true
	// admin true
	// true
}

// An invited operator follows its link to set a password; the Manager
// who invited it may grant only what it holds itself.
func ExampleService_InviteOperator() {
	k := memorytest.New(nil)
	manager := k.As(accessctl.RoleManager)
	o, err := k.Ops.InviteOperator(manager, accessctl.NewOperator{Username: "grace", Email: "grace@acme.test",
		FirstName: "Grace", LastName: "Hopper", Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
	if err != nil {
		panic(err)
	}
	link, _ := k.Outbox.LastOperatorNotice("grace@acme.test", accessctl.NoticeInvitation)
	_, err = k.Ops.AcceptInvitation(context.Background(), link.Token, "Compiler-Queen-1952", "Compiler-Queen-1952")
	fmt.Println(o.Status, err)
	_, err = k.Ops.InviteOperator(manager, accessctl.NewOperator{Username: "eve", Email: "eve@acme.test",
		FirstName: "Eve", LastName: "E", Roles: []accessctl.RoleName{accessctl.RoleAdministrator}, AllAccounts: true})
	fmt.Println(errors.Is(err, backoffice.ErrForbidden))
	// Output:
	// invited <nil>
	// true
}

// Deactivating an operator ends its sessions at once and is in its
// history, newest first.
func ExampleService_DeactivateOperator() {
	k := memorytest.New(nil)
	admin := k.Session(k.Admin.ID)
	leaverCtx, leaver := k.Operator(accessctl.RoleReadOnly)
	if _, err := k.Ops.DeactivateOperator(admin, leaver.ID, leaver.Version); err != nil {
		panic(err)
	}
	_, err := k.Ops.Operators(leaverCtx, accessctl.OperatorFilter{}, backoffice.PageRequest{})
	fmt.Println(errors.Is(err, backoffice.ErrForbidden) || errors.Is(err, backoffice.ErrUnauthenticated))
	h, _ := k.Ops.History(admin, leaver.ID, backoffice.PageRequest{Limit: 1})
	fmt.Println(h.Items[0].Action, h.Items[0].Changes[0].Field, h.Items[0].Changes[0].After)
	// Output:
	// true
	// operator.deactivate status deactivated
}

// Authorization is a bit test on the actor; Explain says why.
func ExampleActor_Explain() {
	k := memorytest.New(nil)
	reader := k.As(accessctl.RoleReadOnly)
	a, _ := accessctl.ActorFrom(reader)
	fmt.Println(a.Authorize(accessctl.PermEndUserRead) == nil, a.Authorize(accessctl.PermEndUserDeactivate) == nil)
	fmt.Println(a.Explain(accessctl.PermEndUserRead).Reason)
	// Output:
	// true false
	// granted by role read_only
}
