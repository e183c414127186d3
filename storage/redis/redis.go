// Package redis keeps what lives best in Redis (D3): operator sessions
// (A18), one-time tokens with their expiry (A7, A11), and the failed-login
// login attempts behind the three-strikes block (A9, A20), shared by every instance of
// the host.
//
// It takes the host's redis.UniversalClient from
// github.com/redis/go-redis/v9, so a single node, Sentinel and Cluster all
// work: every key of one operator carries the same hash tag, its tenant and
// operator, so they live in one slot and multi-key operations on them are
// atomic. Session and token ids carry that scope (accessctl.ScopedID),
// which is how a lookup by id finds the slot.
//
// Tokens and sessions are stored only under the SHA-256 of what the client
// holds. Expiry uses Redis TTLs, set to each record's lifetime, to clean up;
// the services' clock decides validity. Each check, consumption and failure count is one round trip: a
// single command, a MULTI, or a Lua script. Any error talking to Redis is
// backoffice.ErrUnavailable, on which the services fail closed.
package redis

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// Options configures a Store; nil means the defaults.
type Options struct {
	// Prefix starts every key; default "backoffice". Hosts sharing a Redis
	// between environments give each its own.
	Prefix string
}

// Store implements accessctl.SessionStore, TokenStore and AttemptStore. It
// is safe for concurrent use.
type Store struct {
	c      goredis.UniversalClient
	prefix string
}

var (
	_ accessctl.SessionStore = (*Store)(nil)
	_ accessctl.TokenStore   = (*Store)(nil)
	_ accessctl.AttemptStore = (*Store)(nil)
)

// New returns a store on the host's client.
func New(c goredis.UniversalClient, opts *Options) *Store {
	s := &Store{c: c, prefix: "backoffice"}
	if opts != nil && opts.Prefix != "" {
		s.prefix = opts.Prefix
	}
	return s
}

// Ping checks that Redis answers, for a host's readiness probe.
func (s *Store) Ping(ctx context.Context) error {
	return mapErr("redis: ping", s.c.Ping(ctx).Err())
}

// opKey is the key prefix of one operator's records; the braces make its
// tenant and operator the hash tag.
func (s *Store) opKey(t backoffice.TenantID, o accessctl.OperatorID) string {
	return s.prefix + ":{" + base64.RawURLEncoding.EncodeToString([]byte(t)) + "." + base64.RawURLEncoding.EncodeToString([]byte(o)) + "}"
}

// scoped finds the operator key of a session or token id.
func (s *Store) scoped(id string) (string, backoffice.TenantID, bool) {
	t, o, ok := accessctl.SplitScopedID(id)
	if !ok {
		return "", "", false
	}
	return s.opKey(t, o), t, true
}

func notFound(op string) error {
	return backoffice.NewError(backoffice.ErrNotFound, op, "no such record")
}

// mapErr turns client errors into the module's kinds: redis.Nil is not
// found; a reply error from the server is internal; anything else (a
// refused or broken connection, a pool timeout) is ErrUnavailable.
func mapErr(op string, err error) error {
	var reply goredis.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, goredis.Nil):
		return notFound(op)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", op, err)
	case errors.As(err, &reply) && !strings.HasPrefix(reply.Error(), "LOADING") && !strings.HasPrefix(reply.Error(), "CLUSTERDOWN"):
		return &internalError{op: op, cause: err}
	}
	return &backoffice.Error{Kind: backoffice.ErrUnavailable, Op: op, Msg: "the session store is unavailable; retry shortly"}
}

type internalError struct {
	op    string
	cause error
}

func (e *internalError) Error() string {
	return e.op + ": storage error; the details are in the server log"
}
func (e *internalError) Unwrap() error { return e.cause }

func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

func fromMicros(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(n).UTC(), nil
}

// lifetime is how long Redis keeps a record: its own lifetime by the
// services' clock, plus a minute. It is relative, so a skew between the
// host's clock and Redis's cannot drop a live record; the services' clock
// decides validity anyway.
func lifetime(created, expires time.Time) time.Duration {
	return max(expires.Sub(created), 0) + time.Minute
}

