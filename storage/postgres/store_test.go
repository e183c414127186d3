package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/accessctl/password"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/postgres"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func entry(id, target string, action backoffice.Action) backoffice.AuditEntry {
	return backoffice.AuditEntry{ID: id, Tenant: "acme", Actor: backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:test"},
		Action: action, TargetType: accessctl.TargetOperator, TargetID: target, At: t0}
}

func seedTenant(t *testing.T, s *postgres.Store) {
	t.Helper()
	require.NoError(t, s.CreateTenant(context.Background(), &accessctl.Tenant{ID: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		CreatedAt: t0, UpdatedAt: t0}, backoffice.AuditEntry{ID: "e-tenant", Tenant: "acme", Action: "tenant.create", TargetType: "tenant", TargetID: "acme", At: t0}))
}

// X2: a change whose audit insert fails leaves neither the change nor the
// entry: here the entry's id is taken, so its insert fails.
func TestAuditAtomic(t *testing.T) {
	s, _ := open(t, "postgres")
	ctx := context.Background()
	seedTenant(t, s)
	o := &accessctl.Operator{ID: "op-1", Tenant: "acme", Username: "alice", Email: "alice@acme.test", FirstName: "A", LastName: "L",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, Status: accessctl.StatusActive, CreatedAt: t0, UpdatedAt: t0}
	require.NoError(t, s.CreateOperator(ctx, o, accessctl.Guard{}, entry("e-1", "op-1", "operator.create")))

	changed := o.Clone()
	changed.FirstName = "Changed"
	err := s.UpdateOperator(ctx, changed, o.Version, accessctl.Guard{}, entry("e-1", "op-1", "operator.update"))
	require.Error(t, err)
	got, err := s.Operator(ctx, "acme", "op-1")
	require.NoError(t, err)
	assert.Equal(t, "A", got.FirstName, "the change was not kept")
	assert.Equal(t, int64(1), got.Version)
	hist, err := s.AuditEntries(ctx, "acme", accessctl.AuditQuery{TargetType: accessctl.TargetOperator, TargetID: "op-1"})
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, backoffice.ActionOperatorCreate, hist[0].Action)

	// The same for a creation: no operator without its entry.
	o2 := o.Clone()
	o2.ID, o2.Username, o2.Email = "op-2", "bob", "bob@acme.test"
	bad := entry("e-2", "op-2", "")
	require.Error(t, s.CreateOperator(ctx, o2, accessctl.Guard{}, bad))
	_, err = s.Operator(ctx, "acme", "op-2")
	require.ErrorIs(t, err, backoffice.ErrNotFound)

	// And for a guarded write, in its transaction.
	o3 := o.Clone()
	o3.ID, o3.Username, o3.Email, o3.Roles = "op-3", "carol", "carol@acme.test", []accessctl.RoleName{accessctl.RoleAdministrator}
	require.NoError(t, s.CreateOperator(ctx, o3, accessctl.Guard{}, entry("e-3", "op-3", "operator.create")))
	demoted := o3.Clone()
	demoted.Roles = []accessctl.RoleName{accessctl.RoleManager}
	require.ErrorIs(t, s.UpdateOperator(ctx, demoted, 1, accessctl.Guard{KeepAdmin: accessctl.RoleAdministrator}, entry("e-4", "op-3", "operator.update")),
		accessctl.ErrLastAdministrator)
	got, _ = s.Operator(ctx, "acme", "op-3")
	assert.Equal(t, o3.Roles, got.Roles)
}

