package accessctl

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/internal/check"
)

// Policy is a tenant's security policy: how long sessions last, how
// passwords age, who must approve what. The zero value keeps the
// service's defaults (Config) for every setting; PCIDSS4 is the preset a
// regulated host switches on in one line, through Config.Policy for every
// tenant or TenantSettings.Policy for one, and then overrides field by
// field.
type Policy struct {
	// Name says where the policy came from ("pci-dss-4.0"), for the
	// settings page.
	Name string `json:"name" audit:"name"`
	// IdleTimeout ends a session that made no request for this long (PCI
	// DSS v4.0 8.2.8: 15 minutes). Zero: no idle limit.
	IdleTimeout time.Duration `json:"idle_timeout" audit:"idle_timeout"`
	// SessionLifetime ends a session this long after its login, active or
	// not. Zero: Config.SessionTTL.
	SessionLifetime time.Duration `json:"session_lifetime" audit:"session_lifetime"`
	// LockoutDuration is the least time an operator is locked out after
	// its run of failed logins (8.3.4: 30 minutes or until an
	// administrator unblocks). An ordinary operator is blocked until an
	// operator manager unblocks it, however long that takes; the last
	// active Administrator, which cannot be blocked, is refused for the
	// longer of this and Config.LastAdminCooldown.
	LockoutDuration time.Duration `json:"lockout_duration" audit:"lockout_duration"`
	// MinPasswordLength raises the service's password policy's minimum
	// (8.3.6: 12). It never lowers it.
	MinPasswordLength int `json:"min_password_length" audit:"min_password_length"`
	// PasswordHistory refuses a new password equal to any of the
	// operator's last N, the current one included (8.3.7: 4). Only their
	// hashes are kept.
	PasswordHistory int `json:"password_history" audit:"password_history"`
	// MaxPasswordAge refuses the login of an operator without MFA whose
	// password is older (8.3.9: 90 days); it must reset it. Operators with
	// MFA are not concerned. Zero: no limit.
	MaxPasswordAge time.Duration `json:"max_password_age" audit:"max_password_age"`
	// MFA says whether operators must use a TOTP code (8.4.2). The
	// library's default, MFARequired, gives an operator without MFA no
	// session: it enrols at its first login.
	MFA MFAMode `json:"mfa" audit:"mfa"`
	// DormantAfter blocks, at its next login, an operator that has not
	// logged in for this long, and lists it for managers (8.2.6: 90 days).
	// Zero: never.
	DormantAfter time.Duration `json:"dormant_after" audit:"dormant_after"`
	// FourEyes lists the actions a second operator must approve (F1); nil
	// means none. PCIDSS4 lists DefaultFourEyes.
	FourEyes []backoffice.Action `json:"four_eyes" audit:"four_eyes"`
	// ApprovalTTL is how long a request waits for its approval before it
	// expires. Zero: 72 hours.
	ApprovalTTL time.Duration `json:"approval_ttl" audit:"approval_ttl"`
	// MaxElevation bounds a break-glass elevation (T2). Zero: 4 hours.
	MaxElevation time.Duration `json:"max_elevation" audit:"max_elevation"`
	// ApproverMinAge is how long an operator must have existed before it
	// decides a four-eyes request (F4): a fresh account approves nothing.
	// Zero: no wait. PCIDSS4: 7 days.
	ApproverMinAge time.Duration `json:"approver_min_age" audit:"approver_min_age"`
	// ReviewInterval is how often the tenant's access must be reviewed
	// (7.2.4: every six months); a tenant without a review completed
	// within it is reported overdue. Zero: 183 days.
	ReviewInterval time.Duration `json:"review_interval" audit:"review_interval"`
	// PhishingResistant requires a passkey (WebAuthn) as the second factor
	// of the operators it names (W4; NIST SP 800-63B AAL3): they can no
	// longer complete a login with a TOTP code, and enrol a passkey at
	// their next login instead. Empty: TOTP or a passkey.
	PhishingResistant PhishingResistance `json:"phishing_resistant,omitempty" audit:"phishing_resistant"`
}

// PhishingResistance says whose second factor must be a passkey.
type PhishingResistance string

// Whose second factor must be a passkey.
const (
	PhishingResistantAdministrators PhishingResistance = "administrators"
	PhishingResistantEveryone       PhishingResistance = "everyone"
)

