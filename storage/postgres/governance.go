package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// Four-eyes requests and access review campaigns: each is one JSON
// document with, beside it, the columns its listings filter on; each
// change is one statement with its audit entry, under a version check.

var (
	qCreateApproval = `WITH ins AS (
	INSERT INTO backoffice_approvals (tenant_id, id, action, status, requested_by, body, expires_at, version)
	VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, 1) RETURNING 1
), ` + auditInsert("ins", 8) + ` SELECT count(*) FROM ins`
	qApproval  = `SELECT body, version FROM backoffice_approvals WHERE tenant_id = $1 AND id = $2`
	qApprovals = `SELECT body, version FROM backoffice_approvals WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2)
	AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4`
	qUpdateApproval = `WITH upd AS (
	UPDATE backoffice_approvals SET status = $4, body = $5::jsonb, version = version + 1
	WHERE tenant_id = $1 AND id = $2 AND version = $3 RETURNING version
), ` + auditInsert("upd", 6) + ` SELECT version FROM upd`
	qApprovalVersion = `SELECT version FROM backoffice_approvals WHERE tenant_id = $1 AND id = $2`

	qCreateReview = `WITH ins AS (
	INSERT INTO backoffice_reviews (tenant_id, id, due_at, closed_at, body, version) VALUES ($1, $2, $3, $4, $5::jsonb, 1) RETURNING 1
), ` + auditInsert("ins", 6) + ` SELECT count(*) FROM ins`
	qReview       = `SELECT body, version FROM backoffice_reviews WHERE tenant_id = $1 AND id = $2`
	qReviews      = `SELECT body, version FROM backoffice_reviews WHERE tenant_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`
	qUpdateReview = `WITH upd AS (
	UPDATE backoffice_reviews SET closed_at = $4, body = $5::jsonb, version = version + 1
	WHERE tenant_id = $1 AND id = $2 AND version = $3 RETURNING version
), ` + auditInsert("upd", 6) + ` SELECT version FROM upd`
	qReviewVersion = `SELECT version FROM backoffice_reviews WHERE tenant_id = $1 AND id = $2`
)

// docRow is a stored document and its version.
type docRow struct {
	Body    []byte `db:"body"`
	Version int64  `db:"version"`
}

func decodeDoc[T any](r docRow, version func(*T) *int64) (*T, error) {
	v := new(T)
	if err := fromJSON(r.Body, v); err != nil {
		return nil, err
	}
	*version(v) = r.Version
	return v, nil
}

func approvalVersion(a *accessctl.Approval) *int64 { return &a.Version }
func reviewVersion(r *accessctl.Review) *int64     { return &r.Version }

// CreateApproval implements accessctl.ApprovalStore.
func (s *Store) CreateApproval(ctx context.Context, a *accessctl.Approval, e backoffice.AuditEntry) error {
	a.Version = 1
	args := append([]any{string(a.Tenant), a.ID, string(a.Action), string(a.Status), string(a.RequestedBy), jsonString(a), utc(a.ExpiresAt)}, auditArgs(e)...)
	var n int
	err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &n, qCreateApproval, args...) })
	return mapErr("postgres: create approval", err)
}

// Approval implements accessctl.ApprovalStore.
func (s *Store) Approval(ctx context.Context, tenant backoffice.TenantID, id string) (*accessctl.Approval, error) {
	var r docRow
	if err := s.get(ctx, nil, &r, qApproval, string(tenant), id); err != nil {
		return nil, mapErr("postgres: approval", err)
	}
	return decodeDoc(r, approvalVersion)
}

// Approvals implements accessctl.ApprovalStore.
func (s *Store) Approvals(ctx context.Context, tenant backoffice.TenantID, q accessctl.ApprovalQuery) ([]*accessctl.Approval, error) {
	var status any
	if q.Status != nil {
		status = string(*q.Status)
	}
	return docs(ctx, s, "postgres: approvals", approvalVersion, qApprovals, string(tenant), status, q.After, limitOf(q.Limit))
}

// UpdateApproval implements accessctl.ApprovalStore.
func (s *Store) UpdateApproval(ctx context.Context, a *accessctl.Approval, expect int64, e backoffice.AuditEntry) error {
	body := a.Clone()
	body.Version = expect + 1
	args := append([]any{string(a.Tenant), a.ID, expect, string(a.Status), jsonString(body)}, auditArgs(e)...)
	return s.updateDoc(ctx, "postgres: update approval", qUpdateApproval, qApprovalVersion, string(a.Tenant), a.ID, &a.Version, e, args)
}

// CreateReview implements accessctl.ReviewStore.
func (s *Store) CreateReview(ctx context.Context, r *accessctl.Review, e backoffice.AuditEntry) error {
	r.Version = 1
	args := append([]any{string(r.Tenant), r.ID, utc(r.DueAt), nullTime(r.ClosedAt), jsonString(r)}, auditArgs(e)...)
	var n int
	err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &n, qCreateReview, args...) })
	return mapErr("postgres: create review", err)
}

// Review implements accessctl.ReviewStore.
func (s *Store) Review(ctx context.Context, tenant backoffice.TenantID, id string) (*accessctl.Review, error) {
	var r docRow
	if err := s.get(ctx, nil, &r, qReview, string(tenant), id); err != nil {
		return nil, mapErr("postgres: review", err)
	}
	return decodeDoc(r, reviewVersion)
}

// Reviews implements accessctl.ReviewStore.
func (s *Store) Reviews(ctx context.Context, tenant backoffice.TenantID, q accessctl.ReviewQuery) ([]*accessctl.Review, error) {
	return docs(ctx, s, "postgres: reviews", reviewVersion, qReviews, string(tenant), q.After, limitOf(q.Limit))
}

// UpdateReview implements accessctl.ReviewStore.
func (s *Store) UpdateReview(ctx context.Context, r *accessctl.Review, expect int64, e backoffice.AuditEntry) error {
	body := r.Clone()
	body.Version = expect + 1
	args := append([]any{string(r.Tenant), r.ID, expect, nullTime(r.ClosedAt), jsonString(body)}, auditArgs(e)...)
	return s.updateDoc(ctx, "postgres: update review", qUpdateReview, qReviewVersion, string(r.Tenant), r.ID, &r.Version, e, args)
}

func limitOf(n int) int {
	if n <= 0 {
		return 1000
	}
	return n
}

func docs[T any](ctx context.Context, s *Store, op string, version func(*T) *int64, query string, args ...any) ([]*T, error) {
	var rows []docRow
	if err := s.onReader(ctx, func(st *Store) error { rows = nil; return st.sel(ctx, &rows, query, args...) }); err != nil {
		return nil, mapErr(op, err)
	}
	out := make([]*T, len(rows))
	for i, r := range rows {
		v, err := decodeDoc(r, version)
		if err != nil {
			return nil, &internalError{op: op, cause: err}
		}
		out[i] = v
	}
	return out, nil
}

func (s *Store) updateDoc(ctx context.Context, op, query, versionQuery, tenant, id string, version *int64, e backoffice.AuditEntry, args []any) error {
	var v int64
	err := s.change(ctx, e.Outbox, func(tx *sqlx.Tx) error { return s.get(ctx, tx, &v, query, args...) })
	if errors.Is(err, sql.ErrNoRows) {
		return s.missing(ctx, op, versionQuery, tenant, id)
	}
	if err != nil {
		return mapErr(op, err)
	}
	*version = v
	return nil
}
