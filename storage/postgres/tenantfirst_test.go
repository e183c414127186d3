package postgres_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// C4: every key and index of the library's tables begins with the
// tenant, so a tenant's reads never walk another's rows and the tables
// can be distributed by tenant. The exceptions are listed with why.
func TestKeysAndIndexesAreTenantFirst(t *testing.T) {
	_, db := open(t, "postgres")
	exceptions := map[string]string{
		"backoffice_tenants_pkey":                  "the tenant itself",
		"backoffice_migrations_pkey":               "the schema's version, no tenant",
		"backoffice_sessions_pkey":                 "a session's digest, unique across tenants; (tenant_id, id) is indexed too",
		"backoffice_tokens_pkey":                   "a token's digest, unique across tenants",
		"backoffice_onboardings_activation_id_key": "an activation link's id, looked up before its tenant is known",
		"backoffice_end_users_search":              "trigram GIN on the search text: GIN keys no tenant without btree_gin; a name search filters its tenant after it",
		"backoffice_outbox_pkey":                   "a message's id, unique across tenants",
		"backoffice_outbox_due":                    "the dispatchers' queue of every tenant's due messages",
		"backoffice_outbox_status":                 "the outbox's backlog over every tenant",
	}
	rows, err := db.QueryContext(context.Background(), `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename LIKE 'backoffice\_%' ORDER BY indexname`)
	require.NoError(t, err)
	defer rows.Close()
	first := regexp.MustCompile(`\(\s*([a-z_]+)`)
	seen := 0
	for rows.Next() {
		var name, def string
		require.NoError(t, rows.Scan(&name, &def))
		seen++
		if why, ok := exceptions[name]; ok {
			t.Logf("%s: not tenant first: %s", name, why)
			continue
		}
		m := first.FindStringSubmatch(def)
		require.NotNil(t, m, def)
		assert.Equal(t, "tenant_id", m[1], "%s: %s", name, def)
	}
	require.NoError(t, rows.Err())
	assert.Greater(t, seen, 25)
}
