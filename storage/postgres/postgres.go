// Package postgres implements every store of the module on PostgreSQL,
// with sqlx over the host's *sql.DB, whichever database/sql driver
// opened it (lib/pq or pgx's stdlib).
//
// Apply the schema with Migrate (or run Migrations with your own tool),
// then build the store with New. Each change and its audit entry are one
// SQL statement (a data-modifying CTE), so they are atomic and cost
// one round trip: every statement is prepared once per connection and
// reused. Stale versions conflict; unique and foreign keys become
// typed errors naming the field; the last-Administrator guard takes
// a per-tenant advisory lock, so it holds across connections and
// instances. No SQL or driver text reaches the caller.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/jmoiron/sqlx"
)

// Store implements accessctl.Store, enduser.Store and scadevice.Store.
// It is safe for concurrent use.
type Store struct {
	db      *sqlx.DB
	tables  func(query string) string // qualifies the tables with the schema
	mu      sync.Mutex
	stmts   map[string]*preparedStmt
	replica *replica // Options.Reader's
}

// Options configure the store and Migrate; nil means the defaults.
type Options struct {
	// Schema is the PostgreSQL schema the backoffice_ tables live in.
	// Empty means the connection's current schema (its search_path).
	// Migrate creates it if it does not exist.
	Schema string
	// Reader, when set, is a read replica (a hot standby streaming from
	// the primary db) for the reads that may lag, those the services
	// mark with backoffice.WithLaggingReads: searches, lists, counts,
	// histories, reviews, the walk of the audit chain. Every write, every
	// check that decides one and every read of the caller's own write
	// stays on the primary. A replica that does not answer, or is more
	// than ReaderMaxLag behind, sends those reads back to the primary
	// until a later check finds it fresh again; a read the replica fails
	// runs again on the primary. It is opened with the
	// same driver as db; the store does not close it.
	Reader *sql.DB
	// ReaderMaxLag is how far behind the primary the replica may be and
	// still serve; default 5 s. The replica is checked again at most
	// every ReaderMaxLag/2 (at most every second).
	ReaderMaxLag time.Duration
}

var (
	schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	tableRef   = regexp.MustCompile(`\bbackoffice_[a-z_]+\b`)
)

// qualifier returns the function that qualifies the library's tables in a
// query with the schema of opts.
func qualifier(opts *Options) (func(string) string, error) {
	if opts == nil || opts.Schema == "" {
		return func(q string) string { return q }, nil
	}
	if !schemaName.MatchString(opts.Schema) {
		return nil, backoffice.NewError(backoffice.ErrInvalid, "postgres: options", "the schema must be a lower-case identifier",
			backoffice.FieldViolation{Field: "schema", Reason: "must match [a-z_][a-z0-9_]*"})
	}
	prefix := `"` + opts.Schema + `".`
	return func(q string) string {
		return tableRef.ReplaceAllStringFunc(q, func(t string) string { return prefix + t })
	}, nil
}

// preparedStmt is one cached statement, prepared once by whichever caller
// needs it first while the others wait for it.
type preparedStmt struct {
	once sync.Once
	st   *sqlx.Stmt
	err  error
}

// New returns a store over db, whose schema Migrate (with the same
// options) has brought up to date. driverName is the name db was opened
// with ("postgres" for lib/pq, "pgx" for pgx's stdlib); both use $1
// placeholders. A schema name that is not a plain identifier is an
// ErrInvalid.
func New(db *sql.DB, driverName string, opts *Options) (*Store, error) {
	return NewX(sqlx.NewDb(db, driverName), opts)
}

// NewX is New for a host that already has an *sqlx.DB.
func NewX(db *sqlx.DB, opts *Options) (*Store, error) {
	q, err := qualifier(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, tables: q, stmts: map[string]*preparedStmt{}}
	if opts != nil && opts.Reader != nil {
		lag := opts.ReaderMaxLag
		if lag <= 0 {
			lag = 5 * time.Second
		}
		s.replica = &replica{st: &Store{db: sqlx.NewDb(opts.Reader, db.DriverName()), tables: q, stmts: map[string]*preparedStmt{}},
			primary: db, maxLag: lag, checkEvery: min(lag/2, time.Second), now: time.Now}
	}
	return s, nil
}

