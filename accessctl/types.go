package accessctl

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/backoffice-go/backoffice"
)

// Identifiers. Each entity has its own type so they cannot be mixed up.
type (
	// OperatorID identifies an operator within the module.
	OperatorID string
	// AccountID identifies one of a tenant's accounts.
	AccountID string
)

// Tenant is one client of the platform, with its own operators, roles and
// settings.
type Tenant struct {
	ID   backoffice.TenantID `json:"id"`
	Name string              `json:"name" audit:"name"`
	// Preset names the role preset the tenant's roles start from.
	Preset string    `json:"preset" audit:"preset"`
	SSO    SSOConfig `json:"sso" audit:"sso"`
	// EndUserForgotPasswordOff switches off the end-user forgot-password
	// email for the tenant.
	EndUserForgotPasswordOff bool `json:"enduser_forgot_password_off" audit:"enduser_forgot_password_off"`
	// SCIMTokens are the credentials the company's identity provider
	// provisions operators with (I4): digests only, the tokens were shown
	// once when issued.
	SCIMTokens []SCIMToken `json:"scim_tokens,omitempty" audit:"scim_tokens"`
	// IdPGroups are the groups the identity provider made known or
	// renamed over SCIM, with their stable ids; a group of the mapping
	// that is not listed has the id GroupID gives its name.
	IdPGroups []IdPGroupRecord `json:"idp_groups,omitempty" audit:"idp_groups"`
	// WebAuthn is where the tenant's operators use passkeys: its relying
	// party id and origins. Empty: the service's (Config.WebAuthn).
	WebAuthn WebAuthnConfig `json:"webauthn,omitzero" audit:"webauthn"`
	// Policy is the tenant's own security policy; nil means the
	// service's (Config.Policy). Its changes are recorded field by field.
	Policy *Policy `json:"policy,omitempty"`
	// RolesVersion moves on with every change of the tenant's custom
	// roles; sessions are read with it, so instances know when the roles
	// they compiled are stale.
	RolesVersion int64     `json:"roles_version"`
	Version      int64     `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// SSOConfig switches a tenant to single sign-on. While Enabled,
// operators are provisioned only from the identity provider.
type SSOConfig struct {
	Enabled bool `json:"enabled" audit:"enabled"`
	// GroupRoles maps an identity-provider group to the roles its members
	// get. A group the identity provider made known over SCIM and no
	// Administrator mapped yet maps to no role.
	GroupRoles map[string][]RoleName `json:"group_roles" audit:"group_roles"`
	// LinkByEmail lets a sign-in whose subject no operator carries find
	// an operator by its verified email, and link it (I2). Off, only the
	// identity provider's key links.
	LinkByEmail bool `json:"link_by_email,omitempty" audit:"link_by_email"`
	// SAML is the tenant's SAML 2.0 identity provider, when it signs in
	// over SAML.
	SAML SAMLConfig `json:"saml,omitzero" audit:"saml"`
}

// SAMLConfig is what a tenant trusts of its SAML identity provider (I1).
type SAMLConfig struct {
	// IdPMetadata is the identity provider's metadata document (XML), or
	// IdPMetadataURL where it is published; the certificate in it is the
	// one every response or assertion must be signed with.
	IdPMetadata    Document `json:"idp_metadata,omitempty" audit:"idp_metadata"`
	IdPMetadataURL string   `json:"idp_metadata_url,omitempty" audit:"idp_metadata_url"`
	// AllowIdPInitiated accepts responses the service provider did not
	// ask for (no InResponseTo). Off by default: such a response can be
	// replayed into another browser more easily.
	AllowIdPInitiated bool `json:"allow_idp_initiated,omitempty" audit:"allow_idp_initiated"`
}

// On reports whether the tenant configured a SAML identity provider.
func (c SAMLConfig) On() bool { return c.IdPMetadata != "" || c.IdPMetadataURL != "" }

// Document is a long text setting, such as an XML metadata document. The
// audit log records its length and digest, not the text.
type Document string

// AuditValue implements backoffice.AuditValuer.
func (d Document) AuditValue() string {
	if d == "" {
		return ""
	}
	return fmt.Sprintf("%d bytes, sha256 %s", len(d), backoffice.Digest(backoffice.Secret(d))[:16])
}

// WebAuthnConfig is a relying party for passkeys (W2): its id (the
// registrable domain the console is served under, "admin.example.com")
// and the origins browsers may use it from ("https://admin.example.com").
// Passwordless lets operators sign in with a passkey alone, without a
// username or password.
type WebAuthnConfig struct {
	RPID         string   `json:"rp_id,omitempty" audit:"rp_id"`
	Origins      []string `json:"origins,omitempty" audit:"origins"`
	Passwordless bool     `json:"passwordless,omitempty" audit:"passwordless"`
}

// Passkey is an operator's WebAuthn credential (W1): its public key and
// what the authenticator said of itself. No private key exists on the
// server.
type Passkey struct {
	// ID is the credential id, base64url.
	ID        string `json:"id"`
	Name      string `json:"name"`
	PublicKey []byte `json:"public_key"`
	// SignCount is the authenticator's signature counter at the last use;
	// one that goes backwards betrays a cloned key (W3).
	SignCount       uint32    `json:"sign_count"`
	BackupEligible  bool      `json:"backup_eligible,omitempty"`
	BackupState     bool      `json:"backup_state,omitempty"`
	Transports      []string  `json:"transports,omitempty"`
	AAGUID          string    `json:"aaguid,omitempty"`
	AttestationType string    `json:"attestation_type,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	LastUsedAt      time.Time `json:"last_used_at,omitzero"`
	// Cloned is set when its counter went backwards: it signs nothing in
	// from then on.
	Cloned bool `json:"cloned,omitempty"`
}

