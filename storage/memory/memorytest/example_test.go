package memorytest_test

import (
	"errors"
	"fmt"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// A host's test acts as a Manager and as a Read-only operator on one end
// user: the Manager may edit it, the Read-only operator may only read it.
func Example() {
	k := memorytest.New(nil)
	manager, reader := k.As(accessctl.RoleManager), k.As(accessctl.RoleReadOnly)
	u, _ := k.Users.Create(manager, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Grace", LastName: "Hopper", Email: "grace@example.com"})
	phone := "+14155550100"
	_, err := k.Users.Update(reader, u.ID, enduser.Update{Version: u.Version, Phone: &phone})
	fmt.Println("read-only edits:", errors.Is(err, backoffice.ErrForbidden))
	u, err = k.Users.Update(manager, u.ID, enduser.Update{Version: u.Version, Phone: &phone})
	fmt.Println("manager edits:", err == nil, u.Phone)
	got, _ := k.Users.Get(reader, u.ID)
	fmt.Println("read-only reads:", got.Phone)
	// Output:
	// read-only edits: true
	// manager edits: true +14155550100
	// read-only reads: +14155550100
}

// A custom role is as easy to act as; notices and time are the test's.
func ExampleKit_CustomRole() {
	k := memorytest.New(nil)
	support := k.As(k.CustomRole("support_desk", accessctl.PermEndUserRead, accessctl.PermEndUserForgotPassword))
	u, _ := k.Users.Create(k.System(), enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Alan", LastName: "Turing", Email: "alan@example.com"})
	to, err := k.Users.SendForgotPassword(support, u.ID)
	fmt.Println(to, err, len(k.Outbox.EndUserNotices()))
	// Output:
	// alan@example.com <nil> 1
}
