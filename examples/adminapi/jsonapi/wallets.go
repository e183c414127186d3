package jsonapi

import (
	"context"
	"sync"

	"github.com/backoffice-go/backoffice/enduser"
)

// Wallets is the example's balance source: a map of wallet balances by
// user, in cents. A real host asks its ledger.
type Wallets struct {
	mu sync.Mutex
	m  map[enduser.ID]enduser.Balance
}

// NewWallets holds no balance yet.
func NewWallets() *Wallets { return &Wallets{m: map[enduser.ID]enduser.Balance{}} }

// Balances implements enduser.Balances.
func (w *Wallets) Balances(_ context.Context, u *enduser.EndUser) ([]enduser.Balance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b, ok := w.m[u.ID]; ok {
		return []enduser.Balance{b}, nil
	}
	return nil, nil
}

// Set sets a wallet's balance.
func (w *Wallets) Set(id enduser.ID, currency string, amount int64) enduser.Balance {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := enduser.Balance{Wallet: "main-" + string(id), Currency: currency, Amount: amount}
	w.m[id] = b
	return b
}
