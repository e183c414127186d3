package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
)

var _ scadevice.Store = (*Store)(nil)

type deviceKey struct {
	tenant backoffice.TenantID
	id     scadevice.ID
}

type userKey struct {
	tenant backoffice.TenantID
	user   enduser.ID
}

// CreateDevice implements scadevice.Store.
func (s *Store) CreateDevice(ctx context.Context, d *scadevice.Device, e backoffice.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := deviceKey{d.Tenant, d.ID}
	if _, ok := s.devices[k]; ok {
		return backoffice.NewError(backoffice.ErrConflict, "memory: create device", "device id is taken")
	}
	d.Version = 1
	s.devices[k] = d.Clone()
	uk := userKey{d.Tenant, d.User}
	s.userDevices[uk] = append(s.userDevices[uk], d.ID)
	s.appendAudit(e)
	return nil
}

// Device implements scadevice.Store.
func (s *Store) Device(ctx context.Context, tenant backoffice.TenantID, id scadevice.ID) (*scadevice.Device, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if d, ok := s.devices[deviceKey{tenant, id}]; ok {
		return d.Clone(), nil
	}
	return nil, notFound("memory: device", "device")
}

// UpdateDevice implements scadevice.Store.
func (s *Store) UpdateDevice(ctx context.Context, d *scadevice.Device, expect int64, e backoffice.AuditEntry) error {
	const op = "memory: update device"
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := deviceKey{d.Tenant, d.ID}
	cur, ok := s.devices[k]
	if !ok {
		return notFound(op, "device")
	}
	if cur.Version != expect {
		return stale(op)
	}
	d.Version = expect + 1
	s.devices[k] = d.Clone()
	s.appendAudit(e)
	return nil
}

// Devices implements scadevice.Store.
func (s *Store) Devices(ctx context.Context, tenant backoffice.TenantID, user enduser.ID, deleted bool) ([]*scadevice.Device, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*scadevice.Device
	for _, id := range s.userDevices[userKey{tenant, user}] {
		if d := s.devices[deviceKey{tenant, id}]; d.Deleted == deleted {
			out = append(out, d.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *scadevice.Device) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(string(a.ID), string(b.ID))
	})
	return out, nil
}
