package accessctl_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// A tenant's first Administrator is bootstrapped, then invites a Manager.
// The invitation is recorded by the in-memory notifier.
func Example() {
	ctx := context.Background()
	outbox := &memorytest.Recorder{}
	svc, err := accessctl.NewService(accessctl.Config{Store: memory.New(), Notifier: outbox})
	if err != nil {
		panic(err)
	}
	admin, err := svc.Bootstrap(ctx, accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "ada", Email: "ada@acme.test", FirstName: "Ada", LastName: "L",
			Password: "Tangerine-Sky-2048", PasswordConfirmation: "Tangerine-Sky-2048"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(admin.Username, admin.Roles, admin.Status)

	// In a real host the actor comes from svc.Authenticate(sessionToken).
	sys := accessctl.NewContext(ctx, accessctl.SystemActor("acme", "example"))
	m, err := svc.InviteOperator(sys, accessctl.NewOperator{Username: "grace", Email: "grace@acme.test",
		FirstName: "Grace", LastName: "H", Roles: []accessctl.RoleName{accessctl.RoleManager}, AllAccounts: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Username, m.Roles, m.Status, len(outbox.OperatorNotices()))

	_, err = svc.InviteOperator(ctx, accessctl.NewOperator{Username: "eve"})
	fmt.Println(errors.Is(err, backoffice.ErrUnauthenticated))
	// Output:
	// ada [administrator] active
	// grace [manager] invited 1
	// true
}

// Invalid input lists every bad field at once.
func ExampleService_Bootstrap_invalid() {
	svc, _ := accessctl.NewService(accessctl.Config{Store: memory.New()})
	_, err := svc.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetPortal,
		Admin: accessctl.NewOperator{Email: "not-an-email", FirstName: "Ada", Password: "short", PasswordConfirmation: "other"}})
	fmt.Println(errors.Is(err, backoffice.ErrInvalid), backoffice.FieldsOf(err))
	// Output:
	// true [email last_name password password password password_confirmation]
}
