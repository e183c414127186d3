package backoffice

import (
	"context"
	"slices"
	"time"
)

// TenantID identifies a tenant: the platform's client or merchant account.
// Every record belongs to one tenant, and nothing crosses tenants.
type TenantID string

// ActorKind says who acted: an operator with a session, the host's
// background work, an end user on its own records, or the company's
// identity provider provisioning operators through a SCIM token.
type ActorKind string

// Actor kinds.
const (
	ActorOperator ActorKind = "operator"
	ActorSystem   ActorKind = "system"
	ActorEndUser  ActorKind = "enduser"
	// ActorIdentityProvider is a SCIM token of the tenant: its entries name
	// the token, so every change the identity provider made is traced to
	// the credential that made it.
	ActorIdentityProvider ActorKind = "identity_provider"
)

// ActorRef is how an actor appears in an audit entry.
type ActorRef struct {
	Kind ActorKind `json:"kind"`
	ID   string    `json:"id"`
	Name string    `json:"name"`
}

// AuditEntry records one state change: who did what to which record, when,
// and what changed. It is stored in the same atomic write as the change,
// and never holds a secret.
type AuditEntry struct {
	ID         string    `json:"id"`
	Tenant     TenantID  `json:"tenant"`
	Actor      ActorRef  `json:"actor"`
	Action     Action    `json:"action"`
	TargetType string    `json:"target_type"`
	TargetID   string    `json:"target_id"`
	At         time.Time `json:"at"`
	Changes    []Change  `json:"changes"`
	// Seq and Hash are the entry's place in its tenant's hash chain, set
	// by the store that appends it (see ChainLink).
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// Outbox holds the messages the change sends: the store writes them
	// to its outbox in the same atomic write as the change and the entry.
	// They are not part of the audit log.
	Outbox []Message `json:"-"`
}

// Clone returns a deep copy.
func (e AuditEntry) Clone() AuditEntry {
	e.Changes = slices.Clone(e.Changes)
	e.Outbox = slices.Clone(e.Outbox)
	return e
}

// Change is the before and after of one field. A secret field is recorded
// as changed with both values Redacted.
type Change struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Truncate returns t in UTC at microsecond precision, the precision every
// store keeps.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Observer hears the start of each service call and, through a store
// decorator, each store call: a host's tracing (OpenTelemetry, say)
// implements it, the library importing none. Start returns the context
// the call goes on in (carrying the host's span) and the function the
// call ends with, given its error.
type Observer interface {
	Start(ctx context.Context, name string) (context.Context, func(err error))
}

// Observe starts the observation of the call name: it replaces *ctx with
// the context the call goes on in and returns the function the call
// defers with its error. With no observer it does nothing.
func Observe(o Observer, ctx *context.Context, name string) func(err *error) {
	if o == nil {
		return noEnd
	}
	c, end := o.Start(*ctx, name)
	*ctx = c
	return func(err *error) { end(*err) }
}

func noEnd(*error) {}
