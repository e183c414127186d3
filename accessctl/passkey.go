package accessctl

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/internal/check"
)

// Passkeys (W1–W4): WebAuthn credentials, checked with go-webauthn. A
// ceremony's state (the challenge, the relying party, the credentials it
// allows) travels to the browser and back inside an opaque ceremony
// token, tenant.kind.state.random, of which the token store keeps the
// digest only: the state cannot be altered, and consuming the token makes
// each challenge single-use across every instance (Redis when the host
// keeps tokens there). Ceremonies end after PasskeyCeremonyTTL.

// PurposePasskey is the token of a passkey ceremony.
const PurposePasskey TokenPurpose = "passkey"

const (
	// PasskeyCeremonyTTL bounds a ceremony, from its options to its
	// answer (W2).
	PasskeyCeremonyTTL = 5 * time.Minute
	// PasskeyRecentLogin is how recent an operator's login must be for it
	// to register a passkey (W1).
	PasskeyRecentLogin = 5 * time.Minute
	// MaxPasskeys bounds an operator's passkeys.
	MaxPasskeys = 10
)

// Ceremony kinds, the second part of a ceremony token.
const (
	ceremonyRegister = "r" // an operator with a session adds a passkey
	ceremonyEnrol    = "e" // an operator between password and second factor adds its first passkey (W4)
	ceremonyMFA      = "m" // the second factor of a login
	ceremonyAlone    = "a" // a username-less sign-in
)

// PasskeyCeremony is what a browser needs to run a WebAuthn ceremony:
// Options, for navigator.credentials.create() or .get() (the JSON of
// go-webauthn's protocol.CredentialCreation or CredentialAssertion), and
// the Ceremony token to send back with the authenticator's answer.
type PasskeyCeremony struct {
	Options  json.RawMessage   `json:"options"`
	Ceremony backoffice.Secret `json:"ceremony"`
	// Registration tells a create() ceremony from a get() one.
	Registration bool `json:"registration"`
}

// ErrPasskeyRequired refuses a TOTP code where the tenant's policy wants a
// passkey as the operator's second factor (W4).
var ErrPasskeyRequired = backoffice.NewError(backoffice.ErrForbidden, "accessctl: login",
	"this account must sign in with a passkey; use the passkey step of the login")

// waUser is an operator as go-webauthn sees it: its id is the user
// handle.
type waUser struct{ o *Operator }

func (u waUser) WebAuthnID() []byte   { return []byte(u.o.ID) }
func (u waUser) WebAuthnName() string { return u.o.LoginName() }
func (u waUser) WebAuthnDisplayName() string {
	if n := strings.TrimSpace(u.o.FirstName + " " + u.o.LastName); n != "" {
		return n
	}
	return u.o.LoginName()
}

func (u waUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(u.o.Passkeys))
	for _, p := range u.o.Passkeys {
		if p.Cloned {
			continue
		}
		id, err := base64.RawURLEncoding.DecodeString(p.ID)
		if err != nil {
			continue
		}
		aaguid, _ := hex.DecodeString(p.AAGUID)
		tr := make([]protocol.AuthenticatorTransport, len(p.Transports))
		for i, t := range p.Transports {
			tr[i] = protocol.AuthenticatorTransport(t)
		}
		out = append(out, webauthn.Credential{ID: id, PublicKey: p.PublicKey, AttestationType: p.AttestationType, Transport: tr,
			Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: p.BackupEligible, BackupState: p.BackupState},
			Authenticator: webauthn.Authenticator{AAGUID: aaguid, SignCount: p.SignCount}})
	}
	return out
}

// relyingParties caches the go-webauthn relying party of each
// configuration.
var relyingParties sync.Map // string → *webauthn.WebAuthn

// relyingParty is the tenant's relying party: its own settings, else the
// service's.
func (s *Service) relyingParty(t *Tenant) (*webauthn.WebAuthn, error) {
	c := t.WebAuthn
	if c.RPID == "" {
		c = s.webauthn
	}
	if c.RPID == "" || len(c.Origins) == 0 {
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, "accessctl: passkeys",
			"passkeys are not configured: set Config.WebAuthn or the tenant's relying party id and origins")
	}
	key := c.RPID + "\x00" + strings.Join(c.Origins, "\x00") + "\x00" + t.Name
	if rp, ok := relyingParties.Load(key); ok {
		return rp.(*webauthn.WebAuthn), nil
	}
	rp, err := webauthn.New(&webauthn.Config{RPID: c.RPID, RPDisplayName: cmp.Or(t.Name, "backoffice"), RPOrigins: c.Origins,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: PasskeyCeremonyTTL, TimeoutUVD: PasskeyCeremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: PasskeyCeremonyTTL, TimeoutUVD: PasskeyCeremonyTTL}}})
	if err != nil {
		return nil, backoffice.Errorf(backoffice.ErrInvalid, "accessctl: passkeys", "the relying party is not valid: %v", err)
	}
	relyingParties.Store(key, rp)
	return rp, nil
}

