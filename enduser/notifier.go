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
