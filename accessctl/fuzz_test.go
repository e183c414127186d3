package accessctl_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// FuzzInviteOperator feeds arbitrary identities, roles and account ids to
// InviteOperator: it never panics; a refusal is a typed error and stores
// nothing; an accepted operator is stored as returned, with the roles it
// asked for.
func FuzzInviteOperator(f *testing.F) {
	f.Add("dora", "dora@acme.test", "Dora", "Explorer", "", "read_only", "acc-1")
	f.Add("  Dora ", "DORA@ACME.TEST ", "D", "E", "ext-1", "manager", "")
	f.Add("a", "@", "\x00", "\u202e", "", "administrator", "acc 1")
	f.Add("x'; DROP TABLE operators;--", "x@y", "{{.}}", "${jndi:x}", "k", "no_such_role", "\xff")
	k := memorytest.New(nil)
	sys := k.System()
	f.Fuzz(func(t *testing.T, username, email, first, last, key, role, account string) {
		in := accessctl.NewOperator{Username: username, Email: email, FirstName: first, LastName: last, ExternalKey: key,
			Roles: []accessctl.RoleName{accessctl.RoleName(role)}, AllAccounts: account == ""}
		if account != "" {
			in.Accounts = []accessctl.AccountID{accessctl.AccountID(account)}
		}
		before, err := k.Store.Operators(sys, k.Tenant, accessctl.OperatorQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		o, err := k.Ops.InviteOperator(sys, in)
		if err != nil {
			if !errors.Is(err, backoffice.ErrInvalid) && !errors.Is(err, backoffice.ErrConflict) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			after, _ := k.Store.Operators(sys, k.Tenant, accessctl.OperatorQuery{Limit: 1000})
			if len(after) != len(before) {
				t.Fatal("a refused invitation stored an operator")
			}
			return
		}
		got, err := k.Store.Operator(sys, k.Tenant, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Username != o.Username || got.Email != o.Email || len(got.Roles) != 1 || string(got.Roles[0]) != role {
			t.Fatalf("stored %+v, returned %+v", got, o)
		}
		if strings.TrimSpace(got.Username) != got.Username {
			t.Fatalf("username %q stored unnormalized", got.Username)
		}
		if got.Username == "" && got.Email == "" {
			t.Fatal("an operator with neither username nor email was accepted")
		}
	})
}
