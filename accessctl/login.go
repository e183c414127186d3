package accessctl

import (
	"context"
	"errors"
	"time"
)

// LoginResult is the outcome of a login step. Exactly one of Session and
// Challenge is set.
type LoginResult struct {
	Operator OperatorID
	// Session is the session token for the client to send with each
	// request, set once the login is complete.
	Session   Secret
	ExpiresAt time.Time
	// Challenge is set when a TOTP code is needed: pass it with the code to
	// CompleteLogin. It expires after a few minutes and works once.
	Challenge Secret
	// Enrolment is set when the operator has no MFA yet and must add the
	// secret to an authenticator app first (A10).
	Enrolment *MFAEnrolment
}

// MFAEnrolment is a new TOTP secret and its otpauth:// URI (for a QR code).
type MFAEnrolment struct {
	Secret Secret
	URI    Secret
}

// errLogin is the one answer to every refused login (A9): it does not say
// whether the username exists, the password was wrong or the operator is
// blocked.
func errLogin() error {
	return Errorf(ErrUnauthenticated, "accessctl: login",
		"wrong username or password, or this operator cannot log in; after three failures an operator manager must unblock it")
}

func (s *Service) selfRef(o *Operator) ActorRef {
	return ActorRef{Kind: ActorOperator, ID: string(o.ID), Name: o.LoginName()}
}

// Login checks a password (A9). It needs no actor. On success it returns a
// challenge for the TOTP code, with a new MFA enrolment if the operator has
// none. Every refusal is the same ErrUnauthenticated and takes about as long
// whether or not the username exists. Three failures in a row block the
// operator; the last active Administrator, which cannot be blocked (A15),
// is refused for LastAdminCooldown instead.
func (s *Service) Login(ctx context.Context, tenant TenantID, login string, password Secret) (*LoginResult, error) {
	t, err := s.store.Tenant(ctx, tenant)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if err == nil && t.SSO.Enabled {
		return nil, Errorf(ErrFailedPrecondition, "accessctl: login", "this tenant signs in through SSO")
	}
	var o *Operator
	if t != nil {
		o, err = s.store.OperatorByLogin(ctx, tenant, login)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	if o == nil {
		// Spend the time a real check takes, then refuse.
		_, _, _ = s.hasher.Verify(ctx, "", string(password))
		return nil, errLogin()
	}
	att, err := s.attempts.Attempts(ctx, o.Tenant, o.ID)
	if err != nil {
		return nil, err
	}
	ok, rehash, err := s.hasher.Verify(ctx, o.PasswordHash, string(password))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.fail(ctx, o)
	}
	if o.Status != StatusActive || s.coolingDown(att) {
		return nil, errLogin()
	}
	if err := s.attempts.ResetAttempts(ctx, o.Tenant, o.ID); err != nil {
		return nil, err
	}
	res := &LoginResult{Operator: o.ID}
	if rehash || !o.MFAEnrolled && o.MFASecret == "" {
		before := o
		o = o.Clone()
		var c changes
		if rehash {
			if o.PasswordHash, err = s.hasher.Hash(ctx, string(password)); err != nil {
				return nil, err
			}
			c.secret("password_hash_parameters")
		}
		if !o.MFAEnrolled && o.MFASecret == "" {
			if o.MFASecret, err = newTOTPSecret(); err != nil {
				return nil, err
			}
			c.secret("mfa_secret")
		}
		o.UpdatedAt = s.clock()
		e := s.entry(s.selfRef(o), o.Tenant, "operator.login_prepare", TargetOperator, string(o.ID), o.UpdatedAt, c)
		if err := s.store.UpdateOperator(ctx, o, before.Version, Guard{}, e); err != nil {
			return nil, err
		}
	}
	if !o.MFAEnrolled {
		res.Enrolment = &MFAEnrolment{Secret: o.MFASecret, URI: otpauthURI(s.issuer, o.LoginName(), o.MFASecret)}
	}
	if res.Challenge, _, err = s.issue(ctx, PurposeMFAChallenge, o, s.challengeTTL); err != nil {
		return nil, err
	}
	return res, nil
}

// coolingDown reports whether a run of failures still refuses logins. For
// an ordinary operator the block itself refuses them; this catches the last
// active Administrator, which is never blocked.
func (s *Service) coolingDown(att Attempts) bool {
	return att.Count >= s.maxFailures && s.clock().Sub(att.Last) < s.lastAdminCooldown
}

