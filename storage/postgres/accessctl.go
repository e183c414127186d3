package postgres

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

var _ accessctl.Store = (*Store)(nil)

// Tenants.

type tenantRow struct {
	ID         string    `db:"id"`
	Name       string    `db:"name"`
	Preset     string    `db:"preset"`
	SSOEnabled bool      `db:"sso_enabled"`
	GroupRoles []byte    `db:"sso_group_roles"`
	FPOff      bool      `db:"enduser_forgot_password_off"`
	Policy     []byte    `db:"policy"`
	IdP        []byte    `db:"identity"`
	RolesVer   int64     `db:"roles_version"`
	Version    int64     `db:"version"`
	CreatedAt  time.Time `db:"created_at"`
	UpdatedAt  time.Time `db:"updated_at"`
}

func (r *tenantRow) tenant() (*accessctl.Tenant, error) {
	t := &accessctl.Tenant{ID: backoffice.TenantID(r.ID), Name: r.Name, Preset: r.Preset, SSO: accessctl.SSOConfig{Enabled: r.SSOEnabled},
		EndUserForgotPasswordOff: r.FPOff, RolesVersion: r.RolesVer, Version: r.Version, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt)}
	var m map[string][]accessctl.RoleName
	if err := fromJSON(r.GroupRoles, &m); err != nil {
		return nil, err
	}
	if len(m) > 0 {
		t.SSO.GroupRoles = m
	}
	var idp tenantIdP
	if err := fromJSONOrNil(r.IdP, &idp); err != nil {
		return nil, err
	}
	t.SSO.LinkByEmail, t.SSO.SAML, t.IdPGroups, t.WebAuthn = idp.LinkByEmail, idp.SAML, idp.Groups, idp.WebAuthn
	for _, x := range idp.SCIMTokens {
		x.SCIMToken.Digest = x.Digest
		t.SCIMTokens = append(t.SCIMTokens, x.SCIMToken)
	}
	if len(r.Policy) > 0 && string(r.Policy) != "null" {
		t.Policy = &accessctl.Policy{}
		if err := fromJSON(r.Policy, t.Policy); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// tenantIdP is the tenant's idp column: what it trusts of its identity
// provider.
type tenantIdP struct {
	LinkByEmail bool                       `json:"link_by_email,omitempty"`
	SAML        accessctl.SAMLConfig       `json:"saml,omitzero"`
	SCIMTokens  []scimToken                `json:"scim_tokens,omitempty"`
	Groups      []accessctl.IdPGroupRecord `json:"groups,omitempty"`
	WebAuthn    accessctl.WebAuthnConfig   `json:"webauthn,omitzero"`
}

// scimToken is a SCIM token as stored: with its digest, which the
// library's type leaves out of JSON.
type scimToken struct {
	accessctl.SCIMToken
	Digest string `json:"digest"`
}

func tenantIdPJSON(t *accessctl.Tenant) string {
	toks := make([]scimToken, len(t.SCIMTokens))
	for i, x := range t.SCIMTokens {
		toks[i] = scimToken{SCIMToken: x, Digest: x.Digest}
	}
	return jsonString(tenantIdP{LinkByEmail: t.SSO.LinkByEmail, SAML: t.SSO.SAML, SCIMTokens: toks, Groups: t.IdPGroups, WebAuthn: t.WebAuthn})
}

// operatorIdP is the operator's idp column.
type operatorIdP struct {
	Managed     bool                 `json:"managed,omitempty"`
	Groups      []string             `json:"groups,omitempty"`
	DisplayName string               `json:"display_name,omitempty"`
	Manager     accessctl.OperatorID `json:"manager,omitempty"`
	Passkeys    []accessctl.Passkey  `json:"passkeys,omitempty"`
}

// policyJSON is the tenant's own policy, or NULL for the service's.
func policyJSON(t *accessctl.Tenant) any {
	if t.Policy == nil {
		return nil
	}
	return jsonString(t.Policy)
}

func groupRoles(t *accessctl.Tenant) string {
	if t.SSO.GroupRoles == nil {
		return "{}"
	}
	return jsonString(t.SSO.GroupRoles)
}

var (
	qCreateTenant = `WITH ins AS (
	INSERT INTO backoffice_tenants (id, name, preset, sso_enabled, sso_group_roles, enduser_forgot_password_off, version, created_at, updated_at, policy, identity)
	VALUES ($1, $2, $3, $4, $5::jsonb, $6, 1, $7, $8, $9::jsonb, $10::jsonb) RETURNING 1
), ` + auditInsert("ins", 11) + ` SELECT count(*) FROM ins`
	qTenant       = `SELECT ` + tenantCols + ` FROM backoffice_tenants WHERE id = $1`
	qUpdateTenant = `WITH upd AS (
	UPDATE backoffice_tenants SET name = $2, preset = $3, sso_enabled = $4, sso_group_roles = $5::jsonb, enduser_forgot_password_off = $6,
		updated_at = $7, policy = $9::jsonb, identity = $10::jsonb, version = version + 1
	WHERE id = $1 AND version = $8 RETURNING version
), ` + auditInsert("upd", 11) + ` SELECT version FROM upd`
	qTenantVersion = `SELECT version FROM backoffice_tenants WHERE id = $1`
)

// CreateTenant implements accessctl.TenantStore.
func (s *Store) CreateTenant(ctx context.Context, t *accessctl.Tenant, e backoffice.AuditEntry) error {
	const op = "postgres: create tenant"
	args := append([]any{string(t.ID), t.Name, t.Preset, t.SSO.Enabled, groupRoles(t), t.EndUserForgotPasswordOff, utc(t.CreatedAt), utc(t.UpdatedAt),
		policyJSON(t), tenantIdPJSON(t)}, auditArgs(e)...)
	var n int
	if err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &n, qCreateTenant, args...) }); err != nil {
		return mapErr(op, err)
	}
	t.Version, t.RolesVersion = 1, 1
	return nil
}

