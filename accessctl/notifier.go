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
	// IdempotencyKey is set when the notice comes from the outbox: the
	// same key for every delivery of one notice, so the host's provider
	// can drop repeats (delivery is at least once).
	IdempotencyKey string
}

// OutboxTopic is the topic of the outbox messages that carry operator
// notices.
const OutboxTopic = "accessctl.operator_notice"

// wireNotice is an operator notice as an outbox message holds it: with the
// token in clear, which the store erases once delivered.
type wireNotice struct {
	Kind      NoticeKind          `json:"kind"`
	Tenant    backoffice.TenantID `json:"tenant"`
	Operator  OperatorID          `json:"operator"`
	Email     string              `json:"email"`
	Name      string              `json:"name"`
	Token     string              `json:"token"`
	ExpiresAt time.Time           `json:"expires_at"`
}

// OutboxHandler delivers the outbox's operator notices to n, for a
// backoffice.Dispatcher: Handlers: {accessctl.OutboxTopic: accessctl.OutboxHandler(mailer)}.
func OutboxHandler(n Notifier) backoffice.Handler {
	return backoffice.JSONHandler(func(ctx context.Context, w wireNotice, key string) error {
		return n.NotifyOperator(ctx, OperatorNotice{Kind: w.Kind, Tenant: w.Tenant, Operator: w.Operator, Email: w.Email,
			Name: w.Name, Token: backoffice.Secret(w.Token), ExpiresAt: w.ExpiresAt, IdempotencyKey: key})
	})
}

// Notifier delivers operator notices through the host's email provider.
// The service calls it only after the change the notice is about has been
// stored, or, in outbox mode, a Dispatcher does. A failure is never the
// caller's: it goes to Config.ReportError, and resending is always
// possible (the outbox retries by itself).
type Notifier interface {
	NotifyOperator(ctx context.Context, n OperatorNotice) error
}

// NotifierFunc adapts a function to the Notifier interface.
type NotifierFunc func(ctx context.Context, n OperatorNotice) error

// NotifyOperator calls f.
func (f NotifierFunc) NotifyOperator(ctx context.Context, n OperatorNotice) error { return f(ctx, n) }