// AuditValue implements backoffice.AuditValuer: the passkey's name and
// id, and whether it was found cloned; not its counter or last use, which
// change at every sign-in.
func (p Passkey) AuditValue() string {
	id := p.ID
	if len(id) > 16 {
		id = id[:16]
	}
	if p.Cloned {
		return p.Name + " (" + id + ", cloned)"
	}
	return p.Name + " (" + id + ")"
}

// IdPGroupRecord is a group the identity provider knows by a stable id.
type IdPGroupRecord struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ExternalID string `json:"external_id,omitempty"`
}

// AuditValue implements backoffice.AuditValuer.
func (g IdPGroupRecord) AuditValue() string { return g.Name + " (" + g.ID + ")" }

// GroupID is the id of a group of the mapping that the identity provider
// did not name itself: derived from its name.
func GroupID(name string) string { return "g-" + backoffice.Digest(backoffice.Secret(name))[:24] }

// SCIMToken is one credential of the tenant's identity provider. Its
// secret was shown once; Digest is all that is kept, and it is never
// encoded in JSON: a store keeps it in a field of its own.
type SCIMToken struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Digest string `json:"-"`
	// CreatedBy and ActivatedBy are the operators that issued the token
	// and, when the tenant holds Administrator grants for a second
	// operator, approved it: everything the token grants is granted by
	// them (F4).
	CreatedBy   OperatorID `json:"created_by"`
	ActivatedBy OperatorID `json:"activated_by,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	// Pending is set while the token awaits a second operator's approval;
	// it authenticates nothing until then.
	Pending bool `json:"pending,omitempty"`
	// ExpiresAt, when set, ends the token; a rotation sets it on the token
	// it replaces, for the overlap.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Usable reports whether the token authenticates at now.
func (t SCIMToken) Usable(now time.Time) bool {
	return !t.Pending && t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// AuditValue implements backoffice.AuditValuer: the token's name, id and
// state, never its digest.
func (t SCIMToken) AuditValue() string {
	state := "active"
	switch {
	case !t.RevokedAt.IsZero():
		state = "revoked " + t.RevokedAt.Format(time.RFC3339)
	case t.Pending:
		state = "pending approval"
	case !t.ExpiresAt.IsZero():
		state = "until " + t.ExpiresAt.Format(time.RFC3339)
	}
	return fmt.Sprintf("%s (%s, %s)", t.Name, t.ID, state)
}

func (c SSOConfig) clone() SSOConfig {
	out := SSOConfig{Enabled: c.Enabled, LinkByEmail: c.LinkByEmail, SAML: c.SAML}
	if c.GroupRoles != nil {
		out.GroupRoles = make(map[string][]RoleName, len(c.GroupRoles))
		for g, r := range c.GroupRoles {
			out.GroupRoles[g] = slices.Clone(r)
		}
	}
	return out
}

// Clone returns a deep copy.
func (t *Tenant) Clone() *Tenant {
	c := *t
	c.SSO = t.SSO.clone()
	c.SCIMTokens = slices.Clone(t.SCIMTokens)
	c.IdPGroups = slices.Clone(t.IdPGroups)
	c.WebAuthn.Origins = slices.Clone(t.WebAuthn.Origins)
	if t.Policy != nil {
		p := t.Policy.clone()
		c.Policy = &p
	}
	return &c
}

// OperatorStatus is where an operator is in its life.
type OperatorStatus string

// Operator statuses.
const (
	// StatusInvited: created by invitation, email not yet verified.
	StatusInvited OperatorStatus = "invited"
	// StatusActive: may log in.
	StatusActive OperatorStatus = "active"
	// StatusBlocked: blocked after three failed logins or by a manager;
	// an operator manager must unblock it.
	StatusBlocked OperatorStatus = "blocked"
	// StatusDeactivated: access removed; history kept; can be reactivated.
	StatusDeactivated OperatorStatus = "deactivated"
)

// Valid reports whether s is one of the statuses.
func (s OperatorStatus) Valid() bool {
	switch s {
	case StatusInvited, StatusActive, StatusBlocked, StatusDeactivated:
		return true
	}
	return false
}

// Operator is a member of staff who logs into the dashboard. It is not an
// end user.
type Operator struct {
	ID        OperatorID          `json:"id"`
	Tenant    backoffice.TenantID `json:"tenant"`
	Username  string              `json:"username" audit:"username"`
	Email     string              `json:"email" audit:"email"`
	FirstName string              `json:"first_name" audit:"first_name"`
	LastName  string              `json:"last_name" audit:"last_name"`
	Roles     []RoleName          `json:"roles" audit:"roles"`
	// AllAccounts gives access to every account of the tenant; otherwise
	// access is limited to Accounts.
	AllAccounts bool           `json:"all_accounts" audit:"all_accounts"`
	Accounts    []AccountID    `json:"accounts" audit:"accounts"`
	Status      OperatorStatus `json:"status" audit:"status"`
	// EmailVerified is set when the operator followed an invitation link.
	EmailVerified bool              `json:"email_verified" audit:"email_verified"`
	PasswordHash  backoffice.Secret `json:"-" audit:"password"`
	// MFASecret is the TOTP seed; MFAEnrolled is false while enrolment is
	// pending or after an MFA reset.
	MFASecret   backoffice.Secret `json:"-" audit:"mfa_secret"`
	MFAEnrolled bool              `json:"mfa_enrolled" audit:"mfa_enrolled"`
	// MFALastStep is the last TOTP time step accepted, so a code is never
	// accepted twice.
	MFALastStep int64 `json:"mfa_last_step"`
	// ExternalKey links the operator to the SSO identity provider's subject
	// (the "SAML key").
	ExternalKey string `json:"external_key" audit:"external_key"`
	// Managed marks an operator the identity provider provisioned, over
	// SCIM or at its first SSO sign-in: while the tenant is in SSO mode,
	// its identity, groups, status and credentials are the identity
	// provider's to change (I6).
	Managed bool `json:"managed,omitempty" audit:"managed"`
	// Groups are the identity provider's groups the operator is in, as
	// the last sign-in or SCIM call said; its roles are what the tenant's
	// mapping makes of them.
	Groups []string `json:"groups,omitempty" audit:"groups"`
	// DisplayName and Manager are what the identity provider says of the
	// person beyond its names: how it is shown, and who it reports to.
	DisplayName string     `json:"display_name,omitempty" audit:"display_name"`
	Manager     OperatorID `json:"manager,omitempty" audit:"manager"`
	// Passkeys are the operator's WebAuthn credentials (W1).
	Passkeys []Passkey `json:"passkeys,omitempty" audit:"passkeys"`
	// SessionEpoch changes whenever every session of the operator must die
	// (password, role or status change); a session carries the epoch it was
	// issued in.
	SessionEpoch int64 `json:"session_epoch"`
	// PasswordHistory holds the hashes of the passwords before the
	// current one, newest first, as many as the tenant's policy needs to
	// refuse a reused password (Policy.PasswordHistory). Never a password.
	PasswordHistory []backoffice.Secret `json:"-"`
	// PasswordChangedAt is when the password was last set.
	PasswordChangedAt time.Time `json:"password_changed_at"`
	// LastLoginAt and LastLoginFrom are the time and source (the client
	// address the host gave with WithClientAddr) of the last complete
	// login.
	LastLoginAt   time.Time `json:"last_login_at"`
	LastLoginFrom string    `json:"last_login_from"`
	// RoleUntil holds the roles granted until a time: each stops counting
	// at its time, with no job running (T1).
	RoleUntil map[RoleName]time.Time `json:"role_until,omitempty" audit:"role_until"`
	// AccessUntil, when set, ends the operator's account access at that
	// time (T1).
	AccessUntil time.Time `json:"access_until,omitzero" audit:"access_until"`
	// GrantedBy lists the operators that created, invited, duplicated,
	// reactivated, unblocked or edited this one, set its password or reset
	// its MFA, or edited a role it holds to add permissions, directly or
	// through their own approval requests, with the operators each of
	// them was so empowered by: none of them has its requests approved by
	// this operator (F4).
	GrantedBy []OperatorID `json:"granted_by,omitempty" audit:"granted_by"`
	// ControlledBy lists the operators that may hold this account's keys:
	// those that created, invited, duplicated or reactivated it, set its
	// password, changed what it logs in with or reset its MFA, and those
	// each of them was so controlled by. Two operators one of which is in
	// the other's list, or whose lists share an operator, never decide
	// each other's requests (F4): one person may hold both.
	ControlledBy []OperatorID `json:"controlled_by,omitempty" audit:"controlled_by"`
	Version      int64        `json:"version"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
}

