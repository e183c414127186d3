package memory_test

import (
	"context"
	"fmt"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
)

// One memory store holds everything the three services keep.
func ExampleNew() {
	store := memory.New()
	ops, err := accessctl.NewService(accessctl.Config{Store: store})
	if err != nil {
		panic(err)
	}
	users, err := enduser.NewService(enduser.Config{Store: store, Tenants: store,
		Balances: noWallets})
	if err != nil {
		panic(err)
	}
	devices, err := scadevice.NewService(scadevice.Config{Store: store, Users: store})
	if err != nil {
		panic(err)
	}
	fmt.Println(ops != nil, users != nil, devices != nil)
	// Output: true true true
}

// noWallets stands for the host's ledger: no user has money here.
var noWallets = enduser.BalancesFunc(func(context.Context, *enduser.EndUser) ([]enduser.Balance, error) { return nil, nil })
