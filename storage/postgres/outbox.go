package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/backoffice-go/backoffice"
)

var _ backoffice.OutboxStore = (*Store)(nil)

type messageRow struct {
	ID          string       `db:"id"`
	TenantID    string       `db:"tenant_id"`
	Topic       string       `db:"topic"`
	Payload     string       `db:"payload"`
	Status      string       `db:"status"`
	Attempts    int          `db:"attempts"`
	NextAt      time.Time    `db:"next_at"`
	LastError   string       `db:"last_error"`
	CreatedAt   time.Time    `db:"created_at"`
	DeliveredAt sql.NullTime `db:"delivered_at"`
}

func (r messageRow) message() backoffice.Message {
	m := backoffice.Message{ID: r.ID, Tenant: backoffice.TenantID(r.TenantID), Topic: r.Topic, Status: backoffice.MessageStatus(r.Status),
		Attempts: r.Attempts, NextAt: utc(r.NextAt), LastError: r.LastError, CreatedAt: utc(r.CreatedAt), DeliveredAt: fromNull(r.DeliveredAt)}
	if r.Payload != "" {
		m.Payload = []byte(r.Payload)
	}
	return m
}

var (
	messageCols = columns(messageRow{})
	// SKIP LOCKED: dispatchers on several instances claim disjoint batches
	// without waiting on one another; the lease is the new next_at.
	qClaimMessages = `UPDATE backoffice_outbox SET next_at = $2, attempts = attempts + 1
	WHERE id IN (SELECT id FROM backoffice_outbox WHERE status = 'pending' AND next_at <= $1
		ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
	RETURNING ` + messageCols
	qMarkDelivered = `UPDATE backoffice_outbox SET status = 'delivered', payload = '', last_error = '', delivered_at = $2 WHERE id = $1`
	qMarkFailed    = `UPDATE backoffice_outbox SET next_at = $2, last_error = $3,
		status = CASE WHEN $4 THEN 'dead' ELSE status END, payload = CASE WHEN $4 THEN '' ELSE payload END WHERE id = $1`
	qMessages = `SELECT ` + messageCols + ` FROM backoffice_outbox WHERE status = $1 ORDER BY created_at, id LIMIT $2`
)

// ClaimMessages implements backoffice.OutboxStore.
func (s *Store) ClaimMessages(ctx context.Context, now time.Time, n int, lease time.Duration) ([]backoffice.Message, error) {
	var rows []messageRow
	if err := s.sel(ctx, &rows, qClaimMessages, now.UTC(), now.Add(lease).UTC(), n); err != nil {
		return nil, mapErr("postgres: claim messages", err)
	}
	out := make([]backoffice.Message, len(rows))
	for i, r := range rows {
		out[i] = r.message()
	}
	return out, nil
}

// MarkDelivered implements backoffice.OutboxStore.
func (s *Store) MarkDelivered(ctx context.Context, id string, at time.Time) error {
	return s.outboxUpdate(ctx, "postgres: mark delivered", qMarkDelivered, id, at.UTC())
}

// MarkFailed implements backoffice.OutboxStore.
func (s *Store) MarkFailed(ctx context.Context, id string, next time.Time, reason string, dead bool) error {
	return s.outboxUpdate(ctx, "postgres: mark failed", qMarkFailed, id, next.UTC(), reason, dead)
}

func (s *Store) outboxUpdate(ctx context.Context, op, query string, args ...any) error {
	res, err := s.exec(ctx, nil, query, args...)
	if err != nil {
		return mapErr(op, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return backoffice.NewError(backoffice.ErrNotFound, op, "no such message")
	}
	return nil
}

// OutboxMessages implements backoffice.OutboxStore.
func (s *Store) OutboxMessages(ctx context.Context, status backoffice.MessageStatus, limit int) ([]backoffice.Message, error) {
	var rows []messageRow
	if err := s.sel(ctx, &rows, qMessages, string(status), limit); err != nil {
		return nil, mapErr("postgres: outbox messages", err)
	}
	out := make([]backoffice.Message, len(rows))
	for i, r := range rows {
		out[i] = r.message()
	}
	return out, nil
}

const qOutboxBacklog = `SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'dead') AS dead,
	min(created_at) FILTER (WHERE status = 'pending') AS oldest FROM backoffice_outbox WHERE status IN ('pending', 'dead')`

// OutboxBacklog implements backoffice.OutboxStore: one statement, on the
// index of status and creation time.
func (s *Store) OutboxBacklog(ctx context.Context) (backoffice.Backlog, error) {
	var r struct {
		Pending int          `db:"pending"`
		Dead    int          `db:"dead"`
		Oldest  sql.NullTime `db:"oldest"`
	}
	if err := s.get(ctx, nil, &r, qOutboxBacklog); err != nil {
		return backoffice.Backlog{}, mapErr("postgres: outbox backlog", err)
	}
	return backoffice.Backlog{Pending: r.Pending, Dead: r.Dead, Oldest: fromNull(r.Oldest)}, nil
}
