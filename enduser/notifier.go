package enduser

import (
	"context"
	"time"

	"github.com/backoffice-go/backoffice"
)

// NoticeKind says which message an end-user notice is.
type NoticeKind string

// End-user notice kinds.
const (
	// NoticeForgotPassword: the host's password change email.
	NoticeForgotPassword NoticeKind = "forgot_password"
	// NoticeActivation: the activation link of a self-onboarding.
	NoticeActivation NoticeKind = "activation"
)

// Notice is a message to an end user. Token is set for activation links.
type Notice struct {
	Kind      NoticeKind
	Tenant    backoffice.TenantID
	User      ID
	Onboard   string
	Email     string
	Name      string
	Token     backoffice.Secret
	ExpiresAt time.Time
	// IdempotencyKey is set when the notice comes from the outbox: one key
	// for every delivery of one notice (delivery is at least once).
	IdempotencyKey string
}

// OutboxTopic is the topic of the outbox messages that carry end-user
// notices.
const OutboxTopic = "enduser.notice"

// wireNotice is a notice as an outbox message holds it, the token in
// clear until the store erases it on delivery.
type wireNotice struct {
	Kind      NoticeKind          `json:"kind"`
	Tenant    backoffice.TenantID `json:"tenant"`
	User      ID                  `json:"user"`
	Onboard   string              `json:"onboard"`
	Email     string              `json:"email"`
	Name      string              `json:"name"`
	Token     string              `json:"token"`
	ExpiresAt time.Time           `json:"expires_at"`
}

// OutboxHandler delivers the outbox's end-user notices to n, for a
// backoffice.Dispatcher.
func OutboxHandler(n Notifier) backoffice.Handler {
	return backoffice.JSONHandler(func(ctx context.Context, w wireNotice, key string) error {
		return n.NotifyEndUser(ctx, Notice{Kind: w.Kind, Tenant: w.Tenant, User: w.User, Onboard: w.Onboard, Email: w.Email,
			Name: w.Name, Token: backoffice.Secret(w.Token), ExpiresAt: w.ExpiresAt, IdempotencyKey: key})
	})
}

// Notifier delivers end-user notices through the host's provider. It is
// called only after the change the notice is about is stored.
type Notifier interface {
	NotifyEndUser(ctx context.Context, n Notice) error
}

// Balance is what one of the user's wallets holds, in minor units.
type Balance struct {
	Wallet   string `json:"wallet"`
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

// Balances is implemented by the host: the balances of the user's wallets.
// Deactivation is refused unless every balance is zero.
type Balances interface {
	Balances(ctx context.Context, u *EndUser) ([]Balance, error)
}

// BalancesFunc adapts a function to Balances.
type BalancesFunc func(ctx context.Context, u *EndUser) ([]Balance, error)

// Balances calls f.
func (f BalancesFunc) Balances(ctx context.Context, u *EndUser) ([]Balance, error) { return f(ctx, u) }
