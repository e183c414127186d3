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
	"syscall"
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
	p, err := newPostgres(false)
	if err != nil {
		return "", err
	}
	atExit(func() { os.RemoveAll(p.dir) })
	return p.DSN(), nil
}

// Postgres is a throwaway PostgreSQL server whose data outlives Stop and
// Start: a test may take it down in the middle of work and bring it back
// on the same address with everything it had committed.
type Postgres struct {
	mu      sync.Mutex
	port    int
	dir     string
	server  string
	durable bool
	extra   []string // more settings (-c name=value), such as a primary's
	proc    *process
}

// StartPostgres starts a PostgreSQL server of one test, stopped and
// removed when the test ends. Unlike the shared server, it commits
// synchronously, so that a commit it acknowledged survives Crash (fsync
// stays off: the tests stop the server, not the machine). It skips or
// fails the test when PostgreSQL is missing.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := newPostgres(true)
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	t.Cleanup(func() { p.Stop(); os.RemoveAll(p.dir) })
	if err := prepareDatabase(p.DSN()); err != nil {
		t.Fatal(err)
	}
	return p
}

// DSN is the server's URL-form DSN.
func (p *Postgres) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Stop shuts the server down the fast way: it ends every session, rolling
// back open transactions, and exits.
func (p *Postgres) Stop() { p.halt(syscall.SIGINT) }

// Crash shuts the server down the immediate way, as a crash would: no
// checkpoint, no goodbye to clients; the next Start recovers from the
// write-ahead log.
func (p *Postgres) Crash() { p.halt(syscall.SIGQUIT) }

func (p *Postgres) halt(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil {
		p.proc.halt(sig)
		p.proc = nil
	}
}

// Start starts the server again on its port, with its data. After Crash
// the old server's processes may hold its shared memory for a moment,
// which a new server refuses: it tries again.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	var err error
	for range 5 {
		if err = p.start(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("start postgres: %v", err)
}

func newPostgres(durable bool, extra ...string) (*Postgres, error) {
	initdb, err := postgresBin("initdb")
	if err != nil {
		return nil, err
	}
	server, err := postgresBin("postgres")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "backoffice-pg-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(initdb, "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
	uid, gid, err := asUser(cmd, "postgres")
	if err == nil && uid >= 0 {
		err = os.Chown(dir, uid, gid)
	}
	if err == nil {
		if out, ierr := cmd.CombinedOutput(); ierr != nil {
			err = fmt.Errorf("initdb: %v: %s", ierr, out)
		}
	}
	var port int
	if err == nil {
		port, err = freePort()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &Postgres{port: port, dir: dir, server: server, durable: durable, extra: extra}
	if err := p.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

func (p *Postgres) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	commit := "off"
	if p.durable {
		commit = "on"
	}
	cmd := exec.Command(p.server, "-D", filepath.Join(p.dir, "data"), "-p", fmt.Sprint(p.port), "-k", p.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit="+commit,
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=512MB", "-c", "work_mem=16MB",
		"-c", "maintenance_work_mem=512MB", "-c", "logging_collector=off", "-c", "log_min_messages=fatal")
	cmd.Args = append(cmd.Args, p.extra...)
	if _, _, err := asUser(cmd, "postgres"); err != nil {
		return err
	}
	var logs strings.Builder
	cmd.Stderr = &logs
	proc, err := start(cmd, "")
	if err != nil {
		return err
	}
	proc.sig = syscall.SIGINT
	err = waitFor(proc, func() error {
		db, err := sql.Open("postgres", p.DSN())
		if err != nil {
			return err
		}
		defer db.Close()
		return db.Ping()
	})
	if err != nil {
		proc.halt(syscall.SIGQUIT)
		return fmt.Errorf("%v; server log: %s", err, logs.String())
	}
	p.proc = proc
	return nil
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
	return schemaOn(t, PostgresDSN(t))
}

// Schema is the package's Schema on this server.
func (p *Postgres) Schema(t testing.TB) string {
	t.Helper()
	return schemaOn(t, p.DSN())
}

func schemaOn(t testing.TB, dsn string) string {
	t.Helper()
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
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, `DROP SCHEMA `+name+` CASCADE`)
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

// StartReplicated starts, for one test, a primary and a hot standby
// streaming from it (pg_basebackup -R, on loopback), both with
// pg_stat_statements, so a test can see which statements ran where. The
// primary commits synchronously with the standby (remote_apply): a commit
// it acknowledged is visible on the standby, unless a session says
// synchronous_commit=local.
func StartReplicated(t testing.TB) (primary, standby *Postgres) {
	t.Helper()
	stats := []string{"-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=all"}
	primary, err := newPostgres(true, append([]string{"-c", "synchronous_commit=remote_apply"}, stats...)...)
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	t.Cleanup(func() { primary.Stop(); os.RemoveAll(primary.dir) })
	if err := prepareDatabase(primary.DSN()); err != nil {
		t.Fatal(err)
	}
	exec1 := func(dsn string, stmts ...string) {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec1(primary.DSN(), `CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public`)
	basebackup, err := postgresBin("pg_basebackup")
	if err != nil {
		unavailable(t, "pg_basebackup", err)
	}
	dir, err := os.MkdirTemp("", "backoffice-pg-standby-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cmd := exec.Command(basebackup, "-h", "127.0.0.1", "-p", fmt.Sprint(primary.port), "-U", "postgres", "-D", filepath.Join(dir, "data"),
		"-R", "-X", "stream", "--no-sync", "-c", "fast")
	uid, gid, err := asUser(cmd, "postgres")
	if err == nil && uid >= 0 {
		err = os.Chown(dir, uid, gid)
	}
	if err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	standby = &Postgres{port: port, dir: dir, server: primary.server, durable: true, extra: append([]string{"-c", "hot_standby=on"}, stats...)}
	if err := standby.start(); err != nil {
		t.Fatalf("start the standby: %v", err)
	}
	t.Cleanup(standby.Stop)
	// remote_apply (set at start: the command line outranks ALTER
	// SYSTEM) waits from now on, for the standby named here.
	exec1(primary.DSN(), `ALTER SYSTEM SET synchronous_standby_names = '*'`, `SELECT pg_reload_conf()`)
	// Wait until the standby streams, synchronously.
	db, err := sql.Open("postgres", primary.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state = 'sync'`).Scan(&n)
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby does not stream synchronously: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return primary, standby
}