// Tenant implements accessctl.TenantStore.
func (s *Store) Tenant(ctx context.Context, id backoffice.TenantID) (*accessctl.Tenant, error) {
	var r tenantRow
	if err := s.get(ctx, nil, &r, qTenant, string(id)); err != nil {
		return nil, mapErr("postgres: tenant", err)
	}
	return r.tenant()
}

// UpdateTenant implements accessctl.TenantStore.
func (s *Store) UpdateTenant(ctx context.Context, t *accessctl.Tenant, expect int64, e backoffice.AuditEntry) error {
	const op = "postgres: update tenant"
	args := append([]any{string(t.ID), t.Name, t.Preset, t.SSO.Enabled, groupRoles(t), t.EndUserForgotPasswordOff, utc(t.UpdatedAt), expect,
		policyJSON(t), tenantIdPJSON(t)}, auditArgs(e)...)
	var v int64
	err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &v, qUpdateTenant, args...) })
	if errors.Is(err, sql.ErrNoRows) {
		return s.missing(ctx, op, qTenantVersion, string(t.ID))
	}
	if err != nil {
		return mapErr(op, err)
	}
	t.Version = v
	return nil
}

// Operators.

type operatorRow struct {
	TenantID      string       `db:"tenant_id"`
	ID            string       `db:"id"`
	Username      string       `db:"username"`
	Email         string       `db:"email"`
	FirstName     string       `db:"first_name"`
	LastName      string       `db:"last_name"`
	Roles         []byte       `db:"roles"`
	AllAccounts   bool         `db:"all_accounts"`
	Accounts      []byte       `db:"accounts"`
	Status        string       `db:"status"`
	EmailVerified bool         `db:"email_verified"`
	PasswordHash  string       `db:"password_hash"`
	MFASecret     string       `db:"mfa_secret"`
	MFAEnrolled   bool         `db:"mfa_enrolled"`
	MFALastStep   int64        `db:"mfa_last_step"`
	ExternalKey   string       `db:"external_key"`
	SessionEpoch  int64        `db:"session_epoch"`
	Version       int64        `db:"version"`
	CreatedAt     time.Time    `db:"created_at"`
	UpdatedAt     time.Time    `db:"updated_at"`
	PwHistory     []byte       `db:"password_history"`
	PwChangedAt   sql.NullTime `db:"password_changed_at"`
	LastLoginAt   sql.NullTime `db:"last_login_at"`
	LastLoginFrom string       `db:"last_login_from"`
	RoleUntil     []byte       `db:"role_until"`
	AccessUntil   sql.NullTime `db:"access_until"`
	GrantedBy     []byte       `db:"granted_by"`
	ControlledBy  []byte       `db:"controlled_by"`
	IdP           []byte       `db:"identity"`
}

func (r *operatorRow) operator() (*accessctl.Operator, error) {
	o := &accessctl.Operator{ID: accessctl.OperatorID(r.ID), Tenant: backoffice.TenantID(r.TenantID), Username: r.Username, Email: r.Email,
		FirstName: r.FirstName, LastName: r.LastName, AllAccounts: r.AllAccounts, Status: accessctl.OperatorStatus(r.Status),
		EmailVerified: r.EmailVerified, PasswordHash: backoffice.Secret(r.PasswordHash), MFASecret: backoffice.Secret(r.MFASecret),
		MFAEnrolled: r.MFAEnrolled, MFALastStep: r.MFALastStep, ExternalKey: r.ExternalKey, SessionEpoch: r.SessionEpoch,
		Version: r.Version, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt), PasswordChangedAt: fromNull(r.PwChangedAt),
		LastLoginAt: fromNull(r.LastLoginAt), LastLoginFrom: r.LastLoginFrom, AccessUntil: fromNull(r.AccessUntil)}
	for _, err := range []error{fromJSONOrNil(r.Roles, &o.Roles), fromJSONOrNil(r.Accounts, &o.Accounts),
		fromJSONOrNil(r.PwHistory, &o.PasswordHistory), fromJSONOrNil(r.RoleUntil, &o.RoleUntil), fromJSONOrNil(r.GrantedBy, &o.GrantedBy),
		fromJSONOrNil(r.ControlledBy, &o.ControlledBy)} {
		if err != nil {
			return nil, err
		}
	}
	var idp operatorIdP
	if err := fromJSONOrNil(r.IdP, &idp); err != nil {
		return nil, err
	}
	o.Managed, o.Groups, o.DisplayName, o.Manager, o.Passkeys = idp.Managed, idp.Groups, idp.DisplayName, idp.Manager, idp.Passkeys
	return o, nil
}

// roleUntilJSON is the JSON object of time-bound roles, {} when there is
// none.
func roleUntilJSON(m map[accessctl.RoleName]time.Time) string {
	if len(m) == 0 {
		return "{}"
	}
	return jsonString(m)
}

func list[T ~string](v []T) string {
	if v == nil {
		return "[]"
	}
	return jsonString(v)
}

// operatorArgs are $1..$27 of the operator statements.
func operatorArgs(o *accessctl.Operator) []any {
	history := make([]string, len(o.PasswordHistory))
	for i, h := range o.PasswordHistory {
		history[i] = string(h) // the Secret type would marshal as its redaction
	}
	return []any{string(o.Tenant), string(o.ID), o.Username, o.Email, o.FirstName, o.LastName, list(o.Roles), o.AllAccounts,
		list(o.Accounts), string(o.Status), o.EmailVerified, string(o.PasswordHash), string(o.MFASecret), o.MFAEnrolled,
		o.MFALastStep, o.ExternalKey, o.SessionEpoch, utc(o.UpdatedAt),
		jsonString(history), nullTime(o.PasswordChangedAt), nullTime(o.LastLoginAt), o.LastLoginFrom, roleUntilJSON(o.RoleUntil), nullTime(o.AccessUntil),
		list(o.GrantedBy), list(o.ControlledBy), jsonString(operatorIdP{Managed: o.Managed, Groups: o.Groups, DisplayName: o.DisplayName, Manager: o.Manager, Passkeys: o.Passkeys})}
}

