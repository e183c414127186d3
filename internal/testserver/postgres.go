package testserver

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq" // the driver the tests use by default
)

var (
	pgOnce sync.Once
	pgDSN  string
	pgErr  error
	schema atomic.Int64
)

// PostgresDSN returns the DSN of the test PostgreSQL server, starting one
// the first time. It skips or fails the test when there is none.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		if dsn := os.Getenv("BACKOFFICE_TEST_POSTGRES_DSN"); dsn != "" {
			pgDSN = dsn
		} else {
			pgDSN, pgErr = startPostgres()
		}
		if pgErr == nil {
			pgErr = prepareDatabase(pgDSN)
		}
	})
	if pgErr != nil {
		unavailable(t, "PostgreSQL", pgErr)
	}
	return pgDSN
}

func startPostgres() (string, error) {
	initdb, err := postgresBin("initdb")
	if err != nil {
		return "", err
	}
	server, err := postgresBin("postgres")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "backoffice-pg-")
	if err != nil {
		return "", err
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
	uid, gid, err := asUser(cmd, "postgres")
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	cmd = exec.Command(server, "-D", data, "-p", fmt.Sprint(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
		"-c", "shared_buffers=512MB", "-c", "work_mem=16MB", "-c", "maintenance_work_mem=512MB", "-c", "logging_collector=off",
		"-c", "log_min_messages=fatal")
	if _, _, err := asUser(cmd, "postgres"); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	var logs strings.Builder
	cmd.Stderr = &logs
	p, err := start(cmd, dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	err = waitFor(p, func() error {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.Ping()
	})
	if err != nil {
		return "", fmt.Errorf("%v; server log: %s", err, logs.String())
	}
	return dsn, nil
}

// prepareDatabase installs pg_trgm in the public schema, where every test
// schema finds it through its search_path.
func prepareDatabase(dsn string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public`)
	return err
}

// Schema creates a fresh, empty schema for one test and returns a DSN
// whose connections use it (search_path), so tests are isolated and may
// run in parallel. The schema is dropped when the test ends.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := PostgresDSN(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), schema.Add(1))
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA ` + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP SCHEMA ` + name + ` CASCADE`)
	})
	return WithParam(dsn, "search_path", name+",public")
}

// WithParam adds a run-time parameter to a URL-form DSN.
func WithParam(dsn, key, value string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