// newCeremony issues the ceremony token of kind for the operator (or an
// anonymous holder), carrying its session data.
func (s *Service) newCeremony(ctx context.Context, tenant backoffice.TenantID, kind string, holder OperatorID, options any, sd *webauthn.SessionData) (*PasskeyCeremony, error) {
	state, err := json.Marshal(sd)
	if err != nil {
		return nil, err
	}
	random, _, err := backoffice.NewToken()
	if err != nil {
		return nil, err
	}
	raw := backoffice.Secret(base64.RawURLEncoding.EncodeToString([]byte(tenant)) + "." + kind + "." +
		base64.RawURLEncoding.EncodeToString(state) + "." + string(random))
	now := s.clock()
	if err := s.tokens.IssueToken(ctx, &Token{ID: backoffice.Digest(raw), Purpose: PurposePasskey, Tenant: tenant, Operator: holder,
		CreatedAt: now, ExpiresAt: now.Add(PasskeyCeremonyTTL)}); err != nil {
		return nil, err
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	return &PasskeyCeremony{Options: opts, Ceremony: raw, Registration: kind == ceremonyRegister || kind == ceremonyEnrol}, nil
}

// spendCeremony consumes a ceremony token of kind, once across every
// instance, and returns its holder and session data.
func (s *Service) spendCeremony(ctx context.Context, raw backoffice.Secret, kind string) (backoffice.TenantID, OperatorID, *webauthn.SessionData, error) {
	parts := strings.Split(string(raw), ".")
	if len(parts) != 4 || parts[1] != kind || len(raw) > 8<<10 {
		return "", "", nil, errCeremony
	}
	tb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || len(tb) == 0 {
		return "", "", nil, errCeremony
	}
	tenant := backoffice.TenantID(tb)
	tok, err := s.tokens.ConsumeToken(ctx, PurposePasskey, tenant, backoffice.Digest(raw))
	switch {
	case isNotFound(err):
		return "", "", nil, errCeremony
	case err != nil:
		return "", "", nil, err
	case !s.clock().Before(tok.ExpiresAt):
		return "", "", nil, errCeremony
	}
	state, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", "", nil, errCeremony
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(state, &sd); err != nil {
		return "", "", nil, errCeremony
	}
	return tenant, tok.Operator, &sd, nil
}

// errCeremony is a ceremony token unknown, spent, expired or altered.
var errCeremony = errors.New("accessctl: passkey ceremony not found")

// BeginPasskeyRegistration starts adding a passkey to the actor's own
// account (W1): a discoverable credential, user verification required,
// none of its existing passkeys again. The actor must have logged in
// within PasskeyRecentLogin.
func (s *Service) BeginPasskeyRegistration(ctx context.Context) (_ *PasskeyCeremony, err error) {
	defer s.observe(&ctx, "accessctl.BeginPasskeyRegistration")(&err)
	const op = "accessctl: register passkey"
	a, ok := ActorFrom(ctx)
	if !ok || a.kind != backoffice.ActorOperator {
		return nil, backoffice.NewError(backoffice.ErrForbidden, op, "only an operator registers a passkey, for itself")
	}
	if s.clock().Sub(a.loginAt) > PasskeyRecentLogin {
		return nil, backoffice.NewError(backoffice.ErrForbidden, op, "log in again: registering a passkey needs a login within the last 5 minutes")
	}
	o, err := s.store.Operator(ctx, a.tenant, OperatorID(a.id))
	if err != nil {
		return nil, err
	}
	return s.beginRegistration(ctx, o, ceremonyRegister)
}

func (s *Service) beginRegistration(ctx context.Context, o *Operator, kind string) (*PasskeyCeremony, error) {
	t, err := s.store.Tenant(ctx, o.Tenant)
	if err != nil {
		return nil, err
	}
	if len(o.Passkeys) >= MaxPasskeys {
		return nil, backoffice.Errorf(backoffice.ErrFailedPrecondition, "accessctl: register passkey", "an operator has at most %d passkeys; revoke one first", MaxPasskeys)
	}
	rp, err := s.relyingParty(t)
	if err != nil {
		return nil, err
	}
	u := waUser{o}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.WebAuthnCredentials() {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := rp.BeginRegistration(u, webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(), UserVerification: protocol.VerificationRequired}),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, backoffice.Errorf(backoffice.ErrInvalid, "accessctl: register passkey", "the ceremony could not start: %v", err)
	}
	return s.newCeremony(ctx, o.Tenant, kind, o.ID, creation, sd)
}

