package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/postgres"
)

// faultApp is one application instance on a PostgreSQL server a test may
// stop: the operator and end-user services with the outbox on, and a
// dispatcher delivering to a recorder.
type faultApp struct {
	db    *sql.DB
	store *postgres.Store
	ops   *accessctl.Service
	users *enduser.Service
	sink  *memorytest.Recorder
	root  *accessctl.Operator
}

func newFaultApp(t *testing.T, dsn string) *faultApp {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	t.Cleanup(func() { db.Close() })
	_, err = postgres.Migrate(context.Background(), db, nil)
	require.NoError(t, err)
	store, err := postgres.New(db, "postgres", nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	a := &faultApp{db: db, store: store, sink: &memorytest.Recorder{}}
	a.ops, err = accessctl.NewService(accessctl.Config{Store: store, Outbox: true, Hasher: memorytest.Hasher(), ReportError: func(context.Context, error) {}})
	require.NoError(t, err)
	a.users, err = enduser.NewService(enduser.Config{Store: store, Tenants: store, Balances: &memorytest.Wallets{}, Outbox: true,
		ReportError: func(context.Context, error) {}})
	require.NoError(t, err)
	a.root, err = a.ops.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R",
			Password: "Correct-Horse-42", PasswordConfirmation: "Correct-Horse-42"}})
	require.NoError(t, err)
	return a
}

func (a *faultApp) system() context.Context {
	return accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))
}

// dispatch runs a dispatcher until ctx ends.
func (a *faultApp) dispatch(ctx context.Context) <-chan struct{} {
	d := &backoffice.Dispatcher{Store: a.store, Handlers: map[string]backoffice.Handler{accessctl.OutboxTopic: accessctl.OutboxHandler(a.sink)},
		Lease: 2 * time.Second, Poll: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 50 * time.Millisecond },
		ReportError: func(context.Context, error) {}}
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	return done
}

// outcome is what one call of the write load returned.
type outcome struct {
	what  string // "invite", "create", "update"
	id    string
	err   error
	phase int // 0 before the fault, 1 during, 2 after the restart
}

// writeLoad runs workers that invite operators (an audit entry and an
// outbox message each), create end users and edit them, until stop
// closes; phase tells each outcome when it happened.
func (a *faultApp) writeLoad(workers int, phase *atomic.Int32, stop <-chan struct{}) []outcome {
	var mu sync.Mutex
	var out []outcome
	record := func(o outcome) {
		mu.Lock()
		out = append(out, o)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var user *enduser.EndUser
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(a.system(), 5*time.Second)
				p := int(phase.Load())
				switch {
				case i%3 == 0:
					o, err := a.ops.InviteOperator(ctx, accessctl.NewOperator{Username: fmt.Sprintf("op-%d-%d", w, i),
						Email: fmt.Sprintf("op-%d-%d@acme.test", w, i), FirstName: "F", LastName: "L",
						Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
					id := ""
					if err == nil {
						id = string(o.ID)
					}
					record(outcome{what: "invite", id: id, err: err, phase: p})
				case user == nil:
					u, err := a.users.Create(ctx, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Eve",
						LastName: fmt.Sprintf("W%d-%d", w, i), Email: fmt.Sprintf("eve-%d-%d@example.test", w, i)})
					if err == nil {
						user = u
						record(outcome{what: "create", id: string(u.ID), phase: p})
					} else {
						record(outcome{what: "create", err: err, phase: p})
					}
				default:
					name := fmt.Sprintf("Edit%d", i)
					u, err := a.users.Update(ctx, user.ID, enduser.Update{Version: user.Version, FirstName: &name})
					if err == nil {
						user = u
					} else if !errors.Is(err, backoffice.ErrConflict) {
						// The edit may have committed though its answer was
						// lost: read the user again before the next one.
						if again, gerr := a.users.Get(ctx, user.ID); gerr == nil {
							user = again
						}
					}
					record(outcome{what: "update", id: string(user.ID), err: err, phase: p})
				}
				cancel()
				if p == 1 {
					time.Sleep(10 * time.Millisecond) // the server is down: do not spin
				}
			}
		})
	}
	wg.Wait()
	return out
}

