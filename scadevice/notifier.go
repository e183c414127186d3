package scadevice

import (
	"context"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
)

// PINResetNotice asks an end user to choose a new PIN on a device.
type PINResetNotice struct {
	Tenant backoffice.TenantID `json:"tenant"`
	User   enduser.ID          `json:"user"`
	Device ID                  `json:"device"`
	// IdempotencyKey is set when the notice comes from the outbox: one key
	// for every delivery of one notice (delivery is at least once).
	IdempotencyKey string `json:"-"`
}

// OutboxTopic is the topic of the outbox messages that carry device
// notices.
const OutboxTopic = "scadevice.pin_reset"

// OutboxHandler delivers the outbox's device notices to n, for a
// backoffice.Dispatcher.
func OutboxHandler(n Notifier) backoffice.Handler {
	return backoffice.JSONHandler(func(ctx context.Context, v PINResetNotice, key string) error {
		v.IdempotencyKey = key
		return n.NotifyPINReset(ctx, v)
	})
}

// Notifier delivers device notices, typically as a push to the device. It
// is called only after the change is stored.
type Notifier interface {
	NotifyPINReset(ctx context.Context, n PINResetNotice) error
}
