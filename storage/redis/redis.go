// Package redis keeps what lives best in Redis: operator sessions,
// one-time tokens with their expiry, and the failed-login
// login attempts behind the three-strikes block, shared by every instance of
// the host.
//
// It takes the host's redis.UniversalClient from
// github.com/redis/go-redis/v9, so a single node, Sentinel and Cluster all
// work: every key of one tenant carries the same hash tag, the tenant, so
// they live in one slot and a script may change several atomically. The
// stores are given (tenant, digest) for a session or token, never the raw
// token.
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
	"encoding/json"
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
	// WaitReplicas, when above zero, makes every write that protects the
	// back office wait until that many replicas hold it (Redis's WAIT)
	// before it is acknowledged: a reserved or failed login attempt, a
	// consumed one-time token or ceremony, a value used once, an ended
	// session, revoked tokens. Then a failover that promotes a replica
	// cannot undo them: it cannot reset a run of failed logins, replay a
	// link, or bring back a session that was ended. A write no replica
	// confirms within WaitTimeout is ErrUnavailable, on which the
	// services fail closed. With Redis Cluster or a primary with
	// replicas, set it to 1. What a failover may still lose is what
	// nobody relies on: a session just opened (its operator logs in
	// again) and a session's last use.
	WaitReplicas int
	// WaitTimeout bounds each WAIT; default 500 ms.
	WaitTimeout time.Duration
}

// Store implements accessctl.SessionStore, TokenStore and AttemptStore. It
// is safe for concurrent use.
type Store struct {
	c           goredis.UniversalClient
	prefix      string
	wait        int
	waitTimeout time.Duration
}

var (
	_ accessctl.SessionStore = (*Store)(nil)
	_ accessctl.TokenStore   = (*Store)(nil)
	_ accessctl.AttemptStore = (*Store)(nil)
)

// New returns a store on the host's client.
func New(c goredis.UniversalClient, opts *Options) *Store {
	s := &Store{c: c, prefix: "backoffice", waitTimeout: 500 * time.Millisecond}
	if opts != nil {
		if opts.Prefix != "" {
			s.prefix = opts.Prefix
		}
		s.wait = max(opts.WaitReplicas, 0)
		if opts.WaitTimeout > 0 {
			s.waitTimeout = opts.WaitTimeout
		}
	}
	return s
}

// protectedScripts are the scripts protect may send to a node that has
// not cached them.
var protectedScripts = []*goredis.Script{deleteSessionsScript, consumeScript, deleteTokensScript, reserveScript, settleScript}

// errNotReplicated is a protected write that too few replicas confirmed.
var errNotReplicated = errors.New("the write reached too few replicas")

// protect runs a write that must survive a failover: queue sends it (or,
// in a pipeline, queues it) and returns its command. Without
// WaitReplicas it runs on the client as any other. With it, it runs on
// the master of key's slot in one pipeline, on one connection, followed
// by WAIT, which returns once that many replicas hold every write the
// connection made.
func (s *Store) protect(ctx context.Context, key string, queue func(c goredis.Cmdable) goredis.Cmder) (goredis.Cmder, error) {
	if s.wait == 0 {
		cmd := queue(s.c)
		return cmd, cmd.Err()
	}
	cc, cluster := s.c.(*goredis.ClusterClient)
	node, ok := s.c.(*goredis.Client)
	if !cluster && !ok {
		return nil, fmt.Errorf("redis: WaitReplicas needs a *redis.Client or a *redis.ClusterClient, not %T", s.c)
	}
	var cmd goredis.Cmder
	var err error
	loaded := false
	for attempt := range 4 {
		if cluster {
			if node, err = cc.MasterForKey(ctx, key); err != nil {
				return nil, err
			}
		}
		pipe := node.Pipeline()
		cmd = queue(pipe)
		wait := pipe.Do(ctx, "WAIT", s.wait, s.waitTimeout.Milliseconds())
		_, _ = pipe.Exec(ctx)
		err = cmd.Err()
		switch {
		case err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") && !loaded:
			// A script this node has not cached (a new node, a
			// failover): load them, and send the write again, which did
			// not run.
			for _, sc := range protectedScripts {
				if lerr := sc.Load(ctx, node).Err(); lerr != nil {
					return cmd, lerr
				}
			}
			loaded = true
			continue
		case cluster && err != nil && movedOn(err) && attempt < 3:
			// The slot moved (a failover, a node's return) and the write
			// did not run: learn where the slot is, and send it there.
			cc.ReloadState(ctx)
			select {
			case <-ctx.Done():
				return cmd, ctx.Err()
			case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
			}
			continue
		case err == nil || errors.Is(err, goredis.Nil):
			n, werr := wait.Int()
			switch {
			case werr != nil:
				err = werr
			case n < s.wait:
				err = errNotReplicated
			}
		}
		break
	}
	if cluster && err != nil && movedOn(err) {
		cc.ReloadState(ctx)
	}
	return cmd, err
}