// expireIn keeps a key until the latest of its records expires: NX sets a
// first expiry, GT only ever extends it.
func expireIn(ctx context.Context, p goredis.Pipeliner, key string, d time.Duration) {
	p.Do(ctx, "PEXPIRE", key, d.Milliseconds(), "NX")
	p.Do(ctx, "PEXPIRE", key, d.Milliseconds(), "GT")
}

// Sessions: one hash per operator, field = session id.

func encodeSession(x *accessctl.Session) string {
	return fmt.Sprintf("%d|%s|%s", x.Epoch, micros(x.CreatedAt), micros(x.ExpiresAt))
}

func decodeSession(id string, t backoffice.TenantID, o accessctl.OperatorID, v string) (*accessctl.Session, error) {
	parts := strings.Split(v, "|")
	if len(parts) != 3 {
		return nil, fmt.Errorf("malformed session record")
	}
	epoch, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return nil, err
	}
	created, err := fromMicros(parts[1])
	if err != nil {
		return nil, err
	}
	expires, err := fromMicros(parts[2])
	if err != nil {
		return nil, err
	}
	return &accessctl.Session{ID: id, Tenant: t, Operator: o, Epoch: epoch, CreatedAt: created, ExpiresAt: expires}, nil
}

// CreateSession implements accessctl.SessionStore.
func (s *Store) CreateSession(ctx context.Context, x *accessctl.Session) error {
	key := s.opKey(x.Tenant, x.Operator) + ":sessions"
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, key, x.ID, encodeSession(x))
		expireIn(ctx, p, key, lifetime(x.CreatedAt, x.ExpiresAt))
		return nil
	})
	return mapErr("redis: create session", err)
}

// Session implements accessctl.SessionStore: one HGET.
func (s *Store) Session(ctx context.Context, id string) (*accessctl.Session, error) {
	const op = "redis: session"
	t, o, ok := accessctl.SplitScopedID(id)
	if !ok {
		return nil, notFound(op)
	}
	v, err := s.c.HGet(ctx, s.opKey(t, o)+":sessions", id).Result()
	if err != nil {
		return nil, mapErr(op, err)
	}
	x, err := decodeSession(id, t, o, v)
	if err != nil {
		return nil, &internalError{op: op, cause: err}
	}
	return x, nil
}

// Sessions implements accessctl.SessionStore.
func (s *Store) Sessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) ([]*accessctl.Session, error) {
	m, err := s.c.HGetAll(ctx, s.opKey(tenant, op)+":sessions").Result()
	if err != nil {
		return nil, mapErr("redis: sessions", err)
	}
	out := make([]*accessctl.Session, 0, len(m))
	for id, v := range m {
		x, err := decodeSession(id, tenant, op, v)
		if err != nil {
			return nil, &internalError{op: "redis: sessions", cause: err}
		}
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b *accessctl.Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// DeleteSession implements accessctl.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, tenant backoffice.TenantID, id string) error {
	key, t, ok := s.scoped(id)
	if !ok || t != tenant {
		return nil
	}
	return mapErr("redis: delete session", s.c.HDel(ctx, key+":sessions", id).Err())
}

// DeleteOperatorSessions implements accessctl.SessionStore: one DEL of the
// operator's session hash, atomic and seen by every instance at once.
func (s *Store) DeleteOperatorSessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	return mapErr("redis: delete sessions", s.c.Del(ctx, s.opKey(tenant, op)+":sessions").Err())
}

// Tokens: one hash per operator and purpose, so issuing one voids the
// earlier one.

func (s *Store) tokenKey(t backoffice.TenantID, o accessctl.OperatorID, purpose accessctl.TokenPurpose) string {
	return s.opKey(t, o) + ":token:" + string(purpose)
}

// IssueToken implements accessctl.TokenStore: DEL, HSET and PEXPIREAT in
// one MULTI.
func (s *Store) IssueToken(ctx context.Context, t *accessctl.Token) error {
	key := s.tokenKey(t.Tenant, t.Operator, t.Purpose)
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key, "id", t.ID, "created", micros(t.CreatedAt), "expires", micros(t.ExpiresAt))
		p.PExpire(ctx, key, lifetime(t.CreatedAt, t.ExpiresAt))
		return nil
	})
	return mapErr("redis: issue token", err)
}

