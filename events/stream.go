package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// Sink is where events go: a Webhook, a Syslog, or a host's own (a Kafka
// topic, a cloud queue). Send returns nil once the receiver has the event
// (at least once: an event may come again, with the same
// Metadata.UID); an error has the event sent again later.
type Sink interface {
	// Name names the sink in positions, metrics and logs; it is the key
	// of its positions in the Store, so it must stay the same across
	// restarts and be the same on every instance.
	Name() string
	Send(ctx context.Context, e Event) error
}

// Chain reads a tenant's audit chain: accessctl.AuditStore does.
type Chain interface {
	AuditChain(ctx context.Context, tenant backoffice.TenantID, after int64, limit int) ([]backoffice.AuditEntry, error)
}

// Stream delivers every tenant's audit chain to every sink (L2): at least
// once, in order per tenant, each event with its stable id (the entry's).
// The chain is the outbox: an entry is written in the change's own
// statement and nothing more is, so a sink that is slow, failing or down
// never slows or fails a change; it only lets the backlog grow.
//
// Streams on several instances share the work: a tenant's stream to a
// sink is leased to one at a time (Store.ClaimStream). A failed send is
// tried again after an exponential backoff with jitter; after MaxAttempts
// failures the tenant's stream to that sink stops at that event (dead,
// so that nothing after it overtakes it) until Redeliver starts it again
// from a sequence number.
//
// Login refusals, which the audit log does not hold, are sent from a
// bounded queue in memory (Observe): a flood of refused passwords must
// not become a flood of writes. A refusal is therefore lost if its
// instance stops before sending it, or dropped (and counted) when the
// queue is full; a lockout, a success and every change are in the chain.
//
// Set the fields, then call Run. The zero value of every field but Store,
// Chain and Sinks is a sensible default.
type Stream struct {
	Store Store
	Chain Chain
	Sinks []Sink
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Batch is how many entries a tenant's round reads; default 100.
	Batch int
	// Lease is how long a claimed stream is this instance's; it must
	// outlast Batch sends. Default 1 minute.
	Lease time.Duration
	// Timeout bounds one send; default 10 s.
	Timeout time.Duration
	// MaxAttempts is how many failed sends of one event stop the
	// stream; default 20 (about an hour with the default backoff).
	MaxAttempts int
	// Backoff is the wait after n failed sends, before jitter; default
	// 1 s doubling, at most 5 min. The wait is drawn between half of it
	// and all of it.
	Backoff func(n int) time.Duration
	// Poll is the wait between rounds that sent nothing; default 1 s.
	Poll time.Duration
	// Queue is how many login refusals wait in memory per sink; default
	// 4096.
	Queue int
	// ReportError receives failed sends and store errors; default
	// backoffice.LogError.
	ReportError func(ctx context.Context, err error)

	once   sync.Once
	holder string
	mu     sync.Mutex
	state  map[string]*sinkState
}

// sinkState is what this instance knows of a sink beyond its positions.
type sinkState struct {
	sink      Sink
	queue     chan Event
	delivered int64 // events this instance delivered
	failures  int64
	dropped   int64 // login refusals dropped on a full queue
	lastError string
	lastAt    time.Time // when this instance last delivered
	lastUID   string
	wake      chan struct{}
}

// init fills the defaults, once.
func (s *Stream) init() {
	s.once.Do(func() {
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Batch <= 0 {
			s.Batch = 100
		}
		if s.Lease <= 0 {
			s.Lease = time.Minute
		}
		if s.Timeout <= 0 {
			s.Timeout = 10 * time.Second
		}
		if s.MaxAttempts <= 0 {
			s.MaxAttempts = 20
		}
		if s.Backoff == nil {
			s.Backoff = func(n int) time.Duration { return min(time.Second<<min(n-1, 10), 5*time.Minute) }
		}
		if s.Poll <= 0 {
			s.Poll = time.Second
		}
		if s.Queue <= 0 {
			s.Queue = 4096
		}
		if s.ReportError == nil {
			s.ReportError = backoffice.LogError
		}
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.holder = hex.EncodeToString(b[:])
		s.state = map[string]*sinkState{}
		for _, k := range s.Sinks {
			s.state[k.Name()] = &sinkState{sink: k, queue: make(chan Event, s.Queue), wake: make(chan struct{}, 1)}
		}
	})
}