// X3: errors are typed and carry no SQL or driver text.
func TestErrorsCarryNoDriverText(t *testing.T) {
	s, _ := open(t, "postgres")
	ctx := context.Background()
	seedTenant(t, s)
	o := &accessctl.Operator{ID: "op-1", Tenant: "acme", Username: "alice", Email: "alice@acme.test", FirstName: "A", LastName: "L",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, Status: accessctl.StatusActive, CreatedAt: t0, UpdatedAt: t0}
	require.NoError(t, s.CreateOperator(ctx, o, accessctl.Guard{}, entry("e-1", "op-1", "operator.create")))
	dup := o.Clone()
	dup.ID, dup.Username = "op-2", "other"
	err := s.CreateOperator(ctx, dup, accessctl.Guard{}, entry("e-2", "op-2", "operator.create"))
	require.ErrorIs(t, err, backoffice.ErrConflict)
	assert.Equal(t, []string{"email"}, backoffice.FieldsOf(err))
	bad := o.Clone()
	bad.ID, bad.Username, bad.Email, bad.Status = "op-3", "x3x", "x3@acme.test", "bogus"
	err = s.CreateOperator(ctx, bad, accessctl.Guard{}, entry("e-3", "op-3", "operator.create"))
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	u := &enduser.EndUser{ID: "u-1", Tenant: "acme", Type: enduser.TypePhysicalPerson, Status: enduser.StatusPending, KYC: enduser.KYCNone,
		FirstName: "A", LastName: "B", Parent: "ghost", CreatedAt: t0, UpdatedAt: t0}
	err = s.CreateEndUser(ctx, u, entry("e-4", "u-1", "enduser.create"))
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	assert.Equal(t, []string{"parent"}, backoffice.FieldsOf(err))
	for _, err := range []error{err} {
		for _, leak := range []string{"pq:", "SQLSTATE", "INSERT", "end_users", "violates"} {
			assert.NotContains(t, err.Error(), leak)
		}
	}
}