// Close releases the prepared statements; it does not close the host's
// databases.
func (s *Store) Close() error {
	var rerr error
	if s.replica != nil {
		rerr = s.replica.st.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for q, p := range s.stmts {
		if p.st != nil {
			errs = append(errs, p.st.Close())
		}
		delete(s.stmts, q)
	}
	return errors.Join(append(errs, rerr)...)
}

// Ping checks that the database answers, for a host's readiness probe.
func (s *Store) Ping(ctx context.Context) error {
	return mapErr("postgres: ping", s.db.PingContext(ctx))
}

// stmt returns the prepared statement for the query, preparing it on first
// use; database/sql prepares it again on each new connection by itself.
// Nothing here holds s.mu while it talks to the database: a statement's
// Close, say, can wait for a connection that a transaction holds.
func (s *Store) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.mu.Lock()
	p, ok := s.stmts[query]
	if !ok {
		p = &preparedStmt{}
		s.stmts[query] = p
	}
	s.mu.Unlock()
	p.once.Do(func() { p.st, p.err = s.db.PreparexContext(ctx, s.tables(query)); p.err = cause(ctx, p.err) })
	if p.err != nil {
		s.mu.Lock()
		if s.stmts[query] == p {
			delete(s.stmts, query) // let a later call try again
		}
		s.mu.Unlock()
		return nil, p.err
	}
	return p.st, nil
}

// exec runs a prepared statement, in tx when it is not nil.
func (s *Store) exec(ctx context.Context, tx *sqlx.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if tx != nil {
		st = tx.StmtxContext(ctx, st)
	}
	res, err := st.ExecContext(ctx, args...)
	return res, cause(ctx, err)
}

func (s *Store) get(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return err
	}
	if tx != nil {
		st = tx.StmtxContext(ctx, st)
	}
	return cause(ctx, st.GetContext(ctx, dest, args...))
}

func (s *Store) sel(ctx context.Context, dest any, query string, args ...any) error {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return err
	}
	return cause(ctx, st.SelectContext(ctx, dest, args...))
}

// inTx runs fn in a transaction.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return cause(ctx, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return cause(ctx, err)
	}
	return cause(ctx, tx.Commit())
}

// cause names the caller's giving up as the cause of a failed statement:
// a driver answers a cancelled context with the server's "canceling
// statement" (lib/pq) or its own text, which mapErr would take for an
// unavailable database.
func cause(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// auditColumns and auditInsert write audit entries, each from the
// eleven parameters auditArgs makes (the last is the entry's content
// digest), once per row of the CTE named from, appending them to their
// tenant's hash chain in the same statement: the head CTE moves the
// tenant's head row on by the entries' count, which locks it until the
// statement's transaction ends, so a tenant's writers take turns and the
// chain never forks. Each entry's hash is sha256(previous hash || digest),
// the previous hash of a tenant's first entry being empty
// (backoffice.ChainLink).
const auditColumns = `tenant_id, target_type, target_id, id, actor_kind, actor_id, actor_name, action, at, changes`

// auditInsert writes one entry from the parameters at $n.
func auditInsert(from string, n int) string { return auditInserts(from, n, 1) }

// auditInserts writes k entries of one tenant, from the parameters at $n,
// $n+11, ….
func auditInserts(from string, n, k int) string {
	chained := func(prev string) string {
		for i := range k {
			prev = fmt.Sprintf(`sha256(%s || $%d::bytea)`, prev, n+11*i+10)
		}
		return prev
	}
	var b strings.Builder
	fmt.Fprintf(&b, `head AS (
	INSERT INTO backoffice_audit_heads AS h (tenant_id, seq, hash, prev) SELECT $%d, %d, %s, ''::bytea FROM %s
	ON CONFLICT (tenant_id) DO UPDATE SET seq = h.seq + %d, prev = h.hash, hash = %s RETURNING seq, hash, prev
), aud AS (INSERT INTO backoffice_audit_entries (%s, seq, hash) `, n, k, chained(`''::bytea`), from, k, chained(`h.hash`), auditColumns)
	hash := `head.prev`
	for i := range k {
		m := n + 11*i
		if i > 0 {
			b.WriteString(` UNION ALL `)
		}
		hash = fmt.Sprintf(`sha256(%s || $%d::bytea)`, hash, m+10)
		fmt.Fprintf(&b, `SELECT $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d::timestamptz, $%d::jsonb, head.seq - %d, %s FROM head`,
			m, m+1, m+2, m+3, m+4, m+5, m+6, m+7, m+8, m+9, k-1-i, hash)
	}
	b.WriteString(`)`)
	return b.String()
}

// qInsertMessages writes outbox messages, given as a JSON array.
const qInsertMessages = `INSERT INTO backoffice_outbox (id, tenant_id, topic, payload, next_at, created_at)
	SELECT m.id, m.tenant_id, m.topic, m.payload, m.created_at, m.created_at
	FROM jsonb_to_recordset($1::jsonb) AS m(id text, tenant_id text, topic text, payload text, created_at timestamptz)`

// errNoChange makes a change's transaction roll back when its statement
// changed nothing without failing.
var errNoChange = errors.New("postgres: the statement changed nothing")

// change runs a change's statement. A change that sends messages runs it
// and writes the messages in one transaction; one that sends none is its
// one statement alone, which neither costs a transaction nor needs the
// outbox table (so this code also runs on a schema from before it).
func (s *Store) change(ctx context.Context, msgs []backoffice.Message, run func(tx *sqlx.Tx) error) error {
	if len(msgs) == 0 {
		return run(nil)
	}
	if _, err := s.stmt(ctx, qInsertMessages); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := run(tx); err != nil {
			return err
		}
		return s.insertMessages(ctx, tx, msgs)
	})
}

