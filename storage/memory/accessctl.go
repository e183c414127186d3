package memory

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// The stores of package accessctl: tenants, operators, roles, the audit
// log, sessions, one-time tokens and login attempts.

// CreateTenant implements accessctl.TenantStore.
func (s *Store) CreateTenant(ctx context.Context, t *accessctl.Tenant, e backoffice.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tenants[t.ID]; ok {
		return backoffice.NewError(backoffice.ErrConflict, "memory: create tenant", "tenant id is taken", backoffice.FieldViolation{Field: "tenant", Reason: "already taken"})
	}
	t.Version, t.RolesVersion = 1, 1
	s.tenants[t.ID] = t.Clone()
	s.appendAudit(e)
	return nil
}

// Tenant implements accessctl.TenantStore.
func (s *Store) Tenant(ctx context.Context, id backoffice.TenantID) (*accessctl.Tenant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tenants[id]
	if !ok {
		return nil, notFound("memory: tenant", "tenant")
	}
	return t.Clone(), nil
}

// UpdateTenant implements accessctl.TenantStore.
func (s *Store) UpdateTenant(ctx context.Context, t *accessctl.Tenant, expect int64, e backoffice.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.tenants[t.ID]
	if !ok {
		return notFound("memory: update tenant", "tenant")
	}
	if cur.Version != expect {
		return stale("memory: update tenant")
	}
	t.Version = expect + 1
	s.tenants[t.ID] = t.Clone()
	s.appendAudit(e)
	return nil
}

func (s *Store) table(tenant backoffice.TenantID) *operatorTable {
	t := s.operators[tenant]
	if t == nil {
		t = &operatorTable{byID: map[accessctl.OperatorID]*accessctl.Operator{}, byUsername: map[string]accessctl.OperatorID{},
			byEmail: map[string]accessctl.OperatorID{}, byKey: map[string]accessctl.OperatorID{}}
		s.operators[tenant] = t
	}
	return t
}

func fold(s string) string { return strings.ToLower(s) }

// checkUnique reports a unique-key clash of op with another operator.
func (t *operatorTable) checkUnique(op string, o *accessctl.Operator) error {
	clash := func(idx map[string]accessctl.OperatorID, key string) bool {
		if key == "" {
			return false
		}
		id, ok := idx[key]
		return ok && id != o.ID
	}
	switch {
	case clash(t.byUsername, fold(o.Username)):
		return taken(op, "username")
	case clash(t.byEmail, fold(o.Email)):
		return taken(op, "email")
	case clash(t.byKey, o.ExternalKey):
		return taken(op, "external_key")
	}
	return nil
}

func (t *operatorTable) index(o *accessctl.Operator) {
	if o.Username != "" {
		t.byUsername[fold(o.Username)] = o.ID
	}
	if o.Email != "" {
		t.byEmail[fold(o.Email)] = o.ID
	}
	if o.ExternalKey != "" {
		t.byKey[o.ExternalKey] = o.ID
	}
}

func (t *operatorTable) unindex(o *accessctl.Operator) {
	delete(t.byUsername, fold(o.Username))
	delete(t.byEmail, fold(o.Email))
	delete(t.byKey, o.ExternalKey)
}

// activeAdmins counts the active holders of role in the tenant.
func (t *operatorTable) activeAdmins(role accessctl.RoleName) int {
	n := 0
	for _, o := range t.byID {
		if o.Status == accessctl.StatusActive && o.HoldsForGood(role) {
			n++
		}
	}
	return n
}

// actorLive checks a guard's actor under s.mu.
func (s *Store) actorLive(tenant backoffice.TenantID, g accessctl.Guard) error {
	if g.Actor == "" {
		return nil
	}
	var a *accessctl.Operator
	if t := s.operators[tenant]; t != nil {
		a = t.byID[g.Actor]
	}
	if a == nil || a.Status != accessctl.StatusActive || a.SessionEpoch != g.ActorEpoch {
		return accessctl.ErrActorChanged
	}
	return nil
}

