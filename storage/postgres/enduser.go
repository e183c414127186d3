package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/jmoiron/sqlx"
)

var _ enduser.Store = (*Store)(nil)

type endUserRow struct {
	TenantID      string         `db:"tenant_id"`
	ID            string         `db:"id"`
	Tag           string         `db:"tag"`
	Type          string         `db:"type"`
	Status        string         `db:"status"`
	KYC           string         `db:"kyc"`
	KYCNote       string         `db:"kyc_note"`
	FirstName     string         `db:"first_name"`
	LastName      string         `db:"last_name"`
	LegalName     string         `db:"legal_name"`
	Email         string         `db:"email"`
	Phone         string         `db:"phone"`
	Address       []byte         `db:"address"`
	BirthDate     sql.NullTime   `db:"birth_date"`
	ParentID      sql.NullString `db:"parent_id"`
	TaxResidences []byte         `db:"tax_residences"`
	OnboardingID  string         `db:"onboarding_id"`
	SearchText    string         `db:"search_text"`
	Version       int64          `db:"version"`
	CreatedAt     time.Time      `db:"created_at"`
	UpdatedAt     time.Time      `db:"updated_at"`
}

func (r *endUserRow) endUser() (*enduser.EndUser, error) {
	u := &enduser.EndUser{ID: enduser.ID(r.ID), Tenant: backoffice.TenantID(r.TenantID), Tag: r.Tag, Type: enduser.Type(r.Type),
		Status: enduser.Status(r.Status), KYC: enduser.KYCStatus(r.KYC), KYCNote: r.KYCNote, FirstName: r.FirstName,
		LastName: r.LastName, LegalName: r.LegalName, Email: r.Email, Phone: r.Phone, Parent: enduser.ID(r.ParentID.String),
		OnboardingID: r.OnboardingID, Version: r.Version, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt)}
	if r.BirthDate.Valid {
		y, m, d := r.BirthDate.Time.Date()
		u.BirthDate = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	if err := fromJSON(r.Address, &u.Address); err != nil {
		return nil, err
	}
	if err := fromJSON(r.TaxResidences, &u.TaxResidences); err != nil {
		return nil, err
	}
	if len(u.TaxResidences) == 0 {
		u.TaxResidences = nil
	}
	return u, nil
}

// endUserArgs are $1..$18 of the end-user statements.
func endUserArgs(u *enduser.EndUser) []any {
	res := u.TaxResidences
	if res == nil {
		res = []enduser.TaxResidence{}
	}
	var birth any
	if !u.BirthDate.IsZero() {
		birth = u.BirthDate.Format(time.DateOnly)
	}
	return []any{string(u.Tenant), string(u.ID), u.Tag, string(u.Type), string(u.Status), string(u.KYC), u.KYCNote, u.FirstName,
		u.LastName, u.LegalName, u.Email, u.Phone, jsonString(u.Address), birth, nullString(string(u.Parent)), jsonString(res),
		u.OnboardingID, enduser.SearchText(u)}
}

