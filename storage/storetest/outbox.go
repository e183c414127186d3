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
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// sink is an idempotent notifier: it keeps one notice per idempotency
// key, failing the first failures deliveries it is given.
type sink struct {
	mu       sync.Mutex
	failures int
	calls    int
	byKey    map[string]accessctl.OperatorNotice
	block    chan struct{} // when set, each delivery waits on it
}

func (s *sink) NotifyOperator(ctx context.Context, n accessctl.OperatorNotice) error {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.failures > 0 {
		s.failures--
		return errors.New("smtp: 451 try again later")
	}
	if s.byKey == nil {
		s.byKey = map[string]accessctl.OperatorNotice{}
	}
	s.byKey[n.IdempotencyKey] = n
	return nil
}

func (s *sink) delivered() map[string]accessctl.OperatorNotice {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]accessctl.OperatorNotice{}
	for k, v := range s.byKey {
		out[k] = v
	}
	return out
}

func testOutbox(t *testing.T, newStores func(*testing.T) Stores) {
	now := base
	msg := func(id string) backoffice.Message {
		m, err := backoffice.NewMessage(id, "t1", "test.topic", map[string]string{"link": "https://x.test/secret-" + id}, now)
		require.NoError(t, err)
		return m
	}
	create := func(t *testing.T, f *fixture, id accessctl.OperatorID, msgs ...backoffice.Message) error {
		e := f.entry("t1", accessctl.TargetOperator, string(id), backoffice.ActionOperatorInvite)
		e.Outbox = msgs
		return f.Operators.CreateOperator(ctx(), &accessctl.Operator{ID: id, Tenant: "t1", Username: string(id), FirstName: "F", LastName: "L",
			Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, Status: accessctl.StatusInvited, CreatedAt: base, UpdatedAt: base}, accessctl.Guard{}, e)
	}
	t.Run("WrittenWithTheChange", func(t *testing.T) {
		// N2: a message is stored with its change, and a change that
		// fails stores none.
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		require.NoError(t, create(t, f, "op-1", msg("m1")))
		require.Error(t, create(t, f, "op-1", msg("m2")), "the same id again conflicts")
		got, err := f.Outbox.OutboxMessages(ctx(), backoffice.MessagePending, 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "m1", got[0].ID)
		assert.Equal(t, "test.topic", got[0].Topic)
		assert.JSONEq(t, `{"link":"https://x.test/secret-m1"}`, string(got[0].Payload))
	})
	t.Run("ClaimLeaseAndSettle", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		empty, err := f.Outbox.OutboxBacklog(ctx())
		require.NoError(t, err)
		assert.Zero(t, empty)
		require.NoError(t, create(t, f, "op-1", msg("m1"), msg("m2")))
		backlog, err := f.Outbox.OutboxBacklog(ctx())
		require.NoError(t, err)
		assert.Equal(t, backoffice.Backlog{Pending: 2, Oldest: now}, backlog)
		got, err := f.Outbox.ClaimMessages(ctx(), now, 10, time.Minute)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, 1, got[0].Attempts)
		again, err := f.Outbox.ClaimMessages(ctx(), now.Add(30*time.Second), 10, time.Minute)
		require.NoError(t, err)
		assert.Empty(t, again, "a leased message is not claimed twice")
		require.NoError(t, f.Outbox.MarkDelivered(ctx(), "m1", now.Add(time.Second)))
		require.NoError(t, f.Outbox.MarkFailed(ctx(), "m2", now.Add(2*time.Minute), "smtp down", false))
		due, err := f.Outbox.ClaimMessages(ctx(), now.Add(90*time.Second), 10, time.Minute)
		require.NoError(t, err)
		assert.Empty(t, due, "a failed message waits for its next attempt")
		due, err = f.Outbox.ClaimMessages(ctx(), now.Add(2*time.Minute), 10, time.Minute)
		require.NoError(t, err)
		require.Len(t, due, 1)
		assert.Equal(t, 2, due[0].Attempts)
		assert.Equal(t, "smtp down", due[0].LastError)
		require.NoError(t, f.Outbox.MarkFailed(ctx(), "m2", now.Add(time.Hour), "smtp down", true))
		delivered, err := f.Outbox.OutboxMessages(ctx(), backoffice.MessageDelivered, 10)
		require.NoError(t, err)
		require.Len(t, delivered, 1)
		assert.Empty(t, delivered[0].Payload, "a delivered message's link is erased")
		dead, err := f.Outbox.OutboxMessages(ctx(), backoffice.MessageDead, 10)
		require.NoError(t, err)
		require.Len(t, dead, 1)
		assert.Empty(t, dead[0].Payload, "a dead message's link is erased")
		requireKind(t, f.Outbox.MarkDelivered(ctx(), "none", now), backoffice.ErrNotFound)
		backlog, err = f.Outbox.OutboxBacklog(ctx())
		require.NoError(t, err)
		assert.Equal(t, backoffice.Backlog{Dead: 1}, backlog, "one delivered, one dead, none pending")
	})
	t.Run("ConcurrentClaims", func(t *testing.T) {
		// N2: dispatchers on several instances claim disjoint batches.
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		for i := range 20 {
			require.NoError(t, create(t, f, accessctl.OperatorID(fmt.Sprintf("op-%02d", i)), msg(fmt.Sprintf("m%02d", i))))
		}
		var claimed sync.Map
		var total atomic.Int32
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				got, err := f.Outbox.ClaimMessages(ctx(), now, 5, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range got {
					if _, dup := claimed.LoadOrStore(m.ID, true); dup {
						t.Errorf("%s claimed twice", m.ID)
					}
					total.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(20), total.Load())
	})
	t.Run("DispatcherRetriesAndDelivers", func(t *testing.T) {
		// N2: a notifier that fails twice, then works: every invitation is
		// delivered, exactly one per change in the idempotent sink, and a
		// change that did not commit sends nothing.
		t.Parallel()
		f := newFixture(t, newStores)
		svc, clock := outboxService(t, f.Stores)
		sys := accessctl.NewContext(ctx(), accessctl.SystemActor("tenant1", "test"))
		for i := range 3 {
			_, err := svc.InviteOperator(sys, accessctl.NewOperator{Username: fmt.Sprintf("new%d", i), Email: fmt.Sprintf("new%d@tenant1.test", i),
				FirstName: "N", LastName: "N", Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
			require.NoError(t, err)
		}
		_, err := svc.InviteOperator(sys, accessctl.NewOperator{Username: "new0", Email: "other@tenant1.test",
			FirstName: "N", LastName: "N", Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
		requireKind(t, err, backoffice.ErrConflict)
		out := &sink{failures: 2}
		d := &backoffice.Dispatcher{Store: f.Outbox, Handlers: map[string]backoffice.Handler{accessctl.OutboxTopic: accessctl.OutboxHandler(out)},
			Now: clock.Now, ReportError: func(context.Context, error) {}}
		for range 10 {
			_, err := d.DispatchOnce(ctx())
			require.NoError(t, err)
			clock.Advance(time.Minute) // past every backoff so far
		}
		got := out.delivered()
		assert.Len(t, got, 3, "one notice per committed change, none for the failed one")
		assert.Equal(t, 5, out.calls, "two failures, then three deliveries")
		for key, n := range got {
			assert.NotEmpty(t, key)
			assert.NotEmpty(t, string(n.Token), "the link reaches the notifier")
		}
		pending, err := f.Outbox.OutboxMessages(ctx(), backoffice.MessagePending, 10)
		require.NoError(t, err)
		assert.Empty(t, pending)
	})
	t.Run("DispatcherKilledMidBatch", func(t *testing.T) {
		// N2: a dispatcher stopped in the middle of a batch loses nothing:
		// what it held is due again when its lease ends, and a new one
		// delivers it.
		t.Parallel()
		f := newFixture(t, newStores)
		svc, clock := outboxService(t, f.Stores)
		sys := accessctl.NewContext(ctx(), accessctl.SystemActor("tenant1", "test"))
		for i := range 4 {
			_, err := svc.InviteOperator(sys, accessctl.NewOperator{Username: fmt.Sprintf("new%d", i), Email: fmt.Sprintf("new%d@tenant1.test", i),
				FirstName: "N", LastName: "N", Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
			require.NoError(t, err)
		}
		out := &sink{block: make(chan struct{})}
		handlers := map[string]backoffice.Handler{accessctl.OutboxTopic: accessctl.OutboxHandler(out)}
		first := &backoffice.Dispatcher{Store: f.Outbox, Handlers: handlers, Now: clock.Now, Lease: time.Minute, ReportError: func(context.Context, error) {}}
		dctx, kill := context.WithCancel(ctx())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = first.DispatchOnce(dctx)
		}()
		out.block <- struct{}{} // the first delivery goes through
		kill()                  // then the dispatcher dies, holding the rest
		<-done
		assert.Len(t, out.delivered(), 1)
		close(out.block)
		second := &backoffice.Dispatcher{Store: f.Outbox, Handlers: handlers, Now: clock.Now, ReportError: func(context.Context, error) {}}
		n, err := second.DispatchOnce(ctx())
		require.NoError(t, err)
		assert.Zero(t, n, "the dead dispatcher's lease still holds")
		clock.Advance(2 * time.Minute)
		for range 3 {
			_, err := second.DispatchOnce(ctx())
			require.NoError(t, err)
			clock.Advance(2 * time.Minute)
		}
		assert.Len(t, out.delivered(), 4, "nothing lost")
	})
}

// outboxService is an accessctl service in outbox mode over the stores,
// with tenant tenant1.
func outboxService(t *testing.T, st Stores) (*accessctl.Service, *memorytest.Clock) {
	t.Helper()
	clock := memorytest.NewClock(base)
	store := accessStore{st.Tenants, st.Operators, st.Roles, st.Audit, st.Sessions, st.Tokens, st.Attempts, st.Approvals, st.Reviews, st.Once}
	svc, err := accessctl.NewService(accessctl.Config{Store: store, Outbox: true, Now: clock.Now, Hasher: memorytest.Hasher()})
	require.NoError(t, err)
	_, err = svc.Bootstrap(ctx(), accessctl.BootstrapInput{Tenant: "tenant1", Name: "Tenant 1", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@tenant1.test", FirstName: "R", LastName: "R",
			Password: "Correct-Horse-42", PasswordConfirmation: "Correct-Horse-42"}})
	require.NoError(t, err)
	return svc, clock
}
