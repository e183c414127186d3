package accessctl

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/internal/check"
)

// ReviewDecision is a reviewer's word on one operator's access.
type ReviewDecision string

// Review decisions.
const (
	// ReviewCertified: the access is still needed as it is.
	ReviewCertified ReviewDecision = "certified"
	// ReviewRevoked: the access is no longer needed; the operator was
	// deactivated when the decision was recorded.
	ReviewRevoked ReviewDecision = "revoked"
)

// ReviewLine is one operator's access as a campaign found it, and the
// reviewer's decision on it.
type ReviewLine struct {
	Operator      OperatorID             `json:"operator"`
	Name          string                 `json:"name"`
	Email         string                 `json:"email"`
	Status        OperatorStatus         `json:"status"`
	Roles         []RoleName             `json:"roles"`
	RoleUntil     map[RoleName]time.Time `json:"role_until,omitempty"`
	AllAccounts   bool                   `json:"all_accounts"`
	Accounts      []AccountID            `json:"accounts"`
	LastLoginAt   time.Time              `json:"last_login_at,omitzero"`
	LastLoginFrom string                 `json:"last_login_from,omitempty"`
	Dormant       bool                   `json:"dormant"`
	Decision      ReviewDecision         `json:"decision,omitempty"`
	DecidedBy     OperatorID             `json:"decided_by,omitempty"`
	DecidedAt     time.Time              `json:"decided_at,omitzero"`
	Note          string                 `json:"note,omitempty"`
}

// Review is an access review campaign (PCI DSS v4.0 7.2.4): every
// operator of the tenant with its access, for reviewers to certify or
// revoke line by line before DueAt. It closes when every line is
// decided; the campaign and its result are kept.
type Review struct {
	ID        string              `json:"id"`
	Tenant    backoffice.TenantID `json:"tenant"`
	Name      string              `json:"name"`
	StartedBy OperatorID          `json:"started_by"`
	CreatedAt time.Time           `json:"created_at"`
	DueAt     time.Time           `json:"due_at"`
	ClosedAt  time.Time           `json:"closed_at,omitzero"`
	Lines     []ReviewLine        `json:"lines"`
	Version   int64               `json:"version"`
}

// Clone returns a deep copy.
func (r *Review) Clone() *Review {
	c := *r
	c.Lines = slices.Clone(r.Lines)
	for i := range c.Lines {
		c.Lines[i].Roles = slices.Clone(c.Lines[i].Roles)
		c.Lines[i].Accounts = slices.Clone(c.Lines[i].Accounts)
		c.Lines[i].RoleUntil = maps.Clone(c.Lines[i].RoleUntil)
	}
	return &c
}

// Closed reports whether every line is decided.
func (r *Review) Closed() bool { return !r.ClosedAt.IsZero() }

// Overdue reports whether the campaign is still open after its due time.
func (r *Review) Overdue(now time.Time) bool { return !r.Closed() && !now.Before(r.DueAt) }

// ReviewQuery selects campaigns, newest first.
type ReviewQuery struct {
	// After is the id of the last campaign of the previous page.
	After string
	Limit int
}

// ReviewStore persists access review campaigns.
type ReviewStore interface {
	// CreateReview stores a new campaign with version 1 and its entry.
	CreateReview(ctx context.Context, r *Review, e backoffice.AuditEntry) error
	// Review returns a copy of the campaign. Returns ErrNotFound.
	Review(ctx context.Context, tenant backoffice.TenantID, id string) (*Review, error)
	// Reviews lists a page of the tenant's campaigns, newest (highest id)
	// first.
	Reviews(ctx context.Context, tenant backoffice.TenantID, q ReviewQuery) ([]*Review, error)
	// UpdateReview replaces the campaign if its stored version is
	// expectVersion, writes the entry and sets r.Version to the next one.
	// Returns ErrNotFound, or ErrConflict on a stale version.
	UpdateReview(ctx context.Context, r *Review, expectVersion int64, e backoffice.AuditEntry) error
}