// ErrUnknownSink is what a call naming a sink the stream lacks fails
// with.
var ErrUnknownSink = errors.New("events: no such sink")

func (s *Stream) sink(name string) (*sinkState, error) {
	s.init()
	st := s.state[name]
	if st == nil {
		return nil, backoffice.NewError(backoffice.ErrNotFound, "events: sink", ErrUnknownSink.Error())
	}
	return st, nil
}

// Run delivers until ctx ends, one goroutine per sink, so that a slow
// sink holds up none of the others; then returns ctx's error.
func (s *Stream) Run(ctx context.Context) error {
	s.init()
	if len(s.Sinks) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	var wg sync.WaitGroup
	for _, k := range s.Sinks {
		st := s.state[k.Name()]
		wg.Go(func() { s.runSink(ctx, st) })
	}
	wg.Wait()
	return ctx.Err()
}

func (s *Stream) runSink(ctx context.Context, st *sinkState) {
	for ctx.Err() == nil {
		sent := s.sendQueued(ctx, st)
		n, err := s.round(ctx, st)
		if err != nil && ctx.Err() == nil {
			s.ReportError(ctx, err)
		}
		if n+sent > 0 {
			continue
		}
		t := time.NewTimer(s.Poll)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-st.wake:
		case ev := <-st.queue:
			s.sendLogin(ctx, st, ev)
		}
		t.Stop()
	}
}

