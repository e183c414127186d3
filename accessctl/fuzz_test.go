package accessctl_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

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

// FuzzTenantPolicy: P1-P5: any policy a tenant is given is either
// refused with ErrInvalid, leaving the tenant as it was, or stored and
// read back exactly.
func FuzzTenantPolicy(f *testing.F) {
	pci := accessctl.PCIDSS4()
	f.Add(pci.Name, int64(pci.IdleTimeout), int64(pci.SessionLifetime), int64(pci.LockoutDuration), pci.MinPasswordLength, pci.PasswordHistory,
		int64(pci.MaxPasswordAge), string(pci.MFA), int64(pci.DormantAfter), "enduser.deactivate,tenant.policy")
	f.Add("", int64(0), int64(0), int64(0), 0, 0, int64(0), "", int64(0), "")
	f.Add("\x00", int64(-1), int64(time.Second), int64(-5), 200, 25, int64(-1), "sometimes", int64(-1), "scadevice.lock")
	f.Add("x", int64(59*time.Second), int64(1<<62), int64(1<<62), -1, -1, int64(1<<62), "optional", int64(1<<62), ",,")
	k := memorytest.New(nil)
	sys := k.System()
	f.Fuzz(func(t *testing.T, name string, idle, lifetime, lockout int64, minLen, history int, maxAge int64, mfa string, dormant int64, fourEyes string) {
		p := accessctl.Policy{Name: name, IdleTimeout: time.Duration(idle), SessionLifetime: time.Duration(lifetime),
			LockoutDuration: time.Duration(lockout), MinPasswordLength: minLen, PasswordHistory: history, MaxPasswordAge: time.Duration(maxAge),
			MFA: accessctl.MFAMode(mfa), DormantAfter: time.Duration(dormant)}
		for a := range strings.SplitSeq(fourEyes, ",") {
			if a != "" {
				p.FourEyes = append(p.FourEyes, backoffice.Action(a))
			}
		}
		before, err := k.Ops.Tenant(sys)
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.Ops.ConfigureTenant(sys, accessctl.TenantSettings{Version: before.Version, Policy: &p})
		if err != nil {
			if !errors.Is(err, backoffice.ErrInvalid) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			after, err := k.Ops.Tenant(sys)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before, after) {
				t.Fatal("a refused policy changed the tenant")
			}
			return
		}
		got, err := k.Ops.Policy(sys)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, got) {
			t.Fatalf("stored %+v, read back %+v", p, got)
		}
	})
}
