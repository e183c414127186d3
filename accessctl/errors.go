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

	// ErrPasswordExpired answers a right password that is older than the
	// tenant's Policy.MaxPasswordAge allows for an operator without MFA
	// (PCI DSS v4.0 8.3.9): it must set a new one through a reset link
	// (ForgotPassword). It is an ErrFailedPrecondition, and is only given
	// after the password was checked.
	ErrPasswordExpired error = &backoffice.Error{Kind: backoffice.ErrFailedPrecondition, Op: "accessctl: login",
		Msg: "your password is older than the policy allows; set a new one with the forgot-password link"}

	// ErrApprovalRequired is what a call returns when the tenant's policy
	// puts its action under four-eyes approval: ask for it with
	// RequestApproval instead. It is an ErrFailedPrecondition.
	ErrApprovalRequired error = &backoffice.Error{Kind: backoffice.ErrFailedPrecondition, Op: "accessctl",
		Msg: "this action needs a second operator's approval; request it"}
)