var (
	qCreateOperator = `WITH ins AS (
	INSERT INTO backoffice_operators (tenant_id, id, username, email, first_name, last_name, roles, all_accounts, accounts, status, email_verified,
		password_hash, mfa_secret, mfa_enrolled, mfa_last_step, external_key, session_epoch, updated_at,
		password_history, password_changed_at, last_login_at, last_login_from, role_until, access_until, granted_by, controlled_by, identity, created_at, version)
	VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb, $10, $11, $12, $13, $14, $15, $16, $17, $18,
		$19::jsonb, $20, $21, $22, $23::jsonb, $24, $25::jsonb, $26::jsonb, $27::jsonb, $28, 1) RETURNING 1
), ` + auditInsert("ins", 29) + ` SELECT count(*) FROM ins`
	qOperator           = `SELECT ` + operatorCols + ` FROM backoffice_operators WHERE tenant_id = $1 AND id = $2`
	qOperatorByUsername = `SELECT ` + operatorCols + ` FROM backoffice_operators WHERE tenant_id = $1 AND lower(username) = lower($2) AND username <> ''`
	qOperatorByEmail    = `SELECT ` + operatorCols + ` FROM backoffice_operators WHERE tenant_id = $1 AND lower(email) = lower($2) AND email <> ''`
	qOperatorByKey      = `SELECT ` + operatorCols + ` FROM backoffice_operators WHERE tenant_id = $1 AND external_key = $2 AND external_key <> ''`
	qOperators          = `SELECT ` + operatorCols + ` FROM backoffice_operators WHERE tenant_id = $1
	AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR roles @> jsonb_build_array($3::text))
	AND ($4 = '' OR id < $4) ORDER BY id DESC LIMIT $5`
	qUpdateOperator = `WITH upd AS (
	UPDATE backoffice_operators SET username = $3, email = $4, first_name = $5, last_name = $6, roles = $7::jsonb, all_accounts = $8,
		accounts = $9::jsonb, status = $10, email_verified = $11, password_hash = $12, mfa_secret = $13, mfa_enrolled = $14,
		mfa_last_step = $15, external_key = $16, session_epoch = $17, updated_at = $18,
		password_history = $19::jsonb, password_changed_at = $20, last_login_at = $21, last_login_from = $22, role_until = $23::jsonb,
		access_until = $24, granted_by = $25::jsonb, controlled_by = $26::jsonb, identity = $27::jsonb, version = version + 1
	WHERE tenant_id = $1 AND id = $2 AND version = $28 RETURNING version
), ` + auditInsert("upd", 29) + ` SELECT version FROM upd`
	qDeleteOperator = `WITH del AS (
	DELETE FROM backoffice_operators WHERE tenant_id = $1 AND id = $2 AND version = $3 RETURNING 1
), ` + auditInsert("del", 4) + ` SELECT count(*) FROM del`
	qOperatorVersion = `SELECT version FROM backoffice_operators WHERE tenant_id = $1 AND id = $2`
	qLockTenant      = `SELECT pg_advisory_xact_lock(hashtext('backoffice.admins'), hashtext($1))`
	// qActiveAdmins counts the active operators holding the role for good
	// (not until a time).
	qActiveAdmins = `SELECT count(*) FROM backoffice_operators WHERE tenant_id = $1 AND status = 'active' AND roles @> jsonb_build_array($2::text)
	AND NOT role_until ? $2::text`
	// qActorLive share-locks the acting operator's row, so that its own
	// deactivation, block or role change waits for this write, or this
	// write sees it.
	qActorLive = `SELECT 1 FROM backoffice_operators WHERE tenant_id = $1 AND id = $2 AND status = 'active' AND session_epoch = $3 FOR SHARE`
)

// CreateOperator implements accessctl.OperatorStore.
func (s *Store) CreateOperator(ctx context.Context, o *accessctl.Operator, g accessctl.Guard, e backoffice.AuditEntry) error {
	args := append(append(operatorArgs(o), utc(o.CreatedAt)), auditArgs(e)...)
	var n int
	if err := s.guarded(ctx, o.Tenant, g, qCreateOperator, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &n, qCreateOperator, args...) }); err != nil {
		return mapErr("postgres: create operator", err)
	}
	o.Version = 1
	return nil
}

func (s *Store) operatorBy(ctx context.Context, op, query string, args ...any) (*accessctl.Operator, error) {
	var r operatorRow
	if err := s.get(ctx, nil, &r, query, args...); err != nil {
		return nil, mapErr(op, err)
	}
	return r.operator()
}

// Operator implements accessctl.OperatorStore.
func (s *Store) Operator(ctx context.Context, tenant backoffice.TenantID, id accessctl.OperatorID) (*accessctl.Operator, error) {
	return s.operatorBy(ctx, "postgres: operator", qOperator, string(tenant), string(id))
}

// OperatorByLogin implements accessctl.OperatorStore.
func (s *Store) OperatorByLogin(ctx context.Context, tenant backoffice.TenantID, login string) (*accessctl.Operator, error) {
	if login == "" {
		return nil, backoffice.NewError(backoffice.ErrNotFound, "postgres: operator", "no such operator")
	}
	o, err := s.operatorBy(ctx, "postgres: operator", qOperatorByUsername, string(tenant), login)
	if errors.Is(err, backoffice.ErrNotFound) {
		return s.operatorBy(ctx, "postgres: operator", qOperatorByEmail, string(tenant), login)
	}
	return o, err
}