// fail records a failed login or code and blocks the operator at the
// third. It always returns the login error, unless a store is down.
func (s *Service) fail(ctx context.Context, o *Operator) error {
	now := s.clock()
	att, err := s.attempts.RecordFailure(ctx, o.Tenant, o.ID, now, s.failureWindow)
	if err != nil {
		return err
	}
	if att.Count < s.maxFailures || o.Status != StatusActive {
		return errLogin()
	}
	for range 3 { // retry on a concurrent change of the operator
		cur, err := s.store.Operator(ctx, o.Tenant, o.ID)
		if err != nil || cur.Status != StatusActive {
			return errLogin()
		}
		_, rs, err := s.tenantRoles(ctx, o.Tenant)
		if err != nil {
			return err
		}
		b := cur.Clone()
		b.Status = StatusBlocked
		b.SessionEpoch++
		b.UpdatedAt = now
		e := s.entry(ActorRef{Kind: ActorSystem, ID: "system:login", Name: "login"}, o.Tenant, "operator.block",
			TargetOperator, string(o.ID), now, []Change{{Field: "status", Before: string(cur.Status), After: string(b.Status)},
				{Field: "reason", After: "too many failed logins"}})
		err = s.store.UpdateOperator(ctx, b, cur.Version, guardFor(rs, cur, b), e)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err == nil {
			_ = s.sessions.DeleteOperatorSessions(ctx, o.Tenant, o.ID)
		}
		// ErrLastAdministrator: the cooldown refuses it instead.
		return errLogin()
	}
	return errLogin()
}

// CompleteLogin checks the TOTP code for a challenge and, when it is
// right, completes any pending MFA enrolment and opens a session (A10,
// A18). A wrong code counts as a failed login and spends the challenge.
func (s *Service) CompleteLogin(ctx context.Context, challenge Secret, code string) (*LoginResult, error) {
	tok, err := s.tokens.ConsumeToken(ctx, PurposeMFAChallenge, hashToken(string(challenge)))
	if isNotFound(err) || err == nil && !s.clock().Before(tok.ExpiresAt) {
		return nil, Errorf(ErrUnauthenticated, "accessctl: login", "the login step expired or was already used; log in again")
	}
	if err != nil {
		return nil, err
	}
	o, err := s.store.Operator(ctx, tok.Tenant, tok.Operator)
	if isNotFound(err) {
		return nil, errLogin()
	}
	if err != nil {
		return nil, err
	}
	if o.Status != StatusActive {
		return nil, errLogin()
	}
	step, ok := verifyTOTP(o.MFASecret, code, s.clock(), o.MFALastStep)
	if !ok {
		return nil, s.fail(ctx, o)
	}
	before := o
	o = o.Clone()
	o.MFALastStep = step
	var c changes
	action := "operator.login"
	if !o.MFAEnrolled {
		o.MFAEnrolled = true
		c.str("mfa_enrolled", "false", "true")
		action = "operator.mfa_enrol"
	}
	o.UpdatedAt = s.clock()
	e := s.entry(s.selfRef(o), o.Tenant, action, TargetOperator, string(o.ID), o.UpdatedAt, c)
	if err := s.store.UpdateOperator(ctx, o, before.Version, Guard{}, e); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, Errorf(ErrUnauthenticated, "accessctl: login", "the operator changed during login; log in again")
		}
		return nil, err
	}
	if err := s.attempts.ResetAttempts(ctx, o.Tenant, o.ID); err != nil {
		return nil, err
	}
	return s.openSession(ctx, o)
}

func (s *Service) openSession(ctx context.Context, o *Operator) (*LoginResult, error) {
	raw, id, err := newOperatorToken(o.Tenant, o.ID)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	sess := &Session{ID: id, Tenant: o.Tenant, Operator: o.ID, Epoch: o.SessionEpoch, CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL)}
	if err := s.sessions.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	return &LoginResult{Operator: o.ID, Session: raw, ExpiresAt: sess.ExpiresAt}, nil
}

