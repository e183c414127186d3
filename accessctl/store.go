package accessctl

import (
	"context"
	"time"

	"github.com/backoffice-go/backoffice"
)

// This file lists every store interface of the package, so that an adapter
// author finds in one place what to implement. Stores persist; they hold no
// business rule except the ones only they can make atomic: unique keys,
// versions, the last-Administrator guard, single-use tokens and
// failed-login counts. Each mutating method takes the audit entry that must
// be written with the change, atomically.
//
// All methods return ErrUnavailable (wrapped) when the backing server cannot
// be reached, and never return driver errors or SQL text.

// Guard is a condition a store checks atomically with a write.
type Guard struct {
	// KeepAdmin, when set, is the tenant's Administrator role: the write
	// must leave at least one active operator holding it for good (not
	// until a time, Operator.HoldsForGood), or it fails with
	// ErrFailedPrecondition and changes nothing.
	KeepAdmin RoleName
	// Actor, when set, is the operator on whose behalf the write runs: the
	// store must find it, in the same atomic step, still active and at
	// session epoch ActorEpoch, the one its actor was built with, or fail
	// with ErrActorChanged and change nothing. It closes the gap between
	// authenticating a request and writing its change, in which the actor
	// may have been deactivated, blocked or stripped of roles on another
	// instance.
	Actor      OperatorID
	ActorEpoch int64
}

// TenantStore persists tenants and their settings.
type TenantStore interface {
	// CreateTenant stores a new tenant with version 1. Returns ErrConflict
	// if the id is taken.
	CreateTenant(ctx context.Context, t *Tenant, e backoffice.AuditEntry) error
	// Tenant returns a copy of the tenant. Returns ErrNotFound.
	Tenant(ctx context.Context, id backoffice.TenantID) (*Tenant, error)
	// UpdateTenant replaces the tenant if its stored version is
	// expectVersion, and sets t.Version to the next one. Returns
	// ErrNotFound, or ErrConflict on a stale version.
	UpdateTenant(ctx context.Context, t *Tenant, expectVersion int64, e backoffice.AuditEntry) error
}

// OperatorQuery selects operators for a listing, newest first.
type OperatorQuery struct {
	Status *OperatorStatus
	Role   *RoleName
	// After is the id of the last operator of the previous page.
	After OperatorID
	// Limit is the page size; the store may cap it.
	Limit int
}

// OperatorStore persists operators with their roles and account access.
// Usernames and emails are unique within a tenant, compared
// case-insensitively.
type OperatorStore interface {
	// CreateOperator stores a new operator with version 1 and its audit
	// entry, if the guard's actor check holds. Returns ErrConflict naming
	// the field "username" or "email" when either is taken in the tenant,
	// or "external_key" for a taken SSO key; ErrActorChanged.
	CreateOperator(ctx context.Context, op *Operator, g Guard, e backoffice.AuditEntry) error
	// Operator returns a copy of the operator. Returns ErrNotFound.
	Operator(ctx context.Context, tenant backoffice.TenantID, id OperatorID) (*Operator, error)
	// OperatorByLogin finds an operator by username, or else by email,
	// case-insensitively. Returns ErrNotFound.
	OperatorByLogin(ctx context.Context, tenant backoffice.TenantID, login string) (*Operator, error)
	// OperatorByExternalKey finds an operator by its SSO key. Returns ErrNotFound.
	OperatorByExternalKey(ctx context.Context, tenant backoffice.TenantID, key string) (*Operator, error)
	// Operators lists a page of operators, newest (highest id) first.
	Operators(ctx context.Context, tenant backoffice.TenantID, q OperatorQuery) ([]*Operator, error)
	// UpdateOperator replaces the operator if its stored version is
	// expectVersion and the guard holds afterwards, writes the entry, and
	// sets op.Version to the next one. Returns ErrNotFound, ErrConflict on
	// a stale version or a taken username/email, ErrFailedPrecondition when
	// the guard fails (ErrLastAdministrator), ErrActorChanged when its actor
	// check fails.
	UpdateOperator(ctx context.Context, op *Operator, expectVersion int64, g Guard, e backoffice.AuditEntry) error
	// DeleteOperator removes the operator if its stored version is
	// expectVersion and the guard holds afterwards, and writes the entry.
	// Audit entries about the operator are kept. Errors as UpdateOperator.
	DeleteOperator(ctx context.Context, tenant backoffice.TenantID, id OperatorID, expectVersion int64, g Guard, e backoffice.AuditEntry) error
}