// CreateOperator implements accessctl.OperatorStore.
func (s *Store) CreateOperator(ctx context.Context, o *accessctl.Operator, g accessctl.Guard, e backoffice.AuditEntry) error {
	const op = "memory: create operator"
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.actorLive(o.Tenant, g); err != nil {
		return err
	}
	t := s.table(o.Tenant)
	if _, ok := t.byID[o.ID]; ok {
		return backoffice.NewError(backoffice.ErrConflict, op, "operator id is taken")
	}
	if err := t.checkUnique(op, o); err != nil {
		return err
	}
	o.Version = 1
	c := o.Clone()
	t.byID[o.ID] = c
	t.index(c)
	s.appendAudit(e)
	return nil
}

// Operator implements accessctl.OperatorStore.
func (s *Store) Operator(ctx context.Context, tenant backoffice.TenantID, id accessctl.OperatorID) (*accessctl.Operator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.operators[tenant]; t != nil {
		if o, ok := t.byID[id]; ok {
			return o.Clone(), nil
		}
	}
	return nil, notFound("memory: operator", "operator")
}

func (s *Store) operatorBy(ctx context.Context, tenant backoffice.TenantID, pick func(*operatorTable) (accessctl.OperatorID, bool)) (*accessctl.Operator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.operators[tenant]; t != nil {
		if id, ok := pick(t); ok {
			return t.byID[id].Clone(), nil
		}
	}
	return nil, notFound("memory: operator", "operator")
}

// OperatorByLogin implements accessctl.OperatorStore.
func (s *Store) OperatorByLogin(ctx context.Context, tenant backoffice.TenantID, login string) (*accessctl.Operator, error) {
	k := fold(login)
	return s.operatorBy(ctx, tenant, func(t *operatorTable) (accessctl.OperatorID, bool) {
		if k == "" {
			return "", false
		}
		if id, ok := t.byUsername[k]; ok {
			return id, true
		}
		id, ok := t.byEmail[k]
		return id, ok
	})
}

// OperatorByExternalKey implements accessctl.OperatorStore.
func (s *Store) OperatorByExternalKey(ctx context.Context, tenant backoffice.TenantID, key string) (*accessctl.Operator, error) {
	return s.operatorBy(ctx, tenant, func(t *operatorTable) (accessctl.OperatorID, bool) {
		id, ok := t.byKey[key]
		return id, ok && key != ""
	})
}