func (r PhishingResistance) level() int {
	switch r {
	case PhishingResistantAdministrators:
		return 1
	case PhishingResistantEveryone:
		return 2
	}
	return 0
}

// MFAMode says whether operators need a second factor.
type MFAMode string

// MFA modes.
const (
	// MFARequired: every operator logs in with a TOTP code; one without
	// MFA enrols at its login and gets no session before. The default.
	MFARequired MFAMode = "required"
	// MFAOptional: an operator that never enrolled logs in with its
	// password alone, subject to MaxPasswordAge.
	MFAOptional MFAMode = "optional"
)

// Actions a tenant may put under four-eyes approval besides the ones
// that record a change (backoffice.ActionEndUserDeactivate, say): giving
// an operator the Administrator role, changing the tenant's policy, and a
// break-glass elevation, which is always approved.
const (
	ApproveGrantAdministrator backoffice.Action = "operator.grant_administrator"
	ApprovePolicyChange       backoffice.Action = "tenant.policy"
	ApproveElevation                            = backoffice.ActionOperatorElevate
)

// DefaultFourEyes are the actions PCIDSS4 puts under approval: granting
// Administrator, unlocking an SCA device, resetting its PIN, deactivating
// an end user, editing the policy itself.
func DefaultFourEyes() []backoffice.Action {
	return []backoffice.Action{ApproveGrantAdministrator, backoffice.ActionDeviceUnlock, backoffice.ActionDeviceResetPIN,
		backoffice.ActionEndUserDeactivate, ApprovePolicyChange}
}

// PCIDSS4 is the policy that meets PCI DSS v4.0 requirements 7 and 8 as
// the library can: every value the requirement names, each overridable.
func PCIDSS4() Policy {
	return Policy{
		Name:              "pci-dss-4.0",
		IdleTimeout:       15 * time.Minute,
		SessionLifetime:   8 * time.Hour,
		LockoutDuration:   30 * time.Minute,
		MinPasswordLength: 12,
		PasswordHistory:   4,
		MaxPasswordAge:    90 * 24 * time.Hour,
		MFA:               MFARequired,
		DormantAfter:      90 * 24 * time.Hour,
		FourEyes:          DefaultFourEyes(),
		ApprovalTTL:       72 * time.Hour,
		MaxElevation:      4 * time.Hour,
		ReviewInterval:    183 * 24 * time.Hour,
		ApproverMinAge:    7 * 24 * time.Hour,
	}
}

// validate checks a policy a tenant is given.
func (p Policy) validate(v *backoffice.Violations) {
	nonNeg := func(field string, d time.Duration) {
		if d < 0 {
			v.Add("policy."+field, "must not be negative")
		}
	}
	nonNeg("idle_timeout", p.IdleTimeout)
	nonNeg("session_lifetime", p.SessionLifetime)
	nonNeg("lockout_duration", p.LockoutDuration)
	nonNeg("max_password_age", p.MaxPasswordAge)
	nonNeg("dormant_after", p.DormantAfter)
	nonNeg("approval_ttl", p.ApprovalTTL)
	nonNeg("max_elevation", p.MaxElevation)
	nonNeg("review_interval", p.ReviewInterval)
	nonNeg("approver_min_age", p.ApproverMinAge)
	if p.IdleTimeout > 0 && p.IdleTimeout < time.Minute {
		v.Add("policy.idle_timeout", "must be at least a minute")
	}
	if p.MinPasswordLength < 0 || p.MinPasswordLength > 128 {
		v.Add("policy.min_password_length", "must be between 0 and 128")
	}
	if p.PasswordHistory < 0 || p.PasswordHistory > 24 {
		v.Add("policy.password_history", "must be between 0 and 24")
	}
	switch p.MFA {
	case "", MFARequired, MFAOptional:
	default:
		v.Add("policy.mfa", `must be "required" or "optional"`)
	}
	switch p.PhishingResistant {
	case "", PhishingResistantAdministrators, PhishingResistantEveryone:
	default:
		v.Add("policy.phishing_resistant", `must be "administrators", "everyone" or empty`)
	}
	if r := check.Text(p.Name, 100); r != "" {
		v.Add("policy.name", r)
	}
	for _, a := range p.FourEyes {
		if !slices.Contains(approvable(), a) {
			v.Add("policy.four_eyes", fmt.Sprintf("%q cannot be put under approval", a))
		}
	}
}

