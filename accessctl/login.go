package accessctl

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/backoffice-go/backoffice"
)

// LoginResult is the outcome of a login step. Exactly one of Session and
// Challenge is set.
type LoginResult struct {
	Operator OperatorID
	// Session is the session token for the client to send with each
	// request, set once the login is complete.
	Session   backoffice.Secret
	ExpiresAt time.Time
	// Challenge is set when a TOTP code is needed: pass it with the code to
	// CompleteLogin. It expires after a few minutes and works once.
	Challenge backoffice.Secret
	// Enrolment is set when the operator has no MFA yet and must add the
	// secret to an authenticator app first.
	Enrolment *MFAEnrolment
	// Passkey is set when the operator has a passkey: the challenge may be
	// answered with it (BeginPasskeyLogin). PasskeyRequired is set when
	// the tenant's policy wants a passkey of it (W4): the challenge takes
	// no TOTP code, and an operator without a passkey registers its first
	// one in the passkey step.
	Passkey, PasskeyRequired bool
}

// MFAEnrolment is a new TOTP secret and its otpauth:// URI (for a QR code).
type MFAEnrolment struct {
	Secret backoffice.Secret
	URI    backoffice.Secret
}

func (s *Service) selfRef(o *Operator) backoffice.ActorRef {
	return backoffice.ActorRef{Kind: backoffice.ActorOperator, ID: string(o.ID), Name: o.LoginName()}
}

// systemLogin is how the login's own bookkeeping is recorded.
var systemLogin = backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:login", Name: "login"}

// errNoLongerActive means the operator changed during its login so that it
// may not log in (blocked by a concurrent failure, deactivated, MFA reset):
// a refusal like any other, not a failure to report.
var errNoLongerActive = errors.New("accessctl: the operator changed during login and cannot log in")

// refusal is an internal reason for a refused login step. It never leaves
// the package: the caller gets ErrLoginRefused.
type refusal struct {
	hashed bool  // a password was checked, so the step already took its time
	cause  error // a store or hasher failure to report, or nil
}

// refuse ends a refused step: it waits as long as a password check would
// when none ran, reports a failure the caller must not see, and returns the
// one answer.
func (s *Service) refuse(ctx context.Context, r refusal) error {
	if r.cause != nil && !errors.Is(r.cause, errNoLongerActive) {
		s.report(ctx, fmt.Errorf("accessctl: login refused after an internal failure: %w", r.cause))
	}
	if !r.hashed {
		s.hasher.Delay(ctx)
	}
	return ErrLoginRefused
}

