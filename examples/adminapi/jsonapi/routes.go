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

// Request bodies. Secrets arrive as backoffice.Secret so that logging a
// request body never shows them.

type loginBody struct {
	Tenant   backoffice.TenantID `json:"tenant"`
	Login    string              `json:"login"`
	Password backoffice.Secret   `json:"password"`
}

type mfaBody struct {
	Challenge backoffice.Secret `json:"challenge"`
	Code      string            `json:"code"`
}

type passwordBody struct {
	Token        backoffice.Secret `json:"token,omitempty"`
	Current      backoffice.Secret `json:"current_password,omitempty"`
	Version      int64             `json:"version,omitempty"`
	Password     backoffice.Secret `json:"password"`
	Confirmation backoffice.Secret `json:"password_confirmation"`
}

type forgotBody struct {
	Tenant backoffice.TenantID `json:"tenant"`
	Login  string              `json:"login"`
}

type operatorBody struct {
	Username     string                `json:"username"`
	Email        string                `json:"email"`
	FirstName    string                `json:"first_name"`
	LastName     string                `json:"last_name"`
	Roles        []accessctl.RoleName  `json:"roles"`
	AllAccounts  bool                  `json:"all_accounts"`
	Accounts     []accessctl.AccountID `json:"accounts"`
	ExternalKey  string                `json:"external_key"`
	Password     backoffice.Secret     `json:"password"`
	Confirmation backoffice.Secret     `json:"password_confirmation"`
}

func (b operatorBody) input() accessctl.NewOperator {
	return accessctl.NewOperator{Username: b.Username, Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, Roles: b.Roles,
		AllAccounts: b.AllAccounts, Accounts: b.Accounts, ExternalKey: b.ExternalKey, Password: b.Password, PasswordConfirmation: b.Confirmation}
}

type operatorPatch struct {
	Version     int64                             `json:"version"`
	Username    *string                           `json:"username"`
	Email       *string                           `json:"email"`
	FirstName   *string                           `json:"first_name"`
	LastName    *string                           `json:"last_name"`
	ExternalKey *string                           `json:"external_key"`
	Roles       *[]accessctl.RoleName             `json:"roles"`
	AllAccounts *bool                             `json:"all_accounts"`
	Accounts    *[]accessctl.AccountID            `json:"accounts"`
	RoleUntil   *map[accessctl.RoleName]time.Time `json:"role_until"`
	AccessUntil *time.Time                        `json:"access_until"`
}

type versionBody struct {
	Version int64 `json:"version"`
}

type tenantPatch struct {
	Version                  int64                     `json:"version"`
	WebAuthn                 *accessctl.WebAuthnConfig `json:"webauthn"`
	Name                     *string                   `json:"name"`
	SSO                      *accessctl.SSOConfig      `json:"sso"`
	EndUserForgotPasswordOff *bool                     `json:"enduser_forgot_password_off"`
	Policy                   *accessctl.Policy         `json:"policy"`
	DefaultPolicy            bool                      `json:"default_policy"`
}

// passkeyBody carries a passkey ceremony's answer: the ceremony token the
// options came with, the authenticator's answer (the JSON of
// PublicKeyCredential.toJSON()), and a name for a new passkey.
type passkeyBody struct {
	Tenant    backoffice.TenantID `json:"tenant,omitempty"`
	Challenge backoffice.Secret   `json:"challenge,omitempty"`
	Ceremony  backoffice.Secret   `json:"ceremony,omitempty"`
	Name      string              `json:"name,omitempty"`
	Response  map[string]any      `json:"response,omitempty"`
}

// answer is the authenticator's answer as the library reads it.
func (b passkeyBody) answer() []byte {
	raw, _ := json.Marshal(b.Response) // a decoded JSON object always encodes
	return raw
}

type scimTokenBody struct {
	Name       string `json:"name"`
	TTLSeconds int64  `json:"ttl_seconds"`
}

type rotateBody struct {
	OverlapSeconds int64 `json:"overlap_seconds"`
}

type roleBody struct {
	Abbrev      string                 `json:"abbrev"`
	Description string                 `json:"description"`
	Permissions []accessctl.Permission `json:"permissions"`
	Version     int64                  `json:"version"`
	Name        accessctl.RoleName     `json:"name"`
}