func (s *Store) insertMessages(ctx context.Context, tx *sqlx.Tx, msgs []backoffice.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	rows := make([]outboxRow, len(msgs))
	for i, m := range msgs {
		rows[i] = outboxRow{ID: m.ID, TenantID: string(m.Tenant), Topic: m.Topic, Payload: string(m.Payload), CreatedAt: m.CreatedAt.UTC()}
	}
	_, err := s.exec(ctx, tx, qInsertMessages, jsonString(rows))
	return err
}

// outboxRow is a message as qInsertMessages takes it.
type outboxRow struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	Topic     string    `json:"topic"`
	Payload   string    `json:"payload"`
	CreatedAt time.Time `json:"created_at"`
}

func auditArgs(e backoffice.AuditEntry) []any {
	changes := e.Changes
	if changes == nil {
		changes = []backoffice.Change{}
	}
	d := e.ContentDigest()
	return []any{string(e.Tenant), e.TargetType, e.TargetID, e.ID, string(e.Actor.Kind), e.Actor.ID, e.Actor.Name, e.Action,
		e.At.UTC(), jsonString(changes), d[:]}
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("postgres: marshal %T: %v", v, err)) // only plain data is marshalled
	}
	return string(b)
}

func fromJSON(b []byte, v any) error {
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}