// RoleStore persists a tenant's custom roles. Preset roles are not
// stored.
type RoleStore interface {
	// CreateRole stores a new role with version 1 and moves the tenant's
	// RolesVersion on, atomically. Returns ErrConflict if the name is
	// taken in the tenant.
	CreateRole(ctx context.Context, r *Role, e backoffice.AuditEntry) error
	// Roles lists the tenant's custom roles by name.
	Roles(ctx context.Context, tenant backoffice.TenantID) ([]Role, error)
	// UpdateRole replaces the role if its stored version is expectVersion
	// and moves the tenant's RolesVersion on, atomically. Returns
	// ErrNotFound or ErrConflict.
	UpdateRole(ctx context.Context, r *Role, expectVersion int64, e backoffice.AuditEntry) error
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	TargetType string
	TargetID   string
	// Before is the id of the last entry of the previous page.
	Before string
	Limit  int
}

// AuditStore reads the audit log. Entries about a change are written by
// the mutating method that makes the change, never on their own.
type AuditStore interface {
	// AppendAuditEntry records an action that changes no stored record,
	// such as an email sent on an operator's request.
	AppendAuditEntry(ctx context.Context, e backoffice.AuditEntry) error
	// AuditEntries lists a tenant's entries for one target, newest (highest
	// id) first.
	AuditEntries(ctx context.Context, tenant backoffice.TenantID, q AuditQuery) ([]backoffice.AuditEntry, error)
	// AuditChain returns up to limit of the tenant's chained entries with
	// Seq greater than after, in sequence order, as stored: a store
	// repairs nothing it reads. Every write that records an entry
	// appends it to its tenant's chain (backoffice.ChainLink) atomically
	// with the entry, so that concurrent writers never fork the chain.
	AuditChain(ctx context.Context, tenant backoffice.TenantID, after int64, limit int) ([]backoffice.AuditEntry, error)
	// AuditHead returns the end of the tenant's chain, the zero head when
	// it has no entry.
	AuditHead(ctx context.Context, tenant backoffice.TenantID) (backoffice.ChainHead, error)
}

// Session is an operator's login session. ID is the digest of the token
// handed to the client (backoffice.Digest); the token itself is never
// stored. The service reads the tenant from the token, so stores
// look sessions up by (tenant, digest).
//
// A session carries what authenticating a request needs of its operator,
// as it was when the session opened: its name, roles and account access.
// So a request costs one read, of the session; every change of the
// operator that must reach its requests ends its sessions instead.
type Session struct {
	ID          string              `json:"id"`
	Tenant      backoffice.TenantID `json:"tenant"`
	Operator    OperatorID          `json:"operator"`
	Epoch       int64               `json:"epoch"`
	Name        string              `json:"name"`
	Roles       []RoleName          `json:"roles"`
	AllAccounts bool                `json:"all_accounts"`
	Accounts    []AccountID         `json:"accounts"`
	CreatedAt   time.Time           `json:"created_at"`
	ExpiresAt   time.Time           `json:"expires_at"`
	// IdleTimeout ends the session when LastSeen is that old (the
	// tenant's Policy.IdleTimeout when it opened); zero: no idle limit.
	// LastSeen is when the session was last used, to the precision
	// TouchSession is called with.
	IdleTimeout time.Duration `json:"idle_timeout"`
	LastSeen    time.Time     `json:"last_seen"`
	// RoleUntil and AccessUntil are the operator's time-bound grants when
	// the session opened (Operator.RoleUntil, Operator.AccessUntil).
	RoleUntil   map[RoleName]time.Time `json:"role_until,omitempty"`
	AccessUntil time.Time              `json:"access_until,omitzero"`
	// RolesVersion is the tenant's roles version when the session was
	// read (Tenant.RolesVersion): the store returns it with the session,
	// in the same round trip, so that an edit of a role's permissions
	// reaches every instance at its next request. It is not stored.
	RolesVersion int64 `json:"-"`
}