// FinishPasskeyRegistration checks the authenticator's answer to a
// registration and stores the passkey under name. Every refusal is
// ErrInvalid and stores nothing.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, ceremony backoffice.Secret, name string, response []byte) (_ *Passkey, err error) {
	defer s.observe(&ctx, "accessctl.FinishPasskeyRegistration")(&err)
	a, ok := ActorFrom(ctx)
	if !ok || a.kind != backoffice.ActorOperator {
		return nil, backoffice.NewError(backoffice.ErrForbidden, "accessctl: register passkey", "only an operator registers a passkey, for itself")
	}
	tenant, holder, sd, err := s.spendCeremony(ctx, ceremony, ceremonyRegister)
	if err == nil && (tenant != a.tenant || holder != OperatorID(a.id)) {
		err = errCeremony
	}
	if err != nil {
		return nil, refusedRegistration(err)
	}
	_, p, err := s.registered(ctx, a.tenant, holder, sd, name, response)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func refusedRegistration(err error) error {
	if errors.Is(err, errCeremony) {
		return backoffice.NewError(backoffice.ErrInvalid, "accessctl: register passkey", "the registration expired or was already used; start again")
	}
	return err
}

// registered checks a registration's answer and stores the passkey on the
// operator, with its audit entry.
func (s *Service) registered(ctx context.Context, tenant backoffice.TenantID, id OperatorID, sd *webauthn.SessionData, name string, response []byte) (*Operator, *Passkey, error) {
	const op = "accessctl: register passkey"
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if r := check.Name(name, 100); r != "" {
		return nil, nil, backoffice.NewError(backoffice.ErrInvalid, op, "the name "+r, backoffice.FieldViolation{Field: "name", Reason: r})
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, nil, backoffice.NewError(backoffice.ErrInvalid, op, "the authenticator's answer could not be read", backoffice.FieldViolation{Field: "response", Reason: "malformed"})
	}
	for range retries {
		o, err := s.store.Operator(ctx, tenant, id)
		if err != nil {
			return nil, nil, err
		}
		if o.Status != StatusActive {
			return nil, nil, ErrLoginRefused
		}
		t, rs, err := s.tenantRoles(ctx, tenant)
		if err != nil {
			return nil, nil, err
		}
		rp, err := s.relyingParty(t)
		if err != nil {
			return nil, nil, err
		}
		cred, err := rp.CreateCredential(waUser{o}, *sd, parsed)
		if err != nil {
			return nil, nil, backoffice.Errorf(backoffice.ErrInvalid, op, "the authenticator's answer was refused: %v", protocolReason(err))
		}
		if !cred.Flags.UserVerified {
			return nil, nil, backoffice.NewError(backoffice.ErrInvalid, op, "the authenticator did not verify the user")
		}
		p := Passkey{ID: base64.RawURLEncoding.EncodeToString(cred.ID), Name: name, PublicKey: cred.PublicKey, SignCount: cred.Authenticator.SignCount,
			BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, AAGUID: hex.EncodeToString(cred.Authenticator.AAGUID),
			AttestationType: cred.AttestationType, CreatedAt: s.clock()}
		for _, tr := range cred.Transport {
			p.Transports = append(p.Transports, string(tr))
		}
		if slices.ContainsFunc(o.Passkeys, func(x Passkey) bool { return x.ID == p.ID }) {
			return nil, nil, backoffice.NewError(backoffice.ErrConflict, op, "this passkey is registered already")
		}
		after := o.Clone()
		after.Passkeys = append(after.Passkeys, p)
		after.UpdatedAt = s.clock()
		err = s.store.UpdateOperator(ctx, after, o.Version, guardFor(nil, rs, o, after), s.operatorEntry(s.selfRef(o), backoffice.ActionOperatorPasskeyAdd, o, after))
		if errors.Is(err, backoffice.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return after, &p, nil
	}
	return nil, nil, backoffice.NewError(backoffice.ErrConflict, op, "the operator kept changing; try again")
}

// protocolReason is what go-webauthn says of a refusal, without its
// internals.
func protocolReason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		if pe.DevInfo != "" {
			return pe.Details + ": " + pe.DevInfo
		}
		return pe.Details
	}
	return err.Error()
}