// checkNothingHalfWritten checks the invariants a restart must keep: each
// operator in the table was invited with exactly one audit entry and one
// outbox message, each end user has as many audit entries as versions,
// and every call that said it succeeded is there.
func (a *faultApp) checkNothingHalfWritten(t *testing.T, outcomes []outcome) (messages int) {
	t.Helper()
	ctx := context.Background()
	var invited, entries, msgs int
	require.NoError(t, a.db.QueryRowContext(ctx, `SELECT count(*) FROM backoffice_operators WHERE tenant_id = 'acme' AND status = 'invited'`).Scan(&invited))
	require.NoError(t, a.db.QueryRowContext(ctx, `SELECT count(*) FROM backoffice_audit_entries WHERE tenant_id = 'acme' AND action = $1`,
		string(backoffice.ActionOperatorInvite)).Scan(&entries))
	require.NoError(t, a.db.QueryRowContext(ctx, `SELECT count(*) FROM backoffice_outbox WHERE topic = $1`, accessctl.OutboxTopic).Scan(&msgs))
	assert.Equal(t, invited, entries, "one audit entry per invited operator")
	assert.Equal(t, invited, msgs, "one outbox message per invited operator")
	var orphans int
	require.NoError(t, a.db.QueryRowContext(ctx, `SELECT count(*) FROM backoffice_audit_entries e
		WHERE e.tenant_id = 'acme' AND e.action = $1
		AND NOT EXISTS (SELECT 1 FROM backoffice_operators o WHERE o.tenant_id = e.tenant_id AND o.id = e.target_id)`,
		string(backoffice.ActionOperatorInvite)).Scan(&orphans))
	assert.Zero(t, orphans, "no audit entry of an invitation without its operator")
	var uneven int
	require.NoError(t, a.db.QueryRowContext(ctx, `SELECT count(*) FROM backoffice_end_users u
		WHERE u.tenant_id = 'acme' AND u.version <> (SELECT count(*) FROM backoffice_audit_entries e
			WHERE e.tenant_id = u.tenant_id AND e.target_type = $1 AND e.target_id = u.id)`, enduser.TargetEndUser).Scan(&uneven))
	assert.Zero(t, uneven, "every end user has one audit entry per version")
	for _, o := range outcomes {
		if o.err != nil {
			continue
		}
		switch o.what {
		case "invite":
			_, err := a.store.Operator(ctx, "acme", accessctl.OperatorID(o.id))
			assert.NoError(t, err, "an invitation that succeeded is stored")
		case "create":
			_, err := a.store.EndUser(ctx, "acme", enduser.ID(o.id))
			assert.NoError(t, err, "an end user whose creation succeeded is stored")
		}
	}
	return invited
}

// waitDelivered waits until the outbox has nothing pending, then checks
// that the sink got every message, once per idempotency key.
func (a *faultApp) waitDelivered(t *testing.T, messages int) {
	t.Helper()
	require.Eventually(t, func() bool {
		var pending int
		err := a.db.QueryRow(`SELECT count(*) FROM backoffice_outbox WHERE status <> 'delivered'`).Scan(&pending)
		return err == nil && pending == 0
	}, 30*time.Second, 50*time.Millisecond, "the dispatcher delivers what was pending")
	keys := map[string]bool{}
	for _, n := range a.sink.OperatorNotices() {
		assert.NotEmpty(t, n.IdempotencyKey)
		keys[n.IdempotencyKey] = true
	}
	assert.Len(t, keys, messages, "the idempotent sink holds each message once")
}

// requireTypedFaults checks that every call that failed during the
// fault said so with a typed error a caller can act on, and no driver
// text.
func requireTypedFaults(t *testing.T, outcomes []outcome) (failed, after int) {
	t.Helper()
	for _, o := range outcomes {
		if o.phase == 2 && o.err == nil {
			after++
		}
		if o.err == nil {
			continue
		}
		failed++
		if errors.Is(o.err, backoffice.ErrConflict) && o.what == "update" {
			continue // an edit whose answer was lost, retried on its old version
		}
		if !assert.ErrorIs(t, o.err, backoffice.ErrUnavailable, "%s in phase %d", o.what, o.phase) {
			continue
		}
		for _, leak := range []string{"pq:", "SQLSTATE", "dial tcp", "EOF", "backoffice_"} {
			assert.NotContains(t, o.err.Error(), leak)
		}
	}
	return failed, after
}

// PostgreSQL stopped in the middle of a write load, the fast way (it
// ends every session, rolling back open transactions) and the crash way
// (no checkpoint; recovery from the log at the next start). Every call
// either committed with its audit entry and outbox message or returned a
// typed error; nothing is half-written; the same application recovers
// without a restart; the dispatcher delivers what was pending, each
// message once to the idempotent sink.
func TestPostgresRestartMidWriteLoad(t *testing.T) {
	for _, tc := range []struct {
		name string
		halt func(*testserver.Postgres)
	}{
		{"Stop", (*testserver.Postgres).Stop},
		{"Crash", (*testserver.Postgres).Crash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := testserver.StartPostgres(t)
			app := newFaultApp(t, testserver.WithParam(pg.DSN(), "connect_timeout", "2"))
			ctx, cancel := context.WithCancel(context.Background())
			dispatched := app.dispatch(ctx)

			var phase atomic.Int32
			stop := make(chan struct{})
			result := make(chan []outcome)
			go func() { result <- app.writeLoad(8, &phase, stop) }()
			time.Sleep(400 * time.Millisecond)
			phase.Store(1)
			tc.halt(pg)
			time.Sleep(500 * time.Millisecond)
			pg.Start(t)
			phase.Store(2)
			time.Sleep(1500 * time.Millisecond)
			close(stop)
			outcomes := <-result

			failed, after := requireTypedFaults(t, outcomes)
			assert.Positive(t, failed, "the fault was felt")
			assert.Positive(t, after, "the application recovered without a restart")
			t.Logf("%d calls, %d failed, %d succeeded after the restart", len(outcomes), failed, after)
			messages := app.checkNothingHalfWritten(t, outcomes)
			app.waitDelivered(t, messages)
			cancel()
			<-dispatched
		})
	}
}

