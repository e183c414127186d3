package scadevice_test

import (
	"errors"
	"fmt"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// The commands a UI offers depend on the device's status and the actor's
// role; unlocking needs the actor's word that it verified the user.
func ExampleService_AvailableCommands() {
	k := memorytest.New(nil)
	u, _ := k.Users.Create(k.System(), enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Ada", LastName: "L", Email: "ada@example.com"})
	own := accessctl.NewContext(k.System(), accessctl.EndUserActor(k.Tenant, string(u.ID)))
	d, _ := k.Devices.Enrol(own, u.ID, scadevice.Enrolment{Kind: scadevice.KindMobile, Tag: "phone"})
	d, _ = k.Devices.SetPasscode(own, d.ID, d.Version)
	manager, reader := k.As(accessctl.RoleManager), k.As(accessctl.RoleReadOnly)
	cmds, _ := k.Devices.AvailableCommands(manager, d.ID)
	none, _ := k.Devices.AvailableCommands(reader, d.ID)
	fmt.Println(cmds, len(none))
	d, _ = k.Devices.Lock(manager, d.ID, d.Version, scadevice.ReasonLostOrStolen, "lost on the train")
	_, err := k.Devices.Unlock(manager, d.ID, d.Version, false)
	fmt.Println(d.Status, errors.Is(err, backoffice.ErrInvalid))
	d, err = k.Devices.Unlock(manager, d.ID, d.Version, true)
	fmt.Println(d.Status, err)
	// Output:
	// [lock reset_pin delete] 0
	// locked true
	// active <nil>
}
