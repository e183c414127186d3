package main

import (
	"context"
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
	Version     int64                  `json:"version"`
	Username    *string                `json:"username"`
	Email       *string                `json:"email"`
	FirstName   *string                `json:"first_name"`
	LastName    *string                `json:"last_name"`
	ExternalKey *string                `json:"external_key"`
	Roles       *[]accessctl.RoleName  `json:"roles"`
	AllAccounts *bool                  `json:"all_accounts"`
	Accounts    *[]accessctl.AccountID `json:"accounts"`
}

type versionBody struct {
	Version int64 `json:"version"`
}

type tenantPatch struct {
	Version                  int64                `json:"version"`
	Name                     *string              `json:"name"`
	SSO                      *accessctl.SSOConfig `json:"sso"`
	EndUserForgotPasswordOff *bool                `json:"enduser_forgot_password_off"`
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

func eu(u *enduser.EndUser, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, endUserJSON(u), nil
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

// register wires every endpoint. docRoutes in openapi.go documents them;
// a test checks the two lists match.
func (a *api) register() {
	a.handle("GET /healthz", func(http.ResponseWriter, *http.Request) (int, any, error) {
		return http.StatusOK, map[string]string{"status": "ok"}, nil
	})
	a.handle("GET /readyz", func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if err := a.ready(r.Context()); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]string{"status": "ready"}, nil
	})
	a.handle("GET /openapi.json", func(http.ResponseWriter, *http.Request) (int, any, error) { return http.StatusOK, openAPI(), nil })
	a.handle("POST /v1/setup", withBody(a.setupTenant))

	// Logging in and the links sent by email need no session.
	a.handle("POST /v1/login", withBody(func(r *http.Request, b loginBody) (int, any, error) {
		return login(a.ops.Login(r.Context(), b.Tenant, b.Login, b.Password))
	}))
	a.handle("POST /v1/login/mfa", withBody(func(r *http.Request, b mfaBody) (int, any, error) {
		return login(a.ops.CompleteLogin(r.Context(), b.Challenge, b.Code))
	}))
	a.handle("POST /v1/invitations/accept", withBody(func(r *http.Request, b passwordBody) (int, any, error) {
		return login(a.ops.AcceptInvitation(r.Context(), b.Token, b.Password, b.Confirmation))
	}))
	a.handle("POST /v1/password/forgot", withBody(func(r *http.Request, b forgotBody) (int, any, error) {
		if err := a.ops.ForgotPassword(r.Context(), b.Tenant, b.Login); err != nil {
			return 0, nil, err
		}
		return http.StatusAccepted, map[string]string{"status": "if the login exists, a reset link is on its way"}, nil
	}))
	a.handle("POST /v1/password/reset", withBody(func(r *http.Request, b passwordBody) (int, any, error) {
		return done(a.ops.ResetPassword(r.Context(), b.Token, b.Password, b.Confirmation))
	}))
	a.handle("GET /v1/password/policy", func(http.ResponseWriter, *http.Request) (int, any, error) {
		return http.StatusOK, map[string][]string{"criteria": a.ops.PasswordPolicy().Criteria()}, nil
	})

	// The session's own operator.
	a.handle("POST /v1/logout", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		token := r.Header.Get("Authorization")[len("Bearer "):]
		return done(a.ops.Logout(r.Context(), backoffice.Secret(token)))
	}))
	a.handle("GET /v1/me", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		actor, _ := accessctl.ActorFrom(r.Context())
		var perms []accessctl.Permission
		for _, p := range a.ops.Catalog().Permissions() {
			if actor.Can(p.Name) {
				perms = append(perms, p.Name)
			}
		}
		return http.StatusOK, map[string]any{"id": actor.ID(), "name": actor.Name(), "tenant": actor.Tenant(), "roles": actor.Roles(),
			"administrator": actor.IsAdministrator(), "permissions": perms}, nil
	}))
	a.handle("POST /v1/me/password", a.authed(withBody(func(r *http.Request, b passwordBody) (int, any, error) {
		return done(a.ops.ChangePassword(r.Context(), b.Current, b.Password, b.Confirmation))
	})))
	a.handle("GET /v1/me/explain/{permission}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		actor, _ := accessctl.ActorFrom(r.Context())
		return http.StatusOK, actor.Explain(accessctl.Permission(r.PathValue("permission"))), nil
	}))

	// Operators.
	a.handle("GET /v1/operators", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		var f accessctl.OperatorFilter
		if s := r.URL.Query().Get("status"); s != "" {
			st := accessctl.OperatorStatus(s)
			f.Status = &st
		}
		if s := r.URL.Query().Get("role"); s != "" {
			role := accessctl.RoleName(s)
			f.Role = &role
		}
		res, err := a.ops.Operators(r.Context(), f, p)
		return ok(pageJSON(res, operatorJSON), err)
	}))
	a.handle("POST /v1/operators", a.authed(withBody(func(r *http.Request, b operatorBody) (int, any, error) {
		o, err := a.ops.CreateOperator(r.Context(), b.input())
		if err != nil {
			return 0, nil, err
		}
		return created(operatorJSON(o), nil)
	})))
	a.handle("POST /v1/operators/invitations", a.authed(withBody(func(r *http.Request, b operatorBody) (int, any, error) {
		o, err := a.ops.InviteOperator(r.Context(), b.input())
		if o == nil {
			return 0, nil, err
		}
		a.logNotDelivered(err)
		return created(operatorJSON(o), nil)
	})))
	a.handle("GET /v1/operators/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return op(a.ops.Operator(r.Context(), opID(r)))
	}))
	a.handle("PATCH /v1/operators/{id}", a.authed(withBody(func(r *http.Request, b operatorPatch) (int, any, error) {
		return op(a.ops.UpdateOperator(r.Context(), opID(r), accessctl.OperatorUpdate{Version: b.Version, Username: b.Username, Email: b.Email,
			FirstName: b.FirstName, LastName: b.LastName, ExternalKey: b.ExternalKey, Roles: b.Roles, AllAccounts: b.AllAccounts, Accounts: b.Accounts}))
	})))
	a.handle("DELETE /v1/operators/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := versionParam(r)
		if err != nil {
			return 0, nil, err
		}
		return done(a.ops.DeleteOperator(r.Context(), opID(r), v))
	}))
	a.handle("POST /v1/operators/{id}/duplicate", a.authed(withBody(func(r *http.Request, b operatorBody) (int, any, error) {
		o, err := a.ops.DuplicateOperator(r.Context(), opID(r), b.input())
		if o == nil {
			return 0, nil, err
		}
		a.logNotDelivered(err)
		return created(operatorJSON(o), nil)
	})))
	a.handle("POST /v1/operators/{id}/invitation", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return done(a.ops.ResendInvitation(r.Context(), opID(r)))
	}))
	transition := func(f func(context.Context, accessctl.OperatorID, int64) (*accessctl.Operator, error)) handlerFunc {
		return a.authed(withBody(func(r *http.Request, b versionBody) (int, any, error) { return op(f(r.Context(), opID(r), b.Version)) }))
	}
	a.handle("POST /v1/operators/{id}/deactivate", transition(a.ops.DeactivateOperator))
	a.handle("POST /v1/operators/{id}/reactivate", transition(a.ops.ReactivateOperator))
	a.handle("POST /v1/operators/{id}/block", transition(a.ops.BlockOperator))
	a.handle("POST /v1/operators/{id}/unblock", transition(a.ops.UnblockOperator))
	a.handle("POST /v1/operators/{id}/mfa/reset", transition(a.ops.ResetMFA))
	a.handle("PUT /v1/operators/{id}/password", a.authed(withBody(func(r *http.Request, b passwordBody) (int, any, error) {
		return op(a.ops.SetPassword(r.Context(), opID(r), b.Version, b.Password, b.Confirmation))
	})))
	a.handle("POST /v1/operators/{id}/password-reset", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return done(a.ops.SendPasswordReset(r.Context(), opID(r)))
	}))
	a.handle("PUT /v1/operators/{id}/sso-key", a.authed(withBody(func(r *http.Request, b struct {
		Version int64  `json:"version"`
		Key     string `json:"key"`
	}) (int, any, error) {
		return op(a.ops.LinkSSO(r.Context(), opID(r), b.Version, b.Key))
	})))
	a.handle("GET /v1/operators/{id}/history", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		res, err := a.ops.History(r.Context(), opID(r), p)
		return ok(pageJSON(res, entryJSON), err)
	}))
	a.handle("GET /v1/operators/{id}/sessions", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return ok(a.ops.Sessions(r.Context(), opID(r)))
	}))
	a.handle("DELETE /v1/operators/{id}/sessions", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return done(a.ops.RevokeSessions(r.Context(), opID(r)))
	}))

	// Roles, permissions, tenant, audit.
	a.handle("GET /v1/roles", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) { return ok(a.ops.Roles(r.Context())) }))
	a.handle("POST /v1/roles", a.authed(withBody(func(r *http.Request, b roleBody) (int, any, error) {
		return created(a.ops.CreateRole(r.Context(), accessctl.Role{Name: b.Name, Abbrev: b.Abbrev, Description: b.Description, Permissions: b.Permissions}))
	})))
	a.handle("PUT /v1/roles/{name}", a.authed(withBody(func(r *http.Request, b roleBody) (int, any, error) {
		return ok(a.ops.UpdateRole(r.Context(), accessctl.Role{Name: accessctl.RoleName(r.PathValue("name")), Abbrev: b.Abbrev,
			Description: b.Description, Permissions: b.Permissions, Version: b.Version}))
	})))
	a.handle("GET /v1/permissions", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		roles, err := a.ops.Roles(r.Context())
		if err != nil {
			return 0, nil, err
		}
		matrix := map[accessctl.RoleName][]accessctl.Permission{}
		for _, role := range roles {
			matrix[role.Name] = role.Permissions
		}
		return http.StatusOK, map[string]any{"permissions": a.ops.Catalog().Permissions(), "matrix": matrix}, nil
	}))
	a.handle("GET /v1/tenant", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) { return ok(a.ops.Tenant(r.Context())) }))
	a.handle("PATCH /v1/tenant", a.authed(withBody(func(r *http.Request, b tenantPatch) (int, any, error) {
		return ok(a.ops.ConfigureTenant(r.Context(), accessctl.TenantSettings{Version: b.Version, Name: b.Name, SSO: b.SSO,
			EndUserForgotPasswordOff: b.EndUserForgotPasswordOff}))
	})))
	a.handle("GET /v1/audit/{type}/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		res, err := a.ops.AuditLog(r.Context(), r.PathValue("type"), r.PathValue("id"), p)
		return ok(pageJSON(res, entryJSON), err)
	}))

	a.registerEndUsers()
	a.registerDevices()

	// The host's own back end: SSO assertions it validated, sign-ups and
	// the customer app's device calls.
	a.handle("POST /v1/internal/sso/login", a.internalOnly("sso", withBody(func(r *http.Request, b ssoBody) (int, any, error) {
		return login(a.ops.ProvisionSSO(r.Context(), a.tenant, accessctl.Assertion{Subject: b.Subject, Email: b.Email, FirstName: b.FirstName,
			LastName: b.LastName, Groups: b.Groups}))
	})))
	a.handle("POST /v1/internal/onboardings", a.internalOnly("signup", withBody(func(r *http.Request, b endUserBody) (int, any, error) {
		in, err := b.input()
		if err != nil {
			return 0, nil, err
		}
		o, err := a.users.StartOnboarding(r.Context(), in)
		if o == nil {
			return 0, nil, err
		}
		a.logNotDelivered(err)
		return created(onboardingJSON(o), nil)
	})))
	a.handle("POST /v1/internal/onboardings/complete", a.internalOnly("signup", withBody(func(r *http.Request, b tokenBody) (int, any, error) {
		return eu(a.users.CompleteOnboarding(r.Context(), b.Token))
	})))
	a.handle("POST /v1/internal/endusers/{id}/devices", a.internalOnly("customer-app", withBody(func(r *http.Request, b enrolBody) (int, any, error) {
		d, err := a.devices.Enrol(r.Context(), userID(r), scadevice.Enrolment{Kind: b.Kind, Tag: b.Tag, Info: b.Info})
		if err != nil {
			return 0, nil, err
		}
		return created(deviceJSON(d), nil)
	})))
	a.handle("POST /v1/internal/devices/{id}/passcode", a.internalOnly("customer-app", withBody(func(r *http.Request, b versionBody) (int, any, error) {
		return dev(a.devices.SetPasscode(r.Context(), devID(r), b.Version))
	})))
}

// logNotDelivered notes a notification that failed after its change was
// stored: the change stands, and the caller can resend.
func (a *api) logNotDelivered(err error) {
	if err != nil {
		a.log.Warn("notification not delivered", "err", err)
	}
}
