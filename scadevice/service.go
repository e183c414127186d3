package scadevice

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/internal/check"
	"github.com/backoffice-go/backoffice/internal/ids"
)

// Users finds end users; enduser.Store implements it.
type Users interface {
	EndUser(ctx context.Context, tenant backoffice.TenantID, id enduser.ID) (*enduser.EndUser, error)
}

// Config configures a Service. Store and Users are required.
type Config struct {
	Store    Store
	Users    Users
	Notifier Notifier
	Now      func() time.Time
	NewID    func() string
	// ReportError receives a PIN reset notice that failed after the reset
	// committed, wrapping backoffice.ErrNotDelivered: the call itself
	// succeeded. Nil means backoffice.LogError.
	ReportError func(ctx context.Context, err error)
	// Outbox, when set, writes each notice to the store's outbox with its
	// change, for a backoffice.Dispatcher to deliver (OutboxHandler).
	Outbox bool
	// Approvals is the four-eyes gate, an *accessctl.Service: with it, a
	// tenant whose policy holds unlocking or resetting a PIN for a second
	// operator gets accessctl.ErrApprovalRequired from Unlock or ResetPIN,
	// and an approved request (params "version" and "identity_verified")
	// runs the command once. Nil: no command is held.
	Approvals Approvals
	// Observer, when set, hears the start and end of every service call,
	// for the host's tracing (backoffice.Observer).
	Observer backoffice.Observer
}

// Approvals is what the service needs of four-eyes approval; an
// *accessctl.Service implements it.
type Approvals interface {
	Gate(ctx context.Context, h accessctl.Hold) error
	HandleApproved(action backoffice.Action, x accessctl.Executor)
}

// Service implements the device rules. It is safe for concurrent use.
type Service struct {
	store     Store
	approvals Approvals
	users     Users
	notifier  Notifier
	outbox    bool
	report    func(context.Context, error)
	now       func() time.Time
	newID     func() string
	observer  backoffice.Observer
}

// NewService checks the configuration and returns a service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Users == nil {
		return nil, backoffice.NewError(backoffice.ErrInvalid, "scadevice: new service", "Config.Store and Config.Users are required")
	}
	s := &Service{store: cfg.Store, observer: cfg.Observer, users: cfg.Users, notifier: cfg.Notifier, outbox: cfg.Outbox, report: cfg.ReportError, now: cfg.Now, newID: cfg.NewID,
		approvals: cfg.Approvals}
	if s.approvals != nil {
		for _, c := range []Command{CommandUnlock, CommandResetPIN} {
			run := s.Unlock
			if c == CommandResetPIN {
				run = s.ResetPIN
			}
			s.approvals.HandleApproved(c.action(), accessctl.Executor{Permission: c.Permission(),
				Run: func(ctx context.Context, ap *accessctl.Approval) error {
					version, err := accessctl.ParamVersion(ap)
					if err != nil {
						return err
					}
					_, err = run(ctx, ID(ap.TargetID), version, ap.Params["identity_verified"] == "true")
					return err
				}})
		}
	}
	if s.report == nil {
		s.report = backoffice.LogError
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = ids.New(s.now).NewID
	}
	return s, nil
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Service) entry(a *accessctl.Actor, action backoffice.Action, d *Device, c []backoffice.Change) backoffice.AuditEntry {
	return backoffice.AuditEntry{ID: s.newID(), Tenant: a.Tenant(), Actor: a.Ref(), Action: action, TargetType: TargetDevice,
		TargetID: string(d.ID), At: d.UpdatedAt, Changes: c}
}

// Devices lists a user's devices that are not deleted. Needs scadevice.read.
func (s *Service) Devices(ctx context.Context, user enduser.ID) (_ []*Device, err error) {
	defer s.observe(&ctx, "scadevice.Devices")(&err)
	return s.list(ctx, user, false)
}

