package main

import (
	"context"
	"sync"

	"github.com/backoffice-go/backoffice/enduser"
)

// wallets is the example's balance source: a map of wallet balances by
// user, in cents. A real host asks its ledger.
type wallets struct {
	mu sync.Mutex
	m  map[enduser.ID]enduser.Balance
}

func newWallets() *wallets { return &wallets{m: map[enduser.ID]enduser.Balance{}} }

// Balances implements enduser.Balances.
func (w *wallets) Balances(_ context.Context, u *enduser.EndUser) ([]enduser.Balance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b, ok := w.m[u.ID]; ok {
		return []enduser.Balance{b}, nil
	}
	return nil, nil
}

func (w *wallets) set(id enduser.ID, currency string, amount int64) enduser.Balance {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := enduser.Balance{Wallet: "main-" + string(id), Currency: currency, Amount: amount}
	w.m[id] = b
	return b
}
