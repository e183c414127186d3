package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/jmoiron/sqlx"
)

var _ scadevice.Store = (*Store)(nil)

type deviceRow struct {
	TenantID    string       `db:"tenant_id"`
	ID          string       `db:"id"`
	UserID      string       `db:"user_id"`
	Kind        string       `db:"kind"`
	Status      string       `db:"status"`
	Tag         string       `db:"tag"`
	Info        string       `db:"info"`
	PasscodeSet bool         `db:"passcode_set"`
	LockReason  string       `db:"lock_reason"`
	LockMessage string       `db:"lock_message"`
	LockedAt    sql.NullTime `db:"locked_at"`
	Deleted     bool         `db:"deleted"`
	DeletedAt   sql.NullTime `db:"deleted_at"`
	Version     int64        `db:"version"`
	CreatedAt   time.Time    `db:"created_at"`
	UpdatedAt   time.Time    `db:"updated_at"`
}

func (r *deviceRow) device() *scadevice.Device {
	return &scadevice.Device{ID: scadevice.ID(r.ID), Tenant: backoffice.TenantID(r.TenantID), User: enduser.ID(r.UserID),
		Kind: scadevice.Kind(r.Kind), Status: scadevice.Status(r.Status), Tag: r.Tag, Info: r.Info, PasscodeSet: r.PasscodeSet,
		LockReason: scadevice.LockReason(r.LockReason), LockMessage: r.LockMessage, LockedAt: fromNull(r.LockedAt),
		Deleted: r.Deleted, DeletedAt: fromNull(r.DeletedAt), Version: r.Version, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt)}
}

func deviceArgs(d *scadevice.Device) []any {
	return []any{string(d.Tenant), string(d.ID), string(d.User), string(d.Kind), string(d.Status), d.Tag, d.Info, d.PasscodeSet,
		string(d.LockReason), d.LockMessage, nullTime(d.LockedAt), d.Deleted, nullTime(d.DeletedAt), utc(d.UpdatedAt)}
}

var (
	qCreateDevice = `WITH ins AS (
	INSERT INTO backoffice_devices (tenant_id, id, user_id, kind, status, tag, info, passcode_set, lock_reason, lock_message, locked_at, deleted,
		deleted_at, updated_at, created_at, version)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1) RETURNING 1
), ` + auditInsert("ins", 16) + ` SELECT count(*) FROM ins`
	qDevice       = `SELECT ` + deviceCols + ` FROM backoffice_devices WHERE tenant_id = $1 AND id = $2`
	qUpdateDevice = `WITH upd AS (
	UPDATE backoffice_devices SET user_id = $3, kind = $4, status = $5, tag = $6, info = $7, passcode_set = $8, lock_reason = $9,
		lock_message = $10, locked_at = $11, deleted = $12, deleted_at = $13, updated_at = $14, version = version + 1
	WHERE tenant_id = $1 AND id = $2 AND version = $15 RETURNING version
), ` + auditInsert("upd", 16) + ` SELECT version FROM upd`
	qDeviceVersion = `SELECT version FROM backoffice_devices WHERE tenant_id = $1 AND id = $2`
	qDevices       = `SELECT ` + deviceCols + ` FROM backoffice_devices WHERE tenant_id = $1 AND user_id = $2 AND deleted = $3 ORDER BY created_at, id`
)

// CreateDevice implements scadevice.Store.
func (s *Store) CreateDevice(ctx context.Context, d *scadevice.Device, e backoffice.AuditEntry) error {
	args := append(append(deviceArgs(d), utc(d.CreatedAt)), auditArgs(e)...)
	var n int
	if err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &n, qCreateDevice, args...) }); err != nil {
		return mapErr("postgres: create device", err)
	}
	d.Version = 1
	return nil
}

// Device implements scadevice.Store.
func (s *Store) Device(ctx context.Context, tenant backoffice.TenantID, id scadevice.ID) (*scadevice.Device, error) {
	var r deviceRow
	if err := s.get(ctx, nil, &r, qDevice, string(tenant), string(id)); err != nil {
		return nil, mapErr("postgres: device", err)
	}
	return r.device(), nil
}

// UpdateDevice implements scadevice.Store.
func (s *Store) UpdateDevice(ctx context.Context, d *scadevice.Device, expect int64, e backoffice.AuditEntry) error {
	const op = "postgres: update device"
	args := append(append(deviceArgs(d), expect), auditArgs(e)...)
	var v int64
	err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &v, qUpdateDevice, args...) })
	if errors.Is(err, sql.ErrNoRows) {
		return s.missing(ctx, op, qDeviceVersion, string(d.Tenant), string(d.ID))
	}
	if err != nil {
		return mapErr(op, err)
	}
	d.Version = v
	return nil
}

// Devices implements scadevice.Store.
func (s *Store) Devices(ctx context.Context, tenant backoffice.TenantID, user enduser.ID, deleted bool) ([]*scadevice.Device, error) {
	var rows []deviceRow
	if err := s.sel(ctx, &rows, qDevices, string(tenant), string(user), deleted); err != nil {
		return nil, mapErr("postgres: devices", err)
	}
	out := make([]*scadevice.Device, len(rows))
	for i := range rows {
		out[i] = rows[i].device()
	}
	return out, nil
}