// Round sends what is due to every sink once, tenant after tenant, and
// returns how many events it delivered: for a host that schedules
// delivery itself (a cron job), and for tests.
func (s *Stream) Round(ctx context.Context) (int, error) {
	s.init()
	var total int
	var errs []error
	for _, k := range s.Sinks {
		st := s.state[k.Name()]
		total += s.sendQueued(ctx, st)
		n, err := s.round(ctx, st)
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// round sends, for each tenant whose stream to the sink is due, up to a
// batch of its entries in order.
func (s *Stream) round(ctx context.Context, st *sinkState) (int, error) {
	positions, err := s.Store.Positions(ctx, st.sink.Name())
	if err != nil {
		return 0, err
	}
	var total int
	for _, p := range positions {
		if p.Dead || p.Backlog() == 0 || p.NextAt.After(s.Now()) {
			continue
		}
		n, err := s.deliver(ctx, st, p.Tenant)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// deliver claims the tenant's stream to the sink and sends its next
// batch, acknowledging each event as it is delivered.
func (s *Stream) deliver(ctx context.Context, st *sinkState, tenant backoffice.TenantID) (int, error) {
	name := st.sink.Name()
	p, ok, err := s.Store.ClaimStream(ctx, name, tenant, s.holder, s.Now(), s.Lease)
	if err != nil || !ok {
		return 0, err
	}
	entries, err := s.Chain.AuditChain(ctx, tenant, p.Delivered, s.Batch)
	if err != nil {
		return 0, errors.Join(err, s.Store.Release(ctx, name, tenant, s.holder, s.Now(), "", false))
	}
	for i, e := range entries {
		if err := s.send(ctx, st, FromAudit(e)); err != nil {
			n := p.Attempts + 1
			dead := n >= s.MaxAttempts
			next := s.Now().Add(s.jitter(n))
			s.ReportError(ctx, fmt.Errorf("events: %s, tenant %s, entry %d, attempt %d: %w", name, tenant, e.Seq, n, err))
			return i, s.Store.Release(ctx, name, tenant, s.holder, next, err.Error(), dead)
		}
		if err := s.Store.Acknowledge(ctx, name, tenant, s.holder, e.Seq, s.Now()); err != nil {
			// The lease ended or a Rewind broke it: another stream goes
			// on from the store's position.
			return i + 1, err
		}
		p.Attempts = 0
	}
	return len(entries), s.Store.Release(ctx, name, tenant, s.holder, s.Now(), "", false)
}

// jitter is the backoff after n failures, drawn between half of it and
// all of it, so that instances and tenants do not retry in step.
func (s *Stream) jitter(n int) time.Duration {
	d := s.Backoff(n)
	if d <= 1 {
		return d
	}
	return d/2 + mrand.N(d/2+1)
}

// send sends one event within the timeout and counts the outcome.
func (s *Stream) send(ctx context.Context, st *sinkState, ev Event) error {
	sctx, cancel := context.WithTimeout(ctx, s.Timeout)
	err := st.sink.Send(sctx, ev)
	cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		st.failures++
		st.lastError = err.Error()
		return err
	}
	st.delivered++
	st.lastAt, st.lastUID, st.lastError = s.Now(), ev.Metadata.UID, ""
	return nil
}

// Observe is an accessctl.Config.Events hook: it queues the events of
// login refusals (FromLogin) for every sink, and ignores the rest, which
// the audit chain carries. It never blocks: a full queue drops the event
// and counts it.
func (s *Stream) Observe(_ context.Context, e accessctl.Event) {
	s.init()
	var b [16]byte
	_, _ = rand.Read(b[:])
	ev, ok := FromLogin(e, "login-"+hex.EncodeToString(b[:]), s.Now())
	if !ok {
		return
	}
	for _, st := range s.state {
		select {
		case st.queue <- ev:
		default:
			s.mu.Lock()
			st.dropped++
			s.mu.Unlock()
		}
	}
}

// sendQueued sends the login refusals waiting for the sink.
func (s *Stream) sendQueued(ctx context.Context, st *sinkState) int {
	var n int
	for ctx.Err() == nil {
		select {
		case ev := <-st.queue:
			if s.sendLogin(ctx, st, ev) {
				n++
			}
		default:
			return n
		}
	}
	return n
}

// sendLogin sends a login refusal, trying a few times at once: it has no
// place in the store to wait in.
func (s *Stream) sendLogin(ctx context.Context, st *sinkState, ev Event) bool {
	for n := 1; n <= 3 && ctx.Err() == nil; n++ {
		if err := s.send(ctx, st, ev); err == nil {
			return true
		} else if n == 3 {
			s.ReportError(ctx, fmt.Errorf("events: %s: login event %s dropped: %w", st.sink.Name(), ev.Metadata.UID, err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.jitter(n) / 4):
		}
	}
	s.mu.Lock()
	st.dropped++
	s.mu.Unlock()
	return false
}

// SinkStatus is a sink's state for metrics, readiness and the console:
// over every tenant, or one.
type SinkStatus struct {
	Name string `json:"name"`
	// State is "ok", "retrying" (a send failed and is due again) or
	// "dead" (a stream stopped at an event; Redeliver starts it again).
	State string `json:"state"`
	// Backlog counts the entries not yet delivered; Lag is how long the
	// oldest of them has waited.
	Backlog int64         `json:"backlog"`
	Lag     time.Duration `json:"lag_ns"`
	// Retrying and Dead count the tenants' streams in those states.
	Retrying int `json:"retrying"`
	Dead     int `json:"dead"`
	// LastDelivered is the highest position acknowledged, and when.
	LastDelivered   int64     `json:"last_delivered"`
	LastDeliveredAt time.Time `json:"last_delivered_at,omitzero"`
	LastError       string    `json:"last_error,omitempty"`
	// Delivered, Failures and Dropped count this instance's sends since
	// it started; Dropped are login refusals lost to a full queue or a
	// sink that refused them three times.
	Delivered int64 `json:"delivered"`
	Failures  int64 `json:"failures"`
	Dropped   int64 `json:"dropped"`
	// Positions are the tenants' positions (one, for a tenant's status).
	Positions []Position `json:"positions,omitempty"`
}

// Status is every sink's state over every tenant.
func (s *Stream) Status(ctx context.Context) ([]SinkStatus, error) {
	return s.status(ctx, "")
}

// TenantStatus is every sink's state in the actor's tenant, for its
// console. Needs audit.read.
func (s *Stream) TenantStatus(ctx context.Context) ([]SinkStatus, error) {
	a, err := accessctl.Require(ctx, accessctl.PermAuditRead)
	if err != nil {
		return nil, err
	}
	return s.status(ctx, a.Tenant())
}

func (s *Stream) status(ctx context.Context, tenant backoffice.TenantID) ([]SinkStatus, error) {
	s.init()
	now := s.Now()
	out := make([]SinkStatus, 0, len(s.Sinks))
	for _, k := range s.Sinks {
		positions, err := s.Store.Positions(ctx, k.Name())
		if err != nil {
			return nil, err
		}
		ss := SinkStatus{Name: k.Name(), State: "ok"}
		for _, p := range positions {
			if tenant != "" && p.Tenant != tenant {
				continue
			}
			if tenant != "" {
				ss.Positions = append(ss.Positions, p)
			}
			ss.Backlog += p.Backlog()
			if !p.Oldest.IsZero() && p.Backlog() > 0 {
				ss.Lag = max(ss.Lag, now.Sub(p.Oldest))
			}
			switch {
			case p.Dead:
				ss.Dead++
			case p.Attempts > 0:
				ss.Retrying++
			}
			if p.LastError != "" {
				ss.LastError = p.LastError
			}
			if p.DeliveredAt.After(ss.LastDeliveredAt) {
				ss.LastDelivered, ss.LastDeliveredAt = p.Delivered, p.DeliveredAt
			}
		}
		switch {
		case ss.Dead > 0:
			ss.State = "dead"
		case ss.Retrying > 0:
			ss.State = "retrying"
		}
		s.mu.Lock()
		st := s.state[k.Name()]
		ss.Delivered, ss.Failures, ss.Dropped = st.delivered, st.failures, st.dropped
		if ss.LastError == "" && tenant == "" {
			ss.LastError = st.lastError
		}
		s.mu.Unlock()
		out = append(out, ss)
	}
	return out, nil
}

// Redeliver starts the actor's tenant's stream to the sink again from the
// entry numbered from (1 for the whole chain): after a receiver lost
// events, or to go on after a dead one. Events already delivered come
// again, with their ids. Needs tenant.configure.
func (s *Stream) Redeliver(ctx context.Context, sink string, from int64) error {
	a, err := accessctl.Require(ctx, accessctl.PermTenantConfigure)
	if err != nil {
		return err
	}
	return s.RedeliverTenant(ctx, sink, a.Tenant(), from)
}

// RedeliverTenant is Redeliver for a host's own tools, with no actor: it
// must not be reachable by an operator of another tenant.
func (s *Stream) RedeliverTenant(ctx context.Context, sink string, tenant backoffice.TenantID, from int64) error {
	st, err := s.sink(sink)
	if err != nil {
		return err
	}
	if from < 1 {
		return backoffice.NewError(backoffice.ErrInvalid, "events: redeliver", "from is a sequence number, 1 or more",
			backoffice.FieldViolation{Field: "from", Reason: "must be 1 or more"})
	}
	if err := s.Store.Rewind(ctx, sink, tenant, from, s.Now()); err != nil {
		return err
	}
	select {
	case st.wake <- struct{}{}:
	default:
	}
	return nil
}

// SendTest sends a test event (an API Activity of the actor reading the
// sink's state) to the sink at once, outside the stream, and returns the
// sink's error: to check the receiver, its secret or its certificate.
// Needs tenant.configure.
func (s *Stream) SendTest(ctx context.Context, sink string) (Event, error) {
	a, err := accessctl.Require(ctx, accessctl.PermTenantConfigure)
	if err != nil {
		return Event{}, err
	}
	st, err := s.sink(sink)
	if err != nil {
		return Event{}, err
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	ev := TestEvent(a.Tenant(), a.Ref(), "test-"+hex.EncodeToString(b[:]), s.Now())
	return ev, s.send(ctx, st, ev)
}

// TestEvent is the event SendTest sends: an API Activity (Read) whose
// status detail says it is a test.
func TestEvent(tenant backoffice.TenantID, actor backoffice.ActorRef, id string, at time.Time) Event {
	ev := newEvent(ClassAPIActivity, 2, SeverityInformational, StatusSuccess, at)
	ev.Metadata.UID, ev.Metadata.TenantUID, ev.Metadata.EventCode, ev.Metadata.LogName = id, string(tenant), "events.test", "test"
	ev.Message = "a test event, sent by " + actor.Name + " to check the sink"
	ev.StatusDetail = "test event"
	ev.Actor = actorOf(actor)
	ev.API = &API{Operation: "events.test", Service: &Service{Name: "backoffice"}}
	ev.SrcEndpoint = &Endpoint{Name: "backoffice"}
	return ev
}
