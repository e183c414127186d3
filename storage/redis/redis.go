// Package redis keeps what lives best in Redis (D3): operator sessions
// (A18), one-time tokens with their expiry (A7, A11), and the failed-login
// counts behind the three-strikes block (A9), shared by every instance of
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
// accessctl.ErrUnavailable, on which the services fail closed.
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
func (s *Store) opKey(t accessctl.TenantID, o accessctl.OperatorID) string {
	return s.prefix + ":{" + base64.RawURLEncoding.EncodeToString([]byte(t)) + "." + base64.RawURLEncoding.EncodeToString([]byte(o)) + "}"
}

// scoped finds the operator key of a session or token id.
func (s *Store) scoped(id string) (string, accessctl.TenantID, bool) {
	t, o, ok := accessctl.SplitScopedID(id)
	if !ok {
		return "", "", false
	}
	return s.opKey(t, o), t, true
}

func notFound(op string) error { return accessctl.Errorf(accessctl.ErrNotFound, op, "no such record") }

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
	return &accessctl.Error{Kind: accessctl.ErrUnavailable, Op: op, Msg: "the session store is unavailable; retry shortly"}
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

func decodeSession(id string, t accessctl.TenantID, o accessctl.OperatorID, v string) (*accessctl.Session, error) {
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
func (s *Store) Sessions(ctx context.Context, tenant accessctl.TenantID, op accessctl.OperatorID) ([]*accessctl.Session, error) {
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
func (s *Store) DeleteSession(ctx context.Context, tenant accessctl.TenantID, id string) error {
	key, t, ok := s.scoped(id)
	if !ok || t != tenant {
		return nil
	}
	return mapErr("redis: delete session", s.c.HDel(ctx, key+":sessions", id).Err())
}

// DeleteOperatorSessions implements accessctl.SessionStore: one DEL of the
// operator's session hash, atomic and seen by every instance at once.
func (s *Store) DeleteOperatorSessions(ctx context.Context, tenant accessctl.TenantID, op accessctl.OperatorID) error {
	return mapErr("redis: delete sessions", s.c.Del(ctx, s.opKey(tenant, op)+":sessions").Err())
}

// Tokens: one hash per operator and purpose, so issuing one voids the
// earlier one.

func (s *Store) tokenKey(t accessctl.TenantID, o accessctl.OperatorID, purpose accessctl.TokenPurpose) string {
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

func decodeToken(purpose accessctl.TokenPurpose, t accessctl.TenantID, o accessctl.OperatorID, m map[string]string) (*accessctl.Token, error) {
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
func (s *Store) DeleteOperatorTokens(ctx context.Context, tenant accessctl.TenantID, op accessctl.OperatorID) error {
	keys := []string{}
	for _, p := range []accessctl.TokenPurpose{accessctl.PurposeInvitation, accessctl.PurposePasswordReset, accessctl.PurposeMFAChallenge} {
		keys = append(keys, s.tokenKey(tenant, op, p))
	}
	return mapErr("redis: delete tokens", s.c.Del(ctx, keys...).Err())
}

// Attempts: one hash per operator with the count and the last failure.

// failScript adds a failure at ARGV[1] (µs) to a run that ends ARGV[2] µs
// after its last failure, keeps the key ARGV[3] ms, and returns the count
// and the last failure: one atomic round trip, so concurrent failures on
// any instance each see their own count.
var failScript = goredis.NewScript(`
local last = tonumber(redis.call('HGET', KEYS[1], 'last'))
local at = tonumber(ARGV[1])
if last and at - last > tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  last = nil
end
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
if not last or at > last then
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
  last = at
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {count, string.format('%.0f', last)}`)

// RecordFailure implements accessctl.AttemptStore.
func (s *Store) RecordFailure(ctx context.Context, tenant accessctl.TenantID, op accessctl.OperatorID, at time.Time, window time.Duration) (accessctl.Attempts, error) {
	const opn = "redis: record failure"
	keep := window + time.Hour // the services' clock decides; the TTL only cleans up
	v, err := failScript.Run(ctx, s.c, []string{s.opKey(tenant, op) + ":fails"}, at.UnixMicro(), window.Microseconds(), keep.Milliseconds()).Slice()
	if err != nil {
		return accessctl.Attempts{}, mapErr(opn, err)
	}
	count, ok1 := v[0].(int64)
	lastStr, ok2 := v[1].(string)
	last, err := fromMicros(lastStr)
	if !ok1 || !ok2 || err != nil {
		return accessctl.Attempts{}, &internalError{op: opn, cause: fmt.Errorf("unexpected reply %v", v)}
	}
	return accessctl.Attempts{Count: int(count), Last: last}, nil
}

// Attempts implements accessctl.AttemptStore.
func (s *Store) Attempts(ctx context.Context, tenant accessctl.TenantID, op accessctl.OperatorID) (accessctl.Attempts, error) {
	const opn = "redis: attempts"
	v, err := s.c.HMGet(ctx, s.opKey(tenant, op)+":fails", "count", "last").Result()
	if err != nil {
		return accessctl.Attempts{}, mapErr(opn, err)
	}
	cs, _ := v[0].(string)
	ls, _ := v[1].(string)
	if cs == "" {
		return accessctl.Attempts{}, nil
	}
	count, err1 := strconv.Atoi(cs)
	last, err2 := fromMicros(ls)
	if err1 != nil || err2 != nil {
		return accessctl.Attempts{}, &internalError{op: opn, cause: errors.Join(err1, err2)}
	}
	return accessctl.Attempts{Count: count, Last: last}, nil
}

// ResetAttempts implements accessctl.AttemptStore.
func (s *Store) ResetAttempts(ctx context.Context, tenant accessctl.TenantID, op accessctl.OperatorID) error {
	return mapErr("redis: reset attempts", s.c.Del(ctx, s.opKey(tenant, op)+":fails").Err())
}