// Authenticate checks a session token and returns the actor to put in the
// request's context with NewContext (A18). The session must exist, be
// unexpired and of the operator's current epoch, and the operator active;
// anything else is ErrUnauthenticated. A store that cannot answer makes it
// fail closed with ErrUnavailable.
func (s *Service) Authenticate(ctx context.Context, token Secret) (*Actor, error) {
	refused := func() error {
		return Errorf(ErrUnauthenticated, "accessctl: authenticate", "the session ended; log in again")
	}
	if token == "" {
		return nil, refused()
	}
	sess, err := s.sessions.Session(ctx, hashToken(string(token)))
	if isNotFound(err) {
		return nil, refused()
	}
	if err != nil {
		return nil, err
	}
	if !s.clock().Before(sess.ExpiresAt) {
		_ = s.sessions.DeleteSession(ctx, sess.Tenant, sess.ID)
		return nil, refused()
	}
	o, err := s.store.Operator(ctx, sess.Tenant, sess.Operator)
	if isNotFound(err) {
		return nil, refused()
	}
	if err != nil {
		return nil, err
	}
	if o.Status != StatusActive || o.SessionEpoch != sess.Epoch {
		return nil, refused()
	}
	_, rs, err := s.tenantRoles(ctx, o.Tenant)
	if err != nil {
		return nil, err
	}
	return newActor(s.cat, rs, o), nil
}

// Logout ends the session of the token.
func (s *Service) Logout(ctx context.Context, token Secret) error {
	sess, err := s.sessions.Session(ctx, hashToken(string(token)))
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.sessions.DeleteSession(ctx, sess.Tenant, sess.ID)
}

// Sessions lists an operator's sessions. An operator may list its own;
// anyone else needs operator.sessions.
func (s *Service) Sessions(ctx context.Context, id OperatorID) ([]*Session, error) {
	a, err := s.selfOr(ctx, id, PermOperatorSessions)
	if err != nil {
		return nil, err
	}
	return s.sessions.Sessions(ctx, a.tenant, id)
}

// RevokeSessions ends every session of an operator at once. An operator
// may end its own; anyone else needs operator.sessions (and A4).
func (s *Service) RevokeSessions(ctx context.Context, id OperatorID) error {
	a, err := s.selfOr(ctx, id, PermOperatorSessions)
	if err != nil {
		return err
	}
	if a.id != string(id) {
		if _, _, _, err := s.loadTarget(ctx, "accessctl: revoke sessions", a, id); err != nil {
			return err
		}
	}
	return s.sessions.DeleteOperatorSessions(ctx, a.tenant, id)
}

func (s *Service) selfOr(ctx context.Context, id OperatorID, p Permission) (*Actor, error) {
	a, ok := ActorFrom(ctx)
	if ok && a.id == string(id) {
		return a, nil
	}
	return Require(ctx, p)
}

// consumeLink validates a link token and the password to set with it, and
// spends the token only when both are good, so bad input changes nothing.
func (s *Service) consumeLink(ctx context.Context, op string, purpose TokenPurpose, token, pw, confirm Secret,
	okStatus func(*Operator) bool) (*Operator, error) {
	bad := Errorf(ErrInvalid, op, "the link is invalid, expired or already used; ask for a new one",
		FieldViolation{"token", "invalid, expired or already used"})
	id := hashToken(string(token))
	tok, err := s.tokens.Token(ctx, purpose, id)
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
	var v Violations
	s.validatePassword(&v, pw, confirm, o.Username, o.Email)
	if err := v.Err(op); err != nil {
		return nil, err
	}
	if _, err := s.tokens.ConsumeToken(ctx, purpose, id); isNotFound(err) {
		return nil, bad // spent by a concurrent call
	} else if err != nil {
		return nil, err
	}
	return o, nil
}

