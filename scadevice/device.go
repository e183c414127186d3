package scadevice

import (
	"slices"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
)

// ID identifies a device.
type ID string

// Kind is where the SCA wallet lives.
type Kind string

// Device kinds.
const (
	KindMobile Kind = "mobile"
	KindWeb    Kind = "web"
)

// Status is a device's state.
type Status string

// Device statuses.
const (
	// StatusPasscodeMissing: the end user must choose a PIN, at first or
	// after a reset.
	StatusPasscodeMissing Status = "passcode_missing"
	// StatusActive: the device may be used for SCA.
	StatusActive Status = "active"
	// StatusLocked: an operator secured the device.
	StatusLocked Status = "locked"
)

// Statuses lists every status.
func Statuses() []Status { return []Status{StatusPasscodeMissing, StatusActive, StatusLocked} }

// LockReason is why a device was secured: one of a fixed list.
type LockReason string

// Lock reasons.
const (
	ReasonLostOrStolen   LockReason = "lost_or_stolen"
	ReasonSuspectedFraud LockReason = "suspected_fraud"
	ReasonUserRequest    LockReason = "user_request"
	ReasonCompromised    LockReason = "compromised"
	ReasonOther          LockReason = "other"
)

// LockReasons lists the reasons a UI offers.
func LockReasons() []LockReason {
	return []LockReason{ReasonLostOrStolen, ReasonSuspectedFraud, ReasonUserRequest, ReasonCompromised, ReasonOther}
}

// Device is an end user's SCA device.
type Device struct {
	ID     ID
	Tenant backoffice.TenantID
	User   enduser.ID `audit:"user"`
	Kind   Kind       `audit:"kind"`
	Status Status     `audit:"status"`
	// Tag is custom information set by the platform.
	Tag string `audit:"tag"`
	// Info describes the device, such as "iPhone 15, iOS 18.1" or a browser.
	Info string `audit:"info"`
	// PasscodeSet is whether a PIN was ever set; unlocking a device that
	// never had one leaves it PasscodeMissing.
	PasscodeSet bool       `audit:"passcode_set"`
	LockReason  LockReason `audit:"lock_reason"`
	LockMessage string     `audit:"lock_message"`
	LockedAt    time.Time
	// Deleted devices leave the active list for the deleted list.
	Deleted   bool `audit:"deleted"`
	DeletedAt time.Time
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Clone returns a copy.
func (d *Device) Clone() *Device { c := *d; return &c }

// Command is an operator action on a device.
type Command string

// Commands, in the order a UI shows them.
const (
	CommandLock     Command = "lock"
	CommandUnlock   Command = "unlock"
	CommandResetPIN Command = "reset_pin"
	CommandDelete   Command = "delete"
)

// Commands lists every command.
func Commands() []Command {
	return []Command{CommandLock, CommandUnlock, CommandResetPIN, CommandDelete}
}

// Permission returns the permission a command needs.
func (c Command) Permission() accessctl.Permission {
	switch c {
	case CommandLock:
		return accessctl.PermDeviceLock
	case CommandUnlock:
		return accessctl.PermDeviceUnlock
	case CommandResetPIN:
		return accessctl.PermDeviceResetPIN
	case CommandDelete:
		return accessctl.PermDeviceDelete
	}
	return ""
}

// Allowed reports whether the device's state allows the command, whoever
// asks: lock from PasscodeMissing or Active; unlock from Locked; reset
// PIN on an Active mobile device; delete any device not yet deleted.
func (c Command) Allowed(d *Device) bool {
	if d.Deleted {
		return false
	}
	switch c {
	case CommandLock:
		return d.Status == StatusPasscodeMissing || d.Status == StatusActive
	case CommandUnlock:
		return d.Status == StatusLocked
	case CommandResetPIN:
		return d.Status == StatusActive && d.Kind == KindMobile
	case CommandDelete:
		return true
	}
	return false
}

// Available lists the commands the actor may run on the device now: those
// the device's state allows and the actor's roles grant.
func Available(a *accessctl.Actor, d *Device) []Command {
	var out []Command
	for _, c := range Commands() {
		if c.Allowed(d) && a.Can(c.Permission()) {
			out = append(out, c)
		}
	}
	return out
}

// TargetDevice is the audit target type of devices.
const TargetDevice = "scadevice"

// validReason reports whether r is one of LockReasons.
func validReason(r LockReason) bool { return slices.Contains(LockReasons(), r) }