// OperatorByExternalKey implements accessctl.OperatorStore.
func (s *Store) OperatorByExternalKey(ctx context.Context, tenant backoffice.TenantID, key string) (*accessctl.Operator, error) {
	return s.operatorBy(ctx, "postgres: operator", qOperatorByKey, string(tenant), key)
}

// Operators implements accessctl.OperatorStore.
func (s *Store) Operators(ctx context.Context, tenant backoffice.TenantID, q accessctl.OperatorQuery) ([]*accessctl.Operator, error) {
	var status, role any
	if q.Status != nil {
		status = string(*q.Status)
	}
	if q.Role != nil {
		role = string(*q.Role)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	var rows []operatorRow
	if err := s.onReader(ctx, func(st *Store) error {
		rows = nil
		return st.sel(ctx, &rows, qOperators, string(tenant), status, role, string(q.After), limit)
	}); err != nil {
		return nil, mapErr("postgres: operators", err)
	}
	out := make([]*accessctl.Operator, len(rows))
	for i := range rows {
		o, err := rows[i].operator()
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

// guarded runs a write with its guard, in one transaction under a
// per-tenant advisory lock, so that concurrent guarded writes from any
// connection take turns: first the actor check (the acting operator
// is still active at its epoch, its row share-locked), then the write,
// then the count of active Administrators after it. A write with no
// guard is the single statement alone.
func (s *Store) guarded(ctx context.Context, tenant backoffice.TenantID, g accessctl.Guard, query string, msgs []backoffice.Message, write func(tx *sqlx.Tx) error) error {
	if g.KeepAdmin == "" && g.Actor == "" {
		return s.change(ctx, msgs, write)
	}
	if len(msgs) > 0 {
		if _, err := s.stmt(ctx, qInsertMessages); err != nil {
			return err
		}
	}
	// Prepare outside the transaction: a transaction waiting for the lock
	// holds its connection, and preparing inside could wait for one more
	// from a pool they all hold.
	for _, q := range []string{qLockTenant, query, qActiveAdmins, qActorLive} {
		if _, err := s.stmt(ctx, q); err != nil {
			return err
		}
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, qLockTenant, string(tenant)); err != nil {
			return err
		}
		if g.Actor != "" {
			var one int
			err := s.get(ctx, tx, &one, qActorLive, string(tenant), string(g.Actor), g.ActorEpoch)
			if errors.Is(err, sql.ErrNoRows) {
				return accessctl.ErrActorChanged
			}
			if err != nil {
				return err
			}
		}
		if err := write(tx); err != nil {
			return err
		}
		if err := s.insertMessages(ctx, tx, msgs); err != nil {
			return err
		}
		if g.KeepAdmin == "" {
			return nil
		}
		var n int
		if err := s.get(ctx, tx, &n, qActiveAdmins, string(tenant), string(g.KeepAdmin)); err != nil {
			return err
		}
		if n < 1 {
			return accessctl.ErrLastAdministrator
		}
		return nil
	})
}

// UpdateOperator implements accessctl.OperatorStore.
func (s *Store) UpdateOperator(ctx context.Context, o *accessctl.Operator, expect int64, g accessctl.Guard, e backoffice.AuditEntry) error {
	const op = "postgres: update operator"
	args := append(append(operatorArgs(o), expect), auditArgs(e)...)
	var v int64
	err := s.guarded(ctx, o.Tenant, g, qUpdateOperator, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &v, qUpdateOperator, args...) })
	if errors.Is(err, sql.ErrNoRows) {
		return s.missing(ctx, op, qOperatorVersion, string(o.Tenant), string(o.ID))
	}
	if err != nil {
		return mapErr(op, err)
	}
	o.Version = v
	return nil
}

// DeleteOperator implements accessctl.OperatorStore.
func (s *Store) DeleteOperator(ctx context.Context, tenant backoffice.TenantID, id accessctl.OperatorID, expect int64, g accessctl.Guard, e backoffice.AuditEntry) error {
	const op = "postgres: delete operator"
	args := append([]any{string(tenant), string(id), expect}, auditArgs(e)...)
	var n int
	err := s.guarded(ctx, tenant, g, qDeleteOperator, e.Outbox, func(tx *sqlx.Tx) error {
		if err := s.get(ctx, tx, &n, qDeleteOperator, args...); err != nil {
			return err
		}
		if n == 0 {
			return errNoChange
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		return s.missing(ctx, op, qOperatorVersion, string(tenant), string(id))
	}
	return mapErr(op, err)
}

// Roles.

type roleRow struct {
	TenantID    string `db:"tenant_id"`
	Name        string `db:"name"`
	Abbrev      string `db:"abbrev"`
	Description string `db:"description"`
	Permissions []byte `db:"permissions"`
	Version     int64  `db:"version"`
}

var (
	qCreateRole = `WITH ins AS (
	INSERT INTO backoffice_roles (tenant_id, name, abbrev, description, permissions, version) VALUES ($1, $2, $3, $4, $5::jsonb, 1) RETURNING 1
), ver AS (UPDATE backoffice_tenants SET roles_version = roles_version + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM ins)
), ` + auditInsert("ins", 6) + ` SELECT count(*) FROM ins`
	qRoles      = `SELECT ` + roleCols + ` FROM backoffice_roles WHERE tenant_id = $1 ORDER BY name`
	qUpdateRole = `WITH upd AS (
	UPDATE backoffice_roles SET abbrev = $3, description = $4, permissions = $5::jsonb, version = version + 1
	WHERE tenant_id = $1 AND name = $2 AND version = $6 RETURNING version
), ver AS (UPDATE backoffice_tenants SET roles_version = roles_version + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM upd)
), ` + auditInsert("upd", 7) + ` SELECT version FROM upd`
	qRoleVersion = `SELECT version FROM backoffice_roles WHERE tenant_id = $1 AND name = $2`
)

// CreateRole implements accessctl.RoleStore.
func (s *Store) CreateRole(ctx context.Context, r *accessctl.Role, e backoffice.AuditEntry) error {
	args := append([]any{string(r.Tenant), string(r.Name), r.Abbrev, r.Description, list(r.Permissions)}, auditArgs(e)...)
	var n int
	if err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &n, qCreateRole, args...) }); err != nil {
		return mapErr("postgres: create role", err)
	}
	r.Version = 1
	return nil
}

