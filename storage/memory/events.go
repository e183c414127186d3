package memory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/events"
)

var _ events.Store = (*Store)(nil)

// streamKey names a sink's stream of a tenant.
type streamKey struct {
	sink   string
	tenant backoffice.TenantID
}

// stream is a sink's position in a tenant's stream, and its lease.
type stream struct {
	pos    events.Position
	holder string
}

// position is the stored position with the chain's head and oldest
// undelivered entry; the caller holds mu.
func (s *Store) position(k streamKey) events.Position {
	p := events.Position{Sink: k.sink, Tenant: k.tenant}
	if st := s.streams[k]; st != nil {
		p = st.pos
	}
	if c := s.chains[k.tenant]; c != nil {
		p.Head = c.head.Seq
		if p.Delivered < p.Head {
			p.Oldest = c.entries[max(p.Delivered, 0)].At
		}
	}
	return p
}

// Positions implements events.Store.
func (s *Store) Positions(ctx context.Context, sink string) ([]events.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]events.Position, 0, len(s.chains))
	for tenant, c := range s.chains {
		if c.head.Seq > 0 {
			out = append(out, s.position(streamKey{sink, tenant}))
		}
	}
	slices.SortFunc(out, func(a, b events.Position) int { return strings.Compare(string(a.Tenant), string(b.Tenant)) })
	return out, nil
}

// streamOf is the stream of k, made at position 0 when it has none; the
// caller holds mu.
func (s *Store) streamOf(k streamKey) *stream {
	st := s.streams[k]
	if st == nil {
		st = &stream{pos: events.Position{Sink: k.sink, Tenant: k.tenant}}
		s.streams[k] = st
	}
	return st
}

// ClaimStream implements events.Store.
func (s *Store) ClaimStream(ctx context.Context, sink string, tenant backoffice.TenantID, holder string, now time.Time, lease time.Duration) (events.Position, bool, error) {
	if err := ctx.Err(); err != nil {
		return events.Position{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := streamKey{sink, tenant}
	st := s.streamOf(k)
	if st.pos.Dead || st.pos.NextAt.After(now) {
		return events.Position{}, false, nil
	}
	st.holder, st.pos.NextAt = holder, now.Add(lease)
	return s.position(k), true, nil
}

// held applies change to the stream holder holds, under mu; ErrConflict
// when holder holds none.
func (s *Store) held(ctx context.Context, op, sink string, tenant backoffice.TenantID, holder string, change func(*stream)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[streamKey{sink, tenant}]
	if st == nil || st.holder == "" || st.holder != holder {
		return backoffice.NewError(backoffice.ErrConflict, op, "the stream is not leased to this holder")
	}
	change(st)
	return nil
}

// Acknowledge implements events.Store.
func (s *Store) Acknowledge(ctx context.Context, sink string, tenant backoffice.TenantID, holder string, seq int64, at time.Time) error {
	return s.held(ctx, "memory: acknowledge", sink, tenant, holder, func(st *stream) {
		if seq > st.pos.Delivered {
			st.pos.Delivered, st.pos.DeliveredAt = seq, at
		}
		st.pos.Attempts, st.pos.LastError = 0, ""
	})
}

// Release implements events.Store.
func (s *Store) Release(ctx context.Context, sink string, tenant backoffice.TenantID, holder string, next time.Time, failure string, dead bool) error {
	return s.held(ctx, "memory: release", sink, tenant, holder, func(st *stream) {
		st.holder, st.pos.NextAt = "", next
		if failure != "" {
			st.pos.Attempts++
			st.pos.LastError = failure
		}
		st.pos.Dead = dead
	})
}

// Rewind implements events.Store.
func (s *Store) Rewind(ctx context.Context, sink string, tenant backoffice.TenantID, from int64, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streamOf(streamKey{sink, tenant})
	st.holder = ""
	st.pos.Delivered, st.pos.Attempts, st.pos.LastError, st.pos.Dead, st.pos.NextAt = max(from-1, 0), 0, "", false, at
	return nil
}
