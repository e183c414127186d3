package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/storetest"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// open returns a migrated store on a fresh schema, through the driver.
func open(t testing.TB, driver string) (*postgres.Store, *sql.DB) {
	t.Helper()
	db, err := sql.Open(driver, testserver.Schema(t))
	require.NoError(t, err)
	db.SetMaxOpenConns(30)
	t.Cleanup(func() { db.Close() })
	v, err := postgres.Migrate(context.Background(), db)
	require.NoError(t, err)
	require.Equal(t, 1, v)
	s := postgres.New(db, driver)
	t.Cleanup(func() { s.Close() })
	return s, db
}

// D2, D4, X6: the PostgreSQL store passes the conformance suite, with lib/pq.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		s, _ := open(t, "postgres")
		return storetest.FromStore(s)
	})
}

// D2: the store works on a database the host opened with pgx's
// database/sql driver: the whole conformance suite, through pgx.
func TestConformancePGX(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		s, _ := open(t, "pgx")
		return storetest.FromStore(s)
	})
}
