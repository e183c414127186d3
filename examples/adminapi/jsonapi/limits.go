package jsonapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// Abuse limits: how often one client address, one account or one
// operator may try the expensive or sensitive calls. They stand in front
// of the library's own defences (login attempts are reserved and counted
// per operator whatever the rate): they keep a flood from costing hashing
// slots and mail, and a script from walking the end users.

// rule allows n calls per window for one key: n at once, then one every
// window/n (the generic cell rate algorithm).
type rule struct {
	name string
	n    int
	per  time.Duration
}

func (r rule) interval() time.Duration { return r.per / time.Duration(r.n) }

// The rules. An address is generous, since an office's operators may
// share one; an account or an actor is strict.
var (
	loginPerAddr     = rule{"login_addr", 300, time.Minute}
	loginPerAccount  = rule{"login_account", 10, time.Minute}
	mfaPerAddr       = rule{"mfa_addr", 300, time.Minute}
	forgotPerAddr    = rule{"forgot_addr", 30, time.Minute}
	forgotPerAccount = rule{"forgot_account", 3, time.Hour}
	resetPerAddr     = rule{"reset_addr", 30, time.Minute}
	resendPerActor   = rule{"resend_actor", 20, time.Minute}
	resendPerTarget  = rule{"resend_target", 3, time.Hour}
	searchPerActor   = rule{"search_actor", 120, time.Minute}
	// The identity provider's SCIM calls, per client address before the
	// token is checked and per token after (I4); SAML sign-ins per
	// address, each of which may write an audit entry when refused.
	scimPerAddr  = rule{"scim_addr", 600, time.Minute}
	scimPerToken = rule{"scim_token", 1200, time.Minute}
	samlPerAddr  = rule{"saml_addr", 120, time.Minute}
	// A full walk of the audit chain, shared by every instance (each
	// service also allows one every accessctl.FullVerifyEvery).
	verifyFullPerTenant = rule{"verify_full_tenant", 1, accessctl.FullVerifyEvery}
)

// memLimiter keeps each key's theoretical arrival time in memory: for
// one instance. It holds at most maxKeys keys, each at most maxKeyLen
// bytes (B1): past the cap, keys whose window has passed go first, then
// any, so a flood of new keys costs bounded memory; it can only make the
// limiter forget, which the library's own defences (attempts reserved
// per operator) do not.
type memLimiter struct {
	mu      sync.Mutex
	tat     map[string]time.Time
	now     func() time.Time
	calls   int
	maxKeys int
}

// The limiter's bounds: about 100 bytes a key, 10 MB in all.
const (
	maxLimiterKeys = 100_000
	maxKeyLen      = 200
)

func newMemLimiter() *memLimiter {
	return &memLimiter{tat: map[string]time.Time{}, now: time.Now, maxKeys: maxLimiterKeys}
}