// StartReview opens a campaign listing every operator of the tenant with
// its roles, account access, last login and dormant flag, due at due.
// Needs operator.edit.
func (s *Service) StartReview(ctx context.Context, name string, due time.Time) (_ *Review, err error) {
	defer s.observe(&ctx, "accessctl.StartReview")(&err)
	const op = "accessctl: start review"
	a, err := Require(ctx, PermOperatorEdit)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	name = strings.TrimSpace(name)
	var v backoffice.Violations
	if r := check.Name(name, 200); r != "" {
		v.Add("name", r)
	}
	if !due.After(now) {
		v.Add("due_at", "must be in the future")
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	p, err := s.tenantPolicy(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	r := &Review{ID: s.newID(), Tenant: a.tenant, Name: name, StartedBy: OperatorID(a.id), CreatedAt: now, DueAt: backoffice.Truncate(due)}
	for after := OperatorID(""); ; {
		page, err := s.store.Operators(ctx, a.tenant, OperatorQuery{After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			r.Lines = append(r.Lines, ReviewLine{Operator: o.ID, Name: strings.TrimSpace(o.FirstName + " " + o.LastName), Email: o.Email,
				Status: o.Status, Roles: slices.Clone(o.Roles), RoleUntil: maps.Clone(o.RoleUntil), AllAccounts: o.AllAccounts,
				Accounts: slices.Clone(o.Accounts), LastLoginAt: o.LastLoginAt, LastLoginFrom: o.LastLoginFrom, Dormant: p.dormant(o, now)})
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	e := s.entry(a.Ref(), a.tenant, backoffice.ActionReviewStart, TargetReview, r.ID, now,
		[]backoffice.Change{{Field: "name", After: name}, {Field: "due_at", After: r.DueAt.Format(time.RFC3339)}, {Field: "lines", After: fmt.Sprint(len(r.Lines))}})
	if err := s.store.CreateReview(ctx, r, e); err != nil {
		return nil, err
	}
	return r, nil
}

// Review returns a campaign. Needs operator.read.
func (s *Service) Review(ctx context.Context, id string) (_ *Review, err error) {
	defer s.observe(&ctx, "accessctl.Review")(&err)
	a, err := Require(ctx, PermOperatorRead)
	if err != nil {
		return nil, err
	}
	return s.store.Review(ctx, a.tenant, id)
}

// Reviews lists the tenant's campaigns, newest first. Needs operator.read.
func (s *Service) Reviews(ctx context.Context, p backoffice.PageRequest) (_ backoffice.Page[*Review], err error) {
	defer s.observe(&ctx, "accessctl.Reviews")(&err)
	a, err := Require(ctx, PermOperatorRead)
	if err != nil {
		return backoffice.Page[*Review]{}, err
	}
	limit, after, err := backoffice.DecodeCursor("accessctl: reviews", p)
	if err != nil {
		return backoffice.Page[*Review]{}, err
	}
	items, err := s.store.Reviews(backoffice.WithLaggingReads(ctx), a.tenant, ReviewQuery{After: after, Limit: limit + 1})
	if err != nil {
		return backoffice.Page[*Review]{}, err
	}
	return backoffice.MakePage(items, limit, func(r *Review) string { return r.ID }), nil
}

// DecideReview records a reviewer's decision on one line of an open
// campaign: certified, or revoked, which first deactivates the operator
// through DeactivateOperator (its rules apply: the last Administrator
// cannot be revoked). A reviewer does not decide its own line. The
// campaign closes with its last decision. Needs operator.edit, and
// operator.deactivate to revoke.
func (s *Service) DecideReview(ctx context.Context, id string, target OperatorID, d ReviewDecision, note string) (_ *Review, err error) {
	defer s.observe(&ctx, "accessctl.DecideReview")(&err)
	const op = "accessctl: decide review"
	a, err := Require(ctx, PermOperatorEdit)
	if err != nil {
		return nil, err
	}
	note = strings.TrimSpace(note)
	var v backoffice.Violations
	if d != ReviewCertified && d != ReviewRevoked {
		v.Add("decision", `must be "certified" or "revoked"`)
	}
	if r := check.Text(note, 500); r != "" {
		v.Add("note", r)
	}
	if string(target) == a.id {
		v.Add("operator", "a reviewer does not decide on its own access")
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	for range retries {
		r, err := s.store.Review(ctx, a.tenant, id)
		if err != nil {
			return nil, err
		}
		if r.Closed() {
			return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the campaign is closed")
		}
		i := slices.IndexFunc(r.Lines, func(l ReviewLine) bool { return l.Operator == target })
		if i < 0 {
			return nil, backoffice.NewError(backoffice.ErrNotFound, op, "the operator is not in this campaign")
		}
		if r.Lines[i].Decision != "" {
			return nil, backoffice.Errorf(backoffice.ErrFailedPrecondition, op, "the line is already %s", r.Lines[i].Decision)
		}
		if d == ReviewRevoked {
			if err := s.revokeAccess(ctx, target); err != nil {
				return nil, err
			}
		}
		next := r.Clone()
		now := s.clock()
		next.Lines[i].Decision, next.Lines[i].DecidedBy, next.Lines[i].DecidedAt, next.Lines[i].Note = d, OperatorID(a.id), now, note
		action := backoffice.ActionReviewDecide
		if !slices.ContainsFunc(next.Lines, func(l ReviewLine) bool { return l.Decision == "" }) {
			next.ClosedAt, action = now, backoffice.ActionReviewClose
		}
		e := s.entry(a.Ref(), a.tenant, action, TargetReview, r.ID, now,
			[]backoffice.Change{{Field: "operator", After: string(target)}, {Field: "decision", After: string(d)}, {Field: "note", After: note}})
		err = s.store.UpdateReview(ctx, next, r.Version, e)
		if errors.Is(err, backoffice.ErrConflict) {
			continue // another reviewer's line; read again
		}
		if err != nil {
			return nil, err
		}
		return next, nil
	}
	return nil, backoffice.NewError(backoffice.ErrConflict, op, "the campaign kept changing; retry")
}

// revokeAccess deactivates the operator, unless it already is.
func (s *Service) revokeAccess(ctx context.Context, id OperatorID) error {
	o, err := s.Operator(ctx, id)
	if isNotFound(err) {
		return nil // deleted since the campaign began: nothing left to revoke
	}
	if err != nil {
		return err
	}
	if o.Status == StatusDeactivated {
		return nil
	}
	_, err = s.DeactivateOperator(ctx, id, o.Version)
	return err
}

// WriteReviewCSV writes the campaign as CSV, one line per operator with
// its access and the decision, for an auditor. Needs operator.read.
func (s *Service) WriteReviewCSV(ctx context.Context, id string, w io.Writer) (err error) {
	defer s.observe(&ctx, "accessctl.WriteReviewCSV")(&err)
	r, err := s.Review(ctx, id)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	_ = cw.Write([]string{"campaign", "operator", "name", "email", "status", "roles", "all_accounts", "accounts",
		"last_login_at", "last_login_from", "dormant", "decision", "decided_by", "decided_at", "note"})
	for _, l := range r.Lines {
		roles := make([]string, len(l.Roles))
		for i, role := range l.Roles {
			roles[i] = string(role)
			if until, ok := l.RoleUntil[role]; ok {
				roles[i] += " (until " + ts(until) + ")"
			}
		}
		accounts := make([]string, len(l.Accounts))
		for i, acc := range l.Accounts {
			accounts[i] = string(acc)
		}
		_ = cw.Write(csvSafe(r.Name, string(l.Operator), l.Name, l.Email, string(l.Status), strings.Join(roles, ";"),
			fmt.Sprint(l.AllAccounts), strings.Join(accounts, ";"), ts(l.LastLoginAt), l.LastLoginFrom, fmt.Sprint(l.Dormant),
			string(l.Decision), string(l.DecidedBy), ts(l.DecidedAt), l.Note))
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from running a cell as a formula: a cell
// starting with =, +, - or @ gets a leading apostrophe (OWASP's CSV
// injection advice).
func csvSafe(cells ...string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}

// ReviewReport says where the tenant stands on access reviews.
type ReviewReport struct {
	// Overdue lists the open campaigns past their due time.
	Overdue []*Review `json:"overdue"`
	// LastClosed is when the last campaign closed; zero if none did.
	LastClosed time.Time `json:"last_closed,omitzero"`
	// Due is set when no campaign closed within the policy's
	// ReviewInterval: a new one must run.
	Due bool `json:"due"`
}

// ReviewStatus reports overdue campaigns and whether a review is due.
// Needs operator.read.
func (s *Service) ReviewStatus(ctx context.Context) (_ *ReviewReport, err error) {
	defer s.observe(&ctx, "accessctl.ReviewStatus")(&err)
	a, err := Require(ctx, PermOperatorRead)
	if err != nil {
		return nil, err
	}
	p, err := s.tenantPolicy(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	rep := &ReviewReport{}
	for after := ""; ; {
		page, err := s.store.Reviews(ctx, a.tenant, ReviewQuery{After: after, Limit: 200})
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if r.Overdue(now) {
				rep.Overdue = append(rep.Overdue, r)
			}
			if r.ClosedAt.After(rep.LastClosed) {
				rep.LastClosed = r.ClosedAt
			}
		}
		if len(page) < 200 {
			break
		}
		after = page[len(page)-1].ID
	}
	rep.Due = rep.LastClosed.IsZero() || now.Sub(rep.LastClosed) > p.reviewInterval()
	return rep, nil
}
