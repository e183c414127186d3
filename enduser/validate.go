package enduser

import (
	"fmt"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/internal/check"
)

// NewEndUser is the input for creating an end user or starting an
// onboarding.
type NewEndUser struct {
	Type          Type
	Tag           string
	FirstName     string
	LastName      string
	LegalName     string
	Email         string
	Phone         string
	Address       Address
	BirthDate     time.Time
	Parent        ID
	TaxResidences []TaxResidence
}

// Update changes a user's identity and contact fields; nil fields stay as
// they are. Version is the version the caller read.
type Update struct {
	Version   int64
	Tag       *string
	FirstName *string
	LastName  *string
	LegalName *string
	Email     *string
	Phone     *string
	Address   *Address
	BirthDate *time.Time
	Parent    *ID
}

func normalize(u *EndUser) {
	u.Tag = strings.TrimSpace(u.Tag)
	u.FirstName = strings.TrimSpace(u.FirstName)
	u.LastName = strings.TrimSpace(u.LastName)
	u.LegalName = strings.TrimSpace(u.LegalName)
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	u.Phone = strings.TrimSpace(u.Phone)
	a := &u.Address
	a.Line1, a.Line2 = strings.TrimSpace(a.Line1), strings.TrimSpace(a.Line2)
	a.PostalCode, a.City, a.State = strings.TrimSpace(a.PostalCode), strings.TrimSpace(a.City), strings.TrimSpace(a.State)
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	if !u.BirthDate.IsZero() {
		y, m, d := u.BirthDate.Date()
		u.BirthDate = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	for i := range u.TaxResidences {
		normalizeResidence(&u.TaxResidences[i])
	}
}

func normalizeResidence(r *TaxResidence) {
	r.Country = strings.ToUpper(strings.TrimSpace(r.Country))
	r.TIN = strings.TrimSpace(r.TIN)
}

// validate checks a whole user record, type-specific rules included, and
// lists every problem.
func validate(v *backoffice.Violations, u *EndUser, now time.Time) {
	if !u.Type.Valid() {
		v.Add("type", "must be physical_person, business, non_governmental_organization or governmental_organization")
	}
	if r := check.Text(u.Tag, 128); r != "" {
		v.Add("tag", r)
	}
	if u.Type == TypePhysicalPerson {
		if r := check.Name(u.FirstName, 100); r != "" {
			v.Add("first_name", r)
		}
		if r := check.Name(u.LastName, 100); r != "" {
			v.Add("last_name", r)
		}
		if r := check.Text(u.LegalName, 200); r != "" {
			v.Add("legal_name", r)
		}
	} else if u.Type.Valid() {
		if r := check.Name(u.LegalName, 200); r != "" {
			v.Add("legal_name", "an organisation's legal name "+r)
		}
		for _, f := range [][2]string{{"first_name", u.FirstName}, {"last_name", u.LastName}} {
			if r := check.Text(f[1], 100); r != "" {
				v.Add(f[0], r)
			}
		}
	}
	if u.Email != "" {
		if r := check.Email(u.Email); r != "" {
			v.Add("email", r)
		}
	}
	if u.Phone != "" {
		if r := check.Phone(u.Phone); r != "" {
			v.Add("phone", r)
		}
	}
	a := u.Address
	for _, f := range [][2]string{{"address.line1", a.Line1}, {"address.line2", a.Line2}, {"address.postal_code", a.PostalCode},
		{"address.city", a.City}, {"address.state", a.State}} {
		if r := check.Text(f[1], 200); r != "" {
			v.Add(f[0], r)
		}
	}
	if a.Country != "" {
		if r := check.Country(a.Country); r != "" {
			v.Add("address.country", r)
		}
	}
	if !u.BirthDate.IsZero() {
		switch {
		case u.BirthDate.After(now):
			v.Add("birth_date", "must not be in the future")
		case u.BirthDate.Year() < 1900:
			v.Add("birth_date", "must be after 1900")
		case u.Type != TypePhysicalPerson:
			v.Add("birth_date", "only a physical person has a birth date")
		}
	}
	validateResidences(v, u.TaxResidences)
}

// validateResidences checks countries, TINs and duplicates.
func validateResidences(v *backoffice.Violations, rs []TaxResidence) {
	seen := map[string]bool{}
	for i, r := range rs {
		field := fmt.Sprintf("tax_residences[%d]", i)
		if reason := check.Country(r.Country); reason != "" {
			v.Add(field+".country", reason)
			continue
		}
		if seen[r.Country] {
			v.Add(field+".country", "is declared twice")
		}
		seen[r.Country] = true
		switch {
		case r.Country == "US" && r.TIN == "":
			v.Add(field+".tin", "is mandatory for US taxpayers")
		case r.Country == "US":
			if reason := check.USTIN(r.TIN); reason != "" {
				v.Add(field+".tin", reason)
			}
		case r.TIN != "":
			if reason := tinShape(r.TIN); reason != "" {
				v.Add(field+".tin", reason)
			}
		}
	}
}

// tinShape checks a non-US TIN loosely: 1 to 30 letters, digits, spaces,
// hyphens, dots or slashes, as countries write them.
func tinShape(tin string) string {
	if len(tin) > 30 {
		return "must be at most 30 characters"
	}
	for i := 0; i < len(tin); i++ {
		c := tin[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || strings.IndexByte(" -./", c) >= 0) {
			return "may contain only letters, digits, spaces and - . /"
		}
	}
	return ""
}

// searchTerm lower-cases a name search and checks it is long enough to be
// selective.
func searchTerm(v *backoffice.Violations, s string) string {
	t := strings.ToLower(strings.Join(strings.Fields(s), " "))
	if t == "" {
		return ""
	}
	if r := check.Text(t, 100); r != "" {
		v.Add("name", r)
	} else if len([]rune(t)) < 3 {
		v.Add("name", "type at least 3 characters")
	}
	return t
}

// SearchText is the text a name search matches: first, last and
// legal name and email, lower-cased, separated by spaces. Stores index it.
func SearchText(u *EndUser) string {
	return strings.ToLower(u.FirstName + " " + u.LastName + " " + u.LegalName + " " + u.Email)
}
