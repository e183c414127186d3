package postgres

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backoffice-go/backoffice"
)

// replica is the read replica of Options.Reader: a store of its own (its
// own prepared statements) and whether it is fresh enough, checked at most
// every checkEvery.
type replica struct {
	st         *Store
	primary    *sqlx.DB // where the primary's WAL position is read
	maxLag     time.Duration
	checkEvery time.Duration
	now        func() time.Time

	mu       sync.Mutex
	checked  time.Time
	fresh    bool
	checking bool

	reads ReadStats
}

// ReadStats count where the reads that may lag went: to the replica, to
// the primary because the replica was down or behind, or to the primary
// because the replica failed the read itself.
type ReadStats struct {
	Replica  atomic.Int64
	Primary  atomic.Int64
	Fallback atomic.Int64
}

// Reads are the store's counts of the reads that may lag, by where they
// went; nil without Options.Reader.
func (s *Store) Reads() *ReadStats {
	if s.replica == nil {
		return nil
	}
	return &s.replica.reads
}

// lagQuery is how far behind the primary the replica is, in seconds,
// given the primary's current WAL position ($1): 0 when the replica has
// replayed up to it, else the age of the last transaction it replayed,
// which is never less than the true lag (every commit it lacks is newer).
// A server that is not a standby is never behind.
const lagQuery = `SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0
	WHEN pg_last_wal_replay_lsn() >= $1::pg_lsn THEN 0
	ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9) END`

// ok reports whether the replica is up and at most maxLag behind,
// checking again when the last check is older than checkEvery; one
// caller checks while the others use the last answer.
func (r *replica) ok(ctx context.Context) bool {
	r.mu.Lock()
	if r.checking || r.now().Sub(r.checked) < r.checkEvery {
		fresh := r.fresh
		r.mu.Unlock()
		return fresh
	}
	r.checking = true
	r.mu.Unlock()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	var lsn string
	var lag float64
	err := r.primary.QueryRowContext(cctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn)
	if err == nil {
		err = r.st.db.QueryRowContext(cctx, lagQuery, lsn).Scan(&lag)
	}
	fresh := err == nil && time.Duration(lag*float64(time.Second)) <= r.maxLag
	r.mu.Lock()
	r.checking, r.checked, r.fresh = false, r.now(), fresh
	r.mu.Unlock()
	return fresh
}

// down marks the replica unusable until the next check.
func (r *replica) down() {
	r.mu.Lock()
	r.fresh, r.checked = false, r.now()
	r.mu.Unlock()
}

// onReader runs a read on the replica when ctx allows a lagging read and
// the replica is fresh enough, else on the primary; a read the replica
// fails (no connection, a table a migration has not reached it with yet)
// runs again on the primary.
func (s *Store) onReader(ctx context.Context, read func(st *Store) error) error {
	r := s.replica
	if r == nil || !backoffice.LaggingReadsAllowed(ctx) {
		return read(s)
	}
	if !r.ok(ctx) {
		r.reads.Primary.Add(1)
		return read(s)
	}
	err := read(r.st)
	if err == nil || errors.Is(err, sql.ErrNoRows) || ctx.Err() != nil {
		r.reads.Replica.Add(1)
		return err
	}
	r.down()
	r.reads.Fallback.Add(1)
	return read(s)
}