// DeletedDevices lists a user's deleted devices, for support and fraud
// analysis. Needs scadevice.read.
func (s *Service) DeletedDevices(ctx context.Context, user enduser.ID) (_ []*Device, err error) {
	defer s.observe(&ctx, "scadevice.DeletedDevices")(&err)
	return s.list(ctx, user, true)
}

func (s *Service) list(ctx context.Context, user enduser.ID, deleted bool) ([]*Device, error) {
	a, err := accessctl.Require(ctx, accessctl.PermDeviceRead)
	if err != nil {
		return nil, err
	}
	if _, err := s.users.EndUser(ctx, a.Tenant(), user); err != nil {
		return nil, err
	}
	return s.store.Devices(ctx, a.Tenant(), user, deleted)
}

// Device returns one device. Needs scadevice.read.
func (s *Service) Device(ctx context.Context, id ID) (_ *Device, err error) {
	defer s.observe(&ctx, "scadevice.Device")(&err)
	a, err := accessctl.Require(ctx, accessctl.PermDeviceRead)
	if err != nil {
		return nil, err
	}
	return s.store.Device(ctx, a.Tenant(), id)
}

// AvailableCommands lists the commands the actor may run on the device now,
// for a UI to show. Needs scadevice.read.
func (s *Service) AvailableCommands(ctx context.Context, id ID) (_ []Command, err error) {
	defer s.observe(&ctx, "scadevice.AvailableCommands")(&err)
	a, err := accessctl.Require(ctx, accessctl.PermDeviceRead)
	if err != nil {
		return nil, err
	}
	d, err := s.store.Device(ctx, a.Tenant(), id)
	if err != nil {
		return nil, err
	}
	return Available(a, d), nil
}

// run is the shape of every operator command: authorize, load, check the
// input and the state, change, write with the entry.
func (s *Service) run(ctx context.Context, c Command, id ID, version int64, input backoffice.Violations, apply func(d *Device)) (*Device, error) {
	return s.runWith(ctx, c, id, version, input, apply, nil)
}

// runWith is run whose change also writes the messages notices returns
// for the changed device (outbox mode).
func (s *Service) runWith(ctx context.Context, c Command, id ID, version int64, input backoffice.Violations, apply func(d *Device),
	notices func(d *Device) []backoffice.Message) (*Device, error) {
	op := "scadevice: " + strings.ReplaceAll(string(c), "_", " ")
	a, err := accessctl.Require(ctx, c.Permission())
	if err != nil {
		return nil, err
	}
	before, err := s.store.Device(ctx, a.Tenant(), id)
	if err != nil {
		return nil, err
	}
	if err := input.Err(op); err != nil {
		return nil, err
	}
	if !c.Allowed(before) {
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, op, notAllowed(c, before))
	}
	d := before.Clone()
	apply(d)
	d.UpdatedAt = s.clock()
	changes := diff(before, d)
	if s.approvals != nil && (c == CommandUnlock || c == CommandResetPIN) {
		if err := s.approvals.Gate(ctx, accessctl.Hold{Action: c.action(), TargetType: TargetDevice, TargetID: string(id), Effect: changes}); err != nil {
			return nil, err
		}
	}
	e := s.entry(a, c.action(), d, changes)
	if notices != nil {
		e.Outbox = notices(d)
	}
	if err := s.store.UpdateDevice(ctx, d, version, e); err != nil {
		return nil, err
	}
	return d, nil
}

func notAllowed(c Command, d *Device) string {
	switch {
	case d.Deleted:
		return "the device is deleted"
	case c == CommandResetPIN && d.Kind != KindMobile:
		return "only a mobile device has a PIN to reset"
	default:
		return fmt.Sprintf("a %s device cannot be sent %s", d.Status, c)
	}
}

