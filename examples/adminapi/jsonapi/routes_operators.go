package jsonapi

import (
	"context"
	"net/http"

	"github.com/backoffice-go/backoffice/accessctl"
)

// registerOperators wires the Dashboard Users screen: operators, their
// status, passwords, MFA, history and sessions.
func (a *API) registerOperators() {
	// Operators.
	a.handle("GET /v1/operators", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		var f accessctl.OperatorFilter
		if s := queryOf(r).Get("status"); s != "" {
			st := accessctl.OperatorStatus(s)
			f.Status = &st
		}
		if s := queryOf(r).Get("role"); s != "" {
			role := accessctl.RoleName(s)
			f.Role = &role
		}
		res, err := a.ops.Operators(r.Context(), f, p)
		return ok(pageJSON(res, operatorJSON), err)
	}))
	a.handle("POST /v1/operators", a.authed(withBody(func(r *http.Request, b operatorBody) (int, any, error) {
		return newOp(a.ops.CreateOperator(r.Context(), b.input()))
	})))
	a.handle("POST /v1/operators/invitations", a.authed(withBody(func(r *http.Request, b operatorBody) (int, any, error) {
		return newOp(a.ops.InviteOperator(r.Context(), b.input()))
	})))
	a.handle("GET /v1/operators/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return op(a.ops.Operator(r.Context(), opID(r)))
	}))
	a.handle("PATCH /v1/operators/{id}", a.authed(withBody(func(r *http.Request, b operatorPatch) (int, any, error) {
		return op(a.ops.UpdateOperator(r.Context(), opID(r), accessctl.OperatorUpdate{Version: b.Version, Username: b.Username, Email: b.Email,
			FirstName: b.FirstName, LastName: b.LastName, ExternalKey: b.ExternalKey, Roles: b.Roles, AllAccounts: b.AllAccounts, Accounts: b.Accounts,
			RoleUntil: b.RoleUntil, AccessUntil: b.AccessUntil}))
	})))
	a.handle("DELETE /v1/operators/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := versionParam(r)
		if err != nil {
			return 0, nil, err
		}
		return done(a.ops.DeleteOperator(r.Context(), opID(r), v))
	}))
	a.handle("POST /v1/operators/{id}/duplicate", a.authed(withBody(func(r *http.Request, b operatorBody) (int, any, error) {
		return newOp(a.ops.DuplicateOperator(r.Context(), opID(r), b.input()))
	})))
	a.handle("POST /v1/operators/{id}/invitation", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if err := a.allow(r.Context(), check{resendPerActor, actorKey(r)}, check{resendPerTarget, string(opID(r))}); err != nil {
			return 0, nil, err
		}
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
	a.handle("DELETE /v1/operators/{id}/passkeys/{passkey}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return done(a.ops.RevokePasskey(r.Context(), accessctl.OperatorID(r.PathValue("id")), r.PathValue("passkey")))
	}))
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
}
