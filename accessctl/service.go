package accessctl

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl/password"
	"github.com/backoffice-go/backoffice/internal/ids"
)

// Config configures a Service. Only Store is required; every other zero
// field takes the default its comment gives.
type Config struct {
	// Store holds everything durable.
	Store Store
	// Sessions, Tokens and Attempts override Store for those concerns, so a
	// host can keep them in Redis. Nil means Store.
	Sessions SessionStore
	Tokens   TokenStore
	// Once records what may be used once across every instance (a SAML
	// assertion's id). Nil means Tokens when it is a OnceStore (so Redis
	// when tokens are there), else Store.
	Once OnceStore
	// WebAuthn is the relying party of passkeys for tenants that set none
	// of their own (Tenant.WebAuthn): the host's domain and origins.
	WebAuthn WebAuthnConfig
	Attempts AttemptStore
	// Notifier delivers invitations and password resets. Nil drops them,
	// which suits only tests and SSO-only tenants.
	Notifier Notifier
	// Outbox, when set, writes each notice to the store's outbox in the
	// same atomic write as its change, for a backoffice.Dispatcher the
	// host runs to deliver (with OutboxHandler over its notifier), instead
	// of sending it after the change. The Store must implement
	// backoffice.OutboxStore.
	Outbox bool
	// Catalog is the permission catalog. Nil means the built-in permissions.
	Catalog *Catalog
	// Presets are the role presets tenants may start from. Nil means
	// DashboardPreset and PortalPreset.
	Presets []Preset
	// Policy is the security policy of every tenant that has none of its
	// own (TenantSettings.Policy). The zero value keeps the defaults the
	// other fields give; accessctl.PCIDSS4() is the regulated preset.
	Policy Policy
	// PasswordPolicy nil means password.DefaultPolicy().
	PasswordPolicy *password.Policy
	// Hasher nil means argon2id at the OWASP minimum, bounded to the CPU count.
	Hasher *password.Hasher
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// NewID generates ids that sort by creation time. Nil means UUIDv7.
	NewID func() string
	// Issuer names the service in authenticator apps. Default "backoffice".
	Issuer string

	SessionTTL      time.Duration // default 12h
	InvitationTTL   time.Duration // default 14 days
	VerificationTTL time.Duration // resent verification links, default 24h
	ResetTTL        time.Duration // password reset links, default 24h
	ChallengeTTL    time.Duration // between password and TOTP code, default 5m
	// MaxFailures is the run of failed logins that blocks an operator,
	// default 3. FailureWindow is how long a run lasts without a new
	// failure, default 24h.
	MaxFailures   int
	FailureWindow time.Duration
	// LastAdminCooldown is how long the last active Administrator, who
	// cannot be blocked, is refused after MaxFailures failures.
	// Default 15m.
	LastAdminCooldown time.Duration
	// AttemptLease is how long a reserved login attempt may stay
	// unsettled before the store forgets it (its instance died mid-check).
	// Default 1m; a check that waits longer for a hashing slot gives up.
	AttemptLease time.Duration
	// Events receives what a host counts or alerts on (logins by outcome,
	// lockouts, MFA failures), for its metrics; nil drops them. It must
	// not block.
	Events func(ctx context.Context, e Event)
	// ReportError receives the errors the service handles without
	// returning them: a notification that failed after its change
	// committed (wrapping backoffice.ErrNotDelivered), a store failure
	// hidden behind ErrLoginRefused, cleanup that failed after a change
	// committed (ending sessions, voiding links). Nil means
	// backoffice.LogError. It must not block.
	ReportError func(ctx context.Context, err error)
	// Observer, when set, hears the start and end of every service call,
	// for the host's tracing (backoffice.Observer).
	Observer backoffice.Observer
}

// Service implements the operator side of the back office: roles,
// operators, login, MFA, sessions, history and SSO. It is safe for
// concurrent use.
type Service struct {
	store    Store
	sessions SessionStore
	tokens   TokenStore
	attempts AttemptStore
	notifier Notifier
	outbox   bool
	report   func(context.Context, error)
	events   func(context.Context, Event)
	cat      *Catalog
	presets  map[string]Preset
	compiled map[string]*roleSet // each preset's roles, compiled once
	rolesMu  sync.Mutex
	roles    map[backoffice.TenantID]cachedRoles // each tenant's roles, by roles version
	policy   password.Policy
	hasher   *password.Hasher

	defaultPolicy Policy
	verified      sync.Map // backoffice.TenantID → *verifyState
	execMu        sync.Mutex
	executors     map[backoffice.Action]Executor

	now    func() time.Time
	newID  func() string
	issuer string

	sessionTTL, invitationTTL, verificationTTL, resetTTL, challengeTTL time.Duration
	maxFailures                                                        int
	failureWindow, lastAdminCooldown, attemptLease                     time.Duration
	observer                                                           backoffice.Observer
	once                                                               OnceStore
	webauthn                                                           WebAuthnConfig
}

