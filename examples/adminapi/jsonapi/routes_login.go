package jsonapi

import (
	"net/http"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// meView is the session's operator, for GET /v1/me.
type meView struct {
	ID            string                 `json:"id"`
	Name          string                 `json:"name"`
	Tenant        backoffice.TenantID    `json:"tenant"`
	Roles         []accessctl.RoleName   `json:"roles"`
	Administrator bool                   `json:"administrator"`
	Permissions   []accessctl.Permission `json:"permissions"`
}

// registerLogin wires logging in and out, the links sent by email, and
// the operator's own account.
func (a *API) registerLogin() {
	// Logging in and the links sent by email need no session.
	a.handle("POST /v1/login", withBody(func(r *http.Request, b loginBody) (int, any, error) {
		var err error
		if b.Tenant, err = a.loginTenant(r, b.Tenant); err != nil {
			return 0, nil, err
		}
		if err := a.allow(r.Context(), check{loginPerAddr, addr(r)}, check{loginPerAccount, a.account(r.Context(), b.Tenant, b.Login)}); err != nil {
			return 0, nil, err
		}
		return login(a.ops.Login(r.Context(), b.Tenant, b.Login, b.Password))
	}))
	a.handle("POST /v1/login/mfa", withBody(func(r *http.Request, b mfaBody) (int, any, error) {
		if err := a.allow(r.Context(), check{mfaPerAddr, addr(r)}); err != nil {
			return 0, nil, err
		}
		return login(a.ops.CompleteLogin(r.Context(), b.Challenge, b.Code))
	}))
	// Passkeys (W2): the passkey step after the password, and a sign-in
	// with a passkey alone where the tenant allows it.
	a.handle("POST /v1/login/passkey", withBody(func(r *http.Request, b passkeyBody) (int, any, error) {
		if err := a.allow(r.Context(), check{mfaPerAddr, addr(r)}); err != nil {
			return 0, nil, err
		}
		return ceremony(a.ops.BeginPasskeyLogin(r.Context(), b.Challenge))
	}))
	a.handle("POST /v1/login/passkey/finish", withBody(func(r *http.Request, b passkeyBody) (int, any, error) {
		if err := a.allow(r.Context(), check{mfaPerAddr, addr(r)}); err != nil {
			return 0, nil, err
		}
		return login(a.ops.CompletePasskeyLogin(r.Context(), b.Challenge, b.Ceremony, b.Name, b.answer()))
	}))
	a.handle("POST /v1/passkey-sign-in", withBody(func(r *http.Request, b passkeyBody) (int, any, error) {
		if err := a.allow(r.Context(), check{loginPerAddr, addr(r)}); err != nil {
			return 0, nil, err
		}
		tenant, err := a.loginTenant(r, b.Tenant)
		if err != nil {
			return 0, nil, err
		}
		return ceremony(a.ops.BeginPasskeySignIn(r.Context(), tenant))
	}))
	a.handle("POST /v1/passkey-sign-in/finish", withBody(func(r *http.Request, b passkeyBody) (int, any, error) {
		if err := a.allow(r.Context(), check{loginPerAddr, addr(r)}); err != nil {
			return 0, nil, err
		}
		return login(a.ops.FinishPasskeySignIn(r.Context(), b.Ceremony, b.answer()))
	}))
	a.handle("POST /v1/invitations/accept", withBody(func(r *http.Request, b passwordBody) (int, any, error) {
		return login(a.ops.AcceptInvitation(r.Context(), b.Token, b.Password, b.Confirmation))
	}))
	a.handle("POST /v1/password/forgot", withBody(func(r *http.Request, b forgotBody) (int, any, error) {
		var err error
		if b.Tenant, err = a.loginTenant(r, b.Tenant); err != nil {
			return 0, nil, err
		}
		if err := a.allow(r.Context(), check{forgotPerAddr, addr(r)}, check{forgotPerAccount, a.account(r.Context(), b.Tenant, b.Login)}); err != nil {
			return 0, nil, err
		}
		if err := a.ops.ForgotPassword(r.Context(), b.Tenant, b.Login); err != nil {
			return 0, nil, err
		}
		return http.StatusAccepted, map[string]string{"status": "if the login exists, a reset link is on its way"}, nil
	}))
	a.handle("POST /v1/password/reset", withBody(func(r *http.Request, b passwordBody) (int, any, error) {
		if err := a.allow(r.Context(), check{resetPerAddr, addr(r)}); err != nil {
			return 0, nil, err
		}
		return done(a.ops.ResetPassword(r.Context(), b.Token, b.Password, b.Confirmation))
	}))
	a.handle("GET /v1/password/policy", func(http.ResponseWriter, *http.Request) (int, any, error) {
		return http.StatusOK, criteriaView{Criteria: a.ops.PasswordPolicy().Criteria()}, nil
	})

	// The session's own operator.
	a.handle("POST /v1/logout", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		token := r.Header.Get("Authorization")[len("Bearer "):]
		return done(a.ops.Logout(r.Context(), backoffice.Secret(token)))
	}))
	a.handle("GET /v1/me", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		actor, _ := accessctl.ActorFrom(r.Context())
		return http.StatusOK, me{actor: actor}, nil
	}))
	a.handle("POST /v1/me/password", a.authed(withBody(func(r *http.Request, b passwordBody) (int, any, error) {
		return done(a.ops.ChangePassword(r.Context(), b.Current, b.Password, b.Confirmation))
	})))
	a.handle("POST /v1/me/passkeys/registration", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return ceremony(a.ops.BeginPasskeyRegistration(r.Context()))
	}))
	a.handle("POST /v1/me/passkeys", a.authed(withBody(func(r *http.Request, b passkeyBody) (int, any, error) {
		p, err := a.ops.FinishPasskeyRegistration(r.Context(), b.Ceremony, b.Name, b.answer())
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, passkeyJSON(*p), nil
	})))
	a.handle("GET /v1/me/explain/{permission}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		actor, _ := accessctl.ActorFrom(r.Context())
		return http.StatusOK, actor.Explain(accessctl.Permission(r.PathValue("permission"))), nil
	}))
}
