package jsonapi

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
)

// The hand-written answers are byte for byte what encoding/json writes:
// for any string, escaped alike (quote, backslash, control characters,
// HTML's <, > and &, U+2028 and U+2029, invalid UTF-8).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\r\x00\x1f\x7f",
		"é ü 中文 🙂", "\u2028\u2029", "\xff\xfe invalid", "\xe2\x80", "a\u2028b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, encoding/json: %s", s, got, want)
		}
	})
}

// sampleUser is an end user with every field filled with s, or none.
func sampleUser(s string, full bool) *enduser.EndUser {
	u := &enduser.EndUser{ID: enduser.ID("id-" + s), Type: enduser.TypePhysicalPerson, Status: enduser.StatusValidated, KYC: enduser.KYCValidated,
		Version: 7, CreatedAt: time.Date(2026, 12, 7, 10, 11, 12, 123456789, time.UTC), UpdatedAt: time.Date(2026, 12, 7, 10, 11, 13, 0, time.FixedZone("x", 3600))}
	if full {
		u.Tag, u.KYCNote, u.FirstName, u.LastName, u.LegalName, u.Email, u.Phone = s, s, s, s, s, s, s
		u.Address = enduser.Address{Line1: s, Line2: s, PostalCode: s, City: s, State: s, Country: s}
		u.BirthDate = time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
		u.Parent, u.OnboardingID = enduser.ID(s), s
		u.TaxResidences = []enduser.TaxResidence{{ID: s, Country: "FR", TIN: s}, {ID: "2", Country: s, TIN: ""}}
	}
	return u
}

// Every field of an end user, its page and the session's operator, empty
// or filled with what the fuzzer finds, encode as encoding/json encodes
// them.
func FuzzAppendedAsEncodingJSON(f *testing.F) {
	f.Add("Ada <Lovelace> & \"co\"\n")
	f.Add("")
	f.Add("\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		for _, full := range []bool{false, true} {
			u := sampleUser(s, full)
			asEncodingJSON(t, endUserJSON(u), endUser{u}.appendJSON(nil))
			p := backoffice.Page[*enduser.EndUser]{Items: []*enduser.EndUser{u, sampleUser(s+"2", !full)}, Next: s}
			asEncodingJSON(t, pageJSON(p, endUserJSON), endUsers(p).appendJSON(nil))
			raw, err := json.Marshal(endUsers(p))
			require.NoError(t, err)
			asEncodingJSON(t, pageJSON(p, endUserJSON), raw)
		}
	})
}

// The probes' answer.
func TestAppendedStatus(t *testing.T) {
	asEncodingJSON(t, map[string]string{"status": "ok"}, statusOK.appendJSON(nil))
	raw, err := json.Marshal(statusOK)
	require.NoError(t, err)
	asEncodingJSON(t, map[string]string{"status": "ok"}, raw)
}

// An empty page and a page with more: as encoding/json writes them.
func TestAppendedPages(t *testing.T) {
	for _, p := range []backoffice.Page[*enduser.EndUser]{{}, {Items: []*enduser.EndUser{}}, {Items: []*enduser.EndUser{sampleUser("x", true)}, Next: "n"}} {
		asEncodingJSON(t, pageJSON(p, endUserJSON), endUsers(p).appendJSON(nil))
	}
}

// GET /v1/me's answer, for an Administrator, a Read-only operator, an
// operator with two roles and a system actor, as encoding/json writes its
// view.
func TestAppendedMe(t *testing.T) {
	k := newTwoTenants(t)
	ctx := context.Background()
	sys := accessctl.NewContext(ctx, accessctl.SystemActor("acme", "test"))
	actors := []*accessctl.Actor{accessctl.SystemActor("acme", "test")}
	for _, roles := range [][]accessctl.RoleName{{accessctl.RoleAdministrator}, {accessctl.RoleReadOnly}, {accessctl.RoleReadOnly, "manager"}} {
		o, err := k.ops.CreateOperator(sys, accessctl.NewOperator{Username: "op" + string(roles[len(roles)-1]) + fmt.Sprint(len(roles)),
			Email: fmt.Sprintf("op%d%s@acme.test", len(roles), roles[0]), FirstName: "<Op>", LastName: "\"Quoted\"", Roles: roles, AllAccounts: true,
			Password: adminPW, PasswordConfirmation: adminPW})
		require.NoError(t, err)
		a, err := k.ops.ActorOf(ctx, "acme", o.ID)
		require.NoError(t, err)
		actors = append(actors, a)
	}
	for _, a := range actors {
		m := me{actor: a}
		asEncodingJSON(t, m.view(), m.appendJSON(nil))
		raw, err := json.Marshal(m)
		require.NoError(t, err)
		asEncodingJSON(t, m.view(), raw)
	}
}

func asEncodingJSON(t *testing.T, v any, got []byte) {
	t.Helper()
	want, err := json.Marshal(v)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}