// phishingResistant reports whether the policy wants a passkey as o's
// second factor (W4).
func (s *Service) phishingResistant(p Policy, rs *roleSet, o *Operator) bool {
	switch p.PhishingResistant {
	case PhishingResistantEveryone:
		return true
	case PhishingResistantAdministrators:
		return slices.Contains(o.RolesAt(s.clock()), rs.admin)
	}
	return false
}

// loginChallenge reads a login's challenge (Login's result) without
// spending it: the operator between its password and its second factor.
func (s *Service) loginChallenge(ctx context.Context, challenge backoffice.Secret) (*Operator, *Token, error) {
	tenant, digest, ok := parseToken(challenge)
	if !ok {
		return nil, nil, s.refuse(ctx, refusal{})
	}
	tok, err := s.tokens.Token(ctx, PurposeMFAChallenge, tenant, digest)
	switch {
	case isNotFound(err):
		return nil, nil, s.refuse(ctx, refusal{})
	case err != nil:
		return nil, nil, s.refuse(ctx, refusal{cause: err})
	case !s.clock().Before(tok.ExpiresAt):
		return nil, nil, s.refuse(ctx, refusal{})
	}
	o, err := s.store.Operator(ctx, tok.Tenant, tok.Operator)
	if err := s.usable(ctx, o, err); err != nil {
		return nil, nil, err
	}
	return o, tok, nil
}

// BeginPasskeyLogin starts the passkey step of a login, after its
// password (W2): an assertion of one of the operator's passkeys; or, for
// an operator the policy requires a passkey of and that has none, the
// registration of its first one (W4).
func (s *Service) BeginPasskeyLogin(ctx context.Context, challenge backoffice.Secret) (_ *PasskeyCeremony, err error) {
	defer s.observe(&ctx, "accessctl.BeginPasskeyLogin")(&err)
	o, _, err := s.loginChallenge(ctx, challenge)
	if err != nil {
		return nil, err
	}
	if len(waUser{o}.WebAuthnCredentials()) == 0 {
		t, rs, err := s.tenantRoles(ctx, o.Tenant)
		if err != nil {
			return nil, s.refuse(ctx, refusal{cause: err})
		}
		if !s.phishingResistant(s.policyOf(t), rs, o) {
			return nil, s.refuse(ctx, refusal{})
		}
		return s.beginRegistration(ctx, o, ceremonyEnrol)
	}
	t, err := s.store.Tenant(ctx, o.Tenant)
	if err != nil {
		return nil, s.refuse(ctx, refusal{cause: err})
	}
	rp, err := s.relyingParty(t)
	if err != nil {
		return nil, err
	}
	assertion, sd, err := rp.BeginLogin(waUser{o}, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, s.refuse(ctx, refusal{cause: err})
	}
	return s.newCeremony(ctx, o.Tenant, ceremonyMFA, o.ID, assertion, sd)
}

