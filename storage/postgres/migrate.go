package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the schema as numbered SQL files
// (0001_init.up.sql, …), for hosts that run migrations with their own
// tool: the same files work unchanged with pressly/goose v3 (each starts
// with "-- +goose Up") and golang-migrate v4 (NNNN_name.up.sql). Give the
// tool a connection whose search_path is the schema the tables go in.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}

// migrationLock is the advisory lock key that serializes Migrate calls of
// every instance of the host against one database.
const migrationLock = 0x6261636b6f666669 // "backoffi"

// Migrate brings the schema up to date: it applies, in order and each in
// its own transaction, the migrations not yet recorded in the
// backoffice_migrations table. It is safe to call from several instances
// at once: a PostgreSQL advisory lock makes them take turns, and the later
// ones find nothing left to do. It returns the version the schema is at.
//
// With opts.Schema set, it creates that schema if needed and applies the
// migrations in it (the files name their tables unqualified; Migrate sets
// the connection's search_path to the schema while it runs).
func Migrate(ctx context.Context, db *sql.DB, opts *Options) (int, error) {
	if _, err := qualifier(opts); err != nil {
		return 0, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, mapErr("postgres: migrate", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return 0, mapErr("postgres: migrate", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	}()
	if opts != nil && opts.Schema != "" {
		// The name was checked to be a plain identifier.
		if _, err := conn.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS "`+opts.Schema+`"`); err != nil {
			return 0, mapErr("postgres: migrate", err)
		}
		if _, err := conn.ExecContext(ctx, `SET search_path TO "`+opts.Schema+`", public`); err != nil {
			return 0, mapErr("postgres: migrate", err)
		}
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `RESET search_path`) }()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS backoffice_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, mapErr("postgres: migrate", err)
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM backoffice_migrations`).Scan(&current); err != nil {
		return 0, mapErr("postgres: migrate", err)
	}
	files, err := migrationFiles()
	if err != nil {
		return current, err
	}
	for _, f := range files {
		if f.version <= current {
			continue
		}
		if err := apply(ctx, conn, f); err != nil {
			return current, err
		}
		current = f.version
	}
	return current, nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrationFiles() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("postgres: migration file %q is not named NNNN_name.up.sql", e.Name())
		}
		b, err := migrations.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

func apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("postgres: migrate", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("postgres: migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO backoffice_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
		return mapErr("postgres: migrate", err)
	}
	return mapErr("postgres: migrate", tx.Commit())
}

// SchemaVersion returns the version the schema is at (0 before any
// migration) and the latest version this release embeds, for a readiness
// probe or a deploy step that compares them.
func SchemaVersion(ctx context.Context, db *sql.DB, opts *Options) (current, latest int, err error) {
	q, err := qualifier(opts)
	if err != nil {
		return 0, 0, err
	}
	files, err := migrationFiles()
	if err != nil {
		return 0, 0, err
	}
	if len(files) > 0 {
		latest = files[len(files)-1].version
	}
	var exists bool
	schema := ""
	if opts != nil {
		schema = opts.Schema
	}
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_tables
		WHERE schemaname = coalesce(nullif($1, ''), current_schema()) AND tablename = 'backoffice_migrations')`, schema).Scan(&exists); err != nil {
		return 0, latest, mapErr("postgres: schema version", err)
	}
	if !exists {
		return 0, latest, nil
	}
	err = db.QueryRowContext(ctx, q(`SELECT coalesce(max(version), 0) FROM backoffice_migrations`)).Scan(&current)
	return current, latest, mapErr("postgres: schema version", err)
}