// Roles implements accessctl.RoleStore.
func (s *Store) Roles(ctx context.Context, tenant backoffice.TenantID) ([]accessctl.Role, error) {
	var rows []roleRow
	if err := s.sel(ctx, &rows, qRoles, string(tenant)); err != nil {
		return nil, mapErr("postgres: roles", err)
	}
	var out []accessctl.Role
	for _, r := range rows {
		role := accessctl.Role{Tenant: backoffice.TenantID(r.TenantID), Name: accessctl.RoleName(r.Name), Abbrev: r.Abbrev,
			Description: r.Description, Version: r.Version}
		if err := fromJSON(r.Permissions, &role.Permissions); err != nil {
			return nil, err
		}
		if len(role.Permissions) == 0 {
			role.Permissions = nil
		}
		out = append(out, role)
	}
	return out, nil
}

// UpdateRole implements accessctl.RoleStore.
func (s *Store) UpdateRole(ctx context.Context, r *accessctl.Role, expect int64, e backoffice.AuditEntry) error {
	const op = "postgres: update role"
	args := append([]any{string(r.Tenant), string(r.Name), r.Abbrev, r.Description, list(r.Permissions), expect}, auditArgs(e)...)
	var v int64
	err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &v, qUpdateRole, args...) })
	if errors.Is(err, sql.ErrNoRows) {
		return s.missing(ctx, op, qRoleVersion, string(r.Tenant), string(r.Name))
	}
	if err != nil {
		return mapErr(op, err)
	}
	r.Version = v
	return nil
}

// Audit.

type auditRow struct {
	TenantID   string        `db:"tenant_id"`
	TargetType string        `db:"target_type"`
	TargetID   string        `db:"target_id"`
	ID         string        `db:"id"`
	ActorKind  string        `db:"actor_kind"`
	ActorID    string        `db:"actor_id"`
	ActorName  string        `db:"actor_name"`
	Action     string        `db:"action"`
	At         time.Time     `db:"at"`
	Changes    []byte        `db:"changes"`
	Seq        sql.NullInt64 `db:"seq"`
	Hash       []byte        `db:"hash"`
}

func (r *auditRow) entry() (backoffice.AuditEntry, error) {
	e := backoffice.AuditEntry{ID: r.ID, Tenant: backoffice.TenantID(r.TenantID), TargetType: r.TargetType, TargetID: r.TargetID,
		Actor: backoffice.ActorRef{Kind: backoffice.ActorKind(r.ActorKind), ID: r.ActorID, Name: r.ActorName}, Action: backoffice.Action(r.Action),
		At: utc(r.At), Seq: r.Seq.Int64, Hash: hex.EncodeToString(r.Hash)}
	if err := fromJSON(r.Changes, &e.Changes); err != nil {
		return e, err
	}
	if len(e.Changes) == 0 {
		e.Changes = nil
	}
	return e, nil
}

var (
	qAudit = `SELECT ` + auditCols + ` FROM backoffice_audit_entries WHERE tenant_id = $1 AND target_type = $2 AND target_id = $3
	AND ($4 = '' OR id < $4) ORDER BY id DESC LIMIT $5`
	qAppendAudit = `WITH one AS (SELECT 1), ` + auditInsert("one", 1) + ` SELECT count(*) FROM one`
	qAuditChain  = `SELECT ` + auditCols + ` FROM backoffice_audit_entries WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`
	qAuditHead   = `SELECT h.seq, h.hash, coalesce(first.at, 'epoch'::timestamptz) AS started, coalesce(stray.id, '') AS stray
	FROM backoffice_audit_heads h
	LEFT JOIN backoffice_audit_entries first ON first.tenant_id = h.tenant_id AND first.seq = 1
	LEFT JOIN LATERAL (SELECT e.id FROM backoffice_audit_entries e WHERE e.tenant_id = h.tenant_id AND e.seq IS NULL AND e.at >= first.at
		ORDER BY e.at LIMIT 1) stray ON true
	WHERE h.tenant_id = $1`
)

// AuditEntries implements accessctl.AuditStore.
func (s *Store) AuditEntries(ctx context.Context, tenant backoffice.TenantID, q accessctl.AuditQuery) ([]backoffice.AuditEntry, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	var rows []auditRow
	if err := s.onReader(ctx, func(st *Store) error {
		rows = nil
		return st.sel(ctx, &rows, qAudit, string(tenant), q.TargetType, q.TargetID, q.Before, limit)
	}); err != nil {
		return nil, mapErr("postgres: audit entries", err)
	}
	return auditEntries(rows)
}