// SessionStore persists sessions. A Redis implementation shares them
// between instances of the host.
type SessionStore interface {
	// CreateSession stores a session until its ExpiresAt.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the tenant's session with the digest, and the
	// tenant's roles version in its RolesVersion, in one round trip.
	// Returns ErrNotFound.
	Session(ctx context.Context, tenant backoffice.TenantID, digest string) (*Session, error)
	// SetRolesVersion records the tenant's roles version, for a store
	// that does not hold tenants (Redis) to return with its sessions. A
	// store that holds the tenant returns the tenant's own and ignores it.
	SetRolesVersion(ctx context.Context, tenant backoffice.TenantID, version int64) error
	// Sessions lists an operator's sessions, oldest first.
	Sessions(ctx context.Context, tenant backoffice.TenantID, op OperatorID) ([]*Session, error)
	// TouchSession records that the session was used at at (its
	// LastSeen); touching a missing session is not an error.
	TouchSession(ctx context.Context, tenant backoffice.TenantID, digest string, at time.Time) error
	// DeleteSession removes the tenant's session with the digest; removing
	// a missing one is not an error.
	DeleteSession(ctx context.Context, tenant backoffice.TenantID, digest string) error
	// DeleteOperatorSessions removes every session of the operator at once.
	DeleteOperatorSessions(ctx context.Context, tenant backoffice.TenantID, op OperatorID) error
}

// TokenPurpose says what a one-time token is for.
type TokenPurpose string

// Token purposes.
const (
	PurposeInvitation    TokenPurpose = "invitation"
	PurposePasswordReset TokenPurpose = "password_reset"
	PurposeMFAChallenge  TokenPurpose = "mfa_challenge"
)