func (m *memLimiter) take(_ context.Context, key string, r rule) (time.Duration, error) {
	key = boundedKey(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.calls++; m.calls%4096 == 0 || len(m.tat) >= m.maxKeys { // forget keys whose window has passed
		for k, t := range m.tat {
			if t.Before(now) {
				delete(m.tat, k)
			}
		}
		for k := range m.tat { // still full: forget any, at random (map order)
			if len(m.tat) < m.maxKeys*9/10 {
				break
			}
			delete(m.tat, k)
		}
	}
	tat := m.tat[key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(r.interval())
	if allowAt := next.Add(-r.per); allowAt.After(now) {
		return allowAt.Sub(now), nil
	}
	m.tat[key] = next
	return 0, nil
}

// redisLimiter keeps them in Redis, on Redis's clock, so that every
// instance of the server shares one count.
type redisLimiter struct {
	c      goredis.UniversalClient
	prefix string
}

// gcraScript: KEYS[1] the key's arrival time (ms); ARGV[1] the interval,
// ARGV[2] the window (ms). Returns 0, or the wait in ms.
var gcraScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + tonumber(ARGV[1])
local allow_at = nxt - tonumber(ARGV[2])
if allow_at > now then return allow_at - now end
redis.call('SET', KEYS[1], nxt, 'PX', nxt - now)
return 0`)

func (l *redisLimiter) take(ctx context.Context, key string, r rule) (time.Duration, error) {
	ms, err := gcraScript.Run(ctx, l.c, []string{l.prefix + ":limit:" + boundedKey(key)}, r.interval().Milliseconds(), r.per.Milliseconds()).Int64()
	if err != nil {
		return 0, err
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// limitedError is a call refused by a rule; it answers 429 with
// Retry-After.
type limitedError struct {
	rule string
	wait time.Duration
}

func (e *limitedError) Error() string {
	return fmt.Sprintf("too many requests (%s); retry in %d s", e.rule, e.RetryAfter())
}

// Is makes a limited call ErrRateLimited.
func (e *limitedError) Is(target error) bool { return target == ErrRateLimited }

// ErrRateLimited is a call an abuse limit refused (429 with Retry-After).
var ErrRateLimited = errors.New("rate limited")

// Allowance is a limit's allowance: n calls per window, by the rule's
// name (such as "login_account" or "search_actor"); 0 for no such rule.
func Allowance(name string) (n int, per time.Duration) {
	for _, r := range []rule{loginPerAddr, loginPerAccount, mfaPerAddr, forgotPerAddr, forgotPerAccount, resetPerAddr, resendPerActor,
		resendPerTarget, searchPerActor, scimPerAddr, scimPerToken, samlPerAddr, verifyFullPerTenant} {
		if r.name == name {
			return r.n, r.per
		}
	}
	return 0, 0
}

// RetryAfter is the wait in whole seconds, at least one.
func (e *limitedError) RetryAfter() int { return max(1, int(math.Ceil(e.wait.Seconds()))) }

// check is one rule applied to one key.
type check struct {
	r   rule
	key string
}

// allow takes a call under each check and refuses the request if any
// rule is exhausted. A limiter that fails lets the call through (the
// library's own defences still hold) and is counted and logged.
func (a *API) allow(ctx context.Context, checks ...check) error {
	for _, c := range checks {
		wait, err := a.limits.take(ctx, c.r.name+":"+c.key, c.r)
		if err != nil {
			a.metrics.errors.WithLabelValues("limiter").Inc()
			a.log.WarnContext(ctx, "rate limiter unavailable; the call goes through", "err", err)
			continue
		}
		if wait > 0 {
			a.metrics.limited.WithLabelValues(c.r.name).Inc()
			return &limitedError{rule: c.r.name, wait: wait}
		}
	}
	return nil
}

// addr is the request's client address, as console.WithPeer recorded it
// for every request.
func addr(r *http.Request) string { return accessctl.ClientAddr(r.Context()) }

// actorKey names the request's authenticated operator.
func actorKey(r *http.Request) string {
	a, _ := accessctl.ActorFrom(r.Context())
	return string(a.Tenant()) + "/" + a.ID()
}

// actorTenant is the tenant of the request's authenticated actor.
func actorTenant(r *http.Request) backoffice.TenantID {
	a, _ := accessctl.ActorFrom(r.Context())
	return a.Tenant()
}

// boundedKey is the key itself when short, or its digest: whatever a
// client types, a key costs at most maxKeyLen bytes (B1).
func boundedKey(key string) string {
	if len(key) <= maxKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// The longest tenant id and login worth looking up: anything longer is no
// account's (an email is at most 254 bytes).
const (
	maxTenantLen = 64
	maxLoginLen  = 320
)

// account names the person a login of a tenant is for, so that its
// limit counts the person once whether its username or its email is
// typed (B3): the operator's id when the login is one's, the case-folded
// login otherwise, bounded in size before anything else (B1).
func (a *API) account(ctx context.Context, tenant backoffice.TenantID, login string) string {
	login = strings.ToLower(strings.TrimSpace(login))
	if len(tenant) > maxTenantLen || len(login) > maxLoginLen {
		return boundedKey(fmt.Sprintf("long/%s/%s", tenant, login))
	}
	if a.findOperator != nil {
		if o, err := a.findOperator(ctx, tenant, login); err == nil {
			return string(tenant) + "/operator/" + string(o.ID)
		}
	}
	return string(tenant) + "/login/" + login
}

// ConsoleLimit is the console's Limit hook: the same rules for its login and
// code forms, and for its end-user search and list, counted with the
// API's for the same operator (B3).
func (a *API) ConsoleLimit(r *http.Request, action, login string) error {
	switch action {
	case "login":
		tenant, _ := a.tenantOfRequest(r) // no tenant here: the console refuses the login itself
		return a.allow(r.Context(), check{loginPerAddr, addr(r)}, check{loginPerAccount, a.account(r.Context(), tenant, login)})
	case "code":
		return a.allow(r.Context(), check{mfaPerAddr, addr(r)})
	case "search":
		return a.allow(r.Context(), check{searchPerActor, actorKey(r)})
	}
	return nil
}

// SCIMAllow is the SCIM handler's abuse limit (scim.Options.Allow).
func (a *API) SCIMAllow(r *http.Request, token string) bool {
	if token == "" {
		return a.allow(r.Context(), check{scimPerAddr, addr(r)}) == nil
	}
	return a.allow(r.Context(), check{scimPerToken, token}) == nil
}

// LimitSAML puts the SAML endpoints under the per-address limit.
func (a *API) LimitSAML(next http.Handler) http.Handler {
	return http.StripPrefix("/saml", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.allow(r.Context(), check{samlPerAddr, addr(r)}); err != nil {
			http.Error(w, "too many sign-ins from this address; wait a moment", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	}))
}
