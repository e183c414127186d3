package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	migratepg "github.com/golang-migrate/migrate/v4/database/postgres"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/storetest"
)

// relations lists the tables and indexes of the schema db's search_path
// starts with.
func relations(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = coalesce(nullif($1, ''), current_schema()) AND c.relkind IN ('r', 'i', 'p') ORDER BY 1`, schema)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	return out
}

// smoke checks that a store works on a schema: a tenant, an operator and
// a conflict that names its field.
func smoke(t *testing.T, s *postgres.Store) {
	t.Helper()
	ctx := context.Background()
	entry := func(id string) backoffice.AuditEntry {
		return backoffice.AuditEntry{ID: id, Tenant: "acme", Actor: backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:test"},
			Action: backoffice.ActionTenantCreate, TargetType: "tenant", TargetID: "acme", At: t0}
	}
	require.NoError(t, s.CreateTenant(ctx, &accessctl.Tenant{ID: "acme", Name: "Acme", Preset: accessctl.PresetDashboard, CreatedAt: t0, UpdatedAt: t0}, entry("e1")))
	o := &accessctl.Operator{ID: "op-1", Tenant: "acme", Username: "ada", Email: "ada@acme.test", FirstName: "A", LastName: "L",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, Status: accessctl.StatusActive, CreatedAt: t0, UpdatedAt: t0}
	require.NoError(t, s.CreateOperator(ctx, o, accessctl.Guard{}, entry("e2")))
	dup := *o
	dup.ID = "op-2"
	err := s.CreateOperator(ctx, &dup, accessctl.Guard{}, entry("e3"))
	require.ErrorIs(t, err, backoffice.ErrConflict)
	assert.Equal(t, []string{"username"}, backoffice.FieldsOf(err), "constraint names map to fields")
	got, err := s.Operator(ctx, "acme", "op-1")
	require.NoError(t, err)
	assert.Equal(t, "ada", got.Username)
}

// D5: after Migrate on an empty schema there are only backoffice_ tables
// and indexes, and a host that has its own sessions, roles and tenants
// tables migrates beside them without touching them.
func TestSchemaLivesBesideTheHosts(t *testing.T) {
	db, err := sql.Open("postgres", testserver.Schema(t))
	require.NoError(t, err)
	defer db.Close()
	for _, table := range []string{"sessions", "roles", "tenants", "tokens", "operators"} {
		_, err := db.Exec(`CREATE TABLE ` + table + ` (id text PRIMARY KEY, host_data text)`)
		require.NoError(t, err)
		_, err = db.Exec(`INSERT INTO `+table+` VALUES ('mine', $1)`, "the host's "+table)
		require.NoError(t, err)
	}
	v, err := postgres.Migrate(context.Background(), db, nil)
	require.NoError(t, err)
	assert.Equal(t, latestMigration(t), v)
	for _, r := range relations(t, db, "") {
		if strings.HasPrefix(r, "backoffice_") {
			continue
		}
		assert.Contains(t, []string{"sessions", "roles", "tenants", "tokens", "operators",
			"sessions_pkey", "roles_pkey", "tenants_pkey", "tokens_pkey", "operators_pkey"}, r, "only the host's own relations are unprefixed")
	}
	for _, table := range []string{"sessions", "roles", "tenants", "tokens", "operators"} {
		var data string
		require.NoError(t, db.QueryRow(`SELECT host_data FROM `+table+` WHERE id = 'mine'`).Scan(&data))
		assert.Equal(t, "the host's "+table, data)
	}
	s, err := postgres.New(db, "postgres", nil)
	require.NoError(t, err)
	smoke(t, s)
}

var schemas atomic.Int64

// D5: with Options.Schema the tables live in that schema, which Migrate
// creates, and the conformance suite's queries all work there
// (storetest.RunQueries: its attack and hostile-input sweeps, which repeat
// the same queries, run on the default setup).
func TestConformanceInSchema(t *testing.T) {
	storetest.RunQueries(t, func(t *testing.T) storetest.Stores {
		dsn := testserver.PostgresDSN(t)
		db, err := sql.Open("postgres", dsn)
		require.NoError(t, err)
		db.SetMaxOpenConns(30)
		t.Cleanup(func() { db.Close() })
		opts := &postgres.Options{Schema: fmt.Sprintf("bo_%d_%d", os.Getpid(), schemas.Add(1))}
		t.Cleanup(func() { _, _ = db.Exec(`DROP SCHEMA ` + opts.Schema + ` CASCADE`) })
		_, err = postgres.Migrate(context.Background(), db, opts)
		require.NoError(t, err)
		s, err := postgres.New(db, "postgres", opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return storetest.FromStore(s)
	})
	t.Run("TablesInTheSchema", func(t *testing.T) {
		db, err := sql.Open("postgres", testserver.PostgresDSN(t))
		require.NoError(t, err)
		defer db.Close()
		opts := &postgres.Options{Schema: fmt.Sprintf("bo_%d_%d", os.Getpid(), schemas.Add(1))}
		defer func() { _, _ = db.Exec(`DROP SCHEMA ` + opts.Schema + ` CASCADE`) }()
		_, err = postgres.Migrate(context.Background(), db, opts)
		require.NoError(t, err)
		rel := relations(t, db, opts.Schema)
		assert.Contains(t, rel, "backoffice_operators")
		assert.Contains(t, rel, "backoffice_migrations")
		for _, r := range rel {
			assert.True(t, strings.HasPrefix(r, "backoffice_"), r)
		}
		_, err = postgres.New(db, "postgres", &postgres.Options{Schema: `x"; DROP TABLE y; --`})
		require.ErrorIs(t, err, backoffice.ErrInvalid)
	})
}