// Lock secures a device: the end user can no longer authenticate with
// it. The reason is one of LockReasons; the message is optional, and both
// are kept and shown. Needs scadevice.lock.
func (s *Service) Lock(ctx context.Context, id ID, version int64, reason LockReason, message string) (_ *Device, err error) {
	defer s.observe(&ctx, "scadevice.Lock")(&err)
	var v backoffice.Violations
	if !validReason(reason) {
		v.Add("reason", "must be one of the lock reasons")
	}
	message = strings.TrimSpace(message)
	if r := check.Text(message, 500); r != "" {
		v.Add("message", r)
	}
	return s.run(ctx, CommandLock, id, version, v, func(d *Device) {
		d.Status, d.LockReason, d.LockMessage, d.LockedAt = StatusLocked, reason, message, s.clock()
	})
}

// identity is the statement the operator makes that it verified the end
// user's identity, required to unlock and to reset a PIN.
func identity(verified bool) backoffice.Violations {
	var v backoffice.Violations
	if !verified {
		v.Add("identity_verified", "confirm that you verified the end user's identity")
	}
	return v
}

// Unlock makes a Locked device usable again: Active, or PasscodeMissing if
// no PIN was ever set. Because unlocking can enable fraud, the actor
// must state that it verified the end user's identity. Needs scadevice.unlock.
func (s *Service) Unlock(ctx context.Context, id ID, version int64, identityVerified bool) (_ *Device, err error) {
	defer s.observe(&ctx, "scadevice.Unlock")(&err)
	return s.run(ctx, CommandUnlock, id, version, identity(identityVerified), func(d *Device) {
		d.Status = StatusActive
		if !d.PasscodeSet {
			d.Status = StatusPasscodeMissing
		}
		d.LockReason, d.LockMessage, d.LockedAt = "", "", time.Time{}
	})
}

// ResetPIN asks the end user to choose a new PIN on an Active mobile
// device: the device becomes PasscodeMissing and the user is notified.
// The actor must state that it verified the end user's identity. Needs
// scadevice.reset_pin.
func (s *Service) ResetPIN(ctx context.Context, id ID, version int64, identityVerified bool) (_ *Device, err error) {
	defer s.observe(&ctx, "scadevice.ResetPIN")(&err)
	var outbox func(d *Device) []backoffice.Message
	if s.outbox {
		outbox = func(d *Device) []backoffice.Message {
			m, _ := backoffice.NewMessage(s.newID(), d.Tenant, OutboxTopic, PINResetNotice{Tenant: d.Tenant, User: d.User, Device: d.ID}, s.clock())
			return []backoffice.Message{m}
		}
	}
	d, err := s.runWith(ctx, CommandResetPIN, id, version, identity(identityVerified), func(d *Device) {
		d.Status = StatusPasscodeMissing
	}, outbox)
	if err != nil || s.notifier == nil || s.outbox {
		return d, err
	}
	if err := s.notifier.NotifyPINReset(ctx, PINResetNotice{Tenant: d.Tenant, User: d.User, Device: d.ID}); err != nil {
		s.report(ctx, fmt.Errorf("scadevice: reset pin %s: %w: %w", d.ID, backoffice.ErrNotDelivered, err))
	}
	return d, nil
}

// Delete removes a device from the active list to the deleted list, for
// good. Needs scadevice.delete.
func (s *Service) Delete(ctx context.Context, id ID, version int64) (_ *Device, err error) {
	defer s.observe(&ctx, "scadevice.Delete")(&err)
	return s.run(ctx, CommandDelete, id, version, nil, func(d *Device) {
		d.Deleted, d.DeletedAt = true, s.clock()
	})
}

// Enrolment describes a device an end user enrols.
type Enrolment struct {
	Kind Kind
	Tag  string
	Info string
}