// Operators implements accessctl.OperatorStore.
func (s *Store) Operators(ctx context.Context, tenant backoffice.TenantID, q accessctl.OperatorQuery) ([]*accessctl.Operator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.operators[tenant]
	if t == nil {
		return nil, nil
	}
	var out []*accessctl.Operator
	for _, o := range t.byID {
		if q.After != "" && o.ID >= q.After ||
			q.Status != nil && o.Status != *q.Status ||
			q.Role != nil && !o.HasRole(*q.Role) {
			continue
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b *accessctl.Operator) int { return strings.Compare(string(b.ID), string(a.ID)) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	for i, o := range out {
		out[i] = o.Clone()
	}
	return out, nil
}

// UpdateOperator implements accessctl.OperatorStore.
func (s *Store) UpdateOperator(ctx context.Context, o *accessctl.Operator, expect int64, g accessctl.Guard, e backoffice.AuditEntry) error {
	const op = "memory: update operator"
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.operators[o.Tenant]
	var cur *accessctl.Operator
	if t != nil {
		cur = t.byID[o.ID]
	}
	if cur == nil {
		return notFound(op, "operator")
	}
	if cur.Version != expect {
		return stale(op)
	}
	if err := s.actorLive(o.Tenant, g); err != nil {
		return err
	}
	if err := t.checkUnique(op, o); err != nil {
		return err
	}
	if g.KeepAdmin != "" {
		n := t.activeAdmins(g.KeepAdmin)
		if cur.Status == accessctl.StatusActive && cur.HoldsForGood(g.KeepAdmin) {
			n--
		}
		if o.Status == accessctl.StatusActive && o.HoldsForGood(g.KeepAdmin) {
			n++
		}
		if n < 1 {
			return accessctl.ErrLastAdministrator
		}
	}
	o.Version = expect + 1
	c := o.Clone()
	t.unindex(cur)
	t.byID[o.ID] = c
	t.index(c)
	s.appendAudit(e)
	return nil
}

// DeleteOperator implements accessctl.OperatorStore.
func (s *Store) DeleteOperator(ctx context.Context, tenant backoffice.TenantID, id accessctl.OperatorID, expect int64, g accessctl.Guard, e backoffice.AuditEntry) error {
	const op = "memory: delete operator"
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.operators[tenant]
	var cur *accessctl.Operator
	if t != nil {
		cur = t.byID[id]
	}
	if cur == nil {
		return notFound(op, "operator")
	}
	if cur.Version != expect {
		return stale(op)
	}
	if err := s.actorLive(tenant, g); err != nil {
		return err
	}
	if g.KeepAdmin != "" && cur.Status == accessctl.StatusActive && cur.HoldsForGood(g.KeepAdmin) && t.activeAdmins(g.KeepAdmin) <= 1 {
		return accessctl.ErrLastAdministrator
	}
	t.unindex(cur)
	delete(t.byID, id)
	s.appendAudit(e)
	return nil
}

// CreateRole implements accessctl.RoleStore.
func (s *Store) CreateRole(ctx context.Context, r *accessctl.Role, e backoffice.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.roles[r.Tenant]
	if m == nil {
		m = map[accessctl.RoleName]*accessctl.Role{}
		s.roles[r.Tenant] = m
	}
	if _, ok := m[r.Name]; ok {
		return taken("memory: create role", "name")
	}
	r.Version = 1
	c := *r
	c.Permissions = slices.Clone(r.Permissions)
	m[r.Name] = &c
	s.moveRolesVersion(r.Tenant)
	s.appendAudit(e)
	return nil
}

// Roles implements accessctl.RoleStore.
func (s *Store) Roles(ctx context.Context, tenant backoffice.TenantID) ([]accessctl.Role, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []accessctl.Role
	for _, r := range s.roles[tenant] {
		c := *r
		c.Permissions = slices.Clone(r.Permissions)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b accessctl.Role) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return out, nil
}

// UpdateRole implements accessctl.RoleStore.
func (s *Store) UpdateRole(ctx context.Context, r *accessctl.Role, expect int64, e backoffice.AuditEntry) error {
	const op = "memory: update role"
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.roles[r.Tenant][r.Name]
	if !ok {
		return notFound(op, "role")
	}
	if cur.Version != expect {
		return stale(op)
	}
	r.Version = expect + 1
	c := *r
	c.Permissions = slices.Clone(r.Permissions)
	s.roles[r.Tenant][r.Name] = &c
	s.moveRolesVersion(r.Tenant)
	s.appendAudit(e)
	return nil
}

// moveRolesVersion moves the tenant's roles version on, under s.mu.
func (s *Store) moveRolesVersion(tenant backoffice.TenantID) {
	if t := s.tenants[tenant]; t != nil {
		t.RolesVersion++
	}
}

// AuditEntries implements accessctl.AuditStore.
func (s *Store) AuditEntries(ctx context.Context, tenant backoffice.TenantID, q accessctl.AuditQuery) ([]backoffice.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.audit[auditKey{tenant, q.TargetType, q.TargetID}]
	end := len(list)
	if q.Before != "" {
		end, _ = slices.BinarySearchFunc(list, q.Before, func(x backoffice.AuditEntry, id string) int { return strings.Compare(x.ID, id) })
	}
	var out []backoffice.AuditEntry
	for i := end - 1; i >= 0 && (q.Limit <= 0 || len(out) < q.Limit); i-- {
		out = append(out, list[i].Clone())
	}
	return out, nil
}

// AuditChain implements accessctl.AuditStore.
func (s *Store) AuditChain(ctx context.Context, tenant backoffice.TenantID, after int64, limit int) ([]backoffice.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.chains[tenant]
	if c == nil || after >= int64(len(c.entries)) {
		return nil, nil
	}
	list := c.entries[max(after, 0):]
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	out := make([]backoffice.AuditEntry, len(list))
	for i, e := range list {
		out[i] = e.Clone()
	}
	return out, nil
}

// AuditHead implements accessctl.AuditStore.
func (s *Store) AuditHead(ctx context.Context, tenant backoffice.TenantID) (backoffice.ChainHead, error) {
	if err := ctx.Err(); err != nil {
		return backoffice.ChainHead{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := s.chains[tenant]; c != nil {
		return c.head, nil
	}
	return backoffice.ChainHead{}, nil
}

// AppendAuditEntry implements accessctl.AuditStore.
func (s *Store) AppendAuditEntry(ctx context.Context, e backoffice.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendAudit(e)
	return nil
}

// CreateSession implements accessctl.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess *accessctl.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	s.sessions[sess.ID] = cloneSession(sess)
	return nil
}

func cloneSession(sess *accessctl.Session) *accessctl.Session {
	c := *sess
	c.Roles, c.Accounts = slices.Clone(sess.Roles), slices.Clone(sess.Accounts)
	c.RoleUntil = maps.Clone(sess.RoleUntil)
	return &c
}

// SetRolesVersion implements accessctl.SessionStore: the store holds the
// tenants, so Session reads their own version.
func (s *Store) SetRolesVersion(ctx context.Context, _ backoffice.TenantID, _ int64) error {
	return ctx.Err()
}

// Session implements accessctl.SessionStore.
func (s *Store) Session(ctx context.Context, tenant backoffice.TenantID, digest string) (*accessctl.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.sessMu.Lock()
	sess, ok := s.sessions[digest]
	if ok {
		sess = cloneSession(sess)
	}
	s.sessMu.Unlock()
	if !ok || sess.Tenant != tenant {
		return nil, notFound("memory: session", "session")
	}
	s.mu.RLock()
	if t := s.tenants[tenant]; t != nil {
		sess.RolesVersion = t.RolesVersion
	}
	s.mu.RUnlock()
	return sess, nil
}

// Sessions implements accessctl.SessionStore.
func (s *Store) Sessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) ([]*accessctl.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	var out []*accessctl.Session
	for _, sess := range s.sessions {
		if sess.Tenant == tenant && sess.Operator == op {
			out = append(out, cloneSession(sess))
		}
	}
	slices.SortFunc(out, func(a, b *accessctl.Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// DeleteSession implements accessctl.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, tenant backoffice.TenantID, digest string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	if sess, ok := s.sessions[digest]; ok && sess.Tenant == tenant {
		delete(s.sessions, digest)
	}
	return nil
}

// DeleteOperatorSessions implements accessctl.SessionStore.
func (s *Store) DeleteOperatorSessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	for id, sess := range s.sessions {
		if sess.Tenant == tenant && sess.Operator == op {
			delete(s.sessions, id)
		}
	}
	return nil
}

// IssueToken implements accessctl.TokenStore.
func (s *Store) IssueToken(ctx context.Context, t *accessctl.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	for id, old := range s.tokens {
		if old.Tenant == t.Tenant && old.Operator == t.Operator && old.Purpose == t.Purpose {
			delete(s.tokens, id)
		}
	}
	c := *t
	s.tokens[t.ID] = &c
	return nil
}

// Token implements accessctl.TokenStore.
func (s *Store) Token(ctx context.Context, purpose accessctl.TokenPurpose, tenant backoffice.TenantID, digest string) (*accessctl.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	t, ok := s.tokens[digest]
	if !ok || t.Purpose != purpose || t.Tenant != tenant {
		return nil, notFound("memory: token", "token")
	}
	c := *t
	return &c, nil
}

// ConsumeToken implements accessctl.TokenStore.
func (s *Store) ConsumeToken(ctx context.Context, purpose accessctl.TokenPurpose, tenant backoffice.TenantID, digest string) (*accessctl.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	t, ok := s.tokens[digest]
	if !ok || t.Purpose != purpose || t.Tenant != tenant {
		return nil, notFound("memory: consume token", "token")
	}
	delete(s.tokens, digest)
	return t, nil
}

// DeleteOperatorTokens implements accessctl.TokenStore.
func (s *Store) DeleteOperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	for id, t := range s.tokens {
		if t.Tenant == tenant && t.Operator == op {
			delete(s.tokens, id)
		}
	}
	return nil
}

// OperatorTokens implements accessctl.TokenStore.
func (s *Store) OperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) ([]*accessctl.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	var out []*accessctl.Token
	for _, t := range s.tokens {
		if t.Tenant == tenant && t.Operator == op {
			c := *t
			out = append(out, &c)
		}
	}
	return out, nil
}