// D5: a database made by a release before the prefix, with migrations 1
// and 2 applied and data in it, is upgraded in place: its tables, indexes
// and constraints take the backoffice_ names, its old session ids become
// digests, and the store reads what was there.
func TestUpgradeFromUnprefixedTables(t *testing.T) {
	db, err := sql.Open("postgres", testserver.Schema(t))
	require.NoError(t, err)
	defer db.Close()
	old, err := os.ReadFile("testdata/unprefixed_v2.sql")
	require.NoError(t, err)
	_, err = db.Exec(string(old))
	require.NoError(t, err)
	for _, stmt := range []string{
		`CREATE TABLE backoffice_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO backoffice_migrations (version, name) VALUES (1, '0001_init.sql'), (2, '0002_login_attempt_reservations.sql')`,
		`INSERT INTO tenants (id, name, preset, version, created_at, updated_at) VALUES ('acme', 'Acme', 'dashboard', 1, now(), now())`,
		`INSERT INTO operators (tenant_id, id, username, email, first_name, last_name, roles, all_accounts, status, email_verified,
			mfa_enrolled, mfa_last_step, session_epoch, version, created_at, updated_at)
			VALUES ('acme', 'op-1', 'ada', 'ada@acme.test', 'A', 'L', '["read_only"]', true, 'active', true, false, 0, 3, 1, now(), now())`,
		`INSERT INTO sessions (id, tenant_id, operator_id, epoch, created_at, expires_at)
			VALUES ('YWNtZQ.b3AtMQ.0123abcd', 'acme', 'op-1', 3, now(), now() + interval '1 hour')`,
	} {
		_, err := db.Exec(stmt)
		require.NoError(t, err, stmt)
	}
	v, err := postgres.Migrate(context.Background(), db, nil)
	require.NoError(t, err)
	assert.Equal(t, latestMigration(t), v)
	for _, r := range relations(t, db, "") {
		assert.True(t, strings.HasPrefix(r, "backoffice_"), "%s is renamed", r)
	}
	s, err := postgres.New(db, "postgres", nil)
	require.NoError(t, err)
	o, err := s.Operator(context.Background(), "acme", "op-1")
	require.NoError(t, err)
	assert.Equal(t, int64(3), o.SessionEpoch)
	sess, err := s.Session(context.Background(), "acme", "0123abcd")
	require.NoError(t, err, "an old session id keeps its digest")
	assert.Equal(t, accessctl.OperatorID("op-1"), sess.Operator)
	dup := *o
	dup.ID = "op-2"
	err = s.CreateOperator(context.Background(), &dup, accessctl.Guard{}, backoffice.AuditEntry{ID: "e", Tenant: "acme",
		Actor: backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:test"}, Action: backoffice.ActionOperatorCreate, TargetType: "operator", TargetID: "op-2", At: t0})
	assert.Equal(t, []string{"username"}, backoffice.FieldsOf(err), "renamed constraints still name their field")
	v, err = postgres.Migrate(context.Background(), db, nil)
	require.NoError(t, err)
	assert.Equal(t, latestMigration(t), v, "migrating again does nothing")
}

// D6: an instance keeps working when the next release's additive migration
// (a column on every table and a new table) is applied under it, its
// statements already prepared: every query names its columns.
func TestRollingDeploy(t *testing.T) {
	storetest.RunQueries(t, func(t *testing.T) storetest.Stores {
		s, db := open(t, "postgres")
		// The running instance: its statements are prepared by these calls.
		smokeRead(t, s)
		for _, table := range []string{"tenants", "operators", "roles", "audit_entries", "sessions", "tokens", "login_attempts",
			"end_users", "onboardings", "devices"} {
			_, err := db.Exec(`ALTER TABLE backoffice_` + table + ` ADD COLUMN next_release_note text NOT NULL DEFAULT ''`)
			require.NoError(t, err)
		}
		_, err := db.Exec(`CREATE TABLE backoffice_next_release (id text PRIMARY KEY)`)
		require.NoError(t, err)
		return storetest.FromStore(s)
	})
}

// smokeRead prepares the store's reads and writes of every table.
func smokeRead(t *testing.T, s *postgres.Store) {
	t.Helper()
	ctx := context.Background()
	for _, err := range []error{
		ignoreNotFound(s.Tenant(ctx, "none")),
		ignoreNotFound(s.Operator(ctx, "none", "none")),
		ignoreNotFound(s.OperatorByLogin(ctx, "none", "none")),
		ignoreNotFound(s.Session(ctx, "none", "none")),
		ignoreNotFound(s.Token(ctx, accessctl.PurposeInvitation, "none", "none")),
		ignoreNotFound(s.EndUser(ctx, "none", "none")),
		ignoreNotFound(s.Device(ctx, "none", "none")),
		ignoreNotFound(s.Roles(ctx, "none")),
		ignoreNotFound(s.Sessions(ctx, "none", "none")),
		ignoreNotFound(s.AuditEntries(ctx, "none", accessctl.AuditQuery{Limit: 1})),
		ignoreNotFound(s.Operators(ctx, "none", accessctl.OperatorQuery{Limit: 1})),
		ignoreNotFound(s.Attempts(ctx, "none", "none")),
	} {
		require.NoError(t, err)
	}
}

func ignoreNotFound[T any](_ T, err error) error {
	if errors.Is(err, backoffice.ErrNotFound) {
		return nil
	}
	return err
}

// D7: the embedded migrations run unchanged with pressly/goose v3.
func TestGoose(t *testing.T) {
	db, err := sql.Open("postgres", testserver.Schema(t))
	require.NoError(t, err)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, postgres.Migrations())
	require.NoError(t, err)
	results, err := p.Up(context.Background())
	require.NoError(t, err)
	assert.Len(t, results, latestMigration(t))
	v, err := p.GetDBVersion(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(latestMigration(t)), v)
	s, err := postgres.New(db, "postgres", nil)
	require.NoError(t, err)
	smoke(t, s)
}

// D7: the embedded migrations run unchanged with golang-migrate v4.
func TestGolangMigrate(t *testing.T) {
	db, err := sql.Open("postgres", testserver.Schema(t))
	require.NoError(t, err)
	defer db.Close()
	src, err := iofs.New(postgres.Migrations(), ".")
	require.NoError(t, err)
	drv, err := migratepg.WithInstance(db, &migratepg.Config{})
	require.NoError(t, err)
	m, err := migrate.NewWithInstance("iofs", src, "postgres", drv)
	require.NoError(t, err)
	require.NoError(t, m.Up())
	v, dirty, err := m.Version()
	require.NoError(t, err)
	assert.False(t, dirty)
	assert.Equal(t, uint(latestMigration(t)), v)
	s, err := postgres.New(db, "postgres", nil)
	require.NoError(t, err)
	smoke(t, s)
}

// D6: this release's code needs its migrations (0007, the audit hash
// chain; 0008, the policy, approvals and reviews) before it runs: on the
// schema of the release before, a write fails with a typed error that
// names no table and changes nothing; once the host migrates, the same
// store works, without a restart. (The other order, the previous release
// running on the new schema, is TestRollingDeploy's.)
func TestNewCodeOnThePreviousSchema(t *testing.T) {
	db, p, s := storeAtVersion(t, 6)
	ctx := context.Background()
	tn := &accessctl.Tenant{ID: "acme", Name: "Acme", Preset: accessctl.PresetDashboard, CreatedAt: t0, UpdatedAt: t0}
	e := backoffice.AuditEntry{ID: "e-1", Tenant: "acme", Action: backoffice.ActionTenantCreate, TargetType: accessctl.TargetTenant, TargetID: "acme", At: t0}
	err := s.CreateTenant(ctx, tn, e)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "backoffice_")
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM backoffice_tenants`).Scan(&n))
	assert.Zero(t, n, "nothing was written")

	_, err = p.Up(context.Background())
	require.NoError(t, err)
	require.NoError(t, s.CreateTenant(ctx, tn, e))
	head, err := s.AuditHead(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, int64(1), head.Seq)
}

// This release's writes need migrations 0009 (who granted and who may
// hold each account, F4) and 0010 (the identity provider, I1–I6): on the
// schema at version 9 a tenant or operator write fails with a typed error
// naming no table and writes nothing; once the host migrates, the same
// store writes.
func TestNewCodeOnTheSchemaBeforeItsMigrations(t *testing.T) {
	db, p, s := storeAtVersion(t, 9)
	ctx := context.Background()
	tn := &accessctl.Tenant{ID: "acme", Name: "Acme", Preset: accessctl.PresetDashboard, CreatedAt: t0, UpdatedAt: t0}
	te := backoffice.AuditEntry{ID: "e-1", Tenant: "acme", Action: backoffice.ActionTenantCreate, TargetType: accessctl.TargetTenant, TargetID: "acme", At: t0}
	err := s.CreateTenant(ctx, tn, te)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "backoffice_")
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM backoffice_tenants`).Scan(&n))
	assert.Zero(t, n, "nothing was written")
	// The tenant as the release before wrote it.
	_, err = db.Exec(`INSERT INTO backoffice_tenants (id, name, preset, sso_enabled, sso_group_roles, enduser_forgot_password_off, version, created_at, updated_at)
		VALUES ('acme', 'Acme', $1, false, '{}', false, 1, now(), now())`, accessctl.PresetDashboard)
	require.NoError(t, err)
	o := &accessctl.Operator{ID: "op-1", Tenant: "acme", Username: "ann", Email: "ann@acme.test", Roles: []accessctl.RoleName{accessctl.RoleReadOnly},
		Status: accessctl.StatusInvited, GrantedBy: []accessctl.OperatorID{"op-0"}, ControlledBy: []accessctl.OperatorID{"op-0"}, CreatedAt: t0, UpdatedAt: t0}
	e := backoffice.AuditEntry{ID: "e-2", Tenant: "acme", Action: backoffice.ActionOperatorInvite, TargetType: accessctl.TargetOperator, TargetID: "op-1", At: t0}
	err = s.CreateOperator(ctx, o, accessctl.Guard{}, e)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "backoffice_")
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM backoffice_operators`).Scan(&n))
	assert.Zero(t, n, "nothing was written")

	_, err = p.Up(context.Background())
	require.NoError(t, err)
	require.NoError(t, s.CreateOperator(ctx, o, accessctl.Guard{}, e))
	got, err := s.Operator(ctx, "acme", "op-1")
	require.NoError(t, err)
	assert.Equal(t, o.GrantedBy, got.GrantedBy)
	assert.Equal(t, o.ControlledBy, got.ControlledBy)
	cur, err := s.Tenant(ctx, "acme")
	require.NoError(t, err)
	cur.SSO.LinkByEmail = true
	require.NoError(t, s.UpdateTenant(ctx, cur, cur.Version, backoffice.AuditEntry{ID: "e-3", Tenant: "acme", Action: backoffice.ActionTenantConfigure,
		TargetType: accessctl.TargetTenant, TargetID: "acme", At: t0}))
}

// storeAtVersion is this release's store on a fresh schema migrated only
// up to version, with the provider that migrates it further.
func storeAtVersion(t *testing.T, version int64) (*sql.DB, *goose.Provider, *postgres.Store) {
	t.Helper()
	db, err := sql.Open("postgres", testserver.Schema(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, db, postgres.Migrations())
	require.NoError(t, err)
	_, err = p.UpTo(context.Background(), version)
	require.NoError(t, err)
	s, err := postgres.New(db, "postgres", nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return db, p, s
}
