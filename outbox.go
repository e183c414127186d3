package backoffice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message is a notice a change sends (an invitation, a reset link, a PIN
// reset request), written to the outbox in the same atomic write as its
// change and its audit entry, and delivered afterwards by a Dispatcher the
// host runs: a notice is never sent for a change that did not commit, and
// never lost for one that did.
//
// Payload holds the notice, its link included, until delivery; the store
// erases it once the message is delivered or dead, so a raw link lives no
// longer than its delivery needs.
type Message struct {
	// ID is also the idempotency key the notifier receives: a message
	// delivered twice (at least once is the promise) has one key.
	ID     string
	Tenant TenantID
	// Topic says which handler of the Dispatcher delivers it.
	Topic   string
	Payload []byte
	Status  MessageStatus
	// Attempts counts the deliveries begun; NextAt is when the message is
	// due (or, while a dispatcher holds it, when its lease ends).
	Attempts    int
	NextAt      time.Time
	LastError   string
	CreatedAt   time.Time
	DeliveredAt time.Time
}

// MessageStatus is where a message stands.
type MessageStatus string

// Message statuses.
const (
	MessagePending   MessageStatus = "pending"
	MessageDelivered MessageStatus = "delivered"
	// MessageDead is a message given up after MaxAttempts failures; its
	// payload is erased. A host lists them to act by hand.
	MessageDead MessageStatus = "dead"
)

// OutboxStore keeps the messages the changes wrote (each store method that
// makes a change writes its AuditEntry's Outbox messages with it) for a
// Dispatcher.
type OutboxStore interface {
	// ClaimMessages leases up to n pending messages due at now until
	// now+lease and counts an attempt on each, atomically: dispatchers on
	// several instances never hold one message at once. A message whose
	// lease ended (its dispatcher died) is due again.
	ClaimMessages(ctx context.Context, now time.Time, n int, lease time.Duration) ([]Message, error)
	// MarkDelivered records the delivery and erases the payload.
	MarkDelivered(ctx context.Context, id string, at time.Time) error
	// MarkFailed records a failed delivery: due again at next, or dead
	// (payload erased) when dead is set.
	MarkFailed(ctx context.Context, id string, next time.Time, reason string, dead bool) error
	// OutboxMessages lists messages of a status, oldest first, at most
	// limit.
	OutboxMessages(ctx context.Context, status MessageStatus, limit int) ([]Message, error)
	// OutboxBacklog counts the pending and dead messages and gives the
	// creation time of the oldest pending one (zero when none is), for a
	// host's metrics and readiness check.
	OutboxBacklog(ctx context.Context) (Backlog, error)
}

// Backlog is where an outbox stands.
type Backlog struct {
	Pending int `json:"pending"`
	Dead    int `json:"dead"`
	// Oldest is when the oldest pending message was written.
	Oldest time.Time `json:"oldest,omitzero"`
}

// Handler delivers the messages of one topic, the message's ID serving as
// the idempotency key. Each domain package offers one over its notifier
// (accessctl.OutboxHandler, …).
type Handler func(ctx context.Context, m Message) error

// Dispatcher delivers the outbox's messages: at least once, with
// exponential backoff between attempts, and a dead state after
// MaxAttempts. Several dispatchers may run at once, on several instances.
// The zero value of every field but Store and Handlers is a sensible
// default.
type Dispatcher struct {
	Store    OutboxStore
	Handlers map[string]Handler
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Batch is how many messages one round claims; default 16.
	Batch int
	// Lease is how long a claimed message is this dispatcher's; a
	// delivery must end within it. Default 1 minute.
	Lease time.Duration
	// MaxAttempts is how many deliveries a message gets before it is
	// dead; default 8.
	MaxAttempts int
	// Backoff is the wait before attempt n+1 after n failed ones; default
	// 1s, doubling, at most 1h.
	Backoff func(attempts int) time.Duration
	// Poll is the wait between rounds that found nothing; default 1s.
	Poll time.Duration
	// ReportError receives failed deliveries and store errors; default
	// LogError.
	ReportError func(ctx context.Context, err error)
}

// ErrNoHandler is what a message of a topic the Dispatcher has no handler
// for fails with; it is retried like any failure, and ends dead.
var ErrNoHandler = errors.New("no handler for the message's topic")

func (d *Dispatcher) defaults() Dispatcher {
	c := *d
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Batch <= 0 {
		c.Batch = 16
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.Backoff == nil {
		c.Backoff = func(n int) time.Duration { return min(time.Second<<min(n-1, 12), time.Hour) }
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.ReportError == nil {
		c.ReportError = LogError
	}
	return c
}

// Run delivers messages until ctx ends, then returns ctx's error.
func (d *Dispatcher) Run(ctx context.Context) error {
	c := d.defaults()
	for {
		n, err := c.dispatch(ctx)
		if err != nil && ctx.Err() == nil {
			c.ReportError(ctx, err)
		}
		if n < c.Batch {
			t := time.NewTimer(c.Poll)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// DispatchOnce claims one batch of due messages and delivers them, and
// returns how many it claimed.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	c := d.defaults()
	return c.dispatch(ctx)
}

func (d *Dispatcher) dispatch(ctx context.Context) (int, error) {
	ms, err := d.Store.ClaimMessages(ctx, Truncate(d.Now()), d.Batch, d.Lease)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if ctx.Err() != nil {
			return len(ms), ctx.Err() // the rest are due again when their lease ends
		}
		err := d.deliver(ctx, m)
		// Record the outcome even when ctx ended meanwhile.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		now := Truncate(d.Now())
		var serr error
		if err == nil {
			serr = d.Store.MarkDelivered(rctx, m.ID, now)
		} else {
			dead := m.Attempts >= d.MaxAttempts
			d.ReportError(ctx, fmt.Errorf("backoffice: outbox: delivering %s (%s), attempt %d%s: %w: %w", m.ID, m.Topic, m.Attempts,
				map[bool]string{true: ", given up", false: ""}[dead], ErrNotDelivered, err))
			serr = d.Store.MarkFailed(rctx, m.ID, now.Add(d.Backoff(m.Attempts)), err.Error(), dead)
		}
		cancel()
		if serr != nil {
			return len(ms), serr
		}
	}
	return len(ms), nil
}

func (d *Dispatcher) deliver(ctx context.Context, m Message) error {
	h, ok := d.Handlers[m.Topic]
	if !ok {
		return fmt.Errorf("%w %q", ErrNoHandler, m.Topic)
	}
	dctx, cancel := context.WithTimeout(ctx, d.Lease/2)
	defer cancel()
	return h(dctx, m)
}

// NewMessage returns a pending message of the topic, due at now, carrying
// v as JSON. A service builds it and appends it to its change's
// AuditEntry.Outbox.
func NewMessage(id string, tenant TenantID, topic string, v any, now time.Time) (Message, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return Message{}, fmt.Errorf("backoffice: outbox message of %s: %w", topic, err)
	}
	return Message{ID: id, Tenant: tenant, Topic: topic, Payload: payload, Status: MessagePending, NextAt: now, CreatedAt: now}, nil
}

// JSONHandler returns a Handler that decodes each message's payload into
// a T and gives it to deliver with the message's ID, the idempotency key.
func JSONHandler[T any](deliver func(ctx context.Context, v T, key string) error) Handler {
	return func(ctx context.Context, m Message) error {
		var v T
		if err := json.Unmarshal(m.Payload, &v); err != nil {
			return fmt.Errorf("backoffice: outbox message %s: %w", m.ID, err)
		}
		return deliver(ctx, v, m.ID)
	}
}
