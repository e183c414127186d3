// Package backoffice is the vocabulary the back office's domain packages
// share: the error type and its kinds, tenant ids, pages and cursors, audit
// entries, and secrets. It depends on the standard library alone.
//
// The domains live in their own packages: accessctl (the operators who log
// into the dashboard, their roles, login and sessions), enduser (the
// platform's customers) and scadevice (those customers' SCA devices).
// Whatever a host calls, it tests errors against this package's kinds:
//
//	if errors.Is(err, backoffice.ErrNotFound) { … }
//
// # Conventions
//
// Every service takes a clock, a func() time.Time, and stores times in UTC
// at microsecond precision (Truncate), the precision every store keeps; tests
// move the clock instead of sleeping. Ids sort by creation time (UUIDv7 by
// default) and each entity has its own id type, so they cannot be mixed up.
// Secret values print as "[redacted]" everywhere; tokens handed to clients
// are kept only as their SHA-256 digest.
package backoffice
