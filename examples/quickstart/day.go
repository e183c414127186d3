package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// wallets is the example's balance source: wallet balances in cents, by user.
type wallets map[enduser.ID]int64

func (w wallets) Balances(_ context.Context, u *enduser.EndUser) ([]enduser.Balance, error) {
	return []enduser.Balance{{Wallet: "main", Currency: "EUR", Amount: w[u.ID]}}, nil
}

// operatorDay is an operator's day with end users and their devices: find
// a customer, update it, declare a US tax residence, lock a device for
// suspected fraud and unlock it after checking the customer's identity,
// and try to deactivate a customer who still has money.
func operatorDay(out io.Writer, store *memory.Store, clk *clock, opCtx context.Context) error {
	step := func(format string, args ...any) { fmt.Fprintf(out, "• "+format+"\n", args...) }
	money := wallets{}
	users, err := enduser.NewService(enduser.Config{Store: store, Tenants: store, Balances: money, Now: clk.Now})
	if err != nil {
		return err
	}
	devices, err := scadevice.NewService(scadevice.Config{Store: store, Users: store, Notifier: &memorytest.Recorder{}, Now: clk.Now})
	if err != nil {
		return err
	}
	a, _ := accessctl.ActorFrom(opCtx)
	// Some customers, as the platform's sign-up would have made them.
	for _, in := range []enduser.NewEndUser{
		{Type: enduser.TypePhysicalPerson, FirstName: "Marie", LastName: "Curie", Email: "marie@radium.example", Tag: "crm-1867",
			BirthDate: time.Date(1967, 11, 7, 0, 0, 0, 0, time.UTC), Address: enduser.Address{City: "Paris", Country: "FR"}},
		{Type: enduser.TypePhysicalPerson, FirstName: "Pierre", LastName: "Curie", Email: "pierre@radium.example"},
		{Type: enduser.TypeBusiness, LegalName: "Curie Instruments SARL", Email: "contact@instruments.example"},
	} {
		if _, err := users.Create(opCtx, in); err != nil {
			return err
		}
	}

	found, err := users.Search(opCtx, enduser.SearchQuery{Name: "curie"}, backoffice.PageRequest{})
	if err != nil {
		return err
	}
	step("%s searches \"curie\": %d customers", a.Name(), len(found.Items))
	byTag, err := users.Search(opCtx, enduser.SearchQuery{Tag: "crm-1867"}, backoffice.PageRequest{})
	if err != nil {
		return err
	}
	marie := byTag.Items[0]
	step("by tag crm-1867: %s (%s, %s)", marie.DisplayName(), marie.Type, marie.Status)

	phone := "+33 1 23 45 67 89"
	marie, err = users.Update(opCtx, marie.ID, enduser.Update{Version: marie.Version, Phone: &phone})
	if err != nil {
		return err
	}
	step("updated her phone to %s (version %d)", marie.Phone, marie.Version)

	_, err = users.AddTaxResidence(opCtx, marie.ID, marie.Version, enduser.TaxResidence{Country: "US"})
	step("a US tax residence without TIN: %v", err)
	marie, err = users.AddTaxResidence(opCtx, marie.ID, marie.Version, enduser.TaxResidence{Country: "US", TIN: "123-45-6789"})
	if err != nil {
		return err
	}
	step("added a US tax residence with its TIN: %d residence(s)", len(marie.TaxResidences))

	// Marie enrolled her phone and set a PIN in the customer app.
	self := accessctl.NewContext(context.Background(), accessctl.EndUserActor(marie.Tenant, string(marie.ID)))
	phoneDev, err := devices.Enrol(self, marie.ID, scadevice.Enrolment{Kind: scadevice.KindMobile, Info: "Pixel 9, Android 16"})
	if err != nil {
		return err
	}
	if phoneDev, err = devices.SetPasscode(self, phoneDev.ID, phoneDev.Version); err != nil {
		return err
	}
	cmds, _ := devices.AvailableCommands(opCtx, phoneDev.ID)
	step("her %s device is %s; commands offered: %v", phoneDev.Kind, phoneDev.Status, cmds)
	phoneDev, err = devices.Lock(opCtx, phoneDev.ID, phoneDev.Version, scadevice.ReasonSuspectedFraud, "three declined payments abroad")
	if err != nil {
		return err
	}
	step("locked it: %s, reason %s, message %q", phoneDev.Status, phoneDev.LockReason, phoneDev.LockMessage)
	_, err = devices.Unlock(opCtx, phoneDev.ID, phoneDev.Version, false)
	step("unlock without stating her identity was verified: %v", err)
	phoneDev, err = devices.Unlock(opCtx, phoneDev.ID, phoneDev.Version, true)
	if err != nil {
		return err
	}
	step("called her back, verified her identity, unlocked: %s", phoneDev.Status)

	// Marie's KYC is validated; she still has 125.40 EUR.
	if marie, err = users.RequestKYCReview(opCtx, marie.ID, marie.Version); err != nil {
		return err
	}
	if marie, err = users.RecordKYCOutcome(opCtx, marie.ID, marie.Version, enduser.KYCValidated, "passport checked"); err != nil {
		return err
	}
	money[marie.ID] = 12540
	_, err = users.Deactivate(opCtx, marie.ID, marie.Version)
	step("deactivate her: %v (failed precondition: %t)", err, errors.Is(err, backoffice.ErrFailedPrecondition))
	money[marie.ID] = 0
	marie, err = users.Deactivate(opCtx, marie.ID, marie.Version)
	if err != nil {
		return err
	}
	step("after the payout her balance is zero; deactivated: %s (kept in the list, never deleted)", marie.Status)
	return nil
}
