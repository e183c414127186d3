package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/backoffice-go/backoffice/storage/postgres"
)

// migrateCommand is "adminapi migrate up|status", for a host without a
// migration tool of its own: up applies the embedded migrations (safe
// from several instances at once), status says where the schema is.
func migrateCommand(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "up" && args[0] != "status" {
		return errors.New("usage: adminapi migrate up|status -postgres DSN [-postgres-schema NAME]")
	}
	verb := args[0]
	fs := flag.NewFlagSet("migrate "+verb, flag.ContinueOnError)
	dsn := fs.String("postgres", env("BACKOFFICE_POSTGRES_DSN", ""), "PostgreSQL DSN")
	schema := fs.String("postgres-schema", env("BACKOFFICE_POSTGRES_SCHEMA", ""), "PostgreSQL schema of the backoffice_ tables")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dsn == "" {
		return errors.New("give the database with -postgres or BACKOFFICE_POSTGRES_DSN")
	}
	db, err := sql.Open("postgres", *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	opts := &postgres.Options{Schema: *schema}
	if verb == "up" {
		v, err := postgres.Migrate(ctx, db, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "the schema is at version %d\n", v)
		return nil
	}
	current, latest, err := postgres.SchemaVersion(ctx, db, opts)
	if err != nil {
		return err
	}
	state := "up to date"
	if current < latest {
		state = fmt.Sprintf("%d migration(s) to apply: run adminapi migrate up", latest-current)
	}
	fmt.Fprintf(out, "the schema is at version %d of %d: %s\n", current, latest, state)
	return nil
}