// fromJSONOrNil decodes b into v, leaving v nil when it is an empty
// slice or map, as the domain types keep them.
func fromJSONOrNil[T any](b []byte, v *T) error {
	if err := fromJSON(b, v); err != nil {
		return err
	}
	if rv := reflect.ValueOf(v).Elem(); (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && rv.Len() == 0 {
		var zero T
		*v = zero
	}
	return nil
}

func utc(t time.Time) time.Time { return t.UTC() }

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func fromNull(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Error translation.

var constraintRe = regexp.MustCompile(`constraint "([^"]+)"`)

// fieldOf names the input field a constraint guards.
var fieldOf = map[string]string{
	"backoffice_tenants_pkey":                       "tenant",
	"backoffice_operators_pkey":                     "id",
	"backoffice_operators_username_key":             "username",
	"backoffice_operators_email_key":                "email",
	"backoffice_operators_external_key_key":         "external_key",
	"backoffice_operators_tenant_id_fkey":           "tenant",
	"backoffice_roles_pkey":                         "name",
	"backoffice_roles_tenant_id_fkey":               "tenant",
	"backoffice_end_users_pkey":                     "id",
	"backoffice_end_users_tenant_id_fkey":           "tenant",
	"backoffice_end_users_tenant_id_parent_id_fkey": "parent",
	"backoffice_onboardings_pkey":                   "id",
	"backoffice_onboardings_activation_id_key":      "activation",
	"backoffice_onboardings_tenant_id_fkey":         "tenant",
	"backoffice_devices_pkey":                       "id",
	"backoffice_devices_tenant_id_user_id_fkey":     "user",
	"backoffice_audit_entries_pkey":                 "audit_entry",
}

type sqlStater interface{ SQLState() string }

// internalError hides a driver error from the caller's user but keeps it
// for the host's logs: errors.Unwrap gives the cause.
type internalError struct {
	op    string
	cause error
}

func (e *internalError) Error() string {
	return e.op + ": storage error; the details are in the server log"
}
func (e *internalError) Unwrap() error { return e.cause }

// mapErr translates a driver error into the module's kinds.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *backoffice.Error
	switch {
	case errors.As(err, &ae):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, err)
	case errors.Is(err, sql.ErrNoRows):
		return backoffice.NewError(backoffice.ErrNotFound, op, "no such record")
	}
	var st sqlStater
	if errors.As(err, &st) {
		field := ""
		if m := constraintRe.FindStringSubmatch(err.Error()); m != nil {
			field = fieldOf[m[1]]
		}
		fields := func(reason string) []backoffice.FieldViolation {
			if field == "" {
				return nil
			}
			return []backoffice.FieldViolation{{Field: field, Reason: reason}}
		}
		code := st.SQLState()
		switch {
		case code == "23505":
			return backoffice.NewError(backoffice.ErrConflict, op, "already taken in this tenant", fields("already taken")...)
		case code == "23503":
			return backoffice.NewError(backoffice.ErrInvalid, op, "refers to a record that does not exist in this tenant", fields("no such record")...)
		case code == "23514", code == "22P02", code == "22021", code == "22001":
			return backoffice.NewError(backoffice.ErrInvalid, op, "a value is out of its allowed range", fields("invalid")...)
		case code == "40001", code == "40P01":
			return backoffice.NewError(backoffice.ErrConflict, op, "a concurrent change won; retry")
		case len(code) == 5 && (code[:2] == "08" || code[:2] == "57" || code[:2] == "53"), code == "55P03":
			// Connection lost, server shutting down or starting, a
			// statement or lock timeout, resources exhausted.
			return &backoffice.Error{Kind: backoffice.ErrUnavailable, Op: op, Msg: "the database is unavailable; retry shortly"}
		}
		return &internalError{op: op, cause: err}
	}
	var ne net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.As(err, &ne) || errors.Is(err, sql.ErrConnDone) || isConnRefused(err) {
		return fmt.Errorf("%w", &backoffice.Error{Kind: backoffice.ErrUnavailable, Op: op, Msg: "the database is unavailable; retry shortly"})
	}
	return &internalError{op: op, cause: err}
}

func isConnRefused(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

// missing tells a missing record from a stale version after an update or
// delete touched no row.
func (s *Store) missing(ctx context.Context, op, query string, args ...any) error {
	var v int64
	err := s.get(ctx, nil, &v, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return backoffice.NewError(backoffice.ErrNotFound, op, "no such record in this tenant")
	}
	if err != nil {
		return mapErr(op, err)
	}
	return backoffice.NewError(backoffice.ErrConflict, op, "the record changed since you read it; reload and retry")
}

// columns lists the db-tagged fields of a row struct, for the SELECT and
// RETURNING clauses: every query names its columns, so that a column a
// later migration adds never breaks an instance still running this code.
func columns(row any) string {
	t := reflect.TypeOf(row)
	var out []string
	for i := range t.NumField() {
		if c := t.Field(i).Tag.Get("db"); c != "" {
			out = append(out, c)
		}
	}
	return strings.Join(out, ", ")
}

var (
	tenantCols     = columns(tenantRow{})
	operatorCols   = columns(operatorRow{})
	roleCols       = columns(roleRow{})
	auditCols      = columns(auditRow{})
	sessionCols    = columns(sessionRow{})
	tokenCols      = columns(tokenRow{})
	endUserCols    = columns(endUserRow{})
	onboardingCols = columns(onboardingRow{})
	deviceCols     = columns(deviceRow{})
)

// qualified prefixes each column of a list with a table alias.
func qualified(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = alias + "." + c
	}
	return strings.Join(parts, ", ")
}
