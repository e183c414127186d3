package jsonapi

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
)

// The answers read most (a page of end users, an end user, the session's
// operator) are written by hand, byte for byte as encoding/json writes
// them (FuzzAppendString and TestAppendedAsEncodingJSON check it): the
// reflection of encoding/json was half of the time of a page of twenty.
// Every other answer goes through encoding/json.

// appender is an answer that writes its own JSON.
type appender interface {
	appendJSON(b []byte) []byte
}

const hexDigits = "0123456789abcdef"

// plain are the ASCII bytes a JSON string carries as they are: not a
// control character, quote or backslash, nor <, > or & (HTML-safe).
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it by default: quote, backslash and control characters, and
// <, > and & (HTML-safe), U+2028 and U+2029; invalid UTF-8 becomes
// U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendKey appends "name": with the comma before it unless first.
func appendKey(b []byte, name string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendStrings[S ~string](b []byte, list []S) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, string(s))
	}
	return append(b, ']')
}

// endUser is an end user as the API answers it, written from the user
// itself (no view copied): endUserView's JSON.
type endUser struct{ u *enduser.EndUser }

func (e endUser) appendJSON(b []byte) []byte { return appendEndUser(b, e.u) }

// MarshalJSON is for a caller that encodes it with encoding/json.
func (e endUser) MarshalJSON() ([]byte, error) { return json.Marshal(endUserJSON(e.u)) }

// endUsers is a page of end users as the API answers it: page[endUserView]'s
// JSON.
type endUsers backoffice.Page[*enduser.EndUser]

func (p endUsers) appendJSON(b []byte) []byte {
	b = appendKey(append(b, '{'), "items", true)
	b = append(b, '[')
	for i, u := range p.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEndUser(b, u)
	}
	b = append(b, ']')
	if p.Next != "" {
		b = appendString(appendKey(b, "next", false), p.Next)
	}
	return append(b, '}')
}

// MarshalJSON is for a caller that encodes it with encoding/json.
func (p endUsers) MarshalJSON() ([]byte, error) {
	return json.Marshal(pageJSON(backoffice.Page[*enduser.EndUser](p), endUserJSON))
}

// appendEndUser writes what endUserJSON(u) encodes to.
func appendEndUser(b []byte, u *enduser.EndUser) []byte {
	b = appendKey(append(b, '{'), "id", true)
	b = appendString(b, string(u.ID))
	if u.Tag != "" {
		b = appendString(appendKey(b, "tag", false), u.Tag)
	}
	b = appendString(appendKey(b, "type", false), string(u.Type))
	b = appendString(appendKey(b, "status", false), string(u.Status))
	b = appendString(appendKey(b, "kyc", false), string(u.KYC))
	for _, f := range [...]struct{ name, value string }{{"kyc_note", u.KYCNote}, {"first_name", u.FirstName}, {"last_name", u.LastName},
		{"legal_name", u.LegalName}, {"email", u.Email}, {"phone", u.Phone}} {
		if f.value != "" {
			b = appendString(appendKey(b, f.name, false), f.value)
		}
	}
	b = appendAddress(appendKey(b, "address", false), u.Address)
	if !u.BirthDate.IsZero() {
		b = appendKey(b, "birth_date", false)
		b = append(u.BirthDate.AppendFormat(append(b, '"'), time.DateOnly), '"')
	}
	if u.Parent != "" {
		b = appendString(appendKey(b, "parent", false), string(u.Parent))
	}
	b = appendKey(b, "tax_residences", false)
	b = append(b, '[')
	for i, r := range u.TaxResidences {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(appendKey(append(b, '{'), "id", true), r.ID)
		b = appendString(appendKey(b, "country", false), r.Country)
		b = append(appendString(appendKey(b, "tin", false), r.TIN), '}')
	}
	b = append(b, ']')
	if u.OnboardingID != "" {
		b = appendString(appendKey(b, "onboarding_id", false), u.OnboardingID)
	}
	b = strconv.AppendInt(appendKey(b, "version", false), u.Version, 10)
	b = appendTime(appendKey(b, "created_at", false), u.CreatedAt)
	b = appendTime(appendKey(b, "updated_at", false), u.UpdatedAt)
	return append(b, '}')
}

func appendAddress(b []byte, a enduser.Address) []byte {
	b = appendString(appendKey(append(b, '{'), "line1", true), a.Line1)
	b = appendString(appendKey(b, "line2", false), a.Line2)
	b = appendString(appendKey(b, "postal_code", false), a.PostalCode)
	b = appendString(appendKey(b, "city", false), a.City)
	b = appendString(appendKey(b, "state", false), a.State)
	b = appendString(appendKey(b, "country", false), a.Country)
	return append(b, '}')
}

// me is the session's operator as GET /v1/me answers it: meView's JSON,
// written from the actor (no list of its permissions made).
type me struct {
	actor *accessctl.Actor
}

func (m me) appendJSON(b []byte) []byte {
	a := m.actor
	b = appendString(appendKey(append(b, '{'), "id", true), a.ID())
	b = appendString(appendKey(b, "name", false), a.Name())
	b = appendString(appendKey(b, "tenant", false), string(a.Tenant()))
	b = appendStrings(appendKey(b, "roles", false), a.Roles())
	b = strconv.AppendBool(appendKey(b, "administrator", false), a.IsAdministrator())
	b = append(appendKey(b, "permissions", false), '[')
	first := true
	for p := range a.Permissions() {
		if !first {
			b = append(b, ',')
		}
		b, first = appendString(b, string(p)), false
	}
	return append(b, ']', '}')
}

// view is the answer as encoding/json encodes it.
func (m me) view() meView {
	a := m.actor
	v := meView{ID: a.ID(), Name: a.Name(), Tenant: a.Tenant(), Roles: a.Roles(), Administrator: a.IsAdministrator(),
		Permissions: []accessctl.Permission{}}
	for p := range a.Permissions() {
		v.Permissions = append(v.Permissions, p)
	}
	return v
}

// MarshalJSON is for a caller that encodes it with encoding/json.
func (m me) MarshalJSON() ([]byte, error) { return json.Marshal(m.view()) }

// statusAnswer is {"status": …}, the probes' answer.
type statusAnswer string

const statusOK statusAnswer = "ok"

func (s statusAnswer) appendJSON(b []byte) []byte {
	return append(appendString(appendKey(append(b, '{'), "status", true), string(s)), '}')
}

// MarshalJSON is for a caller that encodes it with encoding/json.
func (s statusAnswer) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"status": string(s)})
}

var (
	_ appender = statusOK
	_ appender = endUser{}
	_ appender = endUsers{}
	_ appender = me{}
)