// A server that does not answer makes every call fail with ErrUnavailable.
func TestUnavailable(t *testing.T) {
	db, err := sql.Open("postgres", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	defer db.Close()
	s, err := postgres.New(db, "postgres", nil)
	require.NoError(t, err)
	_, err = s.Operator(context.Background(), "acme", "op-1")
	require.ErrorIs(t, err, backoffice.ErrUnavailable)
	_, err = postgres.Migrate(context.Background(), db, nil)
	require.ErrorIs(t, err, backoffice.ErrUnavailable)
}

// Migrate is safe to call from several instances at once, and again.
func TestMigrateConcurrently(t *testing.T) {
	dsn := testserver.Schema(t)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			db, err := sql.Open("postgres", dsn)
			if !assert.NoError(t, err) {
				return
			}
			defer db.Close()
			v, err := postgres.Migrate(context.Background(), db, nil)
			assert.NoError(t, err)
			assert.Equal(t, latestMigration(t), v)
		})
	}
	wg.Wait()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM backoffice_migrations`).Scan(&n))
	assert.Equal(t, latestMigration(t), n)
}

// D7: every embedded migration is named NNNN_name.up.sql, as
// golang-migrate reads them, and starts with goose's Up marker.
func TestMigrationFilesServeEveryTool(t *testing.T) {
	files, err := fs.ReadDir(postgres.Migrations(), ".")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for i, f := range files {
		assert.Regexp(t, fmt.Sprintf(`^%04d_[a-z0-9_]+\.up\.sql$`, i+1), f.Name())
		b, err := fs.ReadFile(postgres.Migrations(), f.Name())
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(b), "-- +goose Up\n"), "%s starts with -- +goose Up", f.Name())
	}
}

// A15 across instances: two app instances, each with its own connection
// pool, race to deactivate and demote the last two Administrators; the
// database keeps one.
func TestLastAdministratorAcrossInstances(t *testing.T) {
	dsn := testserver.Schema(t)
	var services []*accessctl.Service
	var stores []*postgres.Store
	hasher, err := password.NewHasher(password.Params{}, 0)
	require.NoError(t, err)
	for i := range 2 {
		db, err := sql.Open("postgres", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		if i == 0 {
			_, err = postgres.Migrate(context.Background(), db, nil)
			require.NoError(t, err)
		}
		st, err := postgres.New(db, "postgres", nil)
		require.NoError(t, err)
		svc, err := accessctl.NewService(accessctl.Config{Store: st, Hasher: hasher})
		require.NoError(t, err)
		services, stores = append(services, svc), append(stores, st)
	}
	root, err := services[0].Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R", Password: "Correct-Horse-42", PasswordConfirmation: "Correct-Horse-42"}})
	require.NoError(t, err)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "race"))
	second, err := services[0].CreateOperator(sys, accessctl.NewOperator{Username: "second", Email: "second@acme.test", FirstName: "S", LastName: "S",
		Roles: []accessctl.RoleName{accessctl.RoleAdministrator}, AllAccounts: true, Password: "Correct-Horse-43", PasswordConfirmation: "Correct-Horse-43"})
	require.NoError(t, err)
	targets := []accessctl.OperatorID{root.ID, second.ID}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			svc, st := services[i%2], stores[i%2]
			id := targets[(i/2)%2]
			for range 10 {
				o, err := st.Operator(context.Background(), "acme", id)
				if err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					_, err = svc.DeactivateOperator(sys, id, o.Version)
				} else {
					_, err = svc.UpdateOperator(sys, id, accessctl.OperatorUpdate{Version: o.Version, Roles: &[]accessctl.RoleName{accessctl.RoleManager}})
				}
				if !errors.Is(err, backoffice.ErrConflict) {
					if err != nil && !errors.Is(err, backoffice.ErrFailedPrecondition) {
						t.Error(err)
					}
					return
				}
			}
		})
	}
	wg.Wait()
	active, role := accessctl.StatusActive, accessctl.RoleAdministrator
	left, err := stores[1].Operators(context.Background(), "acme", accessctl.OperatorQuery{Status: &active, Role: &role})
	require.NoError(t, err)
	assert.Len(t, left, 1)
}

// E2, D2: quotes, %, _, backslashes are searched literally; NUL bytes and
// other control characters are refused before they reach SQL.
func TestSearchLiterally(t *testing.T) {
	s, _ := open(t, "pgx")
	ctx := context.Background()
	seedTenant(t, s)
	svc, err := enduser.NewService(enduser.Config{Store: s, Tenants: s,
		Balances: enduser.BalancesFunc(func(context.Context, *enduser.EndUser) ([]enduser.Balance, error) { return nil, nil })})
	require.NoError(t, err)
	sys := accessctl.NewContext(ctx, accessctl.SystemActor("acme", "test"))
	names := []string{`100% Real_Estate`, `O'Brien "The Quote"`, `Back\slash Ltd`, `Plain Name Ltd`, `1000 Real Estate`}
	ids := map[string]enduser.ID{}
	for i, n := range names {
		u, err := svc.Create(sys, enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: n, Tag: n, Email: fmt.Sprintf("user%d@x.test", i)})
		require.NoError(t, err)
		ids[n] = u.ID
	}
	for term, want := range map[string][]string{
		"100%":            {`100% Real_Estate`},
		"% r":             {`100% Real_Estate`},
		"real_":           {`100% Real_Estate`},
		"l_e":             {`100% Real_Estate`},
		"o'brien":         {`O'Brien "The Quote"`},
		`"the quote"`:     {`O'Brien "The Quote"`},
		`k\s`:             {`Back\slash Ltd`},
		`'; drop table x`: nil,
		"%%%":             nil,
		"___":             nil,
	} {
		p, err := svc.Search(sys, enduser.SearchQuery{Name: term}, backoffice.PageRequest{})
		require.NoError(t, err, term)
		var got []string
		for _, u := range p.Items {
			got = append(got, u.LegalName)
		}
		assert.Equal(t, want, got, "search %q", term)
	}
	p, err := svc.Search(sys, enduser.SearchQuery{Tag: `O'Brien "The Quote"`}, backoffice.PageRequest{})
	require.NoError(t, err)
	require.Len(t, p.Items, 1)
	for _, q := range []enduser.SearchQuery{{Name: "nul\x00byte"}, {Email: "a\x00@x.test"}, {Tag: "t\x00"}, {ID: "\x00"}} {
		_, err := svc.Search(sys, q, backoffice.PageRequest{})
		require.ErrorIs(t, err, backoffice.ErrInvalid, fmt.Sprintf("%q", q))
	}
}
