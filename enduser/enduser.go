package enduser

import (
	"slices"
	"time"

	"github.com/backoffice-go/backoffice"
)

// ID identifies an end user.
type ID string

// Type is the kind of person or organisation an end user is.
type Type string

// End-user types.
const (
	TypePhysicalPerson Type = "physical_person"
	TypeBusiness       Type = "business"
	TypeNGO            Type = "non_governmental_organization"
	TypeGovernment     Type = "governmental_organization"
)

// Types lists every end-user type.
func Types() []Type { return []Type{TypePhysicalPerson, TypeBusiness, TypeNGO, TypeGovernment} }

// Title is the type as the seeds and the console write it: "Physical
// person", "Business", "Non-governmental organization", "Governmental
// organization".
func (t Type) Title() string {
	switch t {
	case TypePhysicalPerson:
		return "Physical person"
	case TypeBusiness:
		return "Business"
	case TypeNGO:
		return "Non-governmental organization"
	case TypeGovernment:
		return "Governmental organization"
	}
	return string(t)
}

// Valid reports whether t is one of the types.
func (t Type) Valid() bool { return slices.Contains(Types(), t) }

// Status is an end user's standing with the platform.
type Status string

// Statuses. Canceled is final: a deactivated user stays listed.
const (
	StatusPending   Status = "pending"
	StatusValidated Status = "validated"
	StatusCanceled  Status = "canceled"
)

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	return s == StatusPending || s == StatusValidated || s == StatusCanceled
}

// KYCStatus is where the user's know-your-customer review stands.
type KYCStatus string

// KYC statuses.
const (
	KYCNone      KYCStatus = "none"
	KYCPending   KYCStatus = "pending"
	KYCValidated KYCStatus = "validated"
	KYCRefused   KYCStatus = "refused"
)

// Address is a postal address. Country is ISO 3166-1 alpha-2.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	State      string `json:"state"`
	Country    string `json:"country"`
}

// TaxResidence is one country where the user is liable to tax, with its
// taxpayer identification number.
type TaxResidence struct {
	ID      string `json:"id"`
	Country string `json:"country"`
	TIN     string `json:"tin"`
}

// EndUser is a customer of the platform: a physical person or an
// organisation. There is no way to delete one.
type EndUser struct {
	ID     ID
	Tenant backoffice.TenantID
	// Tag is free text the platform sets to find the user again.
	Tag    string    `audit:"tag"`
	Type   Type      `audit:"type"`
	Status Status    `audit:"status"`
	KYC    KYCStatus `audit:"kyc"`
	// KYCNote is the reviewer's note with the last outcome.
	KYCNote   string `audit:"kyc_note"`
	FirstName string `audit:"first_name"`
	LastName  string `audit:"last_name"`
	// LegalName is the registered name of an organisation.
	LegalName string  `audit:"legal_name"`
	Email     string  `audit:"email"`
	Phone     string  `audit:"phone"`
	Address   Address `audit:"address"`
	// BirthDate is a date at midnight UTC; zero when unknown.
	BirthDate     time.Time      `audit:"birth_date,date"`
	Parent        ID             `audit:"parent"`
	TaxResidences []TaxResidence `audit:"tax_residences"`
	// OnboardingID is set for users who onboarded themselves.
	OnboardingID string `audit:"onboarding_id"`
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Clone returns a deep copy.
func (u *EndUser) Clone() *EndUser {
	c := *u
	c.TaxResidences = slices.Clone(u.TaxResidences)
	return &c
}

// DisplayName is the legal name of an organisation or the person's names.
func (u *EndUser) DisplayName() string {
	if u.LegalName != "" {
		return u.LegalName
	}
	return u.FirstName + " " + u.LastName
}

// Onboarding is a self-onboarding in progress or completed. The user
// record, with its user id, exists only once the onboarding is completed.
type Onboarding struct {
	ID     string
	Tenant backoffice.TenantID
	// ActivationID is the SHA-256 of the activation token in hex.
	ActivationID string
	Profile      NewEndUser
	ExpiresAt    time.Time
	// CompletedAt and User are set on completion.
	CompletedAt time.Time
	User        ID
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Completed reports whether the activation link was followed.
func (o *Onboarding) Completed() bool { return o.User != "" }

// Clone returns a deep copy.
func (o *Onboarding) Clone() *Onboarding {
	c := *o
	c.Profile.TaxResidences = slices.Clone(o.Profile.TaxResidences)
	return &c
}

// Audit target types of this package.
const (
	TargetEndUser    = "enduser"
	TargetOnboarding = "onboarding"
)
