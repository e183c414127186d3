package memory

import (
	"context"
	"slices"
	"time"

	"github.com/backoffice-go/backoffice"
)

var _ backoffice.OutboxStore = (*Store)(nil)

// ClaimMessages implements backoffice.OutboxStore.
func (s *Store) ClaimMessages(ctx context.Context, now time.Time, n int, lease time.Duration) ([]backoffice.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*backoffice.Message
	for _, m := range s.outbox {
		if m.Status == backoffice.MessagePending && !m.NextAt.After(now) {
			due = append(due, m)
		}
	}
	slices.SortStableFunc(due, func(a, b *backoffice.Message) int { return a.NextAt.Compare(b.NextAt) })
	var out []backoffice.Message
	for _, m := range due[:min(n, len(due))] {
		m.NextAt = now.Add(lease)
		m.Attempts++
		c := *m
		c.Payload = slices.Clone(m.Payload)
		out = append(out, c)
	}
	return out, nil
}

func (s *Store) message(id string) *backoffice.Message {
	for _, m := range s.outbox {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// MarkDelivered implements backoffice.OutboxStore.
func (s *Store) MarkDelivered(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.message(id)
	if m == nil {
		return notFound("memory: mark delivered", "message")
	}
	m.Status, m.DeliveredAt, m.Payload, m.LastError = backoffice.MessageDelivered, at, nil, ""
	return nil
}

// MarkFailed implements backoffice.OutboxStore.
func (s *Store) MarkFailed(ctx context.Context, id string, next time.Time, reason string, dead bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.message(id)
	if m == nil {
		return notFound("memory: mark failed", "message")
	}
	m.NextAt, m.LastError = next, reason
	if dead {
		m.Status, m.Payload = backoffice.MessageDead, nil
	}
	return nil
}

// OutboxMessages implements backoffice.OutboxStore.
func (s *Store) OutboxMessages(ctx context.Context, status backoffice.MessageStatus, limit int) ([]backoffice.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []backoffice.Message
	for _, m := range s.outbox {
		if m.Status == status && len(out) < limit {
			c := *m
			c.Payload = slices.Clone(m.Payload)
			out = append(out, c)
		}
	}
	return out, nil
}

// OutboxBacklog implements backoffice.OutboxStore.
func (s *Store) OutboxBacklog(ctx context.Context) (backoffice.Backlog, error) {
	if err := ctx.Err(); err != nil {
		return backoffice.Backlog{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var b backoffice.Backlog
	for _, m := range s.outbox { // in the order written: the first pending is the oldest
		switch m.Status {
		case backoffice.MessagePending:
			if b.Pending == 0 {
				b.Oldest = m.CreatedAt
			}
			b.Pending++
		case backoffice.MessageDead:
			b.Dead++
		}
	}
	return b, nil
}