func auditEntries(rows []auditRow) ([]backoffice.AuditEntry, error) {
	out := make([]backoffice.AuditEntry, len(rows))
	for i := range rows {
		e, err := rows[i].entry()
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// AuditChain implements accessctl.AuditStore.
func (s *Store) AuditChain(ctx context.Context, tenant backoffice.TenantID, after int64, limit int) ([]backoffice.AuditEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	var rows []auditRow
	if err := s.onReader(ctx, func(st *Store) error {
		rows = nil
		return st.sel(ctx, &rows, qAuditChain, string(tenant), after, limit)
	}); err != nil {
		return nil, mapErr("postgres: audit chain", err)
	}
	return auditEntries(rows)
}

// AuditHead implements accessctl.AuditStore. Stray names an entry
// without a place in the chain written at or after its first.
func (s *Store) AuditHead(ctx context.Context, tenant backoffice.TenantID) (backoffice.ChainHead, error) {
	var r struct {
		Seq     int64     `db:"seq"`
		Hash    []byte    `db:"hash"`
		Started time.Time `db:"started"`
		Stray   string    `db:"stray"`
	}
	err := s.onReader(ctx, func(st *Store) error { return st.get(ctx, nil, &r, qAuditHead, string(tenant)) })
	if errors.Is(err, sql.ErrNoRows) {
		return backoffice.ChainHead{}, nil
	}
	if err != nil {
		return backoffice.ChainHead{}, mapErr("postgres: audit head", err)
	}
	return backoffice.ChainHead{Seq: r.Seq, Hash: hex.EncodeToString(r.Hash), Started: utc(r.Started), Stray: r.Stray}, nil
}

// AppendAuditEntry implements accessctl.AuditStore.
func (s *Store) AppendAuditEntry(ctx context.Context, e backoffice.AuditEntry) error {
	err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error {
		var n int
		return s.get(ctx, tx, &n, qAppendAudit, auditArgs(e)...)
	})
	return mapErr("postgres: append audit entry", err)
}

// Sessions.

type sessionRow struct {
	ID          string       `db:"id"`
	TenantID    string       `db:"tenant_id"`
	OperatorID  string       `db:"operator_id"`
	Epoch       int64        `db:"epoch"`
	Name        string       `db:"name"`
	Roles       []byte       `db:"roles"`
	AllAccounts bool         `db:"all_accounts"`
	Accounts    []byte       `db:"accounts"`
	CreatedAt   time.Time    `db:"created_at"`
	ExpiresAt   time.Time    `db:"expires_at"`
	IdleTimeout int64        `db:"idle_timeout"`
	LastSeen    sql.NullTime `db:"last_seen"`
	RoleUntil   []byte       `db:"role_until"`
	AccessUntil sql.NullTime `db:"access_until"`
}

func (r sessionRow) session() (*accessctl.Session, error) {
	x := &accessctl.Session{ID: r.ID, Tenant: backoffice.TenantID(r.TenantID), Operator: accessctl.OperatorID(r.OperatorID), Epoch: r.Epoch,
		Name: r.Name, AllAccounts: r.AllAccounts, CreatedAt: utc(r.CreatedAt), ExpiresAt: utc(r.ExpiresAt),
		IdleTimeout: time.Duration(r.IdleTimeout), LastSeen: fromNull(r.LastSeen), AccessUntil: fromNull(r.AccessUntil)}
	for _, err := range []error{fromJSONOrNil(r.Roles, &x.Roles), fromJSONOrNil(r.Accounts, &x.Accounts), fromJSONOrNil(r.RoleUntil, &x.RoleUntil)} {
		if err != nil {
			return nil, err
		}
	}
	return x, nil
}

// sessionRolesRow is a session read with its tenant's roles version.
type sessionRolesRow struct {
	sessionRow
	RolesVersion int64 `db:"roles_version"`
}

var (
	qCreateSession = `INSERT INTO backoffice_sessions (id, tenant_id, operator_id, epoch, name, roles, all_accounts, accounts, created_at, expires_at,
		idle_timeout, last_seen, role_until, access_until)
	VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9, $10, $11, $12, $13::jsonb, $14)`
	qTouchSession = `UPDATE backoffice_sessions SET last_seen = $3 WHERE tenant_id = $1 AND id = $2 AND (last_seen IS NULL OR last_seen < $3)`
	// One round trip: the session and its tenant's roles version.
	qSession = `SELECT ` + qualified("s", sessionCols) + `, coalesce(t.roles_version, 0) AS roles_version
	FROM backoffice_sessions s LEFT JOIN backoffice_tenants t ON t.id = s.tenant_id WHERE s.tenant_id = $1 AND s.id = $2`
	qSessions      = `SELECT ` + sessionCols + ` FROM backoffice_sessions WHERE tenant_id = $1 AND operator_id = $2 ORDER BY created_at, id`
	qDeleteSession = `DELETE FROM backoffice_sessions WHERE tenant_id = $1 AND id = $2`
	qDeleteOpSess  = `DELETE FROM backoffice_sessions WHERE tenant_id = $1 AND operator_id = $2`
	qPurgeSessions = `DELETE FROM backoffice_sessions WHERE expires_at <= $1`
	qPurgeTokens   = `DELETE FROM backoffice_tokens WHERE expires_at <= $1`
)

// CreateSession implements accessctl.SessionStore.
func (s *Store) CreateSession(ctx context.Context, x *accessctl.Session) error {
	_, err := s.exec(ctx, nil, qCreateSession, x.ID, string(x.Tenant), string(x.Operator), x.Epoch, x.Name, list(x.Roles), x.AllAccounts,
		list(x.Accounts), utc(x.CreatedAt), utc(x.ExpiresAt), int64(x.IdleTimeout), nullTime(x.LastSeen), roleUntilJSON(x.RoleUntil), nullTime(x.AccessUntil))
	return mapErr("postgres: create session", err)
}

// TouchSession implements accessctl.SessionStore.
func (s *Store) TouchSession(ctx context.Context, tenant backoffice.TenantID, digest string, at time.Time) error {
	_, err := s.exec(ctx, nil, qTouchSession, string(tenant), digest, utc(at))
	return mapErr("postgres: touch session", err)
}

// Session implements accessctl.SessionStore.
func (s *Store) Session(ctx context.Context, tenant backoffice.TenantID, digest string) (*accessctl.Session, error) {
	var r sessionRolesRow
	if err := s.get(ctx, nil, &r, qSession, string(tenant), digest); err != nil {
		return nil, mapErr("postgres: session", err)
	}
	x, err := r.session()
	if err != nil {
		return nil, &internalError{op: "postgres: session", cause: err}
	}
	x.RolesVersion = r.RolesVersion
	return x, nil
}

// SetRolesVersion implements accessctl.SessionStore: Session reads the
// tenant's own version, which changes with its roles in one transaction.
func (s *Store) SetRolesVersion(ctx context.Context, _ backoffice.TenantID, _ int64) error {
	return ctx.Err()
}

// Sessions implements accessctl.SessionStore.
func (s *Store) Sessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) ([]*accessctl.Session, error) {
	var rows []sessionRow
	if err := s.sel(ctx, &rows, qSessions, string(tenant), string(op)); err != nil {
		return nil, mapErr("postgres: sessions", err)
	}
	out := make([]*accessctl.Session, len(rows))
	for i, r := range rows {
		x, err := r.session()
		if err != nil {
			return nil, &internalError{op: "postgres: sessions", cause: err}
		}
		out[i] = x
	}
	return out, nil
}