// Clone returns a deep copy.
func (o *Operator) Clone() *Operator {
	c := *o
	c.Roles = slices.Clone(o.Roles)
	c.Accounts = slices.Clone(o.Accounts)
	c.Groups = slices.Clone(o.Groups)
	c.Passkeys = slices.Clone(o.Passkeys)
	for i := range c.Passkeys {
		c.Passkeys[i].PublicKey = slices.Clone(o.Passkeys[i].PublicKey)
		c.Passkeys[i].Transports = slices.Clone(o.Passkeys[i].Transports)
	}
	c.PasswordHistory = slices.Clone(o.PasswordHistory)
	c.RoleUntil = maps.Clone(o.RoleUntil)
	c.GrantedBy = slices.Clone(o.GrantedBy)
	c.ControlledBy = slices.Clone(o.ControlledBy)
	return &c
}

// RolesAt returns the roles that count at now: the permanent ones and
// the time-bound ones whose time has not come.
func (o *Operator) RolesAt(now time.Time) []RoleName {
	return activeRoles(o.Roles, o.RoleUntil, now)
}

func activeRoles(roles []RoleName, until map[RoleName]time.Time, now time.Time) []RoleName {
	if len(until) == 0 {
		return roles
	}
	out := make([]RoleName, 0, len(roles))
	for _, r := range roles {
		if end, ok := until[r]; !ok || now.Before(end) {
			out = append(out, r)
		}
	}
	return out
}

// LoginName is the username, or the email when there is no username.
func (o *Operator) LoginName() string {
	if o.Username != "" {
		return o.Username
	}
	return o.Email
}

// HasRole reports whether the operator holds the role.
func (o *Operator) HasRole(r RoleName) bool { return slices.Contains(o.Roles, r) }

// HoldsForGood reports whether the operator holds the role with no end
// time: only such a holder of Administrator keeps a tenant administered.
func (o *Operator) HoldsForGood(r RoleName) bool {
	_, bound := o.RoleUntil[r]
	return o.HasRole(r) && !bound
}

// Audit target types.
const (
	TargetTenant   = "tenant"
	TargetOperator = "operator"
	TargetRole     = "role"
	TargetApproval = "approval"
	TargetReview   = "review"
)
