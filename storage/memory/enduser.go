package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
)

var _ enduser.Store = (*Store)(nil)

// userTable is one tenant's end users with the indexes that make exact
// searches O(1) and keep every list newest first without sorting.
type userTable struct {
	byID     map[enduser.ID]*userRow
	order    []*userRow // by enduser.Key, ascending: oldest first
	byEmail  map[string][]enduser.ID
	byTag    map[string][]enduser.ID
	byParent map[enduser.ID][]enduser.ID
}

type userRow struct {
	u    *enduser.EndUser
	text string // enduser.SearchText
}

func (s *Store) users(tenant backoffice.TenantID) *userTable {
	t := s.endUsers[tenant]
	if t == nil {
		t = &userTable{byID: map[enduser.ID]*userRow{}, byEmail: map[string][]enduser.ID{},
			byTag: map[string][]enduser.ID{}, byParent: map[enduser.ID][]enduser.ID{}}
		s.endUsers[tenant] = t
	}
	return t
}

// insertID adds id to a sorted list.
func insertID(list []enduser.ID, id enduser.ID) []enduser.ID {
	i, found := slices.BinarySearch(list, id)
	if found {
		return list
	}
	return slices.Insert(list, i, id)
}

func removeID(list []enduser.ID, id enduser.ID) []enduser.ID {
	if i, found := slices.BinarySearch(list, id); found {
		return slices.Delete(list, i, i+1)
	}
	return list
}

func (t *userTable) index(u *enduser.EndUser) {
	if u.Email != "" {
		k := strings.ToLower(u.Email)
		t.byEmail[k] = insertID(t.byEmail[k], u.ID)
	}
	if u.Tag != "" {
		t.byTag[u.Tag] = insertID(t.byTag[u.Tag], u.ID)
	}
	if u.Parent != "" {
		t.byParent[u.Parent] = insertID(t.byParent[u.Parent], u.ID)
	}
}

func (t *userTable) unindex(u *enduser.EndUser) {
	drop := func(m map[string][]enduser.ID, k string) {
		if l := removeID(m[k], u.ID); len(l) == 0 {
			delete(m, k)
		} else {
			m[k] = l
		}
	}
	if u.Email != "" {
		drop(t.byEmail, strings.ToLower(u.Email))
	}
	if u.Tag != "" {
		drop(t.byTag, u.Tag)
	}
	if u.Parent != "" {
		if l := removeID(t.byParent[u.Parent], u.ID); len(l) == 0 {
			delete(t.byParent, u.Parent)
		} else {
			t.byParent[u.Parent] = l
		}
	}
}

// CreateEndUser implements enduser.Store.
func (s *Store) CreateEndUser(ctx context.Context, u *enduser.EndUser, e backoffice.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createEndUser(u, e)
}

func (s *Store) createEndUser(u *enduser.EndUser, e backoffice.AuditEntry) error {
	t := s.users(u.Tenant)
	if _, ok := t.byID[u.ID]; ok {
		return backoffice.NewError(backoffice.ErrConflict, "memory: create end user", "user id is taken")
	}
	u.Version = 1
	row := &userRow{u: u.Clone(), text: enduser.SearchText(u)}
	t.byID[u.ID] = row
	i, _ := slices.BinarySearchFunc(t.order, enduser.KeyOf(u), compareKey)
	t.order = slices.Insert(t.order, i, row)
	t.index(row.u)
	s.appendAudit(e)
	return nil
}

// EndUser implements enduser.Store.
func (s *Store) EndUser(ctx context.Context, tenant backoffice.TenantID, id enduser.ID) (*enduser.EndUser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.endUsers[tenant]; t != nil {
		if r, ok := t.byID[id]; ok {
			return r.u.Clone(), nil
		}
	}
	return nil, notFound("memory: end user", "end user")
}

// UpdateEndUser implements enduser.Store.
func (s *Store) UpdateEndUser(ctx context.Context, u *enduser.EndUser, expect int64, e backoffice.AuditEntry) error {
	const op = "memory: update end user"
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.endUsers[u.Tenant]
	var row *userRow
	if t != nil {
		row = t.byID[u.ID]
	}
	if row == nil {
		return notFound(op, "end user")
	}
	if row.u.Version != expect {
		return stale(op)
	}
	u.Version = expect + 1
	t.unindex(row.u)
	row.u, row.text = u.Clone(), enduser.SearchText(u)
	t.index(row.u)
	s.appendAudit(e)
	return nil
}