const endUserValues = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::date, $15, $16::jsonb, $17, $18`

var (
	insertEndUser = `INSERT INTO backoffice_end_users (tenant_id, id, tag, type, status, kyc, kyc_note, first_name, last_name, legal_name, email, phone,
		address, birth_date, parent_id, tax_residences, onboarding_id, search_text, updated_at, created_at, version)
	VALUES (` + endUserValues + `, $19, $20, 1) RETURNING 1`
	qCreateEndUser = `WITH ins AS (` + insertEndUser + `), ` + auditInsert("ins", 21) + ` SELECT count(*) FROM ins`
	qEndUser       = `SELECT ` + endUserCols + ` FROM backoffice_end_users WHERE tenant_id = $1 AND id = $2`
	qUpdateEndUser = `WITH upd AS (
	UPDATE backoffice_end_users SET tag = $3, type = $4, status = $5, kyc = $6, kyc_note = $7, first_name = $8, last_name = $9, legal_name = $10,
		email = $11, phone = $12, address = $13::jsonb, birth_date = $14::date, parent_id = $15, tax_residences = $16::jsonb,
		onboarding_id = $17, search_text = $18, updated_at = $19, version = version + 1
	WHERE tenant_id = $1 AND id = $2 AND version = $20 RETURNING version
), ` + auditInsert("upd", 21) + ` SELECT version FROM upd`
	qEndUserVersion = `SELECT version FROM backoffice_end_users WHERE tenant_id = $1 AND id = $2`
)

// CreateEndUser implements enduser.Store.
func (s *Store) CreateEndUser(ctx context.Context, u *enduser.EndUser, e backoffice.AuditEntry) error {
	args := append(append(endUserArgs(u), utc(u.UpdatedAt), utc(u.CreatedAt)), auditArgs(e)...)
	var n int
	if err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &n, qCreateEndUser, args...) }); err != nil {
		return mapErr("postgres: create end user", err)
	}
	u.Version = 1
	return nil
}

// EndUser implements enduser.Store.
func (s *Store) EndUser(ctx context.Context, tenant backoffice.TenantID, id enduser.ID) (*enduser.EndUser, error) {
	var r endUserRow
	if err := s.get(ctx, nil, &r, qEndUser, string(tenant), string(id)); err != nil {
		return nil, mapErr("postgres: end user", err)
	}
	return r.endUser()
}

// UpdateEndUser implements enduser.Store.
func (s *Store) UpdateEndUser(ctx context.Context, u *enduser.EndUser, expect int64, e backoffice.AuditEntry) error {
	const op = "postgres: update end user"
	args := append(append(endUserArgs(u), utc(u.UpdatedAt), expect), auditArgs(e)...)
	var v int64
	err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &v, qUpdateEndUser, args...) })
	if errors.Is(err, sql.ErrNoRows) {
		return s.missing(ctx, op, qEndUserVersion, string(u.Tenant), string(u.ID))
	}
	if err != nil {
		return mapErr(op, err)
	}
	u.Version = v
	return nil
}

// likeEscaper makes a search term match literally in LIKE … ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// findQuery builds the statement for a query. Each filter is a condition
// on an indexed column; the order is the keyset (created_at, id), never
// OFFSET, so a page deep in the list costs what the first one does.
func findQuery(tenant backoffice.TenantID, q enduser.Query) (string, []any) {
	where, args := findWhere(tenant, q)
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	args = append(args, limit)
	return `SELECT ` + endUserCols + ` FROM backoffice_end_users WHERE ` + where + fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args)), args
}

// findWhere builds the conditions of a query and their arguments.
func findWhere(tenant backoffice.TenantID, q enduser.Query) (string, []any) {
	var b strings.Builder
	args := []any{string(tenant)}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	b.WriteString(`tenant_id = $1`)
	if q.ID != "" {
		b.WriteString(` AND id = ` + arg(string(q.ID)))
	}
	if q.Tag != "" {
		b.WriteString(` AND tag = ` + arg(q.Tag) + ` AND tag <> ''`)
	}
	if q.Email != "" {
		b.WriteString(` AND lower(email) = lower(` + arg(q.Email) + `) AND email <> ''`)
	}
	if q.Name != "" {
		b.WriteString(` AND search_text LIKE ` + arg("%"+likeEscaper.Replace(q.Name)+"%") + ` ESCAPE '\'`)
	}
	if q.Type != nil {
		b.WriteString(` AND type = ` + arg(string(*q.Type)))
	}
	if q.Status != nil {
		b.WriteString(` AND status = ` + arg(string(*q.Status)))
	}
	if !q.CreatedFrom.IsZero() {
		b.WriteString(` AND created_at >= ` + arg(q.CreatedFrom.UTC()))
	}
	if !q.CreatedTo.IsZero() {
		b.WriteString(` AND created_at < ` + arg(q.CreatedTo.UTC()))
	}
	if q.Parent != nil {
		b.WriteString(` AND parent_id = ` + arg(string(*q.Parent)))
	}
	if q.Before != nil {
		at := arg(q.Before.CreatedAt.UTC())
		b.WriteString(` AND (created_at, id) < (` + at + `::timestamptz, ` + arg(string(q.Before.ID)) + `)`)
	}
	return b.String(), args
}

// CountEndUsers implements enduser.Store.
func (s *Store) CountEndUsers(ctx context.Context, tenant backoffice.TenantID, q enduser.Query) (int, error) {
	q.Before = nil
	where, args := findWhere(tenant, q)
	var n int
	if err := s.onReader(ctx, func(st *Store) error {
		return st.get(ctx, nil, &n, `SELECT count(*) FROM backoffice_end_users WHERE `+where, args...)
	}); err != nil {
		return 0, mapErr("postgres: count end users", err)
	}
	return n, nil
}

// FindEndUsers implements enduser.Store.
func (s *Store) FindEndUsers(ctx context.Context, tenant backoffice.TenantID, q enduser.Query) ([]*enduser.EndUser, error) {
	query, args := findQuery(tenant, q)
	var rows []endUserRow
	if err := s.onReader(ctx, func(st *Store) error { rows = nil; return st.sel(ctx, &rows, query, args...) }); err != nil {
		return nil, mapErr("postgres: find end users", err)
	}
	out := make([]*enduser.EndUser, len(rows))
	for i := range rows {
		u, err := rows[i].endUser()
		if err != nil {
			return nil, err
		}
		out[i] = u
	}
	return out, nil
}

// Onboardings.

type onboardingRow struct {
	TenantID     string         `db:"tenant_id"`
	ID           string         `db:"id"`
	ActivationID string         `db:"activation_id"`
	Profile      []byte         `db:"profile"`
	ExpiresAt    time.Time      `db:"expires_at"`
	CompletedAt  sql.NullTime   `db:"completed_at"`
	UserID       sql.NullString `db:"user_id"`
	Version      int64          `db:"version"`
	CreatedAt    time.Time      `db:"created_at"`
	UpdatedAt    time.Time      `db:"updated_at"`
}