// ownDevice allows the end user itself, or a system actor, to act.
func ownDevice(ctx context.Context, op string, user enduser.ID) (*accessctl.Actor, error) {
	a, ok := accessctl.ActorFrom(ctx)
	if !ok {
		return nil, backoffice.NewError(backoffice.ErrUnauthenticated, op, "no actor in the context")
	}
	switch {
	case a.Kind() == backoffice.ActorSystem:
	case a.Kind() == backoffice.ActorEndUser && a.ID() == string(user):
	default:
		return nil, backoffice.NewError(backoffice.ErrForbidden, op, "only the end user itself enrols its devices and sets their passcode")
	}
	return a, nil
}

// Enrol registers a new device of the end user, PasscodeMissing. Only
// the end user itself (accessctl.EndUserActor) or a system actor may enrol.
func (s *Service) Enrol(ctx context.Context, user enduser.ID, in Enrolment) (_ *Device, err error) {
	defer s.observe(&ctx, "scadevice.Enrol")(&err)
	const op = "scadevice: enrol"
	a, err := ownDevice(ctx, op, user)
	if err != nil {
		return nil, err
	}
	var v backoffice.Violations
	if in.Kind != KindMobile && in.Kind != KindWeb {
		v.Add("kind", "must be mobile or web")
	}
	in.Tag, in.Info = strings.TrimSpace(in.Tag), strings.TrimSpace(in.Info)
	if r := check.Text(in.Tag, 128); r != "" {
		v.Add("tag", r)
	}
	if r := check.Text(in.Info, 300); r != "" {
		v.Add("info", r)
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	u, err := s.users.EndUser(ctx, a.Tenant(), user)
	if err != nil {
		return nil, err
	}
	if u.Status == enduser.StatusCanceled {
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the user is canceled")
	}
	now := s.clock()
	d := &Device{ID: ID(s.newID()), Tenant: a.Tenant(), User: user, Kind: in.Kind, Status: StatusPasscodeMissing,
		Tag: in.Tag, Info: in.Info, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateDevice(ctx, d, s.entry(a, backoffice.ActionDeviceEnrol, d, diff(&Device{}, d))); err != nil {
		return nil, err
	}
	return d, nil
}

// SetPasscode records that the end user chose a PIN: PasscodeMissing
// becomes Active. The PIN itself never reaches this library. Only the
// end user itself or a system actor may set it.
func (s *Service) SetPasscode(ctx context.Context, id ID, version int64) (_ *Device, err error) {
	defer s.observe(&ctx, "scadevice.SetPasscode")(&err)
	const op = "scadevice: set passcode"
	a, ok := accessctl.ActorFrom(ctx)
	if !ok {
		return nil, backoffice.NewError(backoffice.ErrUnauthenticated, op, "no actor in the context")
	}
	before, err := s.store.Device(ctx, a.Tenant(), id)
	if err != nil {
		return nil, err
	}
	if _, err := ownDevice(ctx, op, before.User); err != nil {
		return nil, err
	}
	if before.Deleted || before.Status != StatusPasscodeMissing {
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, op, "only a device waiting for its passcode can set one")
	}
	d := before.Clone()
	d.Status, d.PasscodeSet, d.UpdatedAt = StatusActive, true, s.clock()
	if err := s.store.UpdateDevice(ctx, d, version, s.entry(a, backoffice.ActionDeviceSetPasscode, d, diff(before, d))); err != nil {
		return nil, err
	}
	return d, nil
}

// action is what the audit log records for a command.
func (c Command) action() backoffice.Action {
	switch c {
	case CommandLock:
		return backoffice.ActionDeviceLock
	case CommandUnlock:
		return backoffice.ActionDeviceUnlock
	case CommandResetPIN:
		return backoffice.ActionDeviceResetPIN
	}
	return backoffice.ActionDeviceDelete
}

func diff(a, b *Device) []backoffice.Change { return backoffice.Diff(a, b) }

// observe starts the observation of a call by Config.Observer.
func (s *Service) observe(ctx *context.Context, name string) func(*error) {
	return backoffice.Observe(s.observer, ctx, name)
}
