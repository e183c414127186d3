package redis_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/storetest"
)

// F4, F5, F6, F7: the four-eyes attacks, refused with nothing changed,
// on the deployment most hosts run: PostgreSQL for the records and the
// requests, Redis for sessions, tokens and failed logins.
func TestFourEyesOnPostgresAndRedis(t *testing.T) {
	storetest.FourEyes(t, func(t *testing.T) storetest.Stores {
		db, err := sql.Open("postgres", testserver.Schema(t))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		_, err = postgres.Migrate(context.Background(), db, nil)
		require.NoError(t, err)
		pg, err := postgres.New(db, "postgres", nil)
		require.NoError(t, err)
		st := storetest.FromStore(pg)
		hot := store(t)
		st.Sessions, st.Tokens, st.Attempts = hot, hot, hot
		return st
	})
}
