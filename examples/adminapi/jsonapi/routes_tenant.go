package jsonapi

import (
	"net/http"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// registerTenant wires roles, the permission catalog, the tenant's
// settings and the audit log.
func (a *API) registerTenant() {
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
		return http.StatusOK, permissionsView{Permissions: a.ops.Catalog().Permissions(), Matrix: matrix}, nil
	}))
	a.handle("GET /v1/tenant", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) { return ok(a.ops.Tenant(r.Context())) }))
	a.handle("PATCH /v1/tenant", a.authed(withBody(func(r *http.Request, b tenantPatch) (int, any, error) {
		return ok(a.ops.ConfigureTenant(r.Context(), accessctl.TenantSettings{Version: b.Version, Name: b.Name, SSO: b.SSO,
			EndUserForgotPasswordOff: b.EndUserForgotPasswordOff, Policy: b.Policy, DefaultPolicy: b.DefaultPolicy, WebAuthn: b.WebAuthn}))
	})))
	// The identity provider's SCIM tokens (I4).
	a.handle("GET /v1/tenant/scim-tokens", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if _, err := accessctl.Require(r.Context(), accessctl.PermTenantConfigure); err != nil {
			return 0, nil, err
		}
		t, err := a.ops.Tenant(r.Context())
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, append([]accessctl.SCIMToken{}, t.SCIMTokens...), nil
	}))
	issued := func(secret backoffice.Secret, tok *accessctl.SCIMToken, err error) (int, any, error) {
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, scimTokenIssued{Token: string(secret), SCIMToken: *tok, SCIMURL: a.scimURL}, nil
	}
	a.handle("POST /v1/tenant/scim-tokens", a.authed(withBody(func(r *http.Request, b scimTokenBody) (int, any, error) {
		return issued(a.ops.IssueSCIMToken(r.Context(), b.Name, time.Duration(b.TTLSeconds)*time.Second))
	})))
	a.handle("POST /v1/tenant/scim-tokens/{id}/rotate", a.authed(withBody(func(r *http.Request, b rotateBody) (int, any, error) {
		return issued(a.ops.RotateSCIMToken(r.Context(), r.PathValue("id"), time.Duration(b.OverlapSeconds)*time.Second))
	})))
	a.handle("POST /v1/tenant/scim-tokens/{id}/activate", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return done(a.ops.ActivateSCIMToken(r.Context(), r.PathValue("id")))
	}))
	a.handle("DELETE /v1/tenant/scim-tokens/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return done(a.ops.RevokeSCIMToken(r.Context(), r.PathValue("id")))
	}))
	a.handle("GET /v1/audit/verify", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return ok(a.ops.VerifyAudit(r.Context()))
	}))
	a.handle("POST /v1/audit/verify/full", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if err := a.allow(r.Context(), check{verifyFullPerTenant, string(actorTenant(r))}); err != nil {
			return 0, nil, err
		}
		return ok(a.ops.VerifyAuditFull(r.Context()))
	}))
	a.handle("GET /v1/audit/{type}/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		res, err := a.ops.AuditLog(r.Context(), r.PathValue("type"), r.PathValue("id"), p)
		return ok(pageJSON(res, entryJSON), err)
	}))
}
