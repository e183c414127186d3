package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/events"
)

var _ events.Store = (*Store)(nil)

type streamRow struct {
	TenantID    string       `db:"tenant_id"`
	Sink        string       `db:"sink"`
	Delivered   int64        `db:"delivered"`
	DeliveredAt sql.NullTime `db:"delivered_at"`
	Attempts    int          `db:"attempts"`
	NextAt      sql.NullTime `db:"next_at"`
	Dead        bool         `db:"dead"`
	LastError   string       `db:"last_error"`
	Head        int64        `db:"head"`
	Oldest      sql.NullTime `db:"oldest"`
}

func (r streamRow) position() events.Position {
	return events.Position{Sink: r.Sink, Tenant: backoffice.TenantID(r.TenantID), Delivered: r.Delivered, DeliveredAt: fromNull(r.DeliveredAt),
		Head: r.Head, Oldest: fromNull(r.Oldest), Attempts: r.Attempts, NextAt: fromNull(r.NextAt), LastError: r.LastError, Dead: r.Dead}
}

const (
	// The heads list the tenants with a chain; the oldest entry not yet
	// delivered is found by its (tenant_id, seq) key.
	positionCols = `h.tenant_id, $1::text AS sink, coalesce(c.delivered, 0) AS delivered, c.delivered_at, coalesce(c.attempts, 0) AS attempts,
		c.next_at, coalesce(c.dead, false) AS dead, coalesce(c.last_error, '') AS last_error, h.seq AS head,
		(SELECT e.at FROM backoffice_audit_entries e WHERE e.tenant_id = h.tenant_id AND e.seq = coalesce(c.delivered, 0) + 1) AS oldest
	FROM backoffice_audit_heads h LEFT JOIN backoffice_event_streams c ON c.tenant_id = h.tenant_id AND c.sink = $1`
	qPositions = `SELECT ` + positionCols + ` ORDER BY h.tenant_id`
	qPosition  = `SELECT ` + positionCols + ` WHERE h.tenant_id = $2`
	// A claim takes a stream that is due: not dead, its retry time or
	// the last holder's lease passed.
	qClaimStream = `INSERT INTO backoffice_event_streams AS c (tenant_id, sink, next_at, holder) VALUES ($2, $1, $4, $3)
	ON CONFLICT (tenant_id, sink) DO UPDATE SET next_at = $4, holder = $3
	WHERE NOT c.dead AND c.next_at <= $5
	RETURNING c.tenant_id`
	qAcknowledge = `UPDATE backoffice_event_streams SET delivered = greatest(delivered, $4), delivered_at = $5, attempts = 0, last_error = ''
	WHERE tenant_id = $2 AND sink = $1 AND holder = $3 AND holder <> ''`
	qRelease = `UPDATE backoffice_event_streams SET holder = '', next_at = $4,
		attempts = CASE WHEN $5 <> '' THEN attempts + 1 ELSE attempts END,
		last_error = CASE WHEN $5 <> '' THEN $5 ELSE last_error END, dead = $6
	WHERE tenant_id = $2 AND sink = $1 AND holder = $3 AND holder <> ''`
	qRewind = `INSERT INTO backoffice_event_streams AS c (tenant_id, sink, delivered, next_at) VALUES ($2, $1, $3, $4)
	ON CONFLICT (tenant_id, sink) DO UPDATE SET delivered = $3, next_at = $4, holder = '', attempts = 0, last_error = '', dead = false`
)

// Positions implements events.Store.
func (s *Store) Positions(ctx context.Context, sink string) ([]events.Position, error) {
	var rows []streamRow
	if err := s.sel(ctx, &rows, qPositions, sink); err != nil {
		return nil, mapErr("postgres: event positions", err)
	}
	out := make([]events.Position, len(rows))
	for i, r := range rows {
		out[i] = r.position()
	}
	return out, nil
}

// ClaimStream implements events.Store.
func (s *Store) ClaimStream(ctx context.Context, sink string, tenant backoffice.TenantID, holder string, now time.Time, lease time.Duration) (events.Position, bool, error) {
	var got string
	err := s.get(ctx, nil, &got, qClaimStream, sink, string(tenant), holder, now.Add(lease).UTC(), now.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return events.Position{}, false, nil
	}
	if err != nil {
		return events.Position{}, false, mapErr("postgres: claim event stream", err)
	}
	var r streamRow
	if err := s.get(ctx, nil, &r, qPosition, sink, string(tenant)); err != nil {
		if errors.Is(err, sql.ErrNoRows) { // a tenant with no chain yet
			return events.Position{Sink: sink, Tenant: tenant, NextAt: now.Add(lease)}, true, nil
		}
		return events.Position{}, false, mapErr("postgres: claim event stream", err)
	}
	return r.position(), true, nil
}

// Acknowledge implements events.Store.
func (s *Store) Acknowledge(ctx context.Context, sink string, tenant backoffice.TenantID, holder string, seq int64, at time.Time) error {
	return s.streamUpdate(ctx, "postgres: acknowledge event", qAcknowledge, sink, string(tenant), holder, seq, at.UTC())
}

// Release implements events.Store.
func (s *Store) Release(ctx context.Context, sink string, tenant backoffice.TenantID, holder string, next time.Time, failure string, dead bool) error {
	return s.streamUpdate(ctx, "postgres: release event stream", qRelease, sink, string(tenant), holder, next.UTC(), failure, dead)
}

func (s *Store) streamUpdate(ctx context.Context, op, query string, args ...any) error {
	res, err := s.exec(ctx, nil, query, args...)
	if err != nil {
		return mapErr(op, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return backoffice.NewError(backoffice.ErrConflict, op, "the stream is not leased to this holder")
	}
	return nil
}

// Rewind implements events.Store.
func (s *Store) Rewind(ctx context.Context, sink string, tenant backoffice.TenantID, from int64, at time.Time) error {
	_, err := s.exec(ctx, nil, qRewind, sink, string(tenant), max(from-1, 0), at.UTC())
	return mapErr("postgres: rewind event stream", err)
}