// NewService checks the configuration and returns a service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, backoffice.NewError(backoffice.ErrInvalid, "accessctl: new service", "Config.Store is required")
	}
	s := &Service{store: cfg.Store, observer: cfg.Observer, sessions: cfg.Sessions, tokens: cfg.Tokens, attempts: cfg.Attempts,
		notifier: cfg.Notifier, outbox: cfg.Outbox, report: cfg.ReportError, cat: cfg.Catalog, hasher: cfg.Hasher, now: cfg.Now, newID: cfg.NewID, issuer: cfg.Issuer}
	if s.sessions == nil {
		s.sessions = cfg.Store
	}
	if s.tokens == nil {
		s.tokens = cfg.Store
	}
	if s.attempts == nil {
		s.attempts = cfg.Store
	}
	s.webauthn = cfg.WebAuthn
	s.once = cfg.Once
	if o, ok := s.tokens.(OnceStore); ok && s.once == nil {
		s.once = o
	}
	if s.once == nil {
		s.once = cfg.Store
	}
	if s.report == nil {
		s.report = backoffice.LogError
	}
	s.events = cfg.Events
	if s.events == nil {
		s.events = func(context.Context, Event) {}
	}
	if s.notifier == nil {
		s.notifier = NotifierFunc(func(context.Context, OperatorNotice) error { return nil })
	}
	var err error
	if s.cat == nil {
		if s.cat, err = NewCatalog(); err != nil {
			return nil, err
		}
	}
	presets := cfg.Presets
	if presets == nil {
		presets = Presets()
	}
	s.presets = make(map[string]Preset, len(presets))
	s.compiled = make(map[string]*roleSet, len(presets))
	for _, p := range presets {
		rs, err := compileRoles(s.cat, p, nil)
		if err != nil {
			return nil, err
		}
		s.presets[p.Name], s.compiled[p.Name] = p, rs
	}
	s.policy = password.DefaultPolicy()
	if cfg.PasswordPolicy != nil {
		s.policy = *cfg.PasswordPolicy
		if s.policy.MinLength < 8 || s.policy.MaxLength < s.policy.MinLength {
			return nil, backoffice.NewError(backoffice.ErrInvalid, "accessctl: new service", "password policy needs MinLength >= 8 and MaxLength >= MinLength")
		}
	}
	var pv backoffice.Violations
	cfg.Policy.validate(&pv)
	if err := pv.Err("accessctl: new service"); err != nil {
		return nil, err
	}
	s.defaultPolicy = cfg.Policy.clone()
	if s.hasher == nil {
		if s.hasher, err = password.NewHasher(password.Params{}, 0); err != nil {
			return nil, err
		}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = ids.New(s.now).NewID
	}
	if s.issuer == "" {
		s.issuer = "backoffice"
	}
	def := func(d *time.Duration, v, given time.Duration) {
		*d = given
		if given <= 0 {
			*d = v
		}
	}
	def(&s.sessionTTL, 12*time.Hour, cfg.SessionTTL)
	def(&s.invitationTTL, 14*24*time.Hour, cfg.InvitationTTL)
	def(&s.verificationTTL, 24*time.Hour, cfg.VerificationTTL)
	def(&s.resetTTL, 24*time.Hour, cfg.ResetTTL)
	def(&s.challengeTTL, 5*time.Minute, cfg.ChallengeTTL)
	def(&s.failureWindow, 24*time.Hour, cfg.FailureWindow)
	def(&s.lastAdminCooldown, 15*time.Minute, cfg.LastAdminCooldown)
	def(&s.attemptLease, time.Minute, cfg.AttemptLease)
	if s.attemptLease > s.lastAdminCooldown || s.attemptLease > s.failureWindow {
		return nil, backoffice.NewError(backoffice.ErrInvalid, "accessctl: new service", "AttemptLease must not exceed LastAdminCooldown or FailureWindow")
	}
	s.handleOwnApprovals()
	s.maxFailures = cfg.MaxFailures
	if s.maxFailures <= 0 {
		s.maxFailures = 3
	}
	return s, nil
}