// lockTable holds an exclusive lock on a table from a connection of its
// own until the returned function is called.
func lockTable(t *testing.T, dsn, table string) (release func()) {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec(`LOCK TABLE ` + table + ` IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)
	var once sync.Once
	release = func() { once.Do(func() { _ = tx.Rollback(); db.Close() }) }
	t.Cleanup(release)
	return release
}

// A statement that runs past the timeout a host sets on its
// connections or role (statement_timeout, lock_timeout) fails with
// ErrUnavailable, without driver text, and changes nothing.
func TestStatementTimeoutIsUnavailable(t *testing.T) {
	for _, param := range []string{"statement_timeout", "lock_timeout"} {
		t.Run(param, func(t *testing.T) {
			dsn := testserver.Schema(t)
			app := newFaultApp(t, testserver.WithParam(dsn, param, "200"))
			u, err := app.users.Create(app.system(), enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Eve", LastName: "Wu"})
			require.NoError(t, err)

			release := lockTable(t, dsn, "backoffice_end_users")
			name := "Changed"
			_, err = app.users.Update(app.system(), u.ID, enduser.Update{Version: u.Version, FirstName: &name})
			require.ErrorIs(t, err, backoffice.ErrUnavailable)
			for _, leak := range []string{"pq:", "SQLSTATE", "canceling", "backoffice_"} {
				assert.NotContains(t, err.Error(), leak)
			}
			release()

			got, err := app.users.Get(app.system(), u.ID)
			require.NoError(t, err)
			assert.Equal(t, u.Version, got.Version, "nothing changed")
			assert.Equal(t, "Eve", got.FirstName)
			app.checkNothingHalfWritten(t, nil)
			_, err = app.users.Update(app.system(), u.ID, enduser.Update{Version: u.Version, FirstName: &name})
			require.NoError(t, err, "the next call works")
		})
	}
}

// waitForLockWait waits until a backend of the database waits for a lock.
func waitForLockWait(t *testing.T, db *sql.DB) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n > 0
	}, 10*time.Second, 10*time.Millisecond)
}

// A context cancelled in the middle of a transaction leaves nothing
// behind. The invitation's operator and audit entry are written, then its
// outbox message waits for a lock another connection holds; the caller
// gives up. On both write paths: the system actor's (a transaction for
// the change and its messages) and an operator's (the guarded
// transaction, which also checks the actor).
func TestCancelMidTransaction(t *testing.T) {
	dsn := testserver.Schema(t)
	app := newFaultApp(t, dsn)
	res, err := app.ops.StartSession(app.system(), app.root.ID)
	require.NoError(t, err)
	actor, err := app.ops.Authenticate(context.Background(), res.Session)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"System", app.system()},
		{"Operator", accessctl.NewContext(context.Background(), actor)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := app.checkNothingHalfWritten(t, nil)
			release := lockTable(t, dsn, "backoffice_outbox")
			ctx, cancel := context.WithCancel(tc.ctx)
			done := make(chan error, 1)
			go func() {
				_, err := app.ops.InviteOperator(ctx, accessctl.NewOperator{Username: "newbie-" + tc.name, Email: "newbie-" + tc.name + "@acme.test",
					FirstName: "N", LastName: "B", Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
				done <- err
			}()
			waitForLockWait(t, app.db)
			cancel()
			err := <-done
			require.ErrorIs(t, err, context.Canceled)
			release()

			_, err = app.store.OperatorByLogin(context.Background(), "acme", "newbie-"+tc.name)
			require.ErrorIs(t, err, backoffice.ErrNotFound, "the operator was rolled back")
			assert.Equal(t, before, app.checkNothingHalfWritten(t, nil), "no operator, entry or message was left")
			_, err = app.ops.InviteOperator(tc.ctx, accessctl.NewOperator{Username: "later-" + tc.name, Email: "later-" + tc.name + "@acme.test",
				FirstName: "N", LastName: "B", Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
			require.NoError(t, err, "the pool is healthy")
			assert.Equal(t, before+1, app.checkNothingHalfWritten(t, nil))
		})
	}
}
