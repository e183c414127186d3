package accessctl

import (
	"context"
	"time"

	"github.com/backoffice-go/backoffice"
)

// NoticeKind says which message an operator notice is.
type NoticeKind string

// Operator notice kinds.
const (
	// NoticeInvitation: a new operator's link to verify the email, set a
	// password and enrol MFA; valid 14 days.
	NoticeInvitation NoticeKind = "invitation"
	// NoticeVerification: a resent verification link; valid 24 hours.
	NoticeVerification NoticeKind = "verification"
	// NoticePasswordReset: a password reset link; valid 24 hours.
	NoticePasswordReset NoticeKind = "password_reset"
)

// OperatorNotice is a message to an operator. Token is the one-time token
// the host puts in the link; it is a Secret so that logging the notice does
// not leak it.
type OperatorNotice struct {
	Kind      NoticeKind
	Tenant    backoffice.TenantID
	Operator  OperatorID
	Email     string
	Name      string
	Token     backoffice.Secret
	ExpiresAt time.Time
}

// Notifier delivers operator notices through the host's email provider.
// The service calls it only after the change the notice is about has been
// stored. An error is returned to the caller, wrapped, with the change
// kept; resending is always possible.
type Notifier interface {
	NotifyOperator(ctx context.Context, n OperatorNotice) error
}

// NotifierFunc adapts a function to the Notifier interface.
type NotifierFunc func(ctx context.Context, n OperatorNotice) error

// NotifyOperator calls f.
func (f NotifierFunc) NotifyOperator(ctx context.Context, n OperatorNotice) error { return f(ctx, n) }