// ReserveAttempt implements accessctl.AttemptStore.
func (s *Store) ReserveAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, l accessctl.AttemptLimit) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	k := opKey{tenant, op}
	a, ok := s.attempts[k]
	if ok {
		since := at.Sub(a.Last)
		if since > l.Lease {
			a.Pending = 0
		}
		if a.Failures >= l.Max && since >= l.Cooldown || a.Failures < l.Max && since >= l.Window {
			a = accessctl.Attempts{}
		}
	}
	if a.Failures+a.Pending >= l.Max {
		return false, nil
	}
	a.Pending++
	if at.After(a.Last) {
		a.Last = at
	}
	s.attempts[k] = a
	return true, nil
}

// SettleAttempt implements accessctl.AttemptStore.
func (s *Store) SettleAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, o accessctl.AttemptOutcome) (accessctl.Attempts, error) {
	if err := ctx.Err(); err != nil {
		return accessctl.Attempts{}, err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	k := opKey{tenant, op}
	a, ok := s.attempts[k]
	if !ok && o != accessctl.AttemptFailed {
		return accessctl.Attempts{}, nil
	}
	if a.Pending > 0 {
		a.Pending--
	}
	switch o {
	case accessctl.AttemptFailed:
		a.Failures++
		if at.After(a.Last) {
			a.Last = at
		}
	case accessctl.AttemptSucceeded:
		a.Failures = 0
	}
	s.attempts[k] = a
	return a, nil
}

// Attempts implements accessctl.AttemptStore.
func (s *Store) Attempts(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (accessctl.Attempts, error) {
	if err := ctx.Err(); err != nil {
		return accessctl.Attempts{}, err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	return s.attempts[opKey{tenant, op}], nil
}

// ResetAttempts implements accessctl.AttemptStore.
func (s *Store) ResetAttempts(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	delete(s.attempts, opKey{tenant, op})
	return nil
}

type onceKey struct {
	tenant backoffice.TenantID
	key    string
}

// UseOnce implements accessctl.OnceStore. Records past their time are
// dropped when the map has grown since the last sweep.
func (s *Store) UseOnce(ctx context.Context, tenant backoffice.TenantID, key string, at, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	if s.once == nil {
		s.once = map[onceKey]time.Time{}
	}
	k := onceKey{tenant, key}
	if end, ok := s.once[k]; ok && at.Before(end) {
		return false, nil
	}
	if len(s.once) >= 1024 && len(s.once)&(len(s.once)-1) == 0 {
		for k, end := range s.once {
			if !at.Before(end) {
				delete(s.once, k)
			}
		}
	}
	s.once[k] = until
	return true, nil
}
