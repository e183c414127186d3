package events_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/events"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// receiver records the events it is sent; while down it refuses them.
type receiver struct {
	name string
	mu   sync.Mutex
	down bool
	got  []events.Event
	sent int
}

func (r *receiver) Name() string { return r.name }

func (r *receiver) Send(_ context.Context, e events.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent++
	if r.down {
		return errors.New("connection refused")
	}
	r.got = append(r.got, e)
	return nil
}

func (r *receiver) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

func (r *receiver) uids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.got))
	for i, e := range r.got {
		out[i] = e.Metadata.UID
	}
	return out
}

func newStream(k *memorytest.Kit, sinks ...events.Sink) *events.Stream {
	return &events.Stream{Store: k.Store, Chain: k.Store, Sinks: sinks, Now: k.Clock.Now, MaxAttempts: 3,
		ReportError: func(context.Context, error) {}}
}

func chainIDs(t *testing.T, k *memorytest.Kit, tenant backoffice.TenantID) []string {
	t.Helper()
	chain, err := k.Store.AuditChain(context.Background(), tenant, 0, 0)
	require.NoError(t, err)
	ids := make([]string, len(chain))
	for i, e := range chain {
		ids[i] = e.ID
	}
	return ids
}

// L2, L3: a receiver that refuses every event is tried again after a
// backoff with jitter, MaxAttempts times; then the tenant's stream stops
// at that event (dead) and nothing after it overtakes it. An
// Administrator's redelivery from a sequence number starts it again, and
// the events come with the ids they had.
func TestStreamDeadLetterAndRedelivery(t *testing.T) {
	k := memorytest.New(nil)
	admin := k.As(accessctl.RoleAdministrator)
	rx := &receiver{name: "siem", down: true}
	s := newStream(k, rx)
	ctx := context.Background()

	n, err := s.Round(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	st, err := s.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st, 1)
	assert.Equal(t, "retrying", st[0].State)
	p := st[0]
	assert.Positive(t, p.Backlog)
	assert.Equal(t, "connection refused", p.LastError)
	assert.Equal(t, int64(1), p.Failures)

	// Not due again before its backoff (1 s, drawn between 0.5 s and 1 s).
	k.Clock.Advance(400 * time.Millisecond)
	_, err = s.Round(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rx.sent, "waiting out the backoff")
	for range 2 {
		k.Clock.Advance(5 * time.Second)
		_, err = s.Round(ctx)
		require.NoError(t, err)
	}
	assert.Equal(t, 3, rx.sent)
	st, err = s.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, "dead", st[0].State)
	assert.Equal(t, 1, st[0].Dead)

	rx.setDown(false)
	k.Clock.Advance(time.Hour)
	_, err = s.Round(ctx)
	require.NoError(t, err)
	assert.Empty(t, rx.uids(), "a dead stream sends nothing until it is started again")

	require.NoError(t, s.Redeliver(admin, "siem", 1))
	for {
		n, err := s.Round(ctx)
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	want := chainIDs(t, k, k.Tenant)
	assert.Equal(t, want, rx.uids(), "the whole chain, in order")
	st, err = s.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ok", st[0].State)
	assert.Zero(t, st[0].Backlog)
	assert.Equal(t, int64(len(want)), st[0].LastDelivered)

	// Redelivery from a later entry sends it and what follows, again.
	require.NoError(t, s.Redeliver(admin, "siem", int64(len(want))))
	_, err = s.Round(ctx)
	require.NoError(t, err)
	assert.Equal(t, append(want, want[len(want)-1]), rx.uids(), "the same id again")

	var invalid *backoffice.Error
	require.ErrorAs(t, s.Redeliver(admin, "siem", 0), &invalid)
	assert.ErrorIs(t, invalid, backoffice.ErrInvalid)
	assert.ErrorIs(t, s.Redeliver(admin, "kafka", 1), backoffice.ErrNotFound)
}

// L3: the backoff doubles and is drawn between half of it and all of it,
// so that tenants and instances do not retry in step.
func TestStreamBackoffHasJitter(t *testing.T) {
	k := memorytest.New(nil)
	ctx := context.Background()
	for i := range 30 { // thirty tenants' streams, each failing once
		require.NoError(t, k.Store.AppendAuditEntry(ctx, backoffice.AuditEntry{ID: "e-" + string(rune('a'+i)), Tenant: backoffice.TenantID("t" + string(rune('a'+i))),
			Action: "note.add", TargetType: "note", At: k.Clock.Now()}))
	}
	rx := &receiver{name: "siem", down: true}
	s := newStream(k, rx)
	s.MaxAttempts = 10
	waits := map[time.Duration]bool{}
	for round, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		now := k.Clock.Now()
		_, err := s.Round(ctx)
		require.NoError(t, err)
		positions, err := k.Store.Positions(ctx, "siem")
		require.NoError(t, err)
		for _, p := range positions {
			require.Equal(t, round+1, p.Attempts)
			wait := p.NextAt.Sub(now)
			assert.GreaterOrEqual(t, wait, want/2, "tenant %s", p.Tenant)
			assert.LessOrEqual(t, wait, want, "tenant %s", p.Tenant)
			waits[wait] = true
		}
		k.Clock.Advance(want)
	}
	assert.Greater(t, len(waits), 10, "the waits are spread")
}

