package postgres

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/internal/testserver"
)

// seedEndUsers fills a tenant with n generated users, server-side, and
// analyzes the table. Names are a first name from a short list and an
// 8-letter last name from a hash, so name fragments range from broad to
// selective as in real data.
func seedEndUsers(t testing.TB, db *sql.DB, n int) {
	t.Helper()
	ctx := context.Background()
	_, err := db.ExecContext(ctx, `INSERT INTO backoffice_tenants (id, name, preset, version, created_at, updated_at)
		VALUES ('acme', 'Acme', 'dashboard', 1, now(), now()) ON CONFLICT DO NOTHING`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `
	INSERT INTO backoffice_end_users (tenant_id, id, tag, type, status, kyc, first_name, last_name, email, search_text, version, created_at, updated_at)
	SELECT 'acme', 'u-' || lpad(i::text, 9, '0'), 'tag-' || i,
		(ARRAY['physical_person','business','non_governmental_organization','governmental_organization'])[1 + i % 4],
		(ARRAY['pending','validated','canceled'])[1 + (i / 7) % 3], 'none',
		f, l, 'user' || i || '@example.com',
		lower(f || ' ' || l || '  ' || 'user' || i || '@example.com'), 1,
		timestamptz '2020-01-01' + make_interval(secs => i * 60), now()
	FROM generate_series(1, $1) AS i,
		LATERAL (SELECT (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','Ken','Margaret','Dennis'])[1 + i % 10] AS f,
			translate(substr(md5(i::text), 1, 8), '0123456789', 'ghijklmnop') AS l) AS names`, n)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `ANALYZE backoffice_end_users`)
	require.NoError(t, err)
}

// D2, E2, E3: EXPLAIN shows the search and list queries use their indexes
// on a table large enough for the planner to prefer them.
func TestQueriesUseIndexes(t *testing.T) {
	db, err := sql.Open("postgres", testserver.Schema(t))
	require.NoError(t, err)
	defer db.Close()
	_, err = Migrate(context.Background(), db, nil)
	require.NoError(t, err)
	seedEndUsers(t, db, 60_000)
	pending, biz := enduser.StatusPending, enduser.TypeBusiness
	from, to := time.Date(2020, 1, 5, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 30, 0, 0, 0, 0, time.UTC)
	deep := &enduser.Key{CreatedAt: time.Date(2020, 1, 21, 0, 0, 0, 0, time.UTC), ID: "u-000030000"}
	parent := enduser.ID("u-000000007")
	for name, tc := range map[string]struct {
		q     enduser.Query
		index string
	}{
		"NameSelective": {enduser.Query{Name: "gphk", Limit: 51}, "backoffice_end_users_search"},
		"Email":         {enduser.Query{Email: "user4242@example.com", Limit: 51}, "backoffice_end_users_email"},
		"Tag":           {enduser.Query{Tag: "tag-4242", Limit: 51}, "backoffice_end_users_tag"},
		"ID":            {enduser.Query{ID: "u-000004242", Limit: 51}, "backoffice_end_users_pkey"},
		"Parent":        {enduser.Query{Parent: &parent, Limit: 51}, "backoffice_end_users_parent"},
		"All":           {enduser.Query{Limit: 51}, "backoffice_end_users_created"},
		"Filtered":      {enduser.Query{Status: &pending, Type: &biz, CreatedFrom: from, CreatedTo: to, Limit: 51}, "backoffice_end_users_status_type"},
		"FilteredDeep":  {enduser.Query{Status: &pending, Type: &biz, CreatedFrom: from, CreatedTo: to, Before: deep, Limit: 51}, "backoffice_end_users_status_type"},
		"StatusOnly":    {enduser.Query{Status: &pending, Limit: 51}, "backoffice_end_users_status"},
	} {
		t.Run(name, func(t *testing.T) {
			query, args := findQuery(backoffice.TenantID("acme"), tc.q)
			rows, err := db.Query("EXPLAIN "+query, args...)
			require.NoError(t, err)
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var line string
				require.NoError(t, rows.Scan(&line))
				plan = append(plan, line)
			}
			text := strings.Join(plan, "\n")
			require.Contains(t, text, tc.index, "plan:\n%s", text)
			require.NotContains(t, text, "Seq Scan", "plan:\n%s", text)
		})
	}
}