// approvable lists the actions four-eyes approval can hold back.
func approvable() []backoffice.Action {
	return append(DefaultFourEyes(), ApproveElevation)
}

func (p Policy) clone() Policy {
	p.FourEyes = slices.Clone(p.FourEyes)
	return p
}

// policyOf returns the policy in force for the tenant: its own, or the
// service's.
func (s *Service) policyOf(t *Tenant) Policy {
	if t != nil && t.Policy != nil {
		return *t.Policy
	}
	return s.defaultPolicy
}

// tenantPolicy reads the tenant and returns its policy.
func (s *Service) tenantPolicy(ctx context.Context, tenant backoffice.TenantID) (Policy, error) {
	t, err := s.store.Tenant(ctx, tenant)
	if err != nil {
		return Policy{}, err
	}
	return s.policyOf(t), nil
}

// Policy returns the policy in force for the actor's tenant. Any
// authenticated actor may read it.
func (s *Service) Policy(ctx context.Context) (_ Policy, err error) {
	defer s.observe(&ctx, "accessctl.Policy")(&err)
	a, ok := ActorFrom(ctx)
	if !ok {
		return Policy{}, backoffice.NewError(backoffice.ErrUnauthenticated, "accessctl: policy", "log in first")
	}
	p, err := s.tenantPolicy(ctx, a.tenant)
	return p.clone(), err
}

func (p Policy) sessionLifetime(def time.Duration) time.Duration {
	if p.SessionLifetime > 0 {
		return p.SessionLifetime
	}
	return def
}

func (p Policy) approvalTTL() time.Duration {
	if p.ApprovalTTL > 0 {
		return p.ApprovalTTL
	}
	return 72 * time.Hour
}

func (p Policy) maxElevation() time.Duration {
	if p.MaxElevation > 0 {
		return p.MaxElevation
	}
	return 4 * time.Hour
}

func (p Policy) reviewInterval() time.Duration {
	if p.ReviewInterval > 0 {
		return p.ReviewInterval
	}
	return 183 * 24 * time.Hour
}

func (p Policy) approverMinAge() time.Duration { return max(p.ApproverMinAge, 0) }

// weakenings lists the settings of next that are weaker than p's (F7): a
// hold removed, MFA made optional, a time limit longer or switched off, a
// length, a history or a lockout shorter, an approver's minimum age
// shorter. sessionTTL is the service's session lifetime, which a zero
// SessionLifetime means.
func (p Policy) weakenings(next Policy, sessionTTL time.Duration) []string {
	var out []string
	// limit compares limits where zero means none.
	limit := func(field string, was, now time.Duration) {
		if was > 0 && (now <= 0 || now > was) {
			out = append(out, field)
		}
	}
	longer := func(field string, was, now time.Duration) {
		if now > was {
			out = append(out, field)
		}
	}
	limit("idle_timeout", p.IdleTimeout, next.IdleTimeout)
	longer("session_lifetime", p.sessionLifetime(sessionTTL), next.sessionLifetime(sessionTTL))
	if next.LockoutDuration < p.LockoutDuration {
		out = append(out, "lockout_duration")
	}
	if next.MinPasswordLength < p.MinPasswordLength {
		out = append(out, "min_password_length")
	}
	if next.PasswordHistory < p.PasswordHistory {
		out = append(out, "password_history")
	}
	limit("max_password_age", p.MaxPasswordAge, next.MaxPasswordAge)
	if !p.mfaOptional() && next.mfaOptional() {
		out = append(out, "mfa")
	}
	if next.PhishingResistant.level() < p.PhishingResistant.level() {
		out = append(out, "phishing_resistant")
	}
	limit("dormant_after", p.DormantAfter, next.DormantAfter)
	for _, a := range p.FourEyes {
		if !slices.Contains(next.FourEyes, a) {
			out = append(out, "four_eyes")
			break
		}
	}
	longer("approval_ttl", p.approvalTTL(), next.approvalTTL())
	longer("max_elevation", p.maxElevation(), next.maxElevation())
	longer("review_interval", p.reviewInterval(), next.reviewInterval())
	if next.approverMinAge() < p.approverMinAge() {
		out = append(out, "approver_min_age")
	}
	return out
}

