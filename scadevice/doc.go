// Package scadevice is end users' strong-customer-authentication devices
// as the back office sees them: a mobile app or a web browser holding an
// SCA wallet (S1).
//
// A device is PasscodeMissing until its end user sets a PIN (S8), then
// Active; an operator may secure (lock) it with a reason from LockReasons
// and a message (S3), unlock it (S4), ask the end user to choose a new PIN
// (S5) and delete it (S6). Deleted devices move to a list of their own,
// kept for support and fraud analysis (S2). Because unlocking and resetting
// a PIN can enable fraud, both calls carry the operator's statement that
// it verified the end user's identity.
//
// # Commands by device status (S7)
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
// operation is audited with the change and stays within its tenant (S9).
package scadevice