// movedOn reports whether err says the cluster's slots moved or are not
// served yet.
func movedOn(err error) bool {
	var reply goredis.Error
	if !errors.As(err, &reply) {
		return false
	}
	for _, p := range []string{"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "LOADING"} {
		if strings.HasPrefix(reply.Error(), p) {
			return true
		}
	}
	return false
}

// Ping checks that Redis answers, for a host's readiness probe.
func (s *Store) Ping(ctx context.Context) error {
	return mapErr("redis: ping", s.c.Ping(ctx).Err())
}

// CheckDurable reports whether the server keeps every write across a
// restart or crash: an append-only file fsynced at each write
// (appendonly yes, appendfsync always). Login attempts need that: a
// server that restarts empty forgets each operator's run of failures,
// giving an attacker up to MaxFailures more guesses per restart. Call it
// at startup when Config.Attempts is this store; if the answer is no,
// keep attempts in the durable store instead. A server that does not
// allow CONFIG GET (some managed offerings) answers ErrUnavailable:
// check its documentation for the same guarantee.
func (s *Store) CheckDurable(ctx context.Context) error {
	const op = "redis: check durable"
	conf, err := s.c.ConfigGet(ctx, "append*").Result()
	if err != nil {
		return mapErr(op, err)
	}
	if conf["appendonly"] != "yes" || conf["appendfsync"] != "always" {
		return backoffice.Errorf(backoffice.ErrFailedPrecondition, op,
			"the server may lose writes when it restarts (appendonly %s, appendfsync %s; want yes, always): keep login attempts in the durable store",
			conf["appendonly"], conf["appendfsync"])
	}
	return nil
}

// tenantKey is the key prefix of one tenant's records. The braces make the
// tenant the hash tag: every key of a tenant lives in one Cluster slot, so
// a script may touch several of them atomically.
func (s *Store) tenantKey(t backoffice.TenantID) string {
	return s.prefix + ":{" + base64.RawURLEncoding.EncodeToString([]byte(t)) + "}"
}

// opKey is the key prefix of one operator's records, in its tenant's slot.
func (s *Store) opKey(t backoffice.TenantID, o accessctl.OperatorID) string {
	return s.tenantKey(t) + ":" + base64.RawURLEncoding.EncodeToString([]byte(o))
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
	case errors.As(err, &reply) && !movedOn(err):
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

// Sessions: one key per session, named by its tenant and digest and
// holding "operator|epoch|created|expires" with a TTL of its lifetime, so a
// session check is one GET by (tenant, digest); and one set per operator of
// its sessions' digests, for listing them and ending them all at once.
// Every key of a tenant shares its hash tag, so the scripts that reach the
// sessions of a set stay in one slot.

func (s *Store) sessionPrefix(t backoffice.TenantID) string { return s.tenantKey(t) + ":s:" }

func (s *Store) opSessionsKey(t backoffice.TenantID, o accessctl.OperatorID) string {
	return s.opKey(t, o) + ":sessions"
}

// sessionRecord is what a session key holds, as JSON.
type sessionRecord struct {
	Operator    accessctl.OperatorID  `json:"o"`
	Epoch       int64                 `json:"e"`
	Name        string                `json:"n"`
	Roles       []accessctl.RoleName  `json:"r"`
	AllAccounts bool                  `json:"aa,omitempty"`
	Accounts    []accessctl.AccountID `json:"a,omitempty"`
	CreatedAt   int64                 `json:"c"`
	ExpiresAt   int64                 `json:"x"`
	IdleTimeout int64                 `json:"i,omitempty"`
	// LastSeen is when the session opened; TouchSession keeps later uses
	// in a key of their own (seenKey), read with the session.
	LastSeen    int64                        `json:"ls,omitempty"`
	RoleUntil   map[accessctl.RoleName]int64 `json:"ru,omitempty"`
	AccessUntil int64                        `json:"au,omitempty"`
}

func micro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicro(m int64) time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMicro(m).UTC()
}

