package postgres_test

import (
	"context"
	"database/sql"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/storetest"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// latestMigration is the number of the last embedded migration file.
func latestMigration(t testing.TB) int {
	t.Helper()
	files, err := fs.ReadDir(postgres.Migrations(), ".")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	n, err := strconv.Atoi(strings.SplitN(files[len(files)-1].Name(), "_", 2)[0])
	require.NoError(t, err)
	return n
}

// open returns a migrated store on a fresh schema, through the driver.
func open(t testing.TB, driver string) (*postgres.Store, *sql.DB) {
	t.Helper()
	db, err := sql.Open(driver, testserver.Schema(t))
	require.NoError(t, err)
	db.SetMaxOpenConns(30)
	t.Cleanup(func() { db.Close() })
	v, err := postgres.Migrate(context.Background(), db, nil)
	require.NoError(t, err)
	require.Equal(t, latestMigration(t), v)
	s, err := postgres.New(db, driver, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, db
}

// D2, D4, X6: the PostgreSQL store passes the conformance suite, with
// lib/pq: its Policy tests show P1 to P5 (P2 lockout, P3 password length
// and history, P4 MFA and password age), T1, T2 and V1, its Races F1 to
// F3, its Chain H1 and H2, on PostgreSQL.
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
