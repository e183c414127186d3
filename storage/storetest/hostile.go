package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
)

// megabyte is a text field a million bytes long.
var megabyte = strings.Repeat("x", 1<<20)

// hostile are the values every text field is given.
var hostile = map[string]string{
	"sql":          "Robert'); DROP TABLE backoffice_operators; --",
	"sql-or":       "' OR '1'='1",
	"nul":          "a\x00b",
	"invalid-utf8": "\xff\xfe\xfd",
	"control":      "a\x07\x1bb",
	"newline":      "line\nbreak",
	"bidi":         "abc\u202edef",
	"html":         "<script>alert(1)</script>",
	"format":       "%s%n%x%d",
	"template":     "${jndi:ldap://x}{{.}}",
	"1MB":          megabyte,
}

// sweep is one input of a service method, and how to call it.
type sweep struct {
	name string
	// ignored are fields the method does not read (the service sets them).
	ignored []string
	base    func(e *raceEnv, v victim) any // a valid input
	call    func(e *raceEnv, v victim, in any) error
}

func sweeps() []sweep {
	str := func(s string) *string { return &s }
	return []sweep{
		{"CreateOperator", nil, func(*raceEnv, victim) any {
			return accessctl.NewOperator{Username: "hostile", Email: "hostile@acme.test", FirstName: "H", LastName: "H", ExternalKey: "k",
				Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true, Password: racePassword, PasswordConfirmation: racePassword}
		}, func(e *raceEnv, _ victim, in any) error {
			_, err := e.ops[0].CreateOperator(e.sys, in.(accessctl.NewOperator))
			return err
		}},
		{"InviteOperator", nil, func(*raceEnv, victim) any {
			return accessctl.NewOperator{Username: "invitee", Email: "invitee@acme.test", FirstName: "H", LastName: "H",
				Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true}
		}, func(e *raceEnv, _ victim, in any) error {
			_, err := e.ops[0].InviteOperator(e.sys, in.(accessctl.NewOperator))
			return err
		}},
		{"UpdateOperator", nil, func(_ *raceEnv, v victim) any {
			return accessctl.OperatorUpdate{Version: v.op.Version, Username: str("renamed"), Email: str("renamed@acme.test"),
				FirstName: str("R"), LastName: str("R"), ExternalKey: str("key")}
		}, func(e *raceEnv, v victim, in any) error {
			u := in.(accessctl.OperatorUpdate)
			u.Version = e.get(v.op.ID).Version
			_, err := e.ops[0].UpdateOperator(e.sys, v.op.ID, u)
			return err
		}},
		{"CreateRole", []string{"Tenant"}, func(*raceEnv, victim) any {
			return accessctl.Role{Name: "hostile_role", Abbrev: "HR", Description: "d", Permissions: []accessctl.Permission{accessctl.PermEndUserRead}}
		}, func(e *raceEnv, _ victim, in any) error {
			_, err := e.ops[0].CreateRole(e.sys, in.(accessctl.Role))
			return err
		}},
		{"ConfigureTenant", nil, func(*raceEnv, victim) any {
			return accessctl.TenantSettings{Name: str("Acme")}
		}, func(e *raceEnv, _ victim, in any) error {
			s := in.(accessctl.TenantSettings)
			tn, err := e.ops[0].Tenant(e.sys)
			if err != nil {
				return err
			}
			s.Version = tn.Version
			_, err = e.ops[0].ConfigureTenant(e.sys, s)
			return err
		}},
		{"Login", nil, func(*raceEnv, victim) any {
			return struct{ Login, Password string }{"victim", "Wrong-Password-1"}
		}, func(e *raceEnv, _ victim, in any) error {
			l := in.(struct{ Login, Password string })
			_, err := e.ops[0].Login(context.Background(), raceTenant, l.Login, backoffice.Secret(l.Password))
			if err == accessctl.ErrLoginRefused {
				return nil // the one answer, whatever the input
			}
			return err
		}},
		{"CreateEndUser", nil, func(*raceEnv, victim) any {
			return enduser.NewEndUser{Type: enduser.TypePhysicalPerson, Tag: "t", FirstName: "Ada", LastName: "L", Email: "ada@example.com", Phone: "+33612345678",
				Address: enduser.Address{Line1: "1 rue", City: "Paris", PostalCode: "75001", Country: "FR"}}
		}, func(e *raceEnv, _ victim, in any) error {
			_, err := e.users[0].Create(e.sys, in.(enduser.NewEndUser))
			return err
		}},
		{"UpdateEndUser", nil, func(*raceEnv, victim) any {
			return enduser.Update{Tag: str("t"), FirstName: str("A"), LastName: str("L"), Email: str("a@example.com"), Phone: str("+33612345678")}
		}, func(e *raceEnv, v victim, in any) error {
			u := in.(enduser.Update)
			cur, err := e.st.EndUsers.EndUser(context.Background(), raceTenant, v.user.ID)
			if err != nil {
				return err
			}
			u.Version = cur.Version
			_, err = e.users[0].Update(e.sys, v.user.ID, u)
			return err
		}},
		{"AddTaxResidence", nil, func(*raceEnv, victim) any {
			return enduser.TaxResidence{Country: "DE", TIN: "12345678901"}
		}, func(e *raceEnv, v victim, in any) error {
			cur, err := e.st.EndUsers.EndUser(context.Background(), raceTenant, v.user.ID)
			if err != nil {
				return err
			}
			_, err = e.users[0].AddTaxResidence(e.sys, v.user.ID, cur.Version, in.(enduser.TaxResidence))
			return err
		}},
		{"Search", nil, func(*raceEnv, victim) any {
			return enduser.SearchQuery{Name: "ada"}
		}, func(e *raceEnv, _ victim, in any) error {
			_, err := e.users[0].Search(e.sys, in.(enduser.SearchQuery), backoffice.PageRequest{})
			return err
		}},
		{"Enrol", nil, func(*raceEnv, victim) any {
			return scadevice.Enrolment{Kind: scadevice.KindWeb, Tag: "t", Info: "i"}
		}, func(e *raceEnv, v victim, in any) error {
			own := accessctl.NewContext(context.Background(), accessctl.EndUserActor(raceTenant, string(v.user.ID)))
			_, err := e.devices[0].Enrol(own, v.user.ID, in.(scadevice.Enrolment))
			return err
		}},
		{"Lock", nil, func(*raceEnv, victim) any {
			return struct{ Message string }{"lost"}
		}, func(e *raceEnv, v victim, in any) error {
			d, err := e.st.Devices.Device(context.Background(), raceTenant, v.dev.ID)
			if err != nil {
				return err
			}
			_, err = e.devices[0].Lock(e.sys, v.dev.ID, d.Version, scadevice.ReasonOther, in.(struct{ Message string }).Message)
			if err == nil { // unlock again for the next value
				d, err = e.st.Devices.Device(context.Background(), raceTenant, v.dev.ID)
				if err == nil {
					_, err = e.devices[0].Unlock(e.sys, v.dev.ID, d.Version, true)
				}
			}
			return err
		}},
	}
}

