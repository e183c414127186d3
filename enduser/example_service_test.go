package enduser_test

import (
	"fmt"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

func someone(first, last string) enduser.NewEndUser {
	return enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: first, LastName: last, Email: first + "@example.com"}
}

// The search toolbar: by id, tag, email, or a part of a name, a page at a
// time.
func ExampleService_Search() {
	k := memorytest.New(nil)
	reader := k.As(accessctl.RoleReadOnly)
	for _, n := range [][2]string{{"Ada", "Lovelace"}, {"Grace", "Hopper"}, {"Alan", "Turing"}} {
		if _, err := k.Users.Create(k.System(), someone(n[0], n[1])); err != nil {
			panic(err)
		}
	}
	page, err := k.Users.Search(reader, enduser.SearchQuery{Name: "hop"}, backoffice.PageRequest{Limit: 10})
	if err != nil {
		panic(err)
	}
	for _, u := range page.Items {
		fmt.Println(u.FirstName, u.LastName)
	}
	// Output:
	// Grace Hopper
}

// All Users: newest first, filtered, a page at a time with a cursor.
func ExampleService_List() {
	k := memorytest.New(nil)
	for _, n := range []string{"Ann", "Bob", "Cy"} {
		if _, err := k.Users.Create(k.System(), someone(n, "Doe")); err != nil {
			panic(err)
		}
		k.Clock.Advance(1e9)
	}
	pending := enduser.StatusPending
	reader := k.As(accessctl.RoleReadOnly)
	first, _ := k.Users.List(reader, enduser.Filter{Status: &pending}, backoffice.PageRequest{Limit: 2})
	second, _ := k.Users.List(reader, enduser.Filter{Status: &pending}, backoffice.PageRequest{Limit: 2, Cursor: first.Next})
	fmt.Println(first.Items[0].FirstName, first.Items[1].FirstName, second.Items[0].FirstName, second.Next == "")
	// Output:
	// Cy Bob Ann true
}

// A tax residence is a country and, for a US taxpayer, a well-formed TIN.
func ExampleService_AddTaxResidence() {
	k := memorytest.New(nil)
	editor := k.As(accessctl.RoleManager)
	u, _ := k.Users.Create(editor, someone("Ada", "Lovelace"))
	_, err := k.Users.AddTaxResidence(editor, u.ID, u.Version, enduser.TaxResidence{Country: "US"})
	fmt.Println(backoffice.FieldsOf(err))
	u, err = k.Users.AddTaxResidence(editor, u.ID, u.Version, enduser.TaxResidence{Country: "US", TIN: "123-45-6789"})
	fmt.Println(err, len(u.TaxResidences), u.TaxResidences[0].Country)
	// Output:
	// [tax_residences[0].tin]
	// <nil> 1 US
}

// A validated user whose wallets are empty can be deactivated, for good.
func ExampleService_Deactivate() {
	k := memorytest.New(nil)
	manager := k.As(accessctl.RoleManager)
	u, _ := k.Users.Create(manager, someone("Ada", "Lovelace"))
	u, _ = k.Users.RequestKYCReview(manager, u.ID, u.Version)
	u, _ = k.Users.RecordKYCOutcome(manager, u.ID, u.Version, enduser.KYCValidated, "passport checked")
	k.Wallets.Set(u.ID, enduser.Balance{Wallet: "main", Currency: "EUR", Amount: 1250})
	_, err := k.Users.Deactivate(manager, u.ID, u.Version)
	fmt.Println(err)
	k.Wallets.Set(u.ID, enduser.Balance{Wallet: "main", Currency: "EUR", Amount: 0})
	u, err = k.Users.Deactivate(manager, u.ID, u.Version)
	fmt.Println(u.Status, err)
	// Output:
	// enduser: deactivate: failed precondition: wallet main holds 12.50 EUR; its balance must be zero before deactivation
	// canceled <nil>
}

// A user who signs up gets an activation link; following it makes the
// user searchable.
func ExampleService_StartOnboarding() {
	k := memorytest.New(nil)
	o, err := k.Users.StartOnboarding(k.System(), someone("Ada", "Lovelace"))
	if err != nil {
		panic(err)
	}
	n := k.Outbox.EndUserNotices()[0]
	u, err := k.Users.CompleteOnboarding(k.System(), n.Token)
	fmt.Println(n.Kind, err, u.OnboardingID == o.ID)
	// Output:
	// activation <nil> true
}