// DeleteSession implements accessctl.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, tenant backoffice.TenantID, digest string) error {
	_, err := s.exec(ctx, nil, qDeleteSession, string(tenant), digest)
	return mapErr("postgres: delete session", err)
}

// DeleteOperatorSessions implements accessctl.SessionStore.
func (s *Store) DeleteOperatorSessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	_, err := s.exec(ctx, nil, qDeleteOpSess, string(tenant), string(op))
	return mapErr("postgres: delete sessions", err)
}

// PurgeExpired removes sessions and tokens that expired before now. The
// services never accept them anyway; a host runs this now and then to keep
// the tables small.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) error {
	if _, err := s.exec(ctx, nil, qPurgeSessions, now.UTC()); err != nil {
		return mapErr("postgres: purge", err)
	}
	_, err := s.exec(ctx, nil, qPurgeTokens, now.UTC())
	return mapErr("postgres: purge", err)
}

// Tokens.

type tokenRow struct {
	ID         string    `db:"id"`
	Purpose    string    `db:"purpose"`
	TenantID   string    `db:"tenant_id"`
	OperatorID string    `db:"operator_id"`
	CreatedAt  time.Time `db:"created_at"`
	ExpiresAt  time.Time `db:"expires_at"`
}

func (r tokenRow) token() *accessctl.Token {
	return &accessctl.Token{ID: r.ID, Purpose: accessctl.TokenPurpose(r.Purpose), Tenant: backoffice.TenantID(r.TenantID),
		Operator: accessctl.OperatorID(r.OperatorID), CreatedAt: utc(r.CreatedAt), ExpiresAt: utc(r.ExpiresAt)}
}

var (
	// One row per operator and purpose: issuing replaces it, so earlier
	// links die in the same statement.
	qIssueToken = `INSERT INTO backoffice_tokens (id, purpose, tenant_id, operator_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (tenant_id, operator_id, purpose) DO UPDATE SET id = excluded.id, created_at = excluded.created_at, expires_at = excluded.expires_at`
	qToken         = `SELECT ` + tokenCols + ` FROM backoffice_tokens WHERE tenant_id = $1 AND id = $2 AND purpose = $3`
	qConsumeToken  = `DELETE FROM backoffice_tokens WHERE tenant_id = $1 AND id = $2 AND purpose = $3 RETURNING ` + tokenCols
	qDeleteOpToken = `DELETE FROM backoffice_tokens WHERE tenant_id = $1 AND operator_id = $2`
	qOpTokens      = `SELECT ` + tokenCols + ` FROM backoffice_tokens WHERE tenant_id = $1 AND operator_id = $2`
)

// IssueToken implements accessctl.TokenStore.
func (s *Store) IssueToken(ctx context.Context, t *accessctl.Token) error {
	_, err := s.exec(ctx, nil, qIssueToken, t.ID, string(t.Purpose), string(t.Tenant), string(t.Operator), utc(t.CreatedAt), utc(t.ExpiresAt))
	return mapErr("postgres: issue token", err)
}

// Token implements accessctl.TokenStore.
func (s *Store) Token(ctx context.Context, purpose accessctl.TokenPurpose, tenant backoffice.TenantID, digest string) (*accessctl.Token, error) {
	var r tokenRow
	if err := s.get(ctx, nil, &r, qToken, string(tenant), digest, string(purpose)); err != nil {
		return nil, mapErr("postgres: token", err)
	}
	return r.token(), nil
}

// ConsumeToken implements accessctl.TokenStore.
func (s *Store) ConsumeToken(ctx context.Context, purpose accessctl.TokenPurpose, tenant backoffice.TenantID, digest string) (*accessctl.Token, error) {
	var r tokenRow
	if err := s.get(ctx, nil, &r, qConsumeToken, string(tenant), digest, string(purpose)); err != nil {
		return nil, mapErr("postgres: consume token", err)
	}
	return r.token(), nil
}

// DeleteOperatorTokens implements accessctl.TokenStore.
func (s *Store) DeleteOperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	_, err := s.exec(ctx, nil, qDeleteOpToken, string(tenant), string(op))
	return mapErr("postgres: delete tokens", err)
}

