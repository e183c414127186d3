package memory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// docKey names a four-eyes request or a review campaign.
type docKey struct {
	tenant backoffice.TenantID
	id     string
}

// docs is a table of versioned documents of one kind, under s.mu.
type docs[T any] struct {
	byKey   map[docKey]*T
	clone   func(*T) *T
	version func(*T) *int64
	id      func(*T) string
}

func (d *docs[T]) create(op string, tenant backoffice.TenantID, v *T) error {
	k := docKey{tenant, d.id(v)}
	if _, ok := d.byKey[k]; ok {
		return taken(op, "id")
	}
	*d.version(v) = 1
	d.byKey[k] = d.clone(v)
	return nil
}

func (d *docs[T]) get(op, what string, tenant backoffice.TenantID, id string) (*T, error) {
	v, ok := d.byKey[docKey{tenant, id}]
	if !ok {
		return nil, notFound(op, what)
	}
	return d.clone(v), nil
}

func (d *docs[T]) update(op, what string, tenant backoffice.TenantID, v *T, expect int64) error {
	k := docKey{tenant, d.id(v)}
	cur, ok := d.byKey[k]
	if !ok {
		return notFound(op, what)
	}
	if *d.version(cur) != expect {
		return stale(op)
	}
	*d.version(v) = expect + 1
	d.byKey[k] = d.clone(v)
	return nil
}

// list returns the tenant's documents that keep, newest (highest id)
// first, after the id after, at most limit.
func (d *docs[T]) list(tenant backoffice.TenantID, after string, limit int, keep func(*T) bool) []*T {
	var out []*T
	for k, v := range d.byKey {
		if k.tenant == tenant && (after == "" || k.id < after) && keep(v) {
			out = append(out, d.clone(v))
		}
	}
	slices.SortFunc(out, func(a, b *T) int { return strings.Compare(d.id(b), d.id(a)) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

func newApprovals() *docs[accessctl.Approval] {
	return &docs[accessctl.Approval]{byKey: map[docKey]*accessctl.Approval{}, clone: (*accessctl.Approval).Clone,
		version: func(a *accessctl.Approval) *int64 { return &a.Version }, id: func(a *accessctl.Approval) string { return a.ID }}
}

func newReviews() *docs[accessctl.Review] {
	return &docs[accessctl.Review]{byKey: map[docKey]*accessctl.Review{}, clone: (*accessctl.Review).Clone,
		version: func(r *accessctl.Review) *int64 { return &r.Version }, id: func(r *accessctl.Review) string { return r.ID }}
}

// write runs a change of a document and records its entry, atomically.
func (s *Store) write(ctx context.Context, e backoffice.AuditEntry, change func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := change(); err != nil {
		return err
	}
	s.appendAudit(e)
	return nil
}

func (s *Store) read(ctx context.Context, fn func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn()
	return nil
}

// CreateApproval implements accessctl.ApprovalStore.
func (s *Store) CreateApproval(ctx context.Context, a *accessctl.Approval, e backoffice.AuditEntry) error {
	return s.write(ctx, e, func() error { return s.approvals.create("memory: create approval", a.Tenant, a) })
}

// Approval implements accessctl.ApprovalStore.
func (s *Store) Approval(ctx context.Context, tenant backoffice.TenantID, id string) (*accessctl.Approval, error) {
	var a *accessctl.Approval
	var err error
	if rerr := s.read(ctx, func() { a, err = s.approvals.get("memory: approval", "approval", tenant, id) }); rerr != nil {
		return nil, rerr
	}
	return a, err
}

// Approvals implements accessctl.ApprovalStore.
func (s *Store) Approvals(ctx context.Context, tenant backoffice.TenantID, q accessctl.ApprovalQuery) ([]*accessctl.Approval, error) {
	var out []*accessctl.Approval
	err := s.read(ctx, func() {
		out = s.approvals.list(tenant, q.After, q.Limit, func(a *accessctl.Approval) bool { return q.Status == nil || a.Status == *q.Status })
	})
	return out, err
}

// UpdateApproval implements accessctl.ApprovalStore.
func (s *Store) UpdateApproval(ctx context.Context, a *accessctl.Approval, expect int64, e backoffice.AuditEntry) error {
	return s.write(ctx, e, func() error { return s.approvals.update("memory: update approval", "approval", a.Tenant, a, expect) })
}

// CreateReview implements accessctl.ReviewStore.
func (s *Store) CreateReview(ctx context.Context, r *accessctl.Review, e backoffice.AuditEntry) error {
	return s.write(ctx, e, func() error { return s.reviews.create("memory: create review", r.Tenant, r) })
}

// Review implements accessctl.ReviewStore.
func (s *Store) Review(ctx context.Context, tenant backoffice.TenantID, id string) (*accessctl.Review, error) {
	var r *accessctl.Review
	var err error
	if rerr := s.read(ctx, func() { r, err = s.reviews.get("memory: review", "review", tenant, id) }); rerr != nil {
		return nil, rerr
	}
	return r, err
}

// Reviews implements accessctl.ReviewStore.
func (s *Store) Reviews(ctx context.Context, tenant backoffice.TenantID, q accessctl.ReviewQuery) ([]*accessctl.Review, error) {
	var out []*accessctl.Review
	err := s.read(ctx, func() { out = s.reviews.list(tenant, q.After, q.Limit, func(*accessctl.Review) bool { return true }) })
	return out, err
}

// UpdateReview implements accessctl.ReviewStore.
func (s *Store) UpdateReview(ctx context.Context, r *accessctl.Review, expect int64, e backoffice.AuditEntry) error {
	return s.write(ctx, e, func() error { return s.reviews.update("memory: update review", "review", r.Tenant, r, expect) })
}

// TouchSession implements accessctl.SessionStore.
func (s *Store) TouchSession(ctx context.Context, tenant backoffice.TenantID, digest string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	if sess, ok := s.sessions[digest]; ok && sess.Tenant == tenant && sess.LastSeen.Before(at) {
		sess.LastSeen = at
	}
	return nil
}
