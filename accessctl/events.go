package accessctl

import "github.com/backoffice-go/backoffice"

// EventKind names an event of the login path.
type EventKind string

// Event kinds.
const (
	// EventLoginSucceeded: a complete login opened a session.
	EventLoginSucceeded EventKind = "login_succeeded"
	// EventLoginRefused: a password step was refused (ErrLoginRefused).
	EventLoginRefused EventKind = "login_refused"
	// EventMFAFailed: a code step was refused.
	EventMFAFailed EventKind = "mfa_failed"
	// EventLockout: an operator was blocked after its run of failures,
	// or at its next login after dormancy.
	EventLockout EventKind = "lockout"
	// EventSSORefused: an identity provider's sign-in (a SAML response or
	// an OIDC answer) was refused; Reason says why.
	EventSSORefused EventKind = "sso_refused"
	// EventSessionEnded: a session was ended before its time: its
	// operator logged out, or every session of Operator was revoked
	// (Reason says which).
	EventSessionEnded EventKind = "session_ended"
	// EventChainBroken: a verification of the tenant's audit chain found
	// an entry altered, removed or inserted; Reason names it.
	EventChainBroken EventKind = "chain_broken"
)

// Event is what Config.Events receives. Tenant and Operator are set when
// they are known; a refusal for an unknown login has neither.
type Event struct {
	Kind     EventKind
	Tenant   backoffice.TenantID
	Operator OperatorID
	// Reason explains a refusal where the kind alone does not.
	Reason string
}