// AcceptInvitation follows an invitation or verification link (A7): it
// verifies the email, sets the password and activates the operator, then
// returns the MFA enrolment and challenge to finish with CompleteLogin. It
// needs no actor. A bad password leaves the link usable.
func (s *Service) AcceptInvitation(ctx context.Context, token, pw, confirm Secret) (*LoginResult, error) {
	const op = "accessctl: accept invitation"
	before, err := s.consumeLink(ctx, op, PurposeInvitation, token, pw, confirm,
		func(o *Operator) bool { return o.Status == StatusInvited })
	if err != nil {
		return nil, err
	}
	o := before.Clone()
	if o.PasswordHash, err = s.hasher.Hash(ctx, string(pw)); err != nil {
		return nil, err
	}
	if o.MFASecret, err = newTOTPSecret(); err != nil {
		return nil, err
	}
	o.Status, o.EmailVerified, o.MFAEnrolled = StatusActive, true, false
	var c changes
	c.str("status", string(before.Status), string(o.Status))
	c.str("email_verified", "false", "true")
	c.secret("password")
	c.secret("mfa_secret")
	o.UpdatedAt = s.clock()
	e := s.entry(s.selfRef(o), o.Tenant, "operator.accept_invitation", TargetOperator, string(o.ID), o.UpdatedAt, c)
	if err := s.store.UpdateOperator(ctx, o, before.Version, Guard{}, e); err != nil {
		return nil, err
	}
	res := &LoginResult{Operator: o.ID, Enrolment: &MFAEnrolment{Secret: o.MFASecret, URI: otpauthURI(s.issuer, o.LoginName(), o.MFASecret)}}
	if res.Challenge, _, err = s.issue(ctx, PurposeMFAChallenge, o, s.challengeTTL); err != nil {
		return nil, err
	}
	return res, nil
}

// SendPasswordReset emails an active operator a password reset link valid
// 24 hours and single use (A11). Needs operator.password_reset; A4.
func (s *Service) SendPasswordReset(ctx context.Context, id OperatorID) error {
	const op = "accessctl: send password reset"
	a, err := Require(ctx, PermOperatorPasswordReset)
	if err != nil {
		return err
	}
	o, _, _, err := s.loadTarget(ctx, op, a, id)
	if err != nil {
		return err
	}
	if o.Status != StatusActive {
		return wrongStatus(op, o, "an active operator")
	}
	if err := s.store.AppendAuditEntry(ctx, s.entry(a.Ref(), a.tenant, "operator.send_password_reset", TargetOperator, string(o.ID), s.clock(), nil)); err != nil {
		return err
	}
	return s.sendReset(ctx, o)
}

func (s *Service) sendReset(ctx context.Context, o *Operator) error {
	token, exp, err := s.issue(ctx, PurposePasswordReset, o, s.resetTTL)
	if err != nil {
		return err
	}
	return s.notify(ctx, OperatorNotice{Kind: NoticePasswordReset, Tenant: o.Tenant, Operator: o.ID, Email: o.Email,
		Name: o.FirstName + " " + o.LastName, Token: token, ExpiresAt: exp})
}

// ForgotPassword is the login page's "forgot your password?" (A11). It
// needs no actor and answers nil whether or not the login exists, so it
// reveals nothing; an active operator with an email gets a reset link.
func (s *Service) ForgotPassword(ctx context.Context, tenant TenantID, login string) error {
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
	return s.sendReset(ctx, o)
}

// ResetPassword follows a password reset link: it sets a new password that
// meets the policy and ends the operator's sessions (A11). It needs no
// actor. A bad password leaves the link usable.
func (s *Service) ResetPassword(ctx context.Context, token, pw, confirm Secret) error {
	const op = "accessctl: reset password"
	before, err := s.consumeLink(ctx, op, PurposePasswordReset, token, pw, confirm,
		func(o *Operator) bool { return o.Status == StatusActive || o.Status == StatusBlocked })
	if err != nil {
		return err
	}
	o := before.Clone()
	if o.PasswordHash, err = s.hasher.Hash(ctx, string(pw)); err != nil {
		return err
	}
	o.SessionEpoch++
	var c changes
	c.secret("password")
	o.UpdatedAt = s.clock()
	e := s.entry(s.selfRef(o), o.Tenant, "operator.reset_password", TargetOperator, string(o.ID), o.UpdatedAt, c)
	if err := s.store.UpdateOperator(ctx, o, before.Version, Guard{}, e); err != nil {
		return err
	}
	_ = s.sessions.DeleteOperatorSessions(ctx, o.Tenant, o.ID)
	return nil
}

// ChangePassword changes the actor's own password after checking the
// current one; every session of the actor ends, this one included.
func (s *Service) ChangePassword(ctx context.Context, current, pw, confirm Secret) error {
	const op = "accessctl: change password"
	a, ok := ActorFrom(ctx)
	if !ok || a.kind != ActorOperator {
		return Errorf(ErrUnauthenticated, op, "log in first")
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
		return Errorf(ErrInvalid, op, "the current password is wrong", FieldViolation{"current_password", "is wrong"})
	}
	_, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return err
	}
	_, err = s.setPassword(ctx, op, rs, a, before, before.Version, pw, confirm, "operator.change_password")
	return err
}
