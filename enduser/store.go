package enduser

import (
	"context"
	"time"

	"github.com/backoffice-go/backoffice"
)

// This file lists every store interface of the package. Like the accessctl
// stores, they persist and make atomic only what they must: a change with
// its audit entry, versions. All methods return ErrUnavailable
// (wrapped) when the server cannot be reached.

// Key is where a user sits in every listing: newest first by creation
// time, then by id.
type Key struct {
	CreatedAt time.Time
	ID        ID
}

// KeyOf returns the user's listing key.
func KeyOf(u *EndUser) Key { return Key{u.CreatedAt, u.ID} }

// Less reports whether k sorts after o in a listing (is older).
func (k Key) Less(o Key) bool {
	if !k.CreatedAt.Equal(o.CreatedAt) {
		return k.CreatedAt.Before(o.CreatedAt)
	}
	return k.ID < o.ID
}

// Query selects end users, newest (latest CreatedAt, then highest id) first. Zero fields do not
// filter; set fields combine with AND.
type Query struct {
	// ID, Tag and Email match exactly; Email case-insensitively.
	ID    ID
	Tag   string
	Email string
	// Name matches part of a word of the first, last or legal name or the
	// email, case-insensitively. It is already lower-cased and holds no
	// control character.
	Name   string
	Type   *Type
	Status *Status
	// CreatedFrom is inclusive, CreatedTo exclusive.
	CreatedFrom time.Time
	CreatedTo   time.Time
	Parent      *ID
	// Before, when set, is the key of the last user of the previous page:
	// only older users are returned.
	Before *Key
	Limit  int
}

// OnboardingQuery selects onboardings, newest first.
type OnboardingQuery struct {
	Completed bool
	Before    string
	Limit     int
}

// Store persists end users and onboardings.
type Store interface {
	// CreateEndUser stores a new user with version 1 and its entry.
	// Returns ErrConflict if the id is taken.
	CreateEndUser(ctx context.Context, u *EndUser, e backoffice.AuditEntry) error
	// EndUser returns a copy of the user. Returns ErrNotFound.
	EndUser(ctx context.Context, tenant backoffice.TenantID, id ID) (*EndUser, error)
	// UpdateEndUser replaces the user if its stored version is
	// expectVersion, writes the entry, and sets u.Version to the next one.
	// Returns ErrNotFound, or ErrConflict on a stale version.
	UpdateEndUser(ctx context.Context, u *EndUser, expectVersion int64, e backoffice.AuditEntry) error
	// FindEndUsers returns the users matching q, newest first, at most
	// q.Limit of them.
	FindEndUsers(ctx context.Context, tenant backoffice.TenantID, q Query) ([]*EndUser, error)
	// CountEndUsers counts the users matching q, ignoring its Before and
	// Limit. Listings never call it: totals are asked for on their own.
	CountEndUsers(ctx context.Context, tenant backoffice.TenantID, q Query) (int, error)

	// CreateOnboarding stores a new onboarding with version 1.
	CreateOnboarding(ctx context.Context, o *Onboarding, e backoffice.AuditEntry) error
	// OnboardingByActivation finds an onboarding by its activation id.
	// Returns ErrNotFound.
	OnboardingByActivation(ctx context.Context, activationID string) (*Onboarding, error)
	// Onboardings lists a tenant's completed or uncompleted onboardings,
	// newest first.
	Onboardings(ctx context.Context, tenant backoffice.TenantID, q OnboardingQuery) ([]*Onboarding, error)
	// CompleteOnboarding marks the onboarding completed (its stored
	// version must be expectVersion) and creates its user, with both
	// entries, atomically. Returns ErrConflict if it was completed since.
	CompleteOnboarding(ctx context.Context, o *Onboarding, expectVersion int64, u *EndUser, eo, eu backoffice.AuditEntry) error

	// AppendAuditEntry records an action that changes no record.
	AppendAuditEntry(ctx context.Context, e backoffice.AuditEntry) error
}
