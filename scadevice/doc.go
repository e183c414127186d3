// Package scadevice is end users' strong-customer-authentication devices
// as the back office sees them: a mobile app or a web browser holding an
// SCA wallet.
//
// A device is PasscodeMissing until its end user sets a PIN, then
// Active; an operator may secure (lock) it with a reason from LockReasons
// and a message, unlock it, ask the end user to choose a new PIN
// and delete it. Deleted devices move to a list of their own,
// kept for support and fraud analysis. Because unlocking and resetting
// a PIN can enable fraud, both calls carry the operator's statement that
// it verified the end user's identity.
//
// # Commands by device status
//
// Which commands a device's state allows, whoever asks:
//
//	status            kind     lock  unlock  reset_pin  delete
//	passcode_missing  mobile   yes   -       -          yes
//	passcode_missing  web      yes   -       -          yes
//	active            mobile   yes   -       yes        yes
//	active            web      yes   -       -          yes
//	locked            mobile   -     yes     -          yes
//	locked            web      -     yes     -          yes
//	deleted           any      -     -       -          -
//
// The actor must also hold the command's permission (scadevice.lock,
// scadevice.unlock, scadevice.reset_pin, scadevice.delete), which the
// presets grant as accessctl/PERMISSIONS.md shows. Available and
// Service.AvailableCommands combine the two, so a UI shows only what will
// work.
//
// Enrolment and passcodes are the end user's own acts: they take an
// accessctl.EndUserActor for that user (or a system actor). Every
// operation is audited with the change and stays within its tenant.
package scadevice
