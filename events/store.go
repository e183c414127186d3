package events

import (
	"context"
	"time"

	"github.com/backoffice-go/backoffice"
)

// Position is where one sink stands in one tenant's stream: the audit
// chain up to Delivered is acknowledged, the entry after it is the next
// to send.
type Position struct {
	Sink   string              `json:"sink"`
	Tenant backoffice.TenantID `json:"tenant"`
	// Delivered is the sequence number of the last entry the sink
	// acknowledged, 0 before the first.
	Delivered   int64     `json:"delivered"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	// Head is the sequence number of the tenant's last entry.
	Head int64 `json:"head"`
	// Oldest is when the first entry not yet delivered was written; zero
	// when the sink is caught up.
	Oldest time.Time `json:"oldest,omitzero"`
	// Attempts counts the failed sends of the entry after Delivered;
	// NextAt is when it is due again (or, while a stream holds it, when
	// its lease ends).
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	// Dead is set when the entry after Delivered failed MaxAttempts
	// times: the tenant's stream to this sink stops there, in order, until
	// a Rewind (Stream.Redeliver) starts it again.
	Dead bool `json:"dead"`
}

// Backlog is how many entries the sink has yet to deliver.
func (p Position) Backlog() int64 { return max(p.Head-p.Delivered, 0) }

// Store keeps each sink's position in each tenant's stream, next to the
// audit chain it reads (the chain is the outbox: an entry is written with
// its change, and nothing else is). Every storage adapter that keeps the
// audit log implements it, and passes storetest's Events suite.
type Store interface {
	// Positions lists the sink's position in the stream of every tenant
	// whose chain has an entry, a tenant the sink has not started being
	// at Delivered 0.
	Positions(ctx context.Context, sink string) ([]Position, error)
	// ClaimStream leases the sink's stream of the tenant to holder until
	// now+lease, when it is due (not dead, its NextAt reached, no other
	// lease running), and returns its position; ok is false when it is
	// not due. Streams on several instances never hold one tenant's
	// stream at once, so each sends it in order.
	ClaimStream(ctx context.Context, sink string, tenant backoffice.TenantID, holder string, now time.Time, lease time.Duration) (p Position, ok bool, err error)
	// Acknowledge moves the position on to seq and clears the failures,
	// if holder still holds the lease; ErrConflict when it does not
	// (its lease ended, or a Rewind broke it), and nothing changes.
	Acknowledge(ctx context.Context, sink string, tenant backoffice.TenantID, holder string, seq int64, at time.Time) error
	// Release ends holder's lease: the stream is due again at next. With
	// a failure it counts a failed send and records the reason, and with
	// dead it stops the stream. ErrConflict when holder holds no lease.
	Release(ctx context.Context, sink string, tenant backoffice.TenantID, holder string, next time.Time, failure string, dead bool) error
	// Rewind sets the position back (or on) so that the entry numbered
	// from is the next sent, clears the failures and the dead state, and
	// breaks any lease.
	Rewind(ctx context.Context, sink string, tenant backoffice.TenantID, from int64, at time.Time) error
}
