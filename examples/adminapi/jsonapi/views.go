package jsonapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
)

// The JSON shapes of the API. They hold no secret: no password hash, no
// TOTP seed.

type operatorView struct {
	ID            accessctl.OperatorID     `json:"id"`
	Username      string                   `json:"username,omitempty"`
	Email         string                   `json:"email,omitempty"`
	FirstName     string                   `json:"first_name"`
	LastName      string                   `json:"last_name"`
	Roles         []accessctl.RoleName     `json:"roles"`
	AllAccounts   bool                     `json:"all_accounts"`
	Accounts      []accessctl.AccountID    `json:"accounts,omitempty"`
	Status        accessctl.OperatorStatus `json:"status"`
	EmailVerified bool                     `json:"email_verified"`
	MFAEnrolled   bool                     `json:"mfa_enrolled"`
	ExternalKey   string                   `json:"external_key,omitempty"`
	// Managed: the identity provider manages the operator (SCIM or SSO);
	// Groups are its groups there.
	Managed bool     `json:"managed,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	// Passkeys are its passkeys: names and dates, never a key.
	Passkeys []passkeyView `json:"passkeys,omitempty"`
	// RoleUntil and AccessUntil are the time-bound grants; LastLoginAt
	// and LastLoginFrom the last complete login.
	RoleUntil     map[accessctl.RoleName]stamp `json:"role_until,omitempty"`
	AccessUntil   stamp                        `json:"access_until,omitzero"`
	LastLoginAt   stamp                        `json:"last_login_at,omitzero"`
	LastLoginFrom string                       `json:"last_login_from,omitempty"`
	Version       int64                        `json:"version"`
	CreatedAt     stamp                        `json:"created_at"`
	UpdatedAt     stamp                        `json:"updated_at"`
}

func operatorJSON(o *accessctl.Operator) operatorView {
	return operatorView{ID: o.ID, Username: o.Username, Email: o.Email, FirstName: o.FirstName, LastName: o.LastName, Roles: o.Roles,
		AllAccounts: o.AllAccounts, Accounts: o.Accounts, Status: o.Status, EmailVerified: o.EmailVerified, MFAEnrolled: o.MFAEnrolled,
		ExternalKey: o.ExternalKey, Managed: o.Managed, Groups: o.Groups, Passkeys: passkeysJSON(o.Passkeys), RoleUntil: stamps(o.RoleUntil), AccessUntil: stamp(o.AccessUntil), LastLoginAt: stamp(o.LastLoginAt), LastLoginFrom: o.LastLoginFrom,
		Version: o.Version, CreatedAt: stamp(o.CreatedAt), UpdatedAt: stamp(o.UpdatedAt)}
}

func operatorList(ops []*accessctl.Operator) []operatorView {
	out := make([]operatorView, len(ops))
	for i, o := range ops {
		out[i] = operatorJSON(o)
	}
	return out
}

type entryView struct {
	ID         string              `json:"id"`
	Actor      backoffice.ActorRef `json:"actor"`
	Action     string              `json:"action"`
	TargetType string              `json:"target_type"`
	TargetID   string              `json:"target_id"`
	At         stamp               `json:"at"`
	Changes    []backoffice.Change `json:"changes"`
	Seq        int64               `json:"seq"`
	Hash       string              `json:"hash"`
}

func entryJSON(e backoffice.AuditEntry) entryView {
	return entryView{ID: e.ID, Actor: e.Actor, Action: string(e.Action), TargetType: e.TargetType, TargetID: e.TargetID, At: stamp(e.At), Changes: e.Changes,
		Seq: e.Seq, Hash: e.Hash}
}

type loginView struct {
	Operator  accessctl.OperatorID `json:"operator"`
	Session   string               `json:"session,omitempty"`
	ExpiresAt *stamp               `json:"expires_at,omitempty"`
	Challenge string               `json:"challenge,omitempty"`
	Enrolment *enrolmentView       `json:"mfa_enrolment,omitempty"`
	// Passkey: the challenge may be answered with a passkey;
	// PasskeyRequired: only with one (the tenant's policy).
	Passkey         bool `json:"passkey,omitempty"`
	PasskeyRequired bool `json:"passkey_required,omitempty"`
}

type enrolmentView struct {
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
}

// loginJSON hands the client its secrets, once: that is their purpose.
func loginJSON(r *accessctl.LoginResult) loginView {
	v := loginView{Operator: r.Operator, Session: string(r.Session), Challenge: string(r.Challenge), Passkey: r.Passkey, PasskeyRequired: r.PasskeyRequired}
	if r.Session != "" {
		v.ExpiresAt = (*stamp)(&r.ExpiresAt)
	}
	if r.Enrolment != nil {
		v.Enrolment = &enrolmentView{Secret: string(r.Enrolment.Secret), URI: string(r.Enrolment.URI)}
	}
	return v
}

type endUserView struct {
	ID            enduser.ID             `json:"id"`
	Tag           string                 `json:"tag,omitempty"`
	Type          enduser.Type           `json:"type"`
	Status        enduser.Status         `json:"status"`
	KYC           enduser.KYCStatus      `json:"kyc"`
	KYCNote       string                 `json:"kyc_note,omitempty"`
	FirstName     string                 `json:"first_name,omitempty"`
	LastName      string                 `json:"last_name,omitempty"`
	LegalName     string                 `json:"legal_name,omitempty"`
	Email         string                 `json:"email,omitempty"`
	Phone         string                 `json:"phone,omitempty"`
	Address       enduser.Address        `json:"address"`
	BirthDate     string                 `json:"birth_date,omitempty"`
	Parent        enduser.ID             `json:"parent,omitempty"`
	TaxResidences []enduser.TaxResidence `json:"tax_residences"`
	OnboardingID  string                 `json:"onboarding_id,omitempty"`
	Version       int64                  `json:"version"`
	CreatedAt     stamp                  `json:"created_at"`
	UpdatedAt     stamp                  `json:"updated_at"`
}

func endUserJSON(u *enduser.EndUser) endUserView {
	v := endUserView{ID: u.ID, Tag: u.Tag, Type: u.Type, Status: u.Status, KYC: u.KYC, KYCNote: u.KYCNote, FirstName: u.FirstName,
		LastName: u.LastName, LegalName: u.LegalName, Email: u.Email, Phone: u.Phone, Address: u.Address, Parent: u.Parent,
		TaxResidences: u.TaxResidences, OnboardingID: u.OnboardingID, Version: u.Version, CreatedAt: stamp(u.CreatedAt), UpdatedAt: stamp(u.UpdatedAt)}
	if v.TaxResidences == nil {
		v.TaxResidences = []enduser.TaxResidence{}
	}
	if !u.BirthDate.IsZero() {
		v.BirthDate = u.BirthDate.Format(time.DateOnly)
	}
	return v
}

type nodeView struct {
	User      endUserView `json:"user"`
	Children  []nodeView  `json:"children,omitempty"`
	Truncated bool        `json:"truncated,omitempty"`
}

func nodeJSON(n *enduser.Node) nodeView {
	v := nodeView{User: endUserJSON(n.User), Truncated: n.Truncated}
	for _, c := range n.Children {
		v.Children = append(v.Children, nodeJSON(c))
	}
	return v
}

type onboardingView struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	Type        string     `json:"type"`
	ExpiresAt   stamp      `json:"expires_at"`
	CompletedAt *stamp     `json:"completed_at,omitempty"`
	User        enduser.ID `json:"user,omitempty"`
	CreatedAt   stamp      `json:"created_at"`
}

func onboardingJSON(o *enduser.Onboarding) onboardingView {
	v := onboardingView{ID: o.ID, Email: o.Profile.Email, Type: string(o.Profile.Type), ExpiresAt: stamp(o.ExpiresAt), User: o.User, CreatedAt: stamp(o.CreatedAt)}
	if o.Completed() {
		v.CompletedAt = (*stamp)(&o.CompletedAt)
	}
	return v
}

type deviceView struct {
	ID          scadevice.ID         `json:"id"`
	User        enduser.ID           `json:"user"`
	Kind        scadevice.Kind       `json:"kind"`
	Status      scadevice.Status     `json:"status"`
	Tag         string               `json:"tag,omitempty"`
	Info        string               `json:"info,omitempty"`
	LockReason  scadevice.LockReason `json:"lock_reason,omitempty"`
	LockMessage string               `json:"lock_message,omitempty"`
	Deleted     bool                 `json:"deleted"`
	Version     int64                `json:"version"`
	CreatedAt   stamp                `json:"created_at"`
	UpdatedAt   stamp                `json:"updated_at"`
}

func deviceJSON(d *scadevice.Device) deviceView {
	return deviceView{ID: d.ID, User: d.User, Kind: d.Kind, Status: d.Status, Tag: d.Tag, Info: d.Info, LockReason: d.LockReason,
		LockMessage: d.LockMessage, Deleted: d.Deleted, Version: d.Version, CreatedAt: stamp(d.CreatedAt), UpdatedAt: stamp(d.UpdatedAt)}
}

func devicesJSON(ds []*scadevice.Device) []deviceView {
	out := make([]deviceView, 0, len(ds))
	for _, d := range ds {
		out = append(out, deviceJSON(d))
	}
	return out
}

// The small answers, each its own type so that the document's schema of
// it comes from the code.

type criteriaView struct {
	Criteria []string `json:"criteria"`
}

type permissionsView struct {
	Permissions []accessctl.PermissionInfo                    `json:"permissions"`
	Matrix      map[accessctl.RoleName][]accessctl.Permission `json:"matrix"`
}

type endedView struct {
	Ended int `json:"ended"`
}

type countView struct {
	Total int `json:"total"`
}

type sentView struct {
	SentTo string `json:"sent_to"`
}

type commandsView struct {
	Commands    []scadevice.Command    `json:"commands"`
	LockReasons []scadevice.LockReason `json:"lock_reasons"`
}

// noticeView is a notice as the example's mail provider holds it, link
// token included: that is what it sends.
type noticeView struct {
	Kind      string `json:"kind"`
	To        string `json:"to"`
	Operator  string `json:"operator,omitempty"`
	User      string `json:"user,omitempty"`
	Token     string `json:"token"`
	ExpiresAt *stamp `json:"expires_at,omitempty"`
}

type noticesView struct {
	Notices []noticeView `json:"notices"`
}

// scimTokenIssued is a SCIM token just issued: its secret, shown this
// once, with its record and the base URL to give the identity provider.
type scimTokenIssued struct {
	Token     string              `json:"token"`
	SCIMToken accessctl.SCIMToken `json:"scim_token"`
	SCIMURL   string              `json:"scim_url"`
}

// passkeyView is what an operator and its managers see of a passkey.
type passkeyView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	CreatedAt  stamp  `json:"created_at"`
	LastUsedAt stamp  `json:"last_used_at,omitzero"`
	Cloned     bool   `json:"cloned,omitempty"`
}

func passkeyJSON(p accessctl.Passkey) passkeyView {
	return passkeyView{ID: p.ID, Name: p.Name, CreatedAt: stamp(p.CreatedAt), LastUsedAt: stamp(p.LastUsedAt), Cloned: p.Cloned}
}

func passkeysJSON(ps []accessctl.Passkey) []passkeyView {
	if len(ps) == 0 {
		return nil
	}
	out := make([]passkeyView, len(ps))
	for i, p := range ps {
		out[i] = passkeyJSON(p)
	}
	return out
}

// ceremonyView hands the client a passkey ceremony: the options for
// navigator.credentials, and the ceremony token to send back, once.
type ceremonyView struct {
	Options      map[string]any `json:"options"`
	Ceremony     string         `json:"ceremony"`
	Registration bool           `json:"registration"`
}

func ceremony(c *accessctl.PasskeyCeremony, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	v := ceremonyView{Ceremony: string(c.Ceremony), Registration: c.Registration}
	if err := json.Unmarshal(c.Options, &v.Options); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

// stamp is a time in an answer: RFC 3339 with nanoseconds, as time.Time
// encodes itself, but written as text: encoding/json checks again the
// output of every MarshalJSON, time.Time's included, which cost a quarter
// of the encoding of a page of end users.
type stamp time.Time

// MarshalText writes the time as RFC 3339 with nanoseconds.
func (s stamp) MarshalText() ([]byte, error) {
	return time.Time(s).AppendFormat(make([]byte, 0, len(time.RFC3339Nano)), time.RFC3339Nano), nil
}

// IsZero makes omitzero leave out a zero time.
func (s stamp) IsZero() bool { return time.Time(s).IsZero() }

// stamps are the times of a map, as stamps.
func stamps[K comparable](m map[K]time.Time) map[K]stamp {
	if m == nil {
		return nil
	}
	out := make(map[K]stamp, len(m))
	for k, t := range m {
		out[k] = stamp(t)
	}
	return out
}