// matches applies every filter of q but the one the candidates came from.
func matches(r *userRow, q *enduser.Query) bool {
	u := r.u
	switch {
	case q.ID != "" && u.ID != q.ID,
		q.Tag != "" && u.Tag != q.Tag,
		q.Email != "" && !strings.EqualFold(u.Email, q.Email),
		q.Type != nil && u.Type != *q.Type,
		q.Status != nil && u.Status != *q.Status,
		q.Parent != nil && u.Parent != *q.Parent,
		!q.CreatedFrom.IsZero() && u.CreatedAt.Before(q.CreatedFrom),
		!q.CreatedTo.IsZero() && !u.CreatedAt.Before(q.CreatedTo),
		q.Before != nil && !enduser.KeyOf(u).Less(*q.Before),
		q.Name != "" && !strings.Contains(r.text, q.Name):
		return false
	}
	return true
}

// FindEndUsers implements enduser.Store. Exact id, email, tag and parent
// lookups use an index; the other queries walk the users newest first and
// stop at the limit.
func (s *Store) FindEndUsers(ctx context.Context, tenant backoffice.TenantID, q enduser.Query) ([]*enduser.EndUser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*enduser.EndUser
	s.walk(tenant, &q, func(r *userRow) bool {
		out = append(out, r.u.Clone())
		return q.Limit <= 0 || len(out) < q.Limit
	})
	return out, nil
}

// CountEndUsers implements enduser.Store.
func (s *Store) CountEndUsers(ctx context.Context, tenant backoffice.TenantID, q enduser.Query) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	q.Before = nil
	n := 0
	s.walk(tenant, &q, func(*userRow) bool { n++; return true })
	return n, nil
}

// walk calls take with the rows matching q, newest first, until it
// returns false. The caller holds mu.
func (s *Store) walk(tenant backoffice.TenantID, q *enduser.Query, take func(*userRow) bool) {
	t := s.endUsers[tenant]
	if t == nil {
		return
	}
	visit := func(r *userRow) bool { return !matches(r, q) || take(r) }
	var candidates []enduser.ID
	switch {
	case q.ID != "":
		if r, ok := t.byID[q.ID]; ok {
			visit(r)
		}
		return
	case q.Email != "":
		candidates = t.byEmail[strings.ToLower(q.Email)]
	case q.Tag != "":
		candidates = t.byTag[q.Tag]
	case q.Parent != nil:
		candidates = t.byParent[*q.Parent]
	default:
		end := len(t.order)
		if q.Before != nil {
			end, _ = slices.BinarySearchFunc(t.order, *q.Before, compareKey)
		}
		for i := end - 1; i >= 0 && visit(t.order[i]); i-- {
		}
		return
	}
	rows := make([]*userRow, len(candidates))
	for i, id := range candidates {
		rows[i] = t.byID[id]
	}
	slices.SortFunc(rows, func(a, b *userRow) int { return -compareKey(a, enduser.KeyOf(b.u)) }) // newest first
	for _, r := range rows {
		if !visit(r) {
			return
		}
	}
}

// compareKey orders rows by enduser.Key, oldest first.
func compareKey(r *userRow, k enduser.Key) int {
	rk := enduser.KeyOf(r.u)
	switch {
	case rk.Less(k):
		return -1
	case k.Less(rk):
		return 1
	}
	return 0
}

// CreateOnboarding implements enduser.Store.
func (s *Store) CreateOnboarding(ctx context.Context, o *enduser.Onboarding, e backoffice.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.onboardings[o.ID]; ok {
		return backoffice.NewError(backoffice.ErrConflict, "memory: create onboarding", "onboarding id is taken")
	}
	o.Version = 1
	s.onboardings[o.ID] = o.Clone()
	s.activations[o.ActivationID] = o.ID
	s.appendAudit(e)
	return nil
}

// OnboardingByActivation implements enduser.Store.
func (s *Store) OnboardingByActivation(ctx context.Context, activation string) (*enduser.Onboarding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id, ok := s.activations[activation]; ok {
		return s.onboardings[id].Clone(), nil
	}
	return nil, notFound("memory: onboarding", "onboarding")
}

// Onboardings implements enduser.Store.
func (s *Store) Onboardings(ctx context.Context, tenant backoffice.TenantID, q enduser.OnboardingQuery) ([]*enduser.Onboarding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*enduser.Onboarding
	for _, o := range s.onboardings {
		if o.Tenant == tenant && o.Completed() == q.Completed && (q.Before == "" || o.ID < q.Before) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *enduser.Onboarding) int { return strings.Compare(b.ID, a.ID) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	for i, o := range out {
		out[i] = o.Clone()
	}
	return out, nil
}

// CompleteOnboarding implements enduser.Store.
func (s *Store) CompleteOnboarding(ctx context.Context, o *enduser.Onboarding, expect int64, u *enduser.EndUser, eo, eu backoffice.AuditEntry) error {
	const op = "memory: complete onboarding"
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.onboardings[o.ID]
	if !ok {
		return notFound(op, "onboarding")
	}
	if cur.Version != expect {
		return stale(op)
	}
	if err := s.createEndUser(u, eu); err != nil {
		return err
	}
	o.Version = expect + 1
	s.onboardings[o.ID] = o.Clone()
	s.appendAudit(eo)
	return nil
}
