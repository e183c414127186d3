package scadevice

import (
	"context"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
)

// PINResetNotice asks an end user to choose a new PIN on a device.
type PINResetNotice struct {
	Tenant backoffice.TenantID
	User   enduser.ID
	Device ID
}

// Notifier delivers device notices, typically as a push to the device. It
// is called only after the change is stored.
type Notifier interface {
	NotifyPINReset(ctx context.Context, n PINResetNotice) error
}