func decodeToken(purpose accessctl.TokenPurpose, t backoffice.TenantID, o accessctl.OperatorID, m map[string]string) (*accessctl.Token, error) {
	created, err := fromMicros(m["created"])
	if err != nil {
		return nil, err
	}
	expires, err := fromMicros(m["expires"])
	if err != nil {
		return nil, err
	}
	return &accessctl.Token{ID: m["id"], Purpose: purpose, Tenant: t, Operator: o, CreatedAt: created, ExpiresAt: expires}, nil
}

// Token implements accessctl.TokenStore.
func (s *Store) Token(ctx context.Context, purpose accessctl.TokenPurpose, id string) (*accessctl.Token, error) {
	const op = "redis: token"
	t, o, ok := accessctl.SplitScopedID(id)
	if !ok {
		return nil, notFound(op)
	}
	m, err := s.c.HGetAll(ctx, s.tokenKey(t, o, purpose)).Result()
	if err != nil {
		return nil, mapErr(op, err)
	}
	if m["id"] != id {
		return nil, notFound(op)
	}
	tok, err := decodeToken(purpose, t, o, m)
	if err != nil {
		return nil, &internalError{op: op, cause: err}
	}
	return tok, nil
}

// consumeScript returns and deletes the token hash if it holds the id,
// atomically: of many concurrent consumers, one gets it.
var consumeScript = goredis.NewScript(`
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return false end
local v = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return v`)

// ConsumeToken implements accessctl.TokenStore: one Lua script.
func (s *Store) ConsumeToken(ctx context.Context, purpose accessctl.TokenPurpose, id string) (*accessctl.Token, error) {
	const op = "redis: consume token"
	t, o, ok := accessctl.SplitScopedID(id)
	if !ok {
		return nil, notFound(op)
	}
	v, err := consumeScript.Run(ctx, s.c, []string{s.tokenKey(t, o, purpose)}, id).StringSlice()
	if err != nil {
		return nil, mapErr(op, err)
	}
	m := make(map[string]string, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		m[v[i]] = v[i+1]
	}
	tok, err := decodeToken(purpose, t, o, m)
	if err != nil {
		return nil, &internalError{op: op, cause: err}
	}
	return tok, nil
}

// DeleteOperatorTokens implements accessctl.TokenStore: one DEL of the
// operator's token keys, which share a slot.
func (s *Store) DeleteOperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	keys := []string{}
	for _, p := range []accessctl.TokenPurpose{accessctl.PurposeInvitation, accessctl.PurposePasswordReset, accessctl.PurposeMFAChallenge} {
		keys = append(keys, s.tokenKey(tenant, op, p))
	}
	return mapErr("redis: delete tokens", s.c.Del(ctx, keys...).Err())
}

// Attempts: one hash per operator with the run's settled failures
// (count), its unsettled reservations (pending) and its last attempt in
// microseconds (last). Each call is one Lua script: one atomic round trip,
// so reservations from every instance never overshoot the limit.

// reserveScript takes an attempt at ARGV[1] (µs) if the run holds fewer
// than ARGV[2]; ARGV[3..5] are the window, cooldown and lease in µs, and
// ARGV[6] the key's TTL in ms. It returns 1 when it took one, 0 (having
// written nothing) when the run is full.
var reserveScript = goredis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'count', 'pending', 'last')
local at, max = tonumber(ARGV[1]), tonumber(ARGV[2])
local count, pending, last = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3])
if last then
  local since = at - last
  if since > tonumber(ARGV[5]) then pending = 0 end
  if (count >= max and since >= tonumber(ARGV[4])) or (count < max and since >= tonumber(ARGV[3])) then
    count, pending = 0, 0
  end