// L2: a change never waits for a sink: with the receiver down, or
// blocked, changes are written as fast as ever; they are the backlog.
func TestChangesNeverWaitForASink(t *testing.T) {
	k := memorytest.New(nil)
	block := make(chan struct{})
	slow := blockingSink{release: block}
	s := newStream(k, slow)
	s.Poll = time.Millisecond
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	admin := k.As(accessctl.RoleAdministrator)
	for range 20 {
		_, err := k.Ops.InviteOperator(admin, accessctl.NewOperator{Username: "op" + k.Clock.Now().Format("150405.000000000"), Email: "x" + k.Clock.Now().Format("150405.000000000") + "@acme.test",
			FirstName: "A", LastName: "B", Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
		require.NoError(t, err, "the sink is blocked; the change is not")
		k.Clock.Advance(time.Millisecond)
	}
	st, err := s.Status(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, st[0].Backlog, int64(20))
	close(block)
	stop()
	require.ErrorIs(t, <-done, context.Canceled)
}

// blockingSink holds every send until release is closed or the send's
// context ends.
type blockingSink struct{ release chan struct{} }

func (blockingSink) Name() string { return "blocked" }

func (b blockingSink) Send(ctx context.Context, _ events.Event) error {
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// L1, L2: refused logins, which the audit log does not hold, reach the
// sinks from the stream's queue; a full queue drops them and counts them,
// never blocking the login; other outcomes are left to the chain.
func TestLoginRefusalsAreSent(t *testing.T) {
	k := memorytest.New(nil)
	rx := &receiver{name: "siem"}
	s := newStream(k, rx)
	s.Queue = 2
	ctx := context.Background()
	for range 3 {
		s.Observe(ctx, accessctl.Event{Kind: accessctl.EventLoginRefused, Tenant: k.Tenant, Operator: k.Admin.ID})
	}
	s.Observe(ctx, accessctl.Event{Kind: accessctl.EventLoginSucceeded, Tenant: k.Tenant, Operator: k.Admin.ID})
	_, err := s.Round(ctx)
	require.NoError(t, err)
	var logins []events.Event
	rx.mu.Lock()
	for _, e := range rx.got {
		if e.Metadata.LogName == "login" {
			logins = append(logins, e)
		}
	}
	rx.mu.Unlock()
	require.Len(t, logins, 2)
	assert.Equal(t, events.ClassAuthentication, logins[0].ClassUID)
	assert.Equal(t, string(k.Admin.ID), logins[0].User.UID)
	assert.NotEqual(t, logins[0].Metadata.UID, logins[1].Metadata.UID)
	st, err := s.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), st[0].Dropped, "the third found the queue full")
}

// The attacker's test: what can one operator reach of the stream? Only an
// Administrator sends a test event or redelivers, and only its own
// tenant's stream; the status an operator reads holds its own tenant's
// position alone.
func TestStreamAdministratorsOnly(t *testing.T) {
	k := memorytest.New(nil)
	ctx := context.Background()
	require.NoError(t, k.Store.AppendAuditEntry(ctx, backoffice.AuditEntry{ID: "g-1", Tenant: "globex", Action: "note.add", TargetType: "note", At: k.Clock.Now()}))
	rx := &receiver{name: "siem"}
	s := newStream(k, rx)
	for _, role := range []accessctl.RoleName{accessctl.RoleManager, accessctl.RoleReadOnly, accessctl.RoleAllRightsEditor} {
		who := k.As(role)
		_, err := s.SendTest(who, "siem")
		assert.ErrorIs(t, err, backoffice.ErrForbidden, "%s sends no test event", role)
		assert.ErrorIs(t, s.Redeliver(who, "siem", 1), backoffice.ErrForbidden, "%s redelivers nothing", role)
	}
	_, err := s.SendTest(ctx, "siem")
	assert.ErrorIs(t, err, backoffice.ErrUnauthenticated, "no actor, no test event")
	assert.Empty(t, rx.uids())

	admin := k.As(accessctl.RoleAdministrator)
	ev, err := s.SendTest(admin, "siem")
	require.NoError(t, err)
	assert.Equal(t, events.ClassAPIActivity, ev.ClassUID)
	assert.Equal(t, []string{ev.Metadata.UID}, rx.uids())

	st, err := s.TenantStatus(admin)
	require.NoError(t, err)
	require.Len(t, st[0].Positions, 1)
	assert.Equal(t, k.Tenant, st[0].Positions[0].Tenant, "globex's position is not acme's to see")

	require.NoError(t, s.Redeliver(admin, "siem", 1))
	positions, err := k.Store.Positions(ctx, "siem")
	require.NoError(t, err)
	for _, p := range positions {
		if p.Tenant == "globex" {
			assert.Equal(t, events.Position{Sink: "siem", Tenant: "globex", Head: 1, Oldest: backoffice.Truncate(k.Clock.Now())}, p, "acme's redelivery left globex alone")
		}
	}
}
