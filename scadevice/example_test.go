package scadevice_test

import (
	"context"
	"fmt"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
)

// An end user enrols a phone; an operator locks it for suspected fraud and
// unlocks it after checking the user's identity.
func Example() {
	store := memory.New()
	users, _ := enduser.NewService(enduser.Config{Store: store, Tenants: store,
		Balances: enduser.BalancesFunc(func(context.Context, *enduser.EndUser) ([]enduser.Balance, error) { return nil, nil })})
	devices, _ := scadevice.NewService(scadevice.Config{Store: store, Users: store})
	ops := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "example"))
	u, _ := users.Create(ops, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Ada", LastName: "L"})

	self := accessctl.NewContext(context.Background(), accessctl.EndUserActor("acme", string(u.ID)))
	d, _ := devices.Enrol(self, u.ID, scadevice.Enrolment{Kind: scadevice.KindMobile, Info: "Pixel 9"})
	d, _ = devices.SetPasscode(self, d.ID, d.Version)
	fmt.Println(d.Status, scadevice.Available(accessctl.SystemActor("acme", "ui"), d))

	d, _ = devices.Lock(ops, d.ID, d.Version, scadevice.ReasonSuspectedFraud, "three declined payments")
	fmt.Println(d.Status, d.LockReason, d.LockMessage)
	_, err := devices.Unlock(ops, d.ID, d.Version, false)
	fmt.Println(err)
	d, _ = devices.Unlock(ops, d.ID, d.Version, true)
	fmt.Println(d.Status)
	// Output:
	// active [lock reset_pin delete]
	// locked suspected_fraud three declined payments
	// scadevice: unlock: invalid input: correct the listed fields and retry (identity_verified: confirm that you verified the end user's identity)
	// active
}