func (r *onboardingRow) onboarding() (*enduser.Onboarding, error) {
	o := &enduser.Onboarding{ID: r.ID, Tenant: backoffice.TenantID(r.TenantID), ActivationID: r.ActivationID, ExpiresAt: utc(r.ExpiresAt),
		CompletedAt: fromNull(r.CompletedAt), User: enduser.ID(r.UserID.String), Version: r.Version, CreatedAt: utc(r.CreatedAt),
		UpdatedAt: utc(r.UpdatedAt)}
	if err := fromJSON(r.Profile, &o.Profile); err != nil {
		return nil, err
	}
	if len(o.Profile.TaxResidences) == 0 {
		o.Profile.TaxResidences = nil
	}
	return o, nil
}

var (
	qCreateOnboarding = `WITH ins AS (
	INSERT INTO backoffice_onboardings (tenant_id, id, activation_id, profile, expires_at, version, created_at, updated_at)
	VALUES ($1, $2, $3, $4::jsonb, $5, 1, $6, $7) RETURNING 1
), ` + auditInsert("ins", 8) + ` SELECT count(*) FROM ins`
	qOnboardingByActivation = `SELECT ` + onboardingCols + ` FROM backoffice_onboardings WHERE activation_id = $1`
	qOnboardings            = `SELECT ` + onboardingCols + ` FROM backoffice_onboardings WHERE tenant_id = $1 AND (user_id IS NOT NULL) = $2 AND ($3 = '' OR id < $3)
	ORDER BY id DESC LIMIT $4`
	// The user, its entry, the completion and its entry: one statement.
	qCompleteOnboarding = `WITH done AS (
	UPDATE backoffice_onboardings SET completed_at = $21, user_id = $2, updated_at = $22, version = version + 1
	WHERE tenant_id = $1 AND id = $23 AND version = $24 AND user_id IS NULL RETURNING version
), ins AS (
	INSERT INTO backoffice_end_users (tenant_id, id, tag, type, status, kyc, kyc_note, first_name, last_name, legal_name, email, phone,
		address, birth_date, parent_id, tax_residences, onboarding_id, search_text, updated_at, created_at, version)
	SELECT ` + endUserValues + `, $19, $20, 1 FROM done RETURNING 1
), ` + auditInserts("done", 25, 2) + ` SELECT version FROM done`
	qOnboardingVersion = `SELECT version FROM backoffice_onboardings WHERE tenant_id = $1 AND id = $2`
)

// CreateOnboarding implements enduser.Store.
func (s *Store) CreateOnboarding(ctx context.Context, o *enduser.Onboarding, e backoffice.AuditEntry) error {
	args := append([]any{string(o.Tenant), o.ID, o.ActivationID, jsonString(o.Profile), utc(o.ExpiresAt), utc(o.CreatedAt), utc(o.UpdatedAt)}, auditArgs(e)...)
	var n int
	if err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &n, qCreateOnboarding, args...) }); err != nil {
		return mapErr("postgres: create onboarding", err)
	}
	o.Version = 1
	return nil
}

// OnboardingByActivation implements enduser.Store.
func (s *Store) OnboardingByActivation(ctx context.Context, activation string) (*enduser.Onboarding, error) {
	var r onboardingRow
	if err := s.get(ctx, nil, &r, qOnboardingByActivation, activation); err != nil {
		return nil, mapErr("postgres: onboarding", err)
	}
	return r.onboarding()
}

// Onboardings implements enduser.Store.
func (s *Store) Onboardings(ctx context.Context, tenant backoffice.TenantID, q enduser.OnboardingQuery) ([]*enduser.Onboarding, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	var rows []onboardingRow
	if err := s.onReader(ctx, func(st *Store) error {
		rows = nil
		return st.sel(ctx, &rows, qOnboardings, string(tenant), q.Completed, q.Before, limit)
	}); err != nil {
		return nil, mapErr("postgres: onboardings", err)
	}
	out := make([]*enduser.Onboarding, len(rows))
	for i := range rows {
		o, err := rows[i].onboarding()
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

// CompleteOnboarding implements enduser.Store.
func (s *Store) CompleteOnboarding(ctx context.Context, o *enduser.Onboarding, expect int64, u *enduser.EndUser, eo, eu backoffice.AuditEntry) error {
	const op = "postgres: complete onboarding"
	args := append(endUserArgs(u), utc(u.UpdatedAt), utc(u.CreatedAt), utc(o.CompletedAt), utc(o.UpdatedAt), o.ID, expect)
	args = append(append(args, auditArgs(eu)...), auditArgs(eo)...)
	var v int64
	err := s.change(ctx, append(eu.Outbox, eo.Outbox...), func(tx *sqlx.Tx) error { return s.get(ctx, tx, &v, qCompleteOnboarding, args...) })
	if errors.Is(err, sql.ErrNoRows) {
		return s.missing(ctx, op, qOnboardingVersion, string(o.Tenant), o.ID)
	}
	if err != nil {
		return mapErr(op, err)
	}
	o.Version = v
	return nil
}
