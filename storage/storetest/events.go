package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/events"
)

// testEvents is the events.Store suite (L2): positions over the tenants'
// chains, leases, failures, the dead state and rewinds; then streams on
// two instances delivering to a failing sink, in order, none lost.
func testEvents(t *testing.T, newStores func(*testing.T) Stores) {
	const sink = "webhook siem.test"
	appendN := func(t *testing.T, f *fixture, tenant backoffice.TenantID, n int, at time.Time) {
		t.Helper()
		for range n {
			e := f.entry(tenant, "note", "x", "note.add")
			e.At = at
			require.NoError(t, f.Audit.AppendAuditEntry(ctx(), e))
		}
	}
	position := func(t *testing.T, f *fixture, sink string, tenant backoffice.TenantID) events.Position {
		t.Helper()
		all, err := f.Events.Positions(ctx(), sink)
		require.NoError(t, err)
		for _, p := range all {
			if p.Tenant == tenant {
				return p
			}
		}
		t.Fatalf("no position of %s in %s", sink, tenant)
		return events.Position{}
	}
	t.Run("PositionsFollowTheChains", func(t *testing.T) {
		// L2: every tenant with a chain has a position in every sink,
		// at 0 before the first delivery, with its backlog and the time
		// of its oldest undelivered entry.
		t.Parallel()
		f := newFixture(t, newStores)
		none, err := f.Events.Positions(ctx(), sink)
		require.NoError(t, err)
		assert.Empty(t, none)
		f.tenants(t, "t1", "t2")
		appendN(t, f, "t1", 4, base.Add(time.Minute))
		all, err := f.Events.Positions(ctx(), sink)
		require.NoError(t, err)
		require.Len(t, all, 2)
		assert.Equal(t, events.Position{Sink: sink, Tenant: "t1", Head: 5, Oldest: backoffice.Truncate(base)}, all[0])
		assert.Equal(t, events.Position{Sink: sink, Tenant: "t2", Head: 1, Oldest: backoffice.Truncate(base)}, all[1])
		assert.Equal(t, int64(5), all[0].Backlog())

		p, ok, err := f.Events.ClaimStream(ctx(), sink, "t1", "a", base, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, int64(0), p.Delivered)
		assert.Equal(t, int64(5), p.Head)
		require.NoError(t, f.Events.Acknowledge(ctx(), sink, "t1", "a", 1, base.Add(time.Second)))
		got := position(t, f, sink, "t1")
		assert.Equal(t, int64(1), got.Delivered)
		assert.Equal(t, backoffice.Truncate(base.Add(time.Second)), got.DeliveredAt)
		assert.Equal(t, backoffice.Truncate(base.Add(time.Minute)), got.Oldest, "the oldest undelivered is entry 2")
		assert.Equal(t, int64(0), position(t, f, "syslog other", "t1").Delivered, "each sink has its own position")
		assert.Equal(t, int64(0), position(t, f, sink, "t2").Delivered, "each tenant has its own")
		require.NoError(t, f.Events.Acknowledge(ctx(), sink, "t1", "a", 5, base.Add(time.Second)))
		got = position(t, f, sink, "t1")
		assert.Zero(t, got.Backlog())
		assert.True(t, got.Oldest.IsZero(), "caught up")
	})
	t.Run("LeaseIsOneHoldersAtATime", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenants(t, "t1")
		_, ok, err := f.Events.ClaimStream(ctx(), sink, "t1", "a", base, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		_, ok, err = f.Events.ClaimStream(ctx(), sink, "t1", "b", base.Add(30*time.Second), time.Minute)
		require.NoError(t, err)
		assert.False(t, ok, "a's lease runs")
		_, ok, err = f.Events.ClaimStream(ctx(), "syslog other", "t1", "b", base, time.Minute)
		require.NoError(t, err)
		assert.True(t, ok, "another sink's stream is free")
		err = f.Events.Acknowledge(ctx(), sink, "t1", "b", 1, base)
		require.ErrorIs(t, err, backoffice.ErrConflict, "b holds nothing")
		err = f.Events.Release(ctx(), sink, "t1", "b", base, "", false)
		require.ErrorIs(t, err, backoffice.ErrConflict)

		// a died: its lease ends and b takes over; a's late
		// acknowledgement changes nothing.
		_, ok, err = f.Events.ClaimStream(ctx(), sink, "t1", "b", base.Add(time.Minute), time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		require.ErrorIs(t, f.Events.Acknowledge(ctx(), sink, "t1", "a", 1, base), backoffice.ErrConflict)
		assert.Equal(t, int64(0), position(t, f, sink, "t1").Delivered)
		require.NoError(t, f.Events.Acknowledge(ctx(), sink, "t1", "b", 1, base))
		require.NoError(t, f.Events.Release(ctx(), sink, "t1", "b", base.Add(time.Minute), "", false))
		_, ok, err = f.Events.ClaimStream(ctx(), sink, "t1", "a", base.Add(time.Minute), time.Minute)
		require.NoError(t, err)
		assert.True(t, ok, "released: due at once")
	})
	t.Run("ConcurrentClaimsHaveOneWinner", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenants(t, "t1")
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				_, ok, err := f.Events.ClaimStream(ctx(), sink, "t1", fmt.Sprint("h", i), base, time.Minute)
				assert.NoError(t, err)
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), won.Load())
	})
	t.Run("FailuresDeadAndRewind", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenants(t, "t1")
		appendN(t, f, "t1", 3, base)
		_, ok, err := f.Events.ClaimStream(ctx(), sink, "t1", "a", base, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, f.Events.Acknowledge(ctx(), sink, "t1", "a", 2, base))
		require.NoError(t, f.Events.Release(ctx(), sink, "t1", "a", base.Add(10*time.Second), "503 Service Unavailable", false))
		p := position(t, f, sink, "t1")
		assert.Equal(t, 1, p.Attempts)
		assert.Equal(t, "503 Service Unavailable", p.LastError)
		assert.Equal(t, backoffice.Truncate(base.Add(10*time.Second)), p.NextAt)
		assert.False(t, p.Dead)
		_, ok, err = f.Events.ClaimStream(ctx(), sink, "t1", "a", base.Add(5*time.Second), time.Minute)
		require.NoError(t, err)
		assert.False(t, ok, "not due before its backoff ends")
		_, ok, err = f.Events.ClaimStream(ctx(), sink, "t1", "a", base.Add(10*time.Second), time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, f.Events.Release(ctx(), sink, "t1", "a", base.Add(20*time.Second), "timeout", true))
		p = position(t, f, sink, "t1")
		assert.Equal(t, 2, p.Attempts)
		assert.True(t, p.Dead)
		assert.Equal(t, int64(2), p.Delivered, "dead where it stopped")
		_, ok, err = f.Events.ClaimStream(ctx(), sink, "t1", "a", base.Add(time.Hour), time.Minute)
		require.NoError(t, err)
		assert.False(t, ok, "a dead stream is never due")

		// Redelivery from entry 1: everything comes again.
		require.NoError(t, f.Events.Rewind(ctx(), sink, "t1", 1, base.Add(time.Hour)))
		p = position(t, f, sink, "t1")
		assert.Equal(t, events.Position{Sink: sink, Tenant: "t1", Head: 4, Oldest: backoffice.Truncate(base), NextAt: backoffice.Truncate(base.Add(time.Hour)),
			DeliveredAt: backoffice.Truncate(base)}, p, "the last delivery's time stays")
		p, ok, err = f.Events.ClaimStream(ctx(), sink, "t1", "b", base.Add(time.Hour), time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, int64(0), p.Delivered)
		// A rewind breaks the running lease.
		require.NoError(t, f.Events.Rewind(ctx(), sink, "t1", 4, base.Add(time.Hour)))
		require.ErrorIs(t, f.Events.Acknowledge(ctx(), sink, "t1", "b", 1, base), backoffice.ErrConflict)
		assert.Equal(t, int64(3), position(t, f, sink, "t1").Delivered, "on from entry 4")
	})
	t.Run("StreamsOnTwoInstancesDeliverInOrder", func(t *testing.T) {
		// L2: two instances' streams, a sink failing one send in three,
		// changes written all along: afterwards every entry of every
		// tenant has arrived, in order per tenant; a duplicate is only
		// an entry sent again, with its id.
		t.Parallel()
		f := newFixture(t, newStores)
		tenants := []backoffice.TenantID{"t1", "t2", "t3"}
		f.tenants(t, tenants...)
		rx := &flakySink{name: sink, every: 3}
		streams := make([]*events.Stream, 2)
		for i := range streams {
			streams[i] = &events.Stream{Store: f.Events, Chain: f.Audit, Sinks: []events.Sink{rx}, Batch: 7, Poll: time.Millisecond,
				Backoff: func(int) time.Duration { return time.Millisecond }, ReportError: func(context.Context, error) {}}
		}
		runCtx, stop := context.WithCancel(ctx())
		var wg sync.WaitGroup
		for _, s := range streams {
			wg.Go(func() { _ = s.Run(runCtx) })
		}
		const perTenant = 40
		var writers sync.WaitGroup
		for _, tn := range tenants {
			writers.Go(func() { appendN(t, f, tn, perTenant, base) })
		}
		writers.Wait()
		require.Eventually(t, func() bool {
			st, err := streams[0].Status(ctx())
			return err == nil && st[0].Backlog == 0
		}, 30*time.Second, 5*time.Millisecond)
		stop()
		wg.Wait()
		for _, tn := range tenants {
			chain := requireChain(t, f.Audit, tn)
			got := rx.received(tn)
			var firsts []string
			seen := map[string]bool{}
			last := int64(0)
			for _, ev := range got {
				if seen[ev.Metadata.UID] {
					continue // at least once: a duplicate has the same id
				}
				seen[ev.Metadata.UID] = true
				require.Equal(t, last+1, ev.Metadata.Sequence, "in order in %s", tn)
				last = ev.Metadata.Sequence
				firsts = append(firsts, ev.Metadata.UID)
			}
			want := make([]string, len(chain))
			for i, e := range chain {
				want[i] = e.ID
			}
			assert.Equal(t, want, firsts, "every entry of %s, none lost", tn)
		}
		assert.Positive(t, rx.failed.Load(), "the sink did fail")
	})
}

// flakySink records what it receives and fails every every-th send.
type flakySink struct {
	name   string
	every  int64
	calls  atomic.Int64
	failed atomic.Int64
	mu     sync.Mutex
	got    []events.Event
}

func (s *flakySink) Name() string { return s.name }

func (s *flakySink) Send(_ context.Context, e events.Event) error {
	if s.calls.Add(1)%s.every == 0 {
		s.failed.Add(1)
		return errors.New("503 Service Unavailable")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, e)
	return nil
}

func (s *flakySink) received(tenant backoffice.TenantID) []events.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []events.Event
	for _, e := range s.got {
		if e.Metadata.TenantUID == string(tenant) {
			out = append(out, e)
		}
	}
	return out
}
