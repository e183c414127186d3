package scadevice

import (
	"context"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
)

// Store persists devices. Like every store of the module it writes each
// change with its audit entry atomically and checks versions.
type Store interface {
	// CreateDevice stores a new device with version 1.
	CreateDevice(ctx context.Context, d *Device, e backoffice.AuditEntry) error
	// Device returns a copy of the device, deleted or not. Returns ErrNotFound.
	Device(ctx context.Context, tenant backoffice.TenantID, id ID) (*Device, error)
	// UpdateDevice replaces the device if its stored version is
	// expectVersion and sets d.Version to the next one. Returns ErrNotFound
	// or ErrConflict.
	UpdateDevice(ctx context.Context, d *Device, expectVersion int64, e backoffice.AuditEntry) error
	// Devices lists a user's devices, oldest first: the deleted ones when
	// deleted is true, the others otherwise.
	Devices(ctx context.Context, tenant backoffice.TenantID, user enduser.ID, deleted bool) ([]*Device, error)
}