// OperatorTokens implements accessctl.TokenStore.
func (s *Store) OperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) ([]*accessctl.Token, error) {
	var rows []tokenRow
	if err := s.sel(ctx, &rows, qOpTokens, string(tenant), string(op)); err != nil {
		return nil, mapErr("postgres: operator tokens", err)
	}
	out := make([]*accessctl.Token, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

// Attempts.

// The run of an operator is one row: count is its settled failures,
// pending its unsettled reservations, last its last attempt. Each
// statement decides and writes in one step under the row's lock, so
// reservations from any number of connections never overshoot Max.
var (
	// $3 at, $4 max, $5 window, $6 cooldown, $7 lease (seconds). In DO
	// UPDATE every expression reads the row as it was; a refused
	// reservation matches no row and so changes nothing.
	qReserveAttempt = `INSERT INTO backoffice_login_attempts AS a (tenant_id, operator_id, count, pending, last) VALUES ($1, $2, 0, 1, $3)
	ON CONFLICT (tenant_id, operator_id) DO UPDATE SET
		count = CASE WHEN ` + freshRun + ` THEN 0 ELSE a.count END,
		pending = CASE WHEN ` + freshRun + ` THEN 1 ELSE ` + livePending + ` + 1 END,
		last = greatest(a.last, $3)
	WHERE ` + freshRun + ` OR a.count + ` + livePending + ` < $4::int
	RETURNING a.count`
	freshRun = `((a.count >= $4::int AND $3 - a.last >= make_interval(secs => $6::float8))
		OR (a.count < $4::int AND $3 - a.last >= make_interval(secs => $5::float8)))`
	livePending = `(CASE WHEN $3 - a.last > make_interval(secs => $7::float8) THEN 0 ELSE a.pending END)`
	// $3 at.
	qSettleFailed = `INSERT INTO backoffice_login_attempts AS a (tenant_id, operator_id, count, pending, last) VALUES ($1, $2, 1, 0, $3)
	ON CONFLICT (tenant_id, operator_id) DO UPDATE SET
		pending = greatest(a.pending - 1, 0), count = a.count + 1, last = greatest(a.last, $3)
	RETURNING count, pending, last`
	// $3 true when the login is complete.
	qSettleOther = `UPDATE backoffice_login_attempts SET pending = greatest(pending - 1, 0), count = CASE WHEN $3 THEN 0 ELSE count END
	WHERE tenant_id = $1 AND operator_id = $2
	RETURNING count, pending, last`
	qAttempts      = `SELECT count, pending, last FROM backoffice_login_attempts WHERE tenant_id = $1 AND operator_id = $2`
	qResetAttempts = `DELETE FROM backoffice_login_attempts WHERE tenant_id = $1 AND operator_id = $2`
)

type attemptRow struct {
	Count   int       `db:"count"`
	Pending int       `db:"pending"`
	Last    time.Time `db:"last"`
}

func (r attemptRow) attempts() accessctl.Attempts {
	return accessctl.Attempts{Failures: r.Count, Pending: r.Pending, Last: utc(r.Last)}
}

// ReserveAttempt implements accessctl.AttemptStore.
func (s *Store) ReserveAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, l accessctl.AttemptLimit) (bool, error) {
	var n int
	err := s.get(ctx, nil, &n, qReserveAttempt, string(tenant), string(op), at.UTC(), l.Max,
		l.Window.Seconds(), l.Cooldown.Seconds(), l.Lease.Seconds())
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, mapErr("postgres: reserve attempt", err)
	}
	return true, nil
}

// SettleAttempt implements accessctl.AttemptStore.
func (s *Store) SettleAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, o accessctl.AttemptOutcome) (accessctl.Attempts, error) {
	var r attemptRow
	var err error
	if o == accessctl.AttemptFailed {
		err = s.get(ctx, nil, &r, qSettleFailed, string(tenant), string(op), at.UTC())
	} else {
		err = s.get(ctx, nil, &r, qSettleOther, string(tenant), string(op), o == accessctl.AttemptSucceeded)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return accessctl.Attempts{}, nil // nothing to give back
	}
	if err != nil {
		return accessctl.Attempts{}, mapErr("postgres: settle attempt", err)
	}
	return r.attempts(), nil
}

// Attempts implements accessctl.AttemptStore.
func (s *Store) Attempts(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (accessctl.Attempts, error) {
	var r attemptRow
	err := s.get(ctx, nil, &r, qAttempts, string(tenant), string(op))
	if errors.Is(err, sql.ErrNoRows) {
		return accessctl.Attempts{}, nil
	}
	if err != nil {
		return accessctl.Attempts{}, mapErr("postgres: attempts", err)
	}
	return r.attempts(), nil
}

// ResetAttempts implements accessctl.AttemptStore.
func (s *Store) ResetAttempts(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	_, err := s.exec(ctx, nil, qResetAttempts, string(tenant), string(op))
	return mapErr("postgres: reset attempts", err)
}

// qUseOnce records the key unless a record of it has not yet ended, and
// drops a few ended records of the tenant on the way.
const qUseOnce = `WITH gc AS (
	DELETE FROM backoffice_once WHERE ctid IN (SELECT ctid FROM backoffice_once WHERE tenant_id = $1 AND until <= $3 LIMIT 10)
), ins AS (
	INSERT INTO backoffice_once (tenant_id, key, until) VALUES ($1, $2, $4)
	ON CONFLICT (tenant_id, key) DO UPDATE SET until = EXCLUDED.until WHERE backoffice_once.until <= $3
	RETURNING 1
) SELECT count(*) FROM ins`

// UseOnce implements accessctl.OnceStore: one statement.
func (s *Store) UseOnce(ctx context.Context, tenant backoffice.TenantID, key string, at, until time.Time) (bool, error) {
	var n int
	if err := s.get(ctx, nil, &n, qUseOnce, string(tenant), key, utc(at), utc(until)); err != nil {
		return false, mapErr("postgres: use once", err)
	}
	return n == 1, nil
}