func (p Policy) mfaOptional() bool { return p.MFA == MFAOptional }

// needsApproval reports whether the policy holds the action back for a
// second operator.
func (p Policy) needsApproval(a backoffice.Action) bool {
	return a == ApproveElevation || slices.Contains(p.FourEyes, a)
}

// dormant reports whether o has not logged in for longer than the policy
// allows at now: since its last login, or since it was created when it
// never logged in.
func (p Policy) dormant(o *Operator, now time.Time) bool {
	if p.DormantAfter <= 0 {
		return false
	}
	last := o.LastLoginAt
	if last.IsZero() {
		last = o.CreatedAt
	}
	return now.Sub(last) > p.DormantAfter
}

// passwordExpired reports whether o must reset its password before it
// logs in again: the policy limits its age and o has no MFA to make up
// for it (8.3.9).
func (p Policy) passwordExpired(o *Operator, now time.Time) bool {
	if p.MaxPasswordAge <= 0 || o.MFAEnrolled {
		return false
	}
	changed := o.PasswordChangedAt
	if changed.IsZero() {
		changed = o.CreatedAt
	}
	return now.Sub(changed) > p.MaxPasswordAge
}

// checkNewPassword adds a violation when pw is shorter than the policy's
// minimum or is one of o's last PasswordHistory passwords, which it finds
// by verifying pw against the hashes kept, never by storing a password.
func (s *Service) checkNewPassword(ctx context.Context, v *backoffice.Violations, p Policy, o *Operator, pw backoffice.Secret) error {
	if p.MinPasswordLength > 0 && utf8.RuneCountInString(string(pw)) < p.MinPasswordLength {
		v.Add("password", fmt.Sprintf("must be at least %d characters", p.MinPasswordLength))
		return nil
	}
	if o == nil || p.PasswordHistory <= 0 {
		return nil
	}
	for _, h := range o.recentHashes(p.PasswordHistory) {
		same, _, err := s.hasher.Verify(ctx, h, string(pw))
		if err != nil {
			return err
		}
		if same {
			v.Add("password", fmt.Sprintf("must differ from your last %d passwords", p.PasswordHistory))
			return nil
		}
	}
	return nil
}

// recentHashes returns the hashes of o's last n passwords, newest first.
func (o *Operator) recentHashes(n int) []backoffice.Secret {
	var out []backoffice.Secret
	if o.PasswordHash != "" {
		out = append(out, o.PasswordHash)
	}
	out = append(out, o.PasswordHistory...)
	return out[:min(n, len(out))]
}

// rotatePassword makes hash o's password, keeping the hash it replaces
// in its history as far as the policy needs.
func rotatePassword(o *Operator, hash backoffice.Secret, p Policy, now time.Time) {
	if keep := p.PasswordHistory - 1; keep > 0 && o.PasswordHash != "" {
		o.PasswordHistory = append([]backoffice.Secret{o.PasswordHash}, o.PasswordHistory...)
		o.PasswordHistory = o.PasswordHistory[:min(keep, len(o.PasswordHistory))]
	} else {
		o.PasswordHistory = nil
	}
	o.PasswordHash = hash
	o.PasswordChangedAt = now
}

// DormantOperators lists the tenant's active operators that have not
// logged in for longer than the policy's DormantAfter (8.2.6), for a
// manager to review: each is blocked at its next login anyway. Empty when
// the policy sets no limit. Needs operator.read.
func (s *Service) DormantOperators(ctx context.Context) (_ []*Operator, err error) {
	defer s.observe(&ctx, "accessctl.DormantOperators")(&err)
	a, err := Require(ctx, PermOperatorRead)
	if err != nil {
		return nil, err
	}
	p, err := s.tenantPolicy(ctx, a.tenant)
	if err != nil || p.DormantAfter <= 0 {
		return nil, err
	}
	now := s.clock()
	active := StatusActive
	var out []*Operator
	for after := OperatorID(""); ; {
		page, err := s.store.Operators(ctx, a.tenant, OperatorQuery{Status: &active, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			if p.dormant(o, now) {
				out = append(out, o)
			}
		}
		if len(page) < 500 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}
