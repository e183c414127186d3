package accessctl

import "github.com/backoffice-go/backoffice"

// The errors of this package that callers and stores compare with ==.
// Each wraps a kind of package backoffice, so errors.Is works with those
// too.
var (
	// ErrLoginRefused is the one answer to every refused login step:
	// a wrong, unknown or disabled login, a wrong or replayed code, an
	// expired login step, no attempt left, and any store failure or race
	// inside the login. Login and CompleteLogin return this very value, so
	// a caller cannot tell one refusal from another by its type, text or
	// HTTP status; the service reports the cause of a store failure through
	// Config.ReportError. It is an ErrUnauthenticated.
	ErrLoginRefused error = &backoffice.Error{Kind: backoffice.ErrUnauthenticated, Op: "accessctl: login",
		Msg: "wrong login, password or code, or the login step expired, or this operator cannot log in now; " +
			"after too many failures an operator manager must unblock it"}

	// ErrLastAdministrator is what a store returns when a Guard's KeepAdmin
	// fails. It is an ErrFailedPrecondition.
	ErrLastAdministrator error = &backoffice.Error{Kind: backoffice.ErrFailedPrecondition, Op: "accessctl",
		Msg: "this is the last active Administrator of the tenant; make another operator Administrator first"}

	// ErrActorChanged is what a store returns when a Guard's actor check
	// fails: the acting operator was deactivated, blocked or had its access
	// changed since its request was authenticated. It is an
	// ErrUnauthenticated.
	ErrActorChanged error = &backoffice.Error{Kind: backoffice.ErrUnauthenticated, Op: "accessctl",
		Msg: "your access changed while this request ran (deactivated, blocked or roles changed); log in again"}
)