type endUserBody struct {
	Type          enduser.Type           `json:"type"`
	Tag           string                 `json:"tag"`
	FirstName     string                 `json:"first_name"`
	LastName      string                 `json:"last_name"`
	LegalName     string                 `json:"legal_name"`
	Email         string                 `json:"email"`
	Phone         string                 `json:"phone"`
	Address       enduser.Address        `json:"address"`
	BirthDate     string                 `json:"birth_date"`
	Parent        enduser.ID             `json:"parent"`
	TaxResidences []enduser.TaxResidence `json:"tax_residences"`
}

func parseDate(s, field string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, badRequest("invalid-parameter", field+" must be a date such as 1990-05-17", backoffice.FieldViolation{Field: field, Reason: "must be YYYY-MM-DD"})
	}
	return t, nil
}

func (b endUserBody) input() (enduser.NewEndUser, error) {
	d, err := parseDate(b.BirthDate, "birth_date")
	return enduser.NewEndUser{Type: b.Type, Tag: b.Tag, FirstName: b.FirstName, LastName: b.LastName, LegalName: b.LegalName, Email: b.Email,
		Phone: b.Phone, Address: b.Address, BirthDate: d, Parent: b.Parent, TaxResidences: b.TaxResidences}, err
}

type endUserPatch struct {
	Version   int64            `json:"version"`
	Tag       *string          `json:"tag"`
	FirstName *string          `json:"first_name"`
	LastName  *string          `json:"last_name"`
	LegalName *string          `json:"legal_name"`
	Email     *string          `json:"email"`
	Phone     *string          `json:"phone"`
	Address   *enduser.Address `json:"address"`
	BirthDate *string          `json:"birth_date"`
	Parent    *enduser.ID      `json:"parent"`
}

type residenceBody struct {
	Version int64  `json:"version"`
	Country string `json:"country"`
	TIN     string `json:"tin"`
}

type kycBody struct {
	Version int64             `json:"version"`
	Outcome enduser.KYCStatus `json:"outcome"`
	Note    string            `json:"note"`
}

type walletBody struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

type lockBody struct {
	Version int64                `json:"version"`
	Reason  scadevice.LockReason `json:"reason"`
	Message string               `json:"message"`
}

type identityBody struct {
	Version          int64 `json:"version"`
	IdentityVerified bool  `json:"identity_verified"`
}

type enrolBody struct {
	Kind scadevice.Kind `json:"kind"`
	Tag  string         `json:"tag"`
	Info string         `json:"info"`
}

type tokenBody struct {
	Token backoffice.Secret `json:"token"`
}

type ssoBody struct {
	Subject   string   `json:"subject"`
	Email     string   `json:"email"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Groups    []string `json:"groups"`
}

func opID(r *http.Request) accessctl.OperatorID { return accessctl.OperatorID(r.PathValue("id")) }
func userID(r *http.Request) enduser.ID         { return enduser.ID(r.PathValue("id")) }
func devID(r *http.Request) scadevice.ID        { return scadevice.ID(r.PathValue("id")) }

// withBody decodes the body into a fresh B and calls f.
func withBody[B any](f func(r *http.Request, b B) (int, any, error)) handlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		var b B
		if err := decode(r, &b); err != nil {
			return 0, nil, err
		}
		return f(r, b)
	}
}

func ok(v any, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

func created(v any, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, v, nil
}

func done(err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// op, eu and dev wrap a service result into its view.
func op(o *accessctl.Operator, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, operatorJSON(o), nil
}

// newOp answers 201 with a created operator.
func newOp(o *accessctl.Operator, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, operatorJSON(o), nil
}

func eu(u *enduser.EndUser, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, endUser{u}, nil
}

func dev(d *scadevice.Device, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, deviceJSON(d), nil
}

func login(res *accessctl.LoginResult, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, loginJSON(res), nil
}

// register wires every endpoint, one file per resource. docRoutes in
// openapi.go documents them; a test checks the two lists match.
func (a *API) register() {
	a.registerProbes()
	a.registerLogin()
	a.registerOperators()
	a.registerTenant()
	a.registerCompliance()
	a.registerEndUsers()
	a.registerDevices()
	a.registerInternal()
	a.registerOutbox()
	a.registerEvents()
}