// Catalog returns the service's permission catalog.
func (s *Service) Catalog() *Catalog { return s.cat }

// PasswordPolicy returns the policy in force, whose Criteria a UI can show.
func (s *Service) PasswordPolicy() password.Policy { return s.policy }

// clock returns the current time in UTC at microsecond precision, the
// precision every store keeps.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// tenantRoles loads a tenant and compiles its roles.
func (s *Service) tenantRoles(ctx context.Context, id backoffice.TenantID) (*Tenant, *roleSet, error) {
	t, err := s.store.Tenant(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	p, ok := s.presets[t.Preset]
	if !ok {
		return nil, nil, backoffice.Errorf(backoffice.ErrFailedPrecondition, "accessctl: roles", "tenant %s uses preset %q, which this service does not configure", id, t.Preset)
	}
	custom, err := s.store.Roles(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if len(custom) == 0 {
		return t, s.compiled[p.Name], nil // shared and never changed after NewService
	}
	rs, err := compileRoles(s.cat, p, custom)
	return t, rs, err
}

// cachedRoles is a tenant's compiled roles at one roles version.
type cachedRoles struct {
	version int64
	rs      *roleSet
}

// rolesAt returns the tenant's compiled roles at the roles version a
// session was read with: from the cache when it holds that version, else
// loaded (two reads, once per instance and version) and cached.
func (s *Service) rolesAt(ctx context.Context, tenant backoffice.TenantID, version int64) (*roleSet, error) {
	s.rolesMu.Lock()
	c, ok := s.roles[tenant]
	s.rolesMu.Unlock()
	if ok && c.version == version {
		return c.rs, nil
	}
	_, rs, err := s.tenantRoles(ctx, tenant)
	if err != nil {
		return nil, err
	}
	s.rolesMu.Lock()
	if s.roles == nil {
		s.roles = map[backoffice.TenantID]cachedRoles{}
	}
	// Cached under the version the session store reported: the roles just
	// read are at least that new, and the next edit reports another.
	s.roles[tenant] = cachedRoles{version: version, rs: rs}
	s.rolesMu.Unlock()
	return rs, nil
}

func (s *Service) forgetRoles(tenant backoffice.TenantID) {
	s.rolesMu.Lock()
	delete(s.roles, tenant)
	s.rolesMu.Unlock()
}

// entry builds an audit entry.
func (s *Service) entry(actor backoffice.ActorRef, tenant backoffice.TenantID, action backoffice.Action, targetType, targetID string, at time.Time, changes []backoffice.Change) backoffice.AuditEntry {
	return backoffice.AuditEntry{ID: s.newID(), Tenant: tenant, Actor: actor, Action: action,
		TargetType: targetType, TargetID: targetID, At: at, Changes: changes}
}

// newTenantToken returns a session or one-time token of the tenant, to
// hand to the client once, and its digest, the only form a store keeps.
// The token starts with its tenant, base64url-encoded, so the service can
// read the tenant of a token it is given and ask a store for (tenant,
// digest); the rest is 32 random bytes.
func newTenantToken(tenant backoffice.TenantID) (backoffice.Secret, string, error) {
	random, _, err := backoffice.NewToken()
	if err != nil {
		return "", "", err
	}
	raw := backoffice.Secret(base64.RawURLEncoding.EncodeToString([]byte(tenant)) + "." + string(random))
	return raw, backoffice.Digest(raw), nil
}

// parseToken returns the tenant and digest of a token a client presents.
// Tokens of earlier releases, which had a second, operator part, parse too.
func parseToken(raw backoffice.Secret) (backoffice.TenantID, string, bool) {
	head, rest, ok := strings.Cut(string(raw), ".")
	if !ok || rest == "" || len(head) > 400 {
		return "", "", false
	}
	t, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil || len(t) == 0 {
		return "", "", false
	}
	return backoffice.TenantID(t), backoffice.Digest(raw), true
}

// issue stores a new one-time token and returns its secret value.
func (s *Service) issue(ctx context.Context, purpose TokenPurpose, op *Operator, ttl time.Duration) (backoffice.Secret, time.Time, error) {
	raw, id, err := newTenantToken(op.Tenant)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.clock()
	t := &Token{ID: id, Purpose: purpose, Tenant: op.Tenant, Operator: op.ID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.tokens.IssueToken(ctx, t); err != nil {
		return "", time.Time{}, err
	}
	return raw, t.ExpiresAt, nil
}

// endSessions ends every session of an operator after a change that must
// reach its requests was stored: sessions carry what authenticating needs,
// so until they end, requests still see the operator as it was. The call
// fails closed: if the session store cannot end them, it says so, and the
// change's call returns that error though the change is stored (the
// message tells the caller to end them with RevokeSessions).
func (s *Service) endSessions(ctx context.Context, op string, tenant backoffice.TenantID, id OperatorID) error {
	if err := s.sessions.DeleteOperatorSessions(ctx, tenant, id); err != nil {
		return backoffice.Errorf(backoffice.ErrUnavailable, op,
			"the change is stored, but the operator's sessions could not be ended; end them with RevokeSessions: %v", err)
	}
	return nil
}

// after reports the failure of cleanup that follows a committed change:
// the change stands, so the failure is not the caller's error. The session
// epoch already ends removed sessions at their next check, and lapsed
// tokens and runs expire.
func (s *Service) after(ctx context.Context, what string, err error) {
	if err != nil {
		s.report(ctx, fmt.Errorf("accessctl: after a committed change, %s: %w", what, err))
	}
}

// attach makes a notice part of its change in outbox mode: a message of
// the change's entry, which the store writes with it.
func (s *Service) attach(e *backoffice.AuditEntry, n OperatorNotice) {
	if !s.outbox {
		return
	}
	m, _ := backoffice.NewMessage(s.newID(), n.Tenant, OutboxTopic, wireNotice{Kind: n.Kind, Tenant: n.Tenant, Operator: n.Operator,
		Email: n.Email, Name: n.Name, Token: string(n.Token), ExpiresAt: n.ExpiresAt}, s.clock()) // plain data always marshals
	e.Outbox = append(e.Outbox, m)
}

// sent sends a notice after its change committed, unless it went with the
// change to the outbox.
func (s *Service) sent(ctx context.Context, n OperatorNotice) {
	if !s.outbox {
		s.notify(ctx, n)
	}
}

// notify sends a notice after a committed change. A failure is not
// the caller's: the change happened, and the notice can be sent again; it
// goes to ReportError, wrapping backoffice.ErrNotDelivered.
func (s *Service) notify(ctx context.Context, n OperatorNotice) {
	if err := s.notifier.NotifyOperator(ctx, n); err != nil {
		s.report(ctx, fmt.Errorf("accessctl: %s for %s: %w: %w", n.Kind, n.Operator, backoffice.ErrNotDelivered, err))
	}
}

// operatorEntry is the audit entry of a change of an operator: the fields
// that differ between before (nil for a new operator) and after, secrets
// recorded only as changed, then any extra details.
func (s *Service) operatorEntry(actor backoffice.ActorRef, action backoffice.Action, before, after *Operator, extra ...backoffice.Change) backoffice.AuditEntry {
	c := append(backoffice.Diff(before, after), extra...)
	return s.entry(actor, after.Tenant, action, TargetOperator, string(after.ID), after.UpdatedAt, c)
}

// isNotFound reports whether a store answered ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, backoffice.ErrNotFound) }

// sortedRoles returns a sorted copy without duplicates.
func sortedRoles(r []RoleName) []RoleName {
	out := slices.Clone(r)
	slices.Sort(out)
	return slices.Compact(out)
}

// observe starts the observation of a call by Config.Observer.
func (s *Service) observe(ctx *context.Context, name string) func(*error) {
	return backoffice.Observe(s.observer, ctx, name)
}

// UseOnce records that key of the tenant is used, until until: it
// returns nil the first time, on any instance, and ErrConflict for every
// later use before until (a replayed SAML assertion, say). The key is
// kept as its digest.
func (s *Service) UseOnce(ctx context.Context, tenant backoffice.TenantID, key string, until time.Time) (err error) {
	defer s.observe(&ctx, "accessctl.UseOnce")(&err)
	first, err := s.once.UseOnce(ctx, tenant, backoffice.Digest(backoffice.Secret(key)), s.clock(), until)
	if err != nil {
		return err
	}
	if !first {
		return backoffice.NewError(backoffice.ErrConflict, "accessctl: use once", "already used")
	}
	return nil
}