// CompletePasskeyLogin answers a login's challenge with the
// authenticator's answer to BeginPasskeyLogin's ceremony, and opens the
// session. A first passkey registered at the login (W4) is stored under
// name. Every refusal is ErrLoginRefused, counted toward the lockout like
// a wrong code (W3).
func (s *Service) CompletePasskeyLogin(ctx context.Context, challenge, ceremony backoffice.Secret, name string, response []byte) (res *LoginResult, err error) {
	defer s.observe(&ctx, "accessctl.CompletePasskeyLogin")(&err)
	tenant, _, _ := parseToken(challenge)
	defer func() { s.loginEvent(ctx, tenant, EventMFAFailed, res, err) }()
	o, _, err := s.loginChallenge(ctx, challenge)
	if err != nil {
		return nil, err
	}
	kind := ceremonyMFA
	if parts := strings.Split(string(ceremony), "."); len(parts) == 4 && parts[1] == ceremonyEnrol {
		kind = ceremonyEnrol
	}
	t, rs, err := s.tenantRoles(ctx, o.Tenant)
	if err != nil {
		return nil, s.refuse(ctx, refusal{cause: err})
	}
	p := s.policyOf(t)
	var done *Operator
	_, err = s.checkAttempt(ctx, o, p, func() (bool, bool, error) {
		ct, holder, sd, err := s.spendCeremony(ctx, ceremony, kind)
		if errors.Is(err, errCeremony) || err == nil && (ct != o.Tenant || holder != o.ID) {
			return false, false, nil
		}
		if err != nil {
			return false, false, err
		}
		switch kind {
		case ceremonyEnrol:
			if !s.phishingResistant(p, rs, o) {
				return false, false, nil
			}
			reg, _, err := s.registered(ctx, o.Tenant, o.ID, sd, name, response)
			if err != nil {
				if errors.Is(err, backoffice.ErrInvalid) || errors.Is(err, backoffice.ErrConflict) {
					return false, false, nil
				}
				return false, false, err
			}
			done = reg
		default:
			d, ok, err := s.asserted(ctx, o, sd, response, nil)
			if !ok || err != nil {
				return false, false, err
			}
			done = d
		}
		return true, false, nil
	}, AttemptSucceeded)
	if err != nil {
		return nil, err
	}
	// The login's challenge is spent with its success.
	if _, digest, ok := parseToken(challenge); ok {
		if _, err := s.tokens.ConsumeToken(ctx, PurposeMFAChallenge, o.Tenant, digest); err != nil {
			return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
		}
	}
	if done, err = s.recordLogin(ctx, done, 0); err != nil {
		return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
	}
	res, err = s.openSession(ctx, done)
	if err != nil {
		return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
	}
	return res, nil
}

// asserted checks an assertion by one of o's passkeys and records its
// use: the new sign count and time. A count that went backwards flags
// the passkey as cloned, records it, and refuses (W3). It reports false
// for every refusal.
func (s *Service) asserted(ctx context.Context, o *Operator, sd *webauthn.SessionData, response []byte, parsed *protocol.ParsedCredentialAssertionData) (*Operator, bool, error) {
	if parsed == nil {
		var err error
		if parsed, err = protocol.ParseCredentialRequestResponseBytes(response); err != nil {
			return nil, false, nil
		}
	}
	for range retries {
		t, rs, err := s.tenantRoles(ctx, o.Tenant)
		if err != nil {
			return nil, false, err
		}
		rp, err := s.relyingParty(t)
		if err != nil {
			return nil, false, err
		}
		cred, err := rp.ValidateLogin(waUser{o}, *sd, parsed)
		if err != nil {
			return nil, false, nil // the one refusal; Config.Events hears it
		}
		id := base64.RawURLEncoding.EncodeToString(cred.ID)
		i := slices.IndexFunc(o.Passkeys, func(p Passkey) bool { return p.ID == id })
		if i < 0 || o.Passkeys[i].Cloned || !bytes.Equal(o.Passkeys[i].PublicKey, cred.PublicKey) {
			return nil, false, nil
		}
		after := o.Clone()
		pk := &after.Passkeys[i]
		action := backoffice.ActionOperatorPasskeyUse
		if cred.Authenticator.CloneWarning {
			pk.Cloned = true
			action = backoffice.ActionOperatorPasskeyCloned
		} else {
			pk.SignCount, pk.LastUsedAt, pk.BackupState = cred.Authenticator.SignCount, s.clock(), cred.Flags.BackupState
		}
		after.UpdatedAt = s.clock()
		err = s.store.UpdateOperator(ctx, after, o.Version, guardFor(nil, rs, o, after), s.operatorEntry(systemLogin, action, o, after,
			backoffice.Change{Field: "passkey", After: pk.AuditValue()}))
		if errors.Is(err, backoffice.ErrConflict) {
			// A concurrent use: read again; the counter decides.
			if o, err = s.store.Operator(ctx, o.Tenant, o.ID); err != nil {
				return nil, false, err
			}
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if pk.Cloned {
			return nil, false, nil
		}
		return after, true, nil
	}
	return nil, false, nil
}

// BeginPasskeySignIn starts a username-less sign-in with a passkey alone
// (W2), where the tenant allows it: no user is named; the authenticator
// offers the discoverable credentials it holds for the relying party.
func (s *Service) BeginPasskeySignIn(ctx context.Context, tenant backoffice.TenantID) (_ *PasskeyCeremony, err error) {
	defer s.observe(&ctx, "accessctl.BeginPasskeySignIn")(&err)
	t, err := s.store.Tenant(ctx, tenant)
	if isNotFound(err) {
		return nil, s.refuse(ctx, refusal{})
	}
	if err != nil {
		return nil, err
	}
	if !t.WebAuthn.Passwordless || t.SSO.Enabled {
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, "accessctl: passkey sign-in", "this tenant does not sign in with a passkey alone")
	}
	rp, err := s.relyingParty(t)
	if err != nil {
		return nil, err
	}
	assertion, sd, err := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	anon, _, err := backoffice.NewToken()
	if err != nil {
		return nil, err
	}
	return s.newCeremony(ctx, tenant, ceremonyAlone, OperatorID("anon-"+string(anon)[:22]), assertion, sd)
}

