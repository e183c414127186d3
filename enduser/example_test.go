package enduser_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/storage/memory"
)

// A user with money in a wallet cannot be deactivated.
func Example() {
	store := memory.New()
	balances := enduser.BalancesFunc(func(_ context.Context, u *enduser.EndUser) ([]enduser.Balance, error) {
		return []enduser.Balance{{Wallet: "main", Currency: "EUR", Amount: 4200}}, nil
	})
	svc, err := enduser.NewService(enduser.Config{Store: store, Tenants: store, Balances: balances})
	if err != nil {
		panic(err)
	}
	ctx := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "example"))
	u, _ := svc.Create(ctx, enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: "Acme Ltd", Email: "Hello@Acme.test"})
	u, _ = svc.RequestKYCReview(ctx, u.ID, u.Version)
	u, _ = svc.RecordKYCOutcome(ctx, u.ID, u.Version, enduser.KYCValidated, "registry extract checked")
	fmt.Println(u.LegalName, u.Email, u.Status)
	_, err = svc.Deactivate(ctx, u.ID, u.Version)
	fmt.Println(errors.Is(err, backoffice.ErrFailedPrecondition))
	fmt.Println(err)
	// Output:
	// Acme Ltd hello@acme.test validated
	// true
	// enduser: deactivate: failed precondition: wallet main holds 42.00 EUR; its balance must be zero before deactivation
}