// plausibleLogin reports whether a login could name an operator: valid
// UTF-8 of at most 320 bytes without control characters, as usernames and
// emails are. Anything else is refused before a store sees it.
func plausibleLogin(login string) bool {
	if login == "" || len(login) > 320 || !utf8.ValidString(login) {
		return false
	}
	for _, r := range login {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// usable refuses a login step unless the lookup found an active operator.
func (s *Service) usable(ctx context.Context, o *Operator, err error) error {
	switch {
	case isNotFound(err):
		return s.refuse(ctx, refusal{})
	case err != nil:
		return s.refuse(ctx, refusal{cause: err})
	case o.Status != StatusActive:
		return s.refuse(ctx, refusal{})
	}
	return nil
}

// limit is the attempt rule of the service under the tenant's policy:
// the last Administrator's cooldown lasts at least the policy's lockout.
func (s *Service) limit(p Policy) AttemptLimit {
	return AttemptLimit{Max: s.maxFailures, Window: s.failureWindow, Cooldown: max(s.lastAdminCooldown, p.LockoutDuration), Lease: s.attemptLease}
}

// Login checks a password. It needs no actor. On success it
// returns a challenge for the TOTP code, with a new MFA enrolment if the
// operator has none; the run of failures goes on until CompleteLogin
// succeeds, so a right password cannot be used to clear failed codes.
//
// The check first reserves an attempt in the AttemptStore, so that however
// many logins arrive at once, on however many instances, at most
// MaxFailures wrong passwords of a run are checked; the one that makes the
// run reach it blocks the operator. Every refusal is ErrLoginRefused and
// takes about as long as a check, whether or not the login exists; a
// refusal that needs no check waits instead of hashing, so floods of them
// leave the hashing slots to logins that may succeed. The last active
// Administrator, which cannot be blocked, is refused for
// LastAdminCooldown instead.
func (s *Service) Login(ctx context.Context, tenant backoffice.TenantID, login string, password backoffice.Secret) (res *LoginResult, err error) {
	defer s.observe(&ctx, "accessctl.Login")(&err)
	defer func() { s.loginEvent(ctx, tenant, EventLoginRefused, res, err) }()
	t, err := s.store.Tenant(ctx, tenant)
	switch {
	case isNotFound(err):
		return nil, s.refuse(ctx, refusal{})
	case err != nil:
		return nil, s.refuse(ctx, refusal{cause: err})
	case t.SSO.Enabled:
		// The tenant's sign-in mode is what its login page shows anyway.
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, "accessctl: login", "this tenant signs in through SSO")
	}
	if !plausibleLogin(login) {
		return nil, s.refuse(ctx, refusal{}) // no operator has it; the store need not be asked
	}
	o, err := s.store.OperatorByLogin(ctx, tenant, login)
	if err := s.usable(ctx, o, err); err != nil {
		return nil, err
	}
	p := s.policyOf(t)
	if p.dormant(o, s.clock()) {
		// 8.2.6: an account unused for too long is blocked at its next
		// login, right password or not; a manager unblocks it.
		s.block(ctx, o, "dormant: no login for longer than the policy allows")
		return nil, s.refuse(ctx, refusal{})
	}
	rehash, err := s.checkAttempt(ctx, o, p, func() (bool, bool, error) {
		// Give up on a hashing slot well before the reservation's lease
		// ends, so that a forgotten reservation was never evaluated.
		vctx, cancel := context.WithTimeout(ctx, s.attemptLease/2)
		defer cancel()
		return s.hasher.Verify(vctx, o.PasswordHash, string(password))
	}, AttemptReturned)
	if err != nil {
		return nil, err
	}
	// The password is right: from here on nothing a store does may change
	// the answer, except failing to open the login step at all.
	if o, err = s.prepareLogin(ctx, o, password, rehash); err != nil {
		return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
	}
	_, rs, err := s.tenantRoles(ctx, tenant)
	if err != nil {
		return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
	}
	passkeyOnly := s.phishingResistant(p, rs, o)
	if p.mfaOptional() && !o.MFAEnrolled && len(o.Passkeys) == 0 && !passkeyOnly {
		// No second factor: the password alone opens the session, if it
		// is young enough (8.3.9).
		if p.passwordExpired(o, s.clock()) {
			return nil, ErrPasswordExpired
		}
		if o, err = s.recordLogin(ctx, o, 0); err != nil {
			return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
		}
		res, err := s.openSession(ctx, o)
		if err != nil {
			return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
		}
		return res, nil
	}
	res = &LoginResult{Operator: o.ID, Passkey: len(waUser{o}.WebAuthnCredentials()) > 0, PasskeyRequired: passkeyOnly}
	if !o.MFAEnrolled && !passkeyOnly {
		res.Enrolment = &MFAEnrolment{Secret: o.MFASecret, URI: otpauthURI(s.issuer, o.LoginName(), o.MFASecret)}
	}
	if res.Challenge, _, err = s.issue(ctx, PurposeMFAChallenge, o, s.challengeTTL); err != nil {
		return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
	}
	return res, nil
}

// loginEvent reports how a login step ended: a session opened, or the
// refusal of its kind.
func (s *Service) loginEvent(ctx context.Context, tenant backoffice.TenantID, refused EventKind, res *LoginResult, err error) {
	switch {
	case err == nil && res != nil && res.Session != "":
		s.events(ctx, Event{Kind: EventLoginSucceeded, Tenant: tenant, Operator: res.Operator})
	case errors.Is(err, ErrLoginRefused):
		s.events(ctx, Event{Kind: refused, Tenant: tenant})
	}
}

// checkAttempt reserves an attempt of o's run, runs the check, and settles
// the attempt: a wrong answer as a failure (blocking o when the run is
// full), a right one with onSuccess. It returns the check's extra result
// when the check passed; any refusal comes back as ErrLoginRefused,
// already delayed and reported.
func (s *Service) checkAttempt(ctx context.Context, o *Operator, p Policy, check func() (ok, extra bool, err error), onSuccess AttemptOutcome) (bool, error) {
	reserved, err := s.attempts.ReserveAttempt(ctx, o.Tenant, o.ID, s.clock(), s.limit(p))
	if err != nil || !reserved {
		return false, s.refuse(ctx, refusal{cause: err})
	}
	ok, extra, err := check()
	// Settle even when the request's context ended: the reservation must
	// not hold an attempt until its lease runs out.
	settleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	switch {
	case err != nil: // the check did not run (no hashing slot in time)
		s.settle(settleCtx, o, AttemptReturned)
		return false, s.refuse(ctx, refusal{cause: err})
	case !ok:
		if att, err := s.settleAttempt(settleCtx, o, AttemptFailed); err != nil {
			s.report(ctx, fmt.Errorf("accessctl: login: settling a failed attempt: %w", err))
		} else if att.Failures >= s.maxFailures {
			s.block(settleCtx, o, "too many failed logins")
		}
		return false, s.refuse(ctx, refusal{hashed: true})
	}
	s.settle(settleCtx, o, onSuccess)
	return extra, nil
}

// settleAttempt settles o's reservation, trying again while the store
// fails (the moments of a failover, a dropped connection) until ctx ends.
// A reservation left unsettled is forgotten when its lease ends, so a
// failed guess whose settlement never reached the store would be a
// checked guess that never counted. A store that applied a settlement
// and still answered an error (a replica did not confirm it in time) may
// count a failure twice, which errs on the safe side.
func (s *Service) settleAttempt(ctx context.Context, o *Operator, out AttemptOutcome) (Attempts, error) {
	wait := 25 * time.Millisecond
	for {
		att, err := s.attempts.SettleAttempt(ctx, o.Tenant, o.ID, s.clock(), out)
		if err == nil {
			return att, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return att, err
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

func (s *Service) settle(ctx context.Context, o *Operator, out AttemptOutcome) {
	if _, err := s.settleAttempt(ctx, o, out); err != nil {
		// The reservation lapses after AttemptLease; until then it holds one
		// attempt of the run, which errs on the safe side.
		s.report(ctx, fmt.Errorf("accessctl: login: settling an attempt: %w", err))
	}
}

// retries bounds the re-reads of an operator changed under a login's
// bookkeeping.
const retries = 8

// prepareLogin does the bookkeeping of a right password: a rehash with the
// current parameters and, for an operator without MFA, its TOTP secret. A
// concurrent change of the operator (another login creating the secret, an
// edit) is re-read and retried; a rehash that cannot be stored is dropped,
// since the old hash still verifies.
func (s *Service) prepareLogin(ctx context.Context, o *Operator, password backoffice.Secret, rehash bool) (*Operator, error) {
	var newHash backoffice.Secret
	if rehash {
		h, err := s.hasher.Hash(ctx, string(password))
		if err != nil {
			s.report(ctx, fmt.Errorf("accessctl: login: rehash: %w", err))
		} else {
			newHash = h
		}
	}
	oldHash := o.PasswordHash
	for range retries {
		needSecret := !o.MFAEnrolled && o.MFASecret == ""
		doRehash := newHash != "" && o.PasswordHash == oldHash
		if !needSecret && !doRehash {
			return o, nil
		}
		next := o.Clone()
		if doRehash {
			next.PasswordHash = newHash
		}
		if needSecret {
			secret, err := newTOTPSecret()
			if err != nil {
				return nil, err
			}
			next.MFASecret = secret
		}
		next.UpdatedAt = s.clock()
		e := s.operatorEntry(s.selfRef(next), backoffice.ActionOperatorLoginPrepare, o, next)
		err := s.store.UpdateOperator(ctx, next, o.Version, Guard{}, e)
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, backoffice.ErrConflict) {
			if needSecret {
				return nil, err
			}
			s.report(ctx, fmt.Errorf("accessctl: login: storing a rehash: %w", err))
			return o, nil
		}
		if o, err = s.store.Operator(ctx, o.Tenant, o.ID); err != nil {
			return nil, err
		}
		if o.Status != StatusActive {
			return nil, errNoLongerActive
		}
	}
	return nil, fmt.Errorf("accessctl: login: the operator kept changing during login")
}

// block blocks o after its run of failures reached the limit. Only the
// failure that fills the run gets here with an active operator; a
// concurrent change is re-read, and an operator no longer active is left
// as it is. The last active Administrator is not blocked: its run
// stays full, which refuses it until LastAdminCooldown has passed.
func (s *Service) block(ctx context.Context, o *Operator, reason string) {
	now := s.clock()
	for range retries {
		cur, err := s.store.Operator(ctx, o.Tenant, o.ID)
		if isNotFound(err) {
			return
		}
		if err != nil {
			s.report(ctx, fmt.Errorf("accessctl: login: blocking %s: %w", o.ID, err))
			return
		}
		if cur.Status != StatusActive {
			return
		}
		_, rs, err := s.tenantRoles(ctx, o.Tenant)
		if err != nil {
			s.report(ctx, fmt.Errorf("accessctl: login: blocking %s: %w", o.ID, err))
			return
		}
		b := cur.Clone()
		b.Status = StatusBlocked
		b.SessionEpoch++
		b.UpdatedAt = now
		e := s.operatorEntry(systemLogin, backoffice.ActionOperatorBlock, cur, b, backoffice.Change{Field: "reason", After: reason})
		err = s.store.UpdateOperator(ctx, b, cur.Version, guardFor(nil, rs, cur, b), e)
		switch {
		case errors.Is(err, backoffice.ErrConflict):
			continue
		case errors.Is(err, ErrLastAdministrator):
			return
		case err != nil:
			s.report(ctx, fmt.Errorf("accessctl: login: blocking %s: %w", o.ID, err))
			return
		}
		s.events(ctx, Event{Kind: EventLockout, Tenant: o.Tenant, Operator: o.ID})
		if err := s.endSessions(ctx, "accessctl: login: block", o.Tenant, o.ID); err != nil {
			s.report(ctx, err) // a blocked operator cannot log in again in any case
		}
		return
	}
	s.report(ctx, fmt.Errorf("accessctl: login: blocking %s: the operator kept changing", o.ID))
}

// CompleteLogin checks the TOTP code for a challenge and, when it is
// right, completes any pending MFA enrolment and opens a session.
// The code check reserves an attempt of the operator's run like a
// password check, so challenges opened in parallel cannot give more than
// MaxFailures code checks; a wrong code counts as a failed login
// and spends the challenge. A code already used cannot be used again, also
// when two challenges present it at once: the step it matched is stored
// with a version check, and the loser is refused (replay). Every refusal
// is ErrLoginRefused.
func (s *Service) CompleteLogin(ctx context.Context, challenge backoffice.Secret, code string) (res *LoginResult, err error) {
	defer s.observe(&ctx, "accessctl.CompleteLogin")(&err)
	tenant, digest, ok := parseToken(challenge)
	defer func() { s.loginEvent(ctx, tenant, EventMFAFailed, res, err) }()
	if !ok {
		return nil, s.refuse(ctx, refusal{})
	}
	tok, err := s.tokens.ConsumeToken(ctx, PurposeMFAChallenge, tenant, digest)
	switch {
	case isNotFound(err):
		return nil, s.refuse(ctx, refusal{})
	case err != nil:
		return nil, s.refuse(ctx, refusal{cause: err})
	case !s.clock().Before(tok.ExpiresAt):
		return nil, s.refuse(ctx, refusal{})
	}
	o, err := s.store.Operator(ctx, tok.Tenant, tok.Operator)
	if err := s.usable(ctx, o, err); err != nil {
		return nil, err
	}
	t, rs, err := s.tenantRoles(ctx, o.Tenant)
	if err != nil {
		return nil, s.refuse(ctx, refusal{cause: err})
	}
	p := s.policyOf(t)
	if s.phishingResistant(p, rs, o) {
		return nil, ErrPasskeyRequired
	}
	// The code check is the attempt; storing the step it matched is part of
	// it, since a replay is only found there.
	var done *Operator
	_, err = s.checkAttempt(ctx, o, p, func() (bool, bool, error) {
		step, ok := verifyTOTP(o.MFASecret, code, s.clock(), o.MFALastStep)
		if !ok {
			return false, false, nil
		}
		d, err := s.recordLogin(ctx, o, step)
		if errors.Is(err, errReplayed) {
			return false, false, nil
		}
		done = d
		return err == nil, false, err
	}, AttemptSucceeded)
	if err != nil {
		return nil, err
	}
	res, err = s.openSession(ctx, done)
	if err != nil {
		return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
	}
	return res, nil
}

// errReplayed means the code's step was already used for a session.
var errReplayed = errors.New("accessctl: totp code already used")

// recordLogin stores a complete login: its time and source (8.2.6 counts
// dormancy from it) and the TOTP step it used (0 for a login without
// MFA), completing a first MFA enrolment; a concurrent change of the
// operator that leaves the login valid is re-read and the write retried.
func (s *Service) recordLogin(ctx context.Context, o *Operator, step int64) (*Operator, error) {
	secret, from := o.MFASecret, ClientAddr(ctx)
	for range retries {
		if o.Status != StatusActive || o.MFASecret != secret {
			return nil, errNoLongerActive
		}
		if step > 0 && o.MFALastStep >= step {
			return nil, errReplayed
		}
		next := o.Clone()
		action := backoffice.ActionOperatorLogin
		if step > 0 {
			next.MFALastStep = step
		}
		if step > 0 && !next.MFAEnrolled {
			next.MFAEnrolled = true
			action = backoffice.ActionOperatorMFAEnrol
		}
		next.UpdatedAt = s.clock()
		next.LastLoginAt, next.LastLoginFrom = next.UpdatedAt, from
		e := s.operatorEntry(s.selfRef(next), action, o, next, backoffice.Change{Field: "source", After: from})
		err := s.store.UpdateOperator(ctx, next, o.Version, Guard{}, e)
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, backoffice.ErrConflict) {
			return nil, err
		}
		if o, err = s.store.Operator(ctx, o.Tenant, o.ID); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("accessctl: login: the operator kept changing during login")
}

// openSession opens a session for o, carrying what authenticating its
// requests needs. A change of o that commits while the session is being
// stored could miss it (the change ends the sessions it finds), so o is
// read again after: if it changed in a way that must end sessions, the new
// one ends too and the login is refused.
func (s *Service) openSession(ctx context.Context, o *Operator) (*LoginResult, error) {
	p, err := s.tenantPolicy(ctx, o.Tenant)
	if err != nil {
		return nil, err
	}
	raw, id, err := newTenantToken(o.Tenant)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	sess := &Session{ID: id, Tenant: o.Tenant, Operator: o.ID, Epoch: o.SessionEpoch, Name: o.LoginName(),
		Roles: slices.Clone(o.Roles), AllAccounts: o.AllAccounts, Accounts: slices.Clone(o.Accounts),
		CreatedAt: now, ExpiresAt: now.Add(p.sessionLifetime(s.sessionTTL)), IdleTimeout: p.IdleTimeout, LastSeen: now,
		RoleUntil: maps.Clone(o.RoleUntil), AccessUntil: o.AccessUntil}
	if err := s.sessions.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	cur, err := s.store.Operator(ctx, o.Tenant, o.ID)
	if err != nil || cur.Status != StatusActive || cur.SessionEpoch != o.SessionEpoch {
		if derr := s.sessions.DeleteSession(context.WithoutCancel(ctx), o.Tenant, id); derr != nil {
			s.report(ctx, fmt.Errorf("accessctl: ending a session opened during a change of %s: %w", o.ID, derr))
		}
		if err != nil {
			return nil, err
		}
		return nil, errNoLongerActive
	}
	return &LoginResult{Operator: o.ID, Session: raw, ExpiresAt: sess.ExpiresAt}, nil
}

// StartSession opens a session for an active operator without checking
// credentials, for a host that authenticated the operator itself (its own
// single sign-on, a test). Only a system actor of the operator's tenant
// may call it; the session dies like any other.
func (s *Service) StartSession(ctx context.Context, id OperatorID) (_ *LoginResult, err error) {
	defer s.observe(&ctx, "accessctl.StartSession")(&err)
	const op = "accessctl: start session"
	a, ok := ActorFrom(ctx)
	if !ok {
		return nil, backoffice.NewError(backoffice.ErrUnauthenticated, op, "no actor in the context")
	}
	if a.kind != backoffice.ActorSystem {
		return nil, backoffice.NewError(backoffice.ErrForbidden, op, "only the host's system actor opens sessions without a login")
	}
	o, err := s.store.Operator(ctx, a.tenant, id)
	if err != nil {
		return nil, err
	}
	if o.Status != StatusActive {
		return nil, wrongStatus(op, o, "an active operator")
	}
	res, err := s.openSession(ctx, o)
	if errors.Is(err, errNoLongerActive) {
		return nil, backoffice.NewError(backoffice.ErrConflict, op, "the operator changed while its session opened; retry")
	}
	return res, err
}

// Authenticate checks a session token and returns the actor to put in the
// request's context with NewContext. In the steady state it costs one
// store round trip, the read of the session: the session carries its
// operator's roles and account access, and comes with the tenant's roles
// version, against which the compiled roles are cached in the service.
// Every change that must reach an operator's requests (deactivation,
// block, MFA reset, password, roles or account access, deletion) ends its
// sessions before the change's call returns, and an edit of a role moves
// the roles version; so each takes effect at the next request on every
// instance. A session that is missing, expired or from before this
// release is ErrUnauthenticated; a store that cannot answer makes it fail
// closed with ErrUnavailable.
func (s *Service) Authenticate(ctx context.Context, token backoffice.Secret) (_ *Actor, err error) {
	defer s.observe(&ctx, "accessctl.Authenticate")(&err)
	refused := func() error {
		return backoffice.NewError(backoffice.ErrUnauthenticated, "accessctl: authenticate", "the session ended; log in again")
	}
	tenant, digest, ok := parseToken(token)
	if !ok {
		return nil, refused()
	}
	sess, err := s.sessions.Session(ctx, tenant, digest)
	if isNotFound(err) {
		return nil, refused()
	}
	if err != nil {
		return nil, err
	}
	now := s.clock()
	idle := sess.IdleTimeout > 0 && now.Sub(sess.LastSeen) >= sess.IdleTimeout
	sess.Roles = activeRoles(sess.Roles, sess.RoleUntil, now)
	if !now.Before(sess.ExpiresAt) || idle || len(sess.Roles) == 0 {
		s.after(ctx, "removing an ended session", s.sessions.DeleteSession(ctx, sess.Tenant, sess.ID))
		return nil, refused()
	}
	if !sess.AccessUntil.IsZero() && !now.Before(sess.AccessUntil) {
		sess.AllAccounts, sess.Accounts = false, nil // the time-bound account access ended
	}
	if sess.IdleTimeout > 0 && now.Sub(sess.LastSeen) >= touchEvery(sess.IdleTimeout) {
		// A failed touch costs the operator at most an early idle end.
		s.after(ctx, "recording a session's use", s.sessions.TouchSession(ctx, sess.Tenant, sess.ID, now))
	}
	rs, err := s.rolesAt(ctx, sess.Tenant, sess.RolesVersion)
	if err != nil {
		return nil, err
	}
	return sessionActor(s.cat, rs, sess), nil
}

// ActorOf is the actor of an operator the host authenticated itself (M3):
// from its own session, or a header its trusted single sign-on proxy
// sets. The host vouches for who the person is; the library reads the
// operator as it is now (active, its roles of this moment, its account
// access) and authorizes and audits every call with it, as for a session
// of its own. It costs a read of the operator and of the tenant's roles
// per request, where a session costs one. The actor carries no login
// time, so what needs a recent login of the library's own (registering a
// passkey) is refused. ErrUnauthenticated for an operator that does not
// exist or is not active.
func (s *Service) ActorOf(ctx context.Context, tenant backoffice.TenantID, id OperatorID) (_ *Actor, err error) {
	defer s.observe(&ctx, "accessctl.ActorOf")(&err)
	refused := backoffice.NewError(backoffice.ErrUnauthenticated, "accessctl: actor of", "no active operator is this one")
	o, err := s.store.Operator(ctx, tenant, id)
	if isNotFound(err) {
		return nil, refused
	}
	if err != nil {
		return nil, err
	}
	now := s.clock()
	roles := o.RolesAt(now)
	if o.Status != StatusActive || len(roles) == 0 {
		return nil, refused
	}
	_, rs, err := s.tenantRoles(ctx, tenant)
	if err != nil {
		return nil, err
	}
	sess := &Session{Tenant: tenant, Operator: o.ID, Epoch: o.SessionEpoch, Name: o.LoginName(), Roles: roles,
		AllAccounts: o.AllAccounts, Accounts: o.Accounts}
	if !o.AccessUntil.IsZero() && !now.Before(o.AccessUntil) {
		sess.AllAccounts, sess.Accounts = false, nil
	}
	return sessionActor(s.cat, rs, sess), nil
}

// touchEvery is how stale a session's LastSeen may grow before a request
// records its use: one write a minute at most per session, so an idle
// limit ends a session between IdleTimeout minus that and IdleTimeout
// after its last request, never later.
func touchEvery(idle time.Duration) time.Duration { return min(time.Minute, idle/15) }

// Logout ends the session of the token.
func (s *Service) Logout(ctx context.Context, token backoffice.Secret) (err error) {
	defer s.observe(&ctx, "accessctl.Logout")(&err)
	tenant, digest, ok := parseToken(token)
	if !ok {
		return nil
	}
	sess, err := s.sessions.Session(ctx, tenant, digest)
	if errors.Is(err, backoffice.ErrNotFound) {
		return nil // ended already
	}
	if err != nil {
		return err
	}
	if err := s.sessions.DeleteSession(ctx, tenant, digest); err != nil {
		return err
	}
	s.events(ctx, Event{Kind: EventSessionEnded, Tenant: tenant, Operator: sess.Operator, Reason: "logout"})
	return nil
}

// Sessions lists an operator's sessions. An operator may list its own;
// anyone else needs operator.sessions.
func (s *Service) Sessions(ctx context.Context, id OperatorID) (_ []*Session, err error) {
	defer s.observe(&ctx, "accessctl.Sessions")(&err)
	a, err := s.selfOr(ctx, id, PermOperatorSessions)
	if err != nil {
		return nil, err
	}
	return s.sessions.Sessions(ctx, a.tenant, id)
}

// RevokeSessions ends every session of an operator at once. An operator
// may end its own; anyone else needs operator.sessions (an Administrator's, only an Administrator).
func (s *Service) RevokeSessions(ctx context.Context, id OperatorID) (err error) {
	defer s.observe(&ctx, "accessctl.RevokeSessions")(&err)
	a, err := s.selfOr(ctx, id, PermOperatorSessions)
	if err != nil {
		return err
	}
	if a.id != string(id) {
		if _, _, _, err := s.loadTarget(ctx, "accessctl: revoke sessions", a, id); err != nil {
			return err
		}
	}
	if err := s.sessions.DeleteOperatorSessions(ctx, a.tenant, id); err != nil {
		return err
	}
	s.events(ctx, Event{Kind: EventSessionEnded, Tenant: a.tenant, Operator: id, Reason: "every session revoked by " + a.name})
	return nil
}

func (s *Service) selfOr(ctx context.Context, id OperatorID, p Permission) (*Actor, error) {
	a, ok := ActorFrom(ctx)
	if ok && a.id == string(id) {
		return a, nil
	}
	return Require(ctx, p)
}

// link is a link token checked and spent, with what it acts on.
type link struct {
	op       *Operator
	hash     backoffice.Secret // the new password's hash
	policy   Policy
	okStatus func(*Operator) bool
	bad      error
}

// consumeLink validates a link token and the password to set with it,
// hashes the password, and only then spends the token, so that bad input
// or a failed hash changes nothing and leaves the link usable.
func (s *Service) consumeLink(ctx context.Context, op string, purpose TokenPurpose, token, pw, confirm backoffice.Secret,
	okStatus func(*Operator) bool) (*link, error) {
	bad := backoffice.NewError(backoffice.ErrInvalid, op, "the link is invalid, expired or already used; ask for a new one",
		backoffice.FieldViolation{Field: "token", Reason: "invalid, expired or already used"})
	tenant, digest, ok := parseToken(token)
	if !ok {
		return nil, bad
	}
	tok, err := s.tokens.Token(ctx, purpose, tenant, digest)
	if isNotFound(err) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if !s.clock().Before(tok.ExpiresAt) {
		return nil, bad
	}
	o, err := s.store.Operator(ctx, tok.Tenant, tok.Operator)
	if isNotFound(err) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if !okStatus(o) {
		return nil, bad
	}
	p, err := s.tenantPolicy(ctx, o.Tenant)
	if err != nil {
		return nil, err
	}
	var v backoffice.Violations
	s.validatePassword(&v, pw, confirm, o.Username, o.Email)
	if err := s.checkNewPassword(ctx, &v, p, o, pw); err != nil {
		return nil, err
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, string(pw))
	if err != nil {
		return nil, err
	}
	if _, err := s.tokens.ConsumeToken(ctx, purpose, tenant, digest); isNotFound(err) {
		return nil, bad // spent by a concurrent call
	} else if err != nil {
		return nil, err
	}
	return &link{op: o, hash: hash, policy: p, okStatus: okStatus, bad: bad}, nil
}

// write stores what a spent link does. The link is gone by then, so a
// concurrent change of the operator between the check and the write (an
// edit on another instance) is re-read and the change applied again,
// instead of losing the user's action with its link.
func (l *link) write(ctx context.Context, s *Service, action backoffice.Action, apply func(o *Operator)) (*Operator, error) {
	before := l.op
	for range retries {
		o := before.Clone()
		o.UpdatedAt = s.clock()
		apply(o)
		e := s.operatorEntry(s.selfRef(o), action, before, o)
		err := s.store.UpdateOperator(ctx, o, before.Version, Guard{}, e)
		if err == nil {
			return o, nil
		}
		if !errors.Is(err, backoffice.ErrConflict) || conflictOn(err, "username") || conflictOn(err, "email") {
			return nil, err
		}
		if before, err = s.store.Operator(ctx, before.Tenant, before.ID); isNotFound(err) {
			return nil, l.bad
		} else if err != nil {
			return nil, err
		}
		if !l.okStatus(before) {
			return nil, l.bad
		}
	}
	return nil, backoffice.NewError(backoffice.ErrConflict, "accessctl: link", "the operator kept changing; ask for a new link")
}

// AcceptInvitation follows an invitation or verification link: it
// verifies the email, sets the password and activates the operator, then
// returns the MFA enrolment and challenge to finish with CompleteLogin. It
// needs no actor. A bad password leaves the link usable; of concurrent
// uses of one link, one succeeds.
func (s *Service) AcceptInvitation(ctx context.Context, token, pw, confirm backoffice.Secret) (_ *LoginResult, err error) {
	defer s.observe(&ctx, "accessctl.AcceptInvitation")(&err)
	const op = "accessctl: accept invitation"
	l, err := s.consumeLink(ctx, op, PurposeInvitation, token, pw, confirm,
		func(o *Operator) bool { return o.Status == StatusInvited })
	if err != nil {
		return nil, err
	}
	secret, err := newTOTPSecret()
	if err != nil {
		return nil, err
	}
	o, err := l.write(ctx, s, backoffice.ActionOperatorAcceptInvitation, func(o *Operator) {
		rotatePassword(o, l.hash, l.policy, o.UpdatedAt)
		o.MFASecret = secret
		o.Status, o.EmailVerified, o.MFAEnrolled = StatusActive, true, false
	})
	if err != nil {
		return nil, err
	}
	res := &LoginResult{Operator: o.ID, Enrolment: &MFAEnrolment{Secret: o.MFASecret, URI: otpauthURI(s.issuer, o.LoginName(), o.MFASecret)}}
	if res.Challenge, _, err = s.issue(ctx, PurposeMFAChallenge, o, s.challengeTTL); err != nil {
		return nil, err
	}
	return res, nil
}

// SendPasswordReset emails an active operator a password reset link valid
// 24 hours and single use. Needs operator.password_reset; only an Administrator acts on an Administrator.
func (s *Service) SendPasswordReset(ctx context.Context, id OperatorID) (err error) {
	defer s.observe(&ctx, "accessctl.SendPasswordReset")(&err)
	const op = "accessctl: send password reset"
	a, err := Require(ctx, PermOperatorPasswordReset)
	if err != nil {
		return err
	}
	o, _, _, err := s.loadLocal(ctx, op, a, id)
	if err != nil {
		return err
	}
	if o.Status != StatusActive {
		return wrongStatus(op, o, "an active operator")
	}
	return s.sendReset(ctx, o, s.entry(a.Ref(), a.tenant, backoffice.ActionOperatorSendPasswordReset, TargetOperator, string(o.ID), s.clock(), nil))
}

// sendReset issues a reset link, records e with the notice carrying it,
// and sends the notice (or leaves it to the outbox).
func (s *Service) sendReset(ctx context.Context, o *Operator, e backoffice.AuditEntry) error {
	token, exp, err := s.issue(ctx, PurposePasswordReset, o, s.resetTTL)
	if err != nil {
		return err
	}
	notice := OperatorNotice{Kind: NoticePasswordReset, Tenant: o.Tenant, Operator: o.ID, Email: o.Email,
		Name: o.FirstName + " " + o.LastName, Token: token, ExpiresAt: exp}
	s.attach(&e, notice)
	if err := s.store.AppendAuditEntry(ctx, e); err != nil {
		return err
	}
	s.sent(ctx, notice)
	return nil
}

// ForgotPassword is the login page's "forgot your password?". It
// needs no actor and answers nil whether or not the login exists, so it
// reveals nothing; an active operator with an email gets a reset link.
func (s *Service) ForgotPassword(ctx context.Context, tenant backoffice.TenantID, login string) (err error) {
	defer s.observe(&ctx, "accessctl.ForgotPassword")(&err)
	t, err := s.store.Tenant(ctx, tenant)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.SSO.Enabled {
		return nil
	}
	if !plausibleLogin(login) {
		return nil
	}
	o, err := s.store.OperatorByLogin(ctx, tenant, login)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.Status != StatusActive || o.Email == "" {
		return nil
	}
	return s.sendReset(ctx, o, s.entry(systemLogin, o.Tenant, backoffice.ActionOperatorForgotPassword, TargetOperator, string(o.ID), s.clock(), nil))
}

// ResetPassword follows a password reset link: it sets a new password that
// meets the policy and ends the operator's sessions. It needs no
// actor. A bad password leaves the link usable.
func (s *Service) ResetPassword(ctx context.Context, token, pw, confirm backoffice.Secret) (err error) {
	defer s.observe(&ctx, "accessctl.ResetPassword")(&err)
	const op = "accessctl: reset password"
	l, err := s.consumeLink(ctx, op, PurposePasswordReset, token, pw, confirm,
		func(o *Operator) bool { return o.Status == StatusActive || o.Status == StatusBlocked })
	if err != nil {
		return err
	}
	o, err := l.write(ctx, s, backoffice.ActionOperatorResetPassword, func(o *Operator) {
		rotatePassword(o, l.hash, l.policy, o.UpdatedAt)
		o.SessionEpoch++
	})
	if err != nil {
		return err
	}
	return s.endSessions(ctx, op, o.Tenant, o.ID)
}

// ChangePassword changes the actor's own password after checking the
// current one; every session of the actor ends, this one included.
func (s *Service) ChangePassword(ctx context.Context, current, pw, confirm backoffice.Secret) (err error) {
	defer s.observe(&ctx, "accessctl.ChangePassword")(&err)
	const op = "accessctl: change password"
	a, ok := ActorFrom(ctx)
	if !ok || a.kind != backoffice.ActorOperator {
		return backoffice.NewError(backoffice.ErrUnauthenticated, op, "log in first")
	}
	before, err := s.store.Operator(ctx, a.tenant, OperatorID(a.id))
	if err != nil {
		return err
	}
	ok, _, err = s.hasher.Verify(ctx, before.PasswordHash, string(current))
	if err != nil {
		return err
	}
	if !ok {
		return backoffice.NewError(backoffice.ErrInvalid, op, "the current password is wrong", backoffice.FieldViolation{Field: "current_password", Reason: "is wrong"})
	}
	_, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return err
	}
	_, err = s.setPassword(ctx, op, rs, a, before, before.Version, pw, confirm, backoffice.ActionOperatorChangePassword)
	return err
}