// FinishPasskeySignIn checks a username-less sign-in: the operator is the
// passkey's user handle, which must be an active operator of the tenant
// holding that passkey. Every refusal is ErrLoginRefused; one for a known
// operator counts toward its lockout (W3).
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremony backoffice.Secret, response []byte) (res *LoginResult, err error) {
	defer s.observe(&ctx, "accessctl.FinishPasskeySignIn")(&err)
	tenant, _, _ := parseToken(ceremony)
	defer func() { s.loginEvent(ctx, tenant, EventLoginRefused, res, err) }()
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil || len(parsed.Response.UserHandle) == 0 {
		return nil, s.refuse(ctx, refusal{})
	}
	t, err := s.store.Tenant(ctx, tenant)
	if err != nil || !t.WebAuthn.Passwordless || t.SSO.Enabled {
		return nil, s.refuse(ctx, refusal{cause: ignoreNotFound(err)})
	}
	o, err := s.store.Operator(ctx, tenant, OperatorID(parsed.Response.UserHandle))
	if err := s.usable(ctx, o, err); err != nil {
		return nil, err
	}
	var done *Operator
	_, err = s.checkAttempt(ctx, o, s.policyOf(t), func() (bool, bool, error) {
		ct, _, sd, err := s.spendCeremony(ctx, ceremony, ceremonyAlone)
		if errors.Is(err, errCeremony) || err == nil && ct != tenant {
			return false, false, nil
		}
		if err != nil {
			return false, false, err
		}
		sd.UserID = []byte(o.ID) // the discoverable ceremony named no user; the answer names this one
		d, ok, err := s.asserted(ctx, o, sd, response, parsed)
		done = d
		return ok, false, err
	}, AttemptSucceeded)
	if err != nil {
		return nil, err
	}
	if done, err = s.recordLogin(ctx, done, 0); err != nil {
		return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
	}
	res, err = s.openSession(ctx, done)
	if err != nil {
		return nil, s.refuse(ctx, refusal{hashed: true, cause: err})
	}
	return res, nil
}

func ignoreNotFound(err error) error {
	if isNotFound(err) {
		return nil
	}
	return err
}

// RevokePasskey removes one of an operator's passkeys: its own, or
// another's with operator.reset_mfa (an Administrator for an
// Administrator). Its sessions go on; a passkey is a way in, not a
// session.
func (s *Service) RevokePasskey(ctx context.Context, id OperatorID, passkeyID string) (err error) {
	defer s.observe(&ctx, "accessctl.RevokePasskey")(&err)
	const op = "accessctl: revoke passkey"
	a, ok := ActorFrom(ctx)
	if !ok {
		return errNoActor
	}
	if a.kind != backoffice.ActorOperator || a.id != string(id) {
		if err := a.Authorize(PermOperatorResetMFA); err != nil {
			return err
		}
	}
	for range retries {
		o, _, rs, err := s.loadTarget(ctx, op, a, id)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(o.Passkeys, func(p Passkey) bool { return p.ID == passkeyID })
		if i < 0 {
			return backoffice.NewError(backoffice.ErrNotFound, op, "no such passkey")
		}
		after := o.Clone()
		after.Passkeys = slices.Delete(after.Passkeys, i, i+1)
		if len(after.Passkeys) == 0 {
			after.Passkeys = nil
		}
		after.UpdatedAt = s.clock()
		err = s.store.UpdateOperator(ctx, after, o.Version, guardFor(a, rs, o, after), s.operatorEntry(a.Ref(), backoffice.ActionOperatorPasskeyRevoke, o, after))
		if errors.Is(err, backoffice.ErrConflict) {
			continue
		}
		return err
	}
	return backoffice.NewError(backoffice.ErrConflict, op, "the operator kept changing; try again")
}