// Token is a one-time token: an invitation or verification link, a password
// reset link, or the challenge between a password and a TOTP code. ID is
// the digest of the token (backoffice.Digest); stores look tokens up by
// (tenant, digest).
type Token struct {
	ID        string
	Purpose   TokenPurpose
	Tenant    backoffice.TenantID
	Operator  OperatorID
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TokenStore persists one-time tokens.
type TokenStore interface {
	// IssueToken stores the token and voids every earlier token of the same
	// tenant, operator and purpose, atomically.
	IssueToken(ctx context.Context, t *Token) error
	// Token returns the tenant's token of the purpose with the digest,
	// without spending it. Returns ErrNotFound.
	Token(ctx context.Context, purpose TokenPurpose, tenant backoffice.TenantID, digest string) (*Token, error)
	// ConsumeToken removes and returns the token, atomically: of many
	// concurrent calls with one digest, exactly one succeeds. Returns
	// ErrNotFound for an unknown, voided or already used token.
	ConsumeToken(ctx context.Context, purpose TokenPurpose, tenant backoffice.TenantID, digest string) (*Token, error)
	// DeleteOperatorTokens voids every token of the operator.
	DeleteOperatorTokens(ctx context.Context, tenant backoffice.TenantID, op OperatorID) error
	// OperatorTokens returns the operator's tokens not yet used or voided,
	// at most one per purpose, in any order; expired ones may be among
	// them (the service's clock decides).
	OperatorTokens(ctx context.Context, tenant backoffice.TenantID, op OperatorID) ([]*Token, error)
}

// AttemptLimit is the rule a store applies when it reserves a login
// attempt. The service builds it from its Config.
type AttemptLimit struct {
	// Max is how many attempts a run may hold: failures plus reservations
	// not yet settled. A reservation that would exceed it is refused.
	Max int
	// Window ends a run below Max: a reservation made Window or more after
	// the run's last attempt starts a new run.
	Window time.Duration
	// Cooldown ends a run that reached Max: a reservation made Cooldown or
	// more after the run's last attempt starts a new run. An ordinary
	// operator is blocked at Max and refused before it reserves; the
	// cooldown is what releases the last Administrator.
	Cooldown time.Duration
	// Lease is how long a reservation may stay unsettled. Reservations
	// older than Lease when a new one is asked for are forgotten: the
	// instance that took them died before it could settle them.
	Lease time.Duration
}

// Attempts is an operator's run of login attempts.
type Attempts struct {
	// Failures counts the settled failures of the run.
	Failures int
	// Pending counts reservations taken and not yet settled.
	Pending int
	// Last is the time of the run's last reservation or failure.
	Last time.Time
}

// AttemptOutcome is how a reserved attempt ended.
type AttemptOutcome int

// Attempt outcomes.
const (
	// AttemptFailed counts the attempt as a failure of the run.
	AttemptFailed AttemptOutcome = iota + 1
	// AttemptReturned gives the attempt back: it was not evaluated, or it
	// was a right password and the login goes on to its TOTP code.
	AttemptReturned
	// AttemptSucceeded gives the attempt back and clears the run's
	// failures: the login is complete.
	AttemptSucceeded
)

// AttemptStore reserves and counts login attempts. Every
// password or TOTP check reserves its attempt before it is evaluated and
// settles it after, so that however many checks run at once, on however
// many instances, at most Max guesses of a run are evaluated.
type AttemptStore interface {
	// ReserveAttempt takes one attempt of the operator's run at time at,
	// atomically. It returns false, and changes nothing, when the run
	// already holds l.Max attempts (failures plus pending reservations).
	// Of many concurrent calls, at most l.Max minus the run's attempts
	// succeed.
	ReserveAttempt(ctx context.Context, tenant backoffice.TenantID, op OperatorID, at time.Time, l AttemptLimit) (bool, error)
	// SettleAttempt ends a reservation with its outcome and returns the
	// run after it, atomically: of concurrent failures, each sees its own
	// Failures count. Settling when the run is gone (reset meanwhile)
	// starts a new run for a failure and does nothing otherwise.
	SettleAttempt(ctx context.Context, tenant backoffice.TenantID, op OperatorID, at time.Time, o AttemptOutcome) (Attempts, error)
	// Attempts returns the current run (zero if none).
	Attempts(ctx context.Context, tenant backoffice.TenantID, op OperatorID) (Attempts, error)
	// ResetAttempts ends the run, pending reservations included.
	ResetAttempts(ctx context.Context, tenant backoffice.TenantID, op OperatorID) error
}

// OnceStore records keys that may be used once, across every instance
// of the host: a SAML assertion's id.
type OnceStore interface {
	// UseOnce records key for the tenant from at until until, atomically:
	// of many concurrent calls with one key, on any instance, exactly one
	// returns true; later calls, made at times before until, return
	// false. Records past their time may be dropped.
	UseOnce(ctx context.Context, tenant backoffice.TenantID, key string, at, until time.Time) (bool, error)
}

// Store is every store the package needs. The storage adapters implement
// all of it; Config lets a host take sessions, tokens and attempts from
// another store (Redis, say).
type Store interface {
	TenantStore
	OperatorStore
	RoleStore
	AuditStore
	SessionStore
	TokenStore
	AttemptStore
	ApprovalStore
	ReviewStore
	OnceStore
}