func encodeSession(x *accessctl.Session) string {
	r := sessionRecord{Operator: x.Operator, Epoch: x.Epoch, Name: x.Name, Roles: x.Roles, AllAccounts: x.AllAccounts,
		Accounts: x.Accounts, CreatedAt: x.CreatedAt.UnixMicro(), ExpiresAt: x.ExpiresAt.UnixMicro(), IdleTimeout: int64(x.IdleTimeout),
		LastSeen: micro(x.LastSeen), AccessUntil: micro(x.AccessUntil)}
	if len(x.RoleUntil) > 0 {
		r.RoleUntil = make(map[accessctl.RoleName]int64, len(x.RoleUntil))
		for role, t := range x.RoleUntil {
			r.RoleUntil[role] = t.UnixMicro()
		}
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func decodeSession(digest string, t backoffice.TenantID, v string) (*accessctl.Session, error) {
	var r sessionRecord
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return nil, err
	}
	x := &accessctl.Session{ID: digest, Tenant: t, Operator: r.Operator, Epoch: r.Epoch, Name: r.Name, Roles: r.Roles,
		AllAccounts: r.AllAccounts, Accounts: r.Accounts, CreatedAt: time.UnixMicro(r.CreatedAt).UTC(), ExpiresAt: time.UnixMicro(r.ExpiresAt).UTC(),
		IdleTimeout: time.Duration(r.IdleTimeout), LastSeen: fromMicro(r.LastSeen), AccessUntil: fromMicro(r.AccessUntil)}
	if len(r.RoleUntil) > 0 {
		x.RoleUntil = make(map[accessctl.RoleName]time.Time, len(r.RoleUntil))
		for role, m := range r.RoleUntil {
			x.RoleUntil[role] = time.UnixMicro(m).UTC()
		}
	}
	return x, nil
}

// seenKey holds when a session was last used (TouchSession), in
// microseconds; it lives as long as the session.
func (s *Store) seenKey(t backoffice.TenantID, digest string) string {
	return s.sessionPrefix(t) + digest + ":seen"
}

// touchScript moves a session's last use forward, if the session
// (KEYS[1]) still exists, keeping it as long as the session.
var touchScript = goredis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
return 1`)

// TouchSession implements accessctl.SessionStore: one Lua script.
func (s *Store) TouchSession(ctx context.Context, tenant backoffice.TenantID, digest string, at time.Time) error {
	err := touchScript.Run(ctx, s.c, []string{s.sessionPrefix(tenant) + digest, s.seenKey(tenant, digest)}, at.UnixMicro()).Err()
	return mapErr("redis: touch session", err)
}

// rolesVersionKey holds the tenant's roles version (SetRolesVersion),
// read with every session.
func (s *Store) rolesVersionKey(t backoffice.TenantID) string { return s.tenantKey(t) + ":rolesver" }

// SetRolesVersion implements accessctl.SessionStore: one SET.
func (s *Store) SetRolesVersion(ctx context.Context, tenant backoffice.TenantID, version int64) error {
	return mapErr("redis: set roles version", s.c.Set(ctx, s.rolesVersionKey(tenant), version, 0).Err())
}

// CreateSession implements accessctl.SessionStore: SET, SADD and the set's
// expiry (kept until its latest session ends) in one MULTI.
func (s *Store) CreateSession(ctx context.Context, x *accessctl.Session) error {
	life := lifetime(x.CreatedAt, x.ExpiresAt)
	set := s.opSessionsKey(x.Tenant, x.Operator)
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, s.sessionPrefix(x.Tenant)+x.ID, encodeSession(x), life)
		p.SAdd(ctx, set, x.ID)
		p.Do(ctx, "PEXPIRE", set, life.Milliseconds(), "NX")
		p.Do(ctx, "PEXPIRE", set, life.Milliseconds(), "GT")
		return nil
	})
	return mapErr("redis: create session", err)
}

// Session implements accessctl.SessionStore: one MGET of the session and
// the tenant's roles version, which share the tenant's slot.
func (s *Store) Session(ctx context.Context, tenant backoffice.TenantID, digest string) (*accessctl.Session, error) {
	const op = "redis: session"
	v, err := s.c.MGet(ctx, s.sessionPrefix(tenant)+digest, s.rolesVersionKey(tenant), s.seenKey(tenant, digest)).Result()
	if err != nil {
		return nil, mapErr(op, err)
	}
	rec, ok := v[0].(string)
	if !ok {
		return nil, notFound(op)
	}
	x, err := decodeSession(digest, tenant, rec)
	if err != nil {
		return nil, &internalError{op: op, cause: err}
	}
	if ver, ok := v[1].(string); ok {
		if x.RolesVersion, err = strconv.ParseInt(ver, 10, 64); err != nil {
			return nil, &internalError{op: op, cause: err}
		}
	}
	if seen, ok := v[2].(string); ok {
		m, err := strconv.ParseInt(seen, 10, 64)
		if err != nil {
			return nil, &internalError{op: op, cause: err}
		}
		x.LastSeen = fromMicro(m)
	}
	return x, nil
}

// operatorSessionsScript returns the records of the sessions in the set
// KEYS[1] (keys named ARGV[1] + digest) as digest, record pairs, and drops
// the digests of sessions gone.
var operatorSessionsScript = goredis.NewScript(`
local out = {}
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('GET', ARGV[1] .. d)
  if v then
    out[#out + 1] = d
    out[#out + 1] = v
  else
    redis.call('SREM', KEYS[1], d)
  end
end
return out`)

// Sessions implements accessctl.SessionStore: one Lua script.
func (s *Store) Sessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) ([]*accessctl.Session, error) {
	const opn = "redis: sessions"
	v, err := operatorSessionsScript.Run(ctx, s.c, []string{s.opSessionsKey(tenant, op)}, s.sessionPrefix(tenant)).StringSlice()
	if err != nil {
		return nil, mapErr(opn, err)
	}
	out := make([]*accessctl.Session, 0, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		x, err := decodeSession(v[i], tenant, v[i+1])
		if err != nil {
			return nil, &internalError{op: opn, cause: err}
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

// DeleteSession implements accessctl.SessionStore: one DEL. Its digest
// leaves the operator's set at the next listing.
func (s *Store) DeleteSession(ctx context.Context, tenant backoffice.TenantID, digest string) error {
	key := s.sessionPrefix(tenant) + digest
	_, err := s.protect(ctx, key, func(c goredis.Cmdable) goredis.Cmder { return c.Del(ctx, key) })
	return mapErr("redis: delete session", err)
}

// deleteSessionsScript removes every session of the set KEYS[1] (keys
// named ARGV[1] + digest), and the set.
var deleteSessionsScript = goredis.NewScript(`
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('DEL', ARGV[1] .. d)
end
redis.call('DEL', KEYS[1])
return 1`)

// DeleteOperatorSessions implements accessctl.SessionStore: one Lua
// script, atomic and seen by every instance at once.
func (s *Store) DeleteOperatorSessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	key := s.opSessionsKey(tenant, op)
	_, err := s.protect(ctx, key, func(c goredis.Cmdable) goredis.Cmder {
		return deleteSessionsScript.Run(ctx, c, []string{key}, s.sessionPrefix(tenant))
	})
	return mapErr("redis: delete sessions", err)
}

// Tokens: one key per token, named by its tenant and digest and holding
// "purpose|operator|created|expires" with a TTL of its lifetime; and per
// operator and purpose a key holding the digest of its live token, so that
// issuing one voids the one before.

func (s *Store) tokenPrefix(t backoffice.TenantID) string { return s.tenantKey(t) + ":t:" }

func (s *Store) liveTokenKey(t backoffice.TenantID, o accessctl.OperatorID, purpose accessctl.TokenPurpose) string {
	return s.opKey(t, o) + ":token:" + string(purpose)
}

func encodeToken(t *accessctl.Token) string {
	return fmt.Sprintf("%s|%s|%s|%s", t.Purpose, base64.RawURLEncoding.EncodeToString([]byte(t.Operator)), micros(t.CreatedAt), micros(t.ExpiresAt))
}

func decodeToken(digest string, t backoffice.TenantID, v string) (*accessctl.Token, error) {
	parts := strings.Split(v, "|")
	if len(parts) != 4 {
		return nil, fmt.Errorf("malformed token record")
	}
	op, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	created, err := fromMicros(parts[2])
	if err != nil {
		return nil, err
	}
	expires, err := fromMicros(parts[3])
	if err != nil {
		return nil, err
	}
	return &accessctl.Token{ID: digest, Purpose: accessctl.TokenPurpose(parts[0]), Tenant: t, Operator: accessctl.OperatorID(op),
		CreatedAt: created, ExpiresAt: expires}, nil
}

// issueTokenScript voids the live token whose digest KEYS[1] holds (keys
// named ARGV[1] + digest), stores the new one at KEYS[2] (ARGV[2] its
// digest, ARGV[3] its record) and points KEYS[1] at it, both for ARGV[4] ms.
var issueTokenScript = goredis.NewScript(`
local old = redis.call('GET', KEYS[1])
if old then redis.call('DEL', ARGV[1] .. old) end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
return 1`)

// IssueToken implements accessctl.TokenStore: one Lua script.
func (s *Store) IssueToken(ctx context.Context, t *accessctl.Token) error {
	prefix := s.tokenPrefix(t.Tenant)
	err := issueTokenScript.Run(ctx, s.c, []string{s.liveTokenKey(t.Tenant, t.Operator, t.Purpose), prefix + t.ID},
		prefix, t.ID, encodeToken(t), lifetime(t.CreatedAt, t.ExpiresAt).Milliseconds()).Err()
	return mapErr("redis: issue token", err)
}

// OperatorTokens implements accessctl.TokenStore: an MGET of the
// operator's live pointers, one per purpose, then an MGET of the tokens
// they name; both in the tenant's slot.
func (s *Store) OperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) ([]*accessctl.Token, error) {
	const opName = "redis: operator tokens"
	purposes := []accessctl.TokenPurpose{accessctl.PurposeInvitation, accessctl.PurposePasswordReset, accessctl.PurposeMFAChallenge}
	keys := make([]string, len(purposes))
	for i, p := range purposes {
		keys[i] = s.liveTokenKey(tenant, op, p)
	}
	digests, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, mapErr(opName, err)
	}
	var ids, tokenKeys []string
	for _, d := range digests {
		if d, ok := d.(string); ok {
			ids = append(ids, d)
			tokenKeys = append(tokenKeys, s.tokenPrefix(tenant)+d)
		}
	}
	if len(tokenKeys) == 0 {
		return nil, nil
	}
	vals, err := s.c.MGet(ctx, tokenKeys...).Result()
	if err != nil {
		return nil, mapErr(opName, err)
	}
	var out []*accessctl.Token
	for i, v := range vals {
		v, ok := v.(string)
		if !ok {
			continue // used or expired between the two reads
		}
		tok, err := decodeToken(ids[i], tenant, v)
		if err != nil {
			return nil, &internalError{op: opName, cause: err}
		}
		out = append(out, tok)
	}
	return out, nil
}

// Token implements accessctl.TokenStore: one GET.
func (s *Store) Token(ctx context.Context, purpose accessctl.TokenPurpose, tenant backoffice.TenantID, digest string) (*accessctl.Token, error) {
	const op = "redis: token"
	v, err := s.c.Get(ctx, s.tokenPrefix(tenant)+digest).Result()
	if err != nil {
		return nil, mapErr(op, err)
	}
	tok, err := decodeToken(digest, tenant, v)
	if err != nil {
		return nil, &internalError{op: op, cause: err}
	}
	if tok.Purpose != purpose {
		return nil, notFound(op)
	}
	return tok, nil
}

// consumeScript returns and deletes the token KEYS[1] if it is of purpose
// ARGV[1], atomically: of many concurrent consumers, one gets it.
var consumeScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return false end
redis.call('DEL', KEYS[1])
return v`)

// ConsumeToken implements accessctl.TokenStore: one Lua script.
func (s *Store) ConsumeToken(ctx context.Context, purpose accessctl.TokenPurpose, tenant backoffice.TenantID, digest string) (*accessctl.Token, error) {
	const op = "redis: consume token"
	key := s.tokenPrefix(tenant) + digest
	cmd, err := s.protect(ctx, key, func(c goredis.Cmdable) goredis.Cmder {
		return consumeScript.Run(ctx, c, []string{key}, string(purpose))
	})
	var v string
	if err == nil {
		v, err = cmd.(*goredis.Cmd).Text()
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	tok, err := decodeToken(digest, tenant, v)
	if err != nil {
		return nil, &internalError{op: op, cause: err}
	}
	return tok, nil
}

// deleteTokensScript voids the live tokens whose digests KEYS[1..] hold
// (keys named ARGV[1] + digest), and the pointers.
var deleteTokensScript = goredis.NewScript(`
for i = 1, #KEYS do
  local d = redis.call('GET', KEYS[i])
  if d then redis.call('DEL', ARGV[1] .. d) end
  redis.call('DEL', KEYS[i])
end
return 1`)

// DeleteOperatorTokens implements accessctl.TokenStore: one Lua script.
func (s *Store) DeleteOperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	var keys []string
	for _, p := range []accessctl.TokenPurpose{accessctl.PurposeInvitation, accessctl.PurposePasswordReset, accessctl.PurposeMFAChallenge} {
		keys = append(keys, s.liveTokenKey(tenant, op, p))
	}
	_, err := s.protect(ctx, keys[0], func(c goredis.Cmdable) goredis.Cmder {
		return deleteTokensScript.Run(ctx, c, keys, s.tokenPrefix(tenant))
	})
	return mapErr("redis: delete tokens", err)
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
	keys := s.runKey(tenant, op)
	cmd, err := s.protect(ctx, keys[0], func(c goredis.Cmdable) goredis.Cmder {
		return reserveScript.Run(ctx, c, keys, at.UnixMicro(), l.Max, l.Window.Microseconds(),
			l.Cooldown.Microseconds(), l.Lease.Microseconds(), keep.Milliseconds())
	})
	var n int
	if err == nil {
		n, err = cmd.(*goredis.Cmd).Int()
	}
	if err != nil {
		return false, mapErr("redis: reserve attempt", err)
	}
	return n == 1, nil
}

// SettleAttempt implements accessctl.AttemptStore.
func (s *Store) SettleAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, o accessctl.AttemptOutcome) (accessctl.Attempts, error) {
	const opn = "redis: settle attempt"
	keys := s.runKey(tenant, op)
	cmd, err := s.protect(ctx, keys[0], func(c goredis.Cmdable) goredis.Cmder {
		return settleScript.Run(ctx, c, keys, at.UnixMicro(), int(o), orphanTTL.Milliseconds())
	})
	var v []any
	if err == nil {
		v, err = cmd.(*goredis.Cmd).Slice()
	}
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

// UseOnce implements accessctl.OnceStore: SET NX with the record's
// lifetime, in the tenant's slot.
func (s *Store) UseOnce(ctx context.Context, tenant backoffice.TenantID, key string, at, until time.Time) (bool, error) {
	ttl := until.Sub(at)
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	k := s.tenantKey(tenant) + ":once:" + key
	cmd, err := s.protect(ctx, k, func(c goredis.Cmdable) goredis.Cmder { return c.SetNX(ctx, k, 1, ttl) })
	var ok bool
	if err == nil {
		ok, err = cmd.(*goredis.BoolCmd).Result()
	}
	if err != nil {
		return false, mapErr("redis: use once", err)
	}
	return ok, nil
}
