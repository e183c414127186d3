package postgres_test

import (
	"context"
	"database/sql"
	"log"

	_ "github.com/lib/pq"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/storage/postgres"
)

// The host opens its database as usual, brings the schema up to date and
// builds the services on one store. (It needs a running server, so it is
// not run as a test; the package's tests do the same against a real one.)
func ExampleNew() {
	db, err := sql.Open("postgres", "postgres://backoffice@localhost/app?sslmode=disable")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := postgres.Migrate(context.Background(), db, nil); err != nil {
		log.Fatal(err)
	}
	store, err := postgres.New(db, "postgres", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	ops, err := accessctl.NewService(accessctl.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	users, err := enduser.NewService(enduser.Config{Store: store, Tenants: store, Balances: noWallets})
	if err != nil {
		log.Fatal(err)
	}
	_, _ = ops, users
}

// noWallets stands for the host's ledger: no user has money here.
var noWallets = enduser.BalancesFunc(func(context.Context, *enduser.EndUser) ([]enduser.Balance, error) { return nil, nil })