end
if count + pending >= max then return 0 end
if not last or at > last then last = at end
redis.call('HSET', KEYS[1], 'count', count, 'pending', pending + 1, 'last', string.format('%.0f', last))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1`)

// settleScript ends a reservation with outcome ARGV[2] (1 failed, 2
// returned, 3 succeeded) at ARGV[1] (µs) and returns the run; a failure
// with no run starts one that lives ARGV[3] ms.
var settleScript = goredis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'count', 'pending', 'last')
local at, outcome = tonumber(ARGV[1]), tonumber(ARGV[2])
if not v[3] then
  if outcome ~= 1 then return {0, 0, ''} end
  redis.call('HSET', KEYS[1], 'count', 1, 'pending', 0, 'last', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, 0, ARGV[1]}
end
local count, pending, last = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3])
if pending > 0 then pending = pending - 1 end
if outcome == 1 then
  count = count + 1
  if at > last then last = at end
elseif outcome == 3 then
  count = 0
end
local ls = string.format('%.0f', last)
redis.call('HSET', KEYS[1], 'count', count, 'pending', pending, 'last', ls)
return {count, pending, ls}`)

// orphanTTL keeps a run that a failure started after a reset: the
// services' clock decides when it ends; the TTL only cleans up.
const orphanTTL = 48 * time.Hour

func (s *Store) runKey(tenant backoffice.TenantID, op accessctl.OperatorID) []string {
	return []string{s.opKey(tenant, op) + ":fails"}
}

// ReserveAttempt implements accessctl.AttemptStore.
func (s *Store) ReserveAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, l accessctl.AttemptLimit) (bool, error) {
	keep := max(l.Window, l.Cooldown) + l.Lease + time.Hour // the services' clock decides; the TTL only cleans up
	n, err := reserveScript.Run(ctx, s.c, s.runKey(tenant, op), at.UnixMicro(), l.Max, l.Window.Microseconds(),
		l.Cooldown.Microseconds(), l.Lease.Microseconds(), keep.Milliseconds()).Int()
	if err != nil {
		return false, mapErr("redis: reserve attempt", err)
	}
	return n == 1, nil
}

// SettleAttempt implements accessctl.AttemptStore.
func (s *Store) SettleAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, o accessctl.AttemptOutcome) (accessctl.Attempts, error) {
	const opn = "redis: settle attempt"
	v, err := settleScript.Run(ctx, s.c, s.runKey(tenant, op), at.UnixMicro(), int(o), orphanTTL.Milliseconds()).Slice()
	if err != nil {
		return accessctl.Attempts{}, mapErr(opn, err)
	}
	count, ok1 := v[0].(int64)
	pending, ok2 := v[1].(int64)
	lastStr, ok3 := v[2].(string)
	if !ok1 || !ok2 || !ok3 {
		return accessctl.Attempts{}, &internalError{op: opn, cause: fmt.Errorf("unexpected reply %v", v)}
	}
	if lastStr == "" {
		return accessctl.Attempts{}, nil
	}
	last, err := fromMicros(lastStr)
	if err != nil {
		return accessctl.Attempts{}, &internalError{op: opn, cause: err}
	}
	return accessctl.Attempts{Failures: int(count), Pending: int(pending), Last: last}, nil
}

// Attempts implements accessctl.AttemptStore.
func (s *Store) Attempts(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (accessctl.Attempts, error) {
	const opn = "redis: attempts"
	v, err := s.c.HMGet(ctx, s.runKey(tenant, op)[0], "count", "pending", "last").Result()
	if err != nil {
		return accessctl.Attempts{}, mapErr(opn, err)
	}
	cs, _ := v[0].(string)
	ps, _ := v[1].(string)
	ls, _ := v[2].(string)
	if ls == "" {
		return accessctl.Attempts{}, nil
	}
	count, err1 := strconv.Atoi(cs)
	pending, err2 := strconv.Atoi(ps)
	if ps == "" {
		pending, err2 = 0, nil
	}
	last, err3 := fromMicros(ls)
	if err1 != nil || err2 != nil || err3 != nil {
		return accessctl.Attempts{}, &internalError{op: opn, cause: errors.Join(err1, err2, err3)}
	}
	return accessctl.Attempts{Failures: count, Pending: pending, Last: last}, nil
}

// ResetAttempts implements accessctl.AttemptStore.
func (s *Store) ResetAttempts(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	return mapErr("redis: reset attempts", s.c.Del(ctx, s.runKey(tenant, op)...).Err())
}
