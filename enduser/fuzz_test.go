package enduser_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
)

// FuzzCreate feeds arbitrary field values to Create: it never panics;
// refused input is ErrInvalid and stores nothing; accepted input is stored
// as returned.
func FuzzCreate(f *testing.F) {
	f.Add("physical_person", "Ada", "Lovelace", "", "ada@example.com", "+441234567890", "GB", "FR", "", int64(0))
	f.Add("business", "", "", "Acme Ltd", "", "", "", "US", "123-45-6789", int64(-1e9))
	f.Add("business", "", "", "Acme Ltd", "", "", "", "US", "", int64(1e9))
	f.Add("robot", "\x00", "", "", "@", "+", "xx", "ZZ", "1", int64(4e9))
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, typ, first, last, legal, email, phone, country, resCountry, tin string, birth int64) {
		in := enduser.NewEndUser{Type: enduser.Type(typ), FirstName: first, LastName: last, LegalName: legal, Email: email, Phone: phone,
			Address: enduser.Address{Country: country}}
		if birth != 0 {
			in.BirthDate = time.Unix(birth, 0)
		}
		if resCountry != "" {
			in.TaxResidences = []enduser.TaxResidence{{Country: resCountry, TIN: tin}}
		}
		before, _ := e.store.FindEndUsers(context.Background(), tenantID, enduser.Query{Limit: 1})
		u, err := e.svc.Create(e.admin, in)
		if err != nil {
			if !errors.Is(err, backoffice.ErrInvalid) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			after, _ := e.store.FindEndUsers(context.Background(), tenantID, enduser.Query{Limit: 1})
			if len(after) != len(before) || len(after) > 0 && after[0].ID != before[0].ID {
				t.Fatal("a refused create stored a user")
			}
			return
		}
		got, err := e.store.EndUser(context.Background(), tenantID, u.ID)
		if err != nil || got.Version != 1 || got.Type != enduser.Type(typ) {
			t.Fatalf("stored %+v, %v", got, err)
		}
		for _, r := range got.TaxResidences {
			if r.Country == "US" && r.TIN == "" {
				t.Fatal("a US residence without TIN was accepted")
			}
		}
	})
}