// textFields lists the paths of the string fields of a struct value,
// nested structs included, pointers to strings as well.
func textFields(t reflect.Type, prefix []int) [][]int {
	var out [][]int
	for i := range t.NumField() {
		f := t.Field(i)
		path := append(append([]int{}, prefix...), i)
		switch {
		case f.Type.Kind() == reflect.String, f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.String:
			out = append(out, path)
		case f.Type.Kind() == reflect.Struct && f.Type.String() != "time.Time":
			out = append(out, textFields(f.Type, path)...)
		}
	}
	return out
}

// withText returns a copy of v with the field at path set to s.
func withText(v any, path []int, s string) any {
	c := reflect.New(reflect.TypeOf(v)).Elem()
	c.Set(reflect.ValueOf(v))
	f := c.FieldByIndex(path)
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		p.Elem().SetString(s)
		f.Set(p)
	} else {
		f.SetString(s)
	}
	return c.Interface()
}

// testHostileInput: X3, X7: every text field of every input is given
// injection strings, a NUL, invalid UTF-8, control and bidi characters,
// templates and a megabyte; the answer is a typed error or a success,
// never a panic or an internal error; a megabyte is always refused; and a
// refused input changes nothing.
func testHostileInput(t *testing.T, newStores func(*testing.T) Stores) {
	e := newRaceEnv(t, newStores)
	v := seedVictim(t, e)
	for _, sw := range sweeps() {
		base := sw.base(e, v)
		require.NoError(t, sw.call(e, v, base), "%s: the base input is valid", sw.name)
		for _, path := range textFields(reflect.TypeOf(base), nil) {
			field := reflect.TypeOf(base).FieldByIndex(path).Name
			for label, value := range hostile {
				before := snapshot(t, e, v)
				err := func() (err error) {
					defer func() {
						if r := recover(); r != nil {
							err = fmt.Errorf("panic: %v", r)
						}
					}()
					return sw.call(e, v, withText(base, path, value))
				}()
				name := fmt.Sprintf("%s.%s=%s", sw.name, field, label)
				if err != nil {
					assert.True(t, typed(err), "%s: untyped error %.300v", name, err)
					if errors.Is(err, backoffice.ErrInvalid) {
						assert.Equal(t, before, snapshot(t, e, v), "%s: a refused input changed something", name)
					}
				}
				if label == "1MB" && sw.name != "Login" && !slices.Contains(sw.ignored, field) {
					assert.ErrorIs(t, err, backoffice.ErrInvalid, "%s: a megabyte is refused", name)
				}
			}
		}
	}
}
