package accessctl

import (
	"context"
	"crypto/subtle"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/internal/check"
)

// This file holds what the company's identity provider may do to the
// operators of a tenant in SSO mode (I3–I6). The protocol (SCIM 2.0) is
// package accessctl/scim's; every rule is here, so a SCIM call, an SSO
// sign-in and a console click run the same code and write the same audit
// entries.

// MaxSCIMTokens bounds the tokens a tenant keeps, revoked ones included
// until they are pruned at the next issue.
const MaxSCIMTokens = 20

// ErrManagedByIdP refuses a local change of an operator the identity
// provider manages (I6).
var ErrManagedByIdP = backoffice.NewError(backoffice.ErrFailedPrecondition, "accessctl: managed operator",
	"this operator is managed by your identity provider; change it there")

// managedByIdP reports whether the tenant's identity provider owns the
// operator's identity, groups, status and credentials.
func managedByIdP(t *Tenant, o *Operator) bool { return t.SSO.Enabled && o.Managed }

// IssueSCIMToken issues a SCIM token for the tenant's identity provider
// and returns its secret, shown this once (I4). Needs tenant.configure
// and an Administrator: a token provisions operators into every mapped
// group, Administrators' included. Where the tenant's policy holds
// Administrator grants for a second operator (ApproveGrantAdministrator),
// the token is issued pending and authenticates nothing until another
// Administrator approves its ActivateSCIMToken. ttl, when positive, ends
// the token after it.
func (s *Service) IssueSCIMToken(ctx context.Context, name string, ttl time.Duration) (_ backoffice.Secret, _ *SCIMToken, err error) {
	defer s.observe(&ctx, "accessctl.IssueSCIMToken")(&err)
	const op = "accessctl: issue scim token"
	a, t, p, err := s.tokenAdmin(ctx, op)
	if err != nil {
		return "", nil, err
	}
	name = strings.TrimSpace(name)
	var v backoffice.Violations
	if r := check.Name(name, 100); r != "" {
		v.Add("name", r)
	}
	if ttl < 0 {
		v.Add("ttl", "must not be negative")
	}
	if err := v.Err(op); err != nil {
		return "", nil, err
	}
	raw, digest, err := newTenantToken(t.ID)
	if err != nil {
		return "", nil, err
	}
	now := s.clock()
	tok := SCIMToken{ID: s.newID(), Name: name, Digest: digest, CreatedBy: OperatorID(a.id), CreatedAt: now,
		Pending: a.kind == backoffice.ActorOperator && p.needsApproval(ApproveGrantAdministrator)}
	if ttl > 0 {
		tok.ExpiresAt = now.Add(ttl)
	}
	after := t.Clone()
	// Revoked and lapsed tokens make room first, oldest first.
	after.SCIMTokens = slices.DeleteFunc(after.SCIMTokens, func(x SCIMToken) bool {
		return len(after.SCIMTokens) >= MaxSCIMTokens && !x.Pending && !x.Usable(now)
	})
	if len(after.SCIMTokens) >= MaxSCIMTokens {
		return "", nil, backoffice.Errorf(backoffice.ErrFailedPrecondition, op, "the tenant has %d SCIM tokens; revoke one first", MaxSCIMTokens)
	}
	after.SCIMTokens = append(after.SCIMTokens, tok)
	if err := s.writeTenant(ctx, a, t, after, backoffice.ActionSCIMTokenCreate); err != nil {
		return "", nil, err
	}
	return raw, &tok, nil
}

// RotateSCIMToken issues a token to replace token id, which keeps working
// for overlap more (at most a day), so the identity provider can be
// switched to the new one without a gap. Rules as IssueSCIMToken.
func (s *Service) RotateSCIMToken(ctx context.Context, id string, overlap time.Duration) (backoffice.Secret, *SCIMToken, error) {
	const op = "accessctl: rotate scim token"
	if overlap < 0 || overlap > 24*time.Hour {
		return "", nil, backoffice.NewError(backoffice.ErrInvalid, op, "the overlap must be between 0 and 24 hours", backoffice.FieldViolation{Field: "overlap", Reason: "out of range"})
	}
	a, t, _, err := s.tokenAdmin(ctx, op)
	if err != nil {
		return "", nil, err
	}
	i := slices.IndexFunc(t.SCIMTokens, func(x SCIMToken) bool { return x.ID == id })
	if i < 0 {
		return "", nil, backoffice.NewError(backoffice.ErrNotFound, op, "no such SCIM token")
	}
	raw, tok, err := s.IssueSCIMToken(ctx, t.SCIMTokens[i].Name, 0)
	if err != nil {
		return "", nil, err
	}
	// The old token's end is moved nearer, never further: a restriction.
	for range 3 {
		cur, err := s.store.Tenant(ctx, a.tenant)
		if err != nil {
			return "", nil, err
		}
		after := cur.Clone()
		j := slices.IndexFunc(after.SCIMTokens, func(x SCIMToken) bool { return x.ID == id })
		if j < 0 {
			return raw, tok, nil
		}
		end := s.clock().Add(overlap)
		if x := &after.SCIMTokens[j]; x.ExpiresAt.IsZero() || end.Before(x.ExpiresAt) {
			x.ExpiresAt = end
		}
		err = s.writeTenant(ctx, a, cur, after, backoffice.ActionSCIMTokenRevoke)
		if !errors.Is(err, backoffice.ErrConflict) {
			return raw, tok, err
		}
	}
	return raw, tok, backoffice.NewError(backoffice.ErrConflict, op, "the tenant kept changing; revoke the old token by hand")
}

// ActivateSCIMToken makes a pending token work. Needs an Administrator
// other than its issuer, through the tenant's four-eyes rule: it is held
// as granting Administrator (F5).
func (s *Service) ActivateSCIMToken(ctx context.Context, id string) (err error) {
	defer s.observe(&ctx, "accessctl.ActivateSCIMToken")(&err)
	const op = "accessctl: activate scim token"
	a, t, p, err := s.tokenAdmin(ctx, op)
	if err != nil {
		return err
	}
	after := t.Clone()
	i := slices.IndexFunc(after.SCIMTokens, func(x SCIMToken) bool { return x.ID == id })
	if i < 0 {
		return backoffice.NewError(backoffice.ErrNotFound, op, "no such SCIM token")
	}
	x := &after.SCIMTokens[i]
	if !x.Pending || !x.RevokedAt.IsZero() {
		return backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the token is not awaiting approval")
	}
	x.Pending = false
	if ap, ok := Approved(ctx); ok {
		x.ActivatedBy = ap.DecidedBy
	}
	if err := s.gate(ctx, a, p, Hold{Action: ApproveGrantAdministrator, TargetType: TargetTenant, TargetID: string(t.ID),
		Effect: backoffice.Diff(t, after), AdminLevel: true}); err != nil {
		return err
	}
	return s.writeTenant(ctx, a, t, after, backoffice.ActionSCIMTokenActivate)
}

// RevokeSCIMToken stops a token at once. Needs tenant.configure; it is
// never held: a revocation only takes away.
func (s *Service) RevokeSCIMToken(ctx context.Context, id string) (err error) {
	defer s.observe(&ctx, "accessctl.RevokeSCIMToken")(&err)
	const op = "accessctl: revoke scim token"
	a, err := Require(ctx, PermTenantConfigure)
	if err != nil {
		return err
	}
	t, err := s.store.Tenant(ctx, a.tenant)
	if err != nil {
		return err
	}
	after := t.Clone()
	i := slices.IndexFunc(after.SCIMTokens, func(x SCIMToken) bool { return x.ID == id })
	if i < 0 {
		return backoffice.NewError(backoffice.ErrNotFound, op, "no such SCIM token")
	}
	if !after.SCIMTokens[i].RevokedAt.IsZero() {
		return nil
	}
	after.SCIMTokens[i].RevokedAt = s.clock()
	return s.writeTenant(ctx, a, t, after, backoffice.ActionSCIMTokenRevoke)
}

func (s *Service) tokenAdmin(ctx context.Context, op string) (*Actor, *Tenant, Policy, error) {
	a, err := Require(ctx, PermTenantConfigure)
	if err != nil {
		return nil, nil, Policy{}, err
	}
	if !a.IsAdministrator() {
		return nil, nil, Policy{}, backoffice.NewError(backoffice.ErrForbidden, op, "only an Administrator manages SCIM tokens")
	}
	t, err := s.store.Tenant(ctx, a.tenant)
	if err != nil {
		return nil, nil, Policy{}, err
	}
	return a, t, s.policyOf(t), nil
}

func (s *Service) writeTenant(ctx context.Context, a *Actor, before, after *Tenant, action backoffice.Action) error {
	after.UpdatedAt = s.clock()
	return s.store.UpdateTenant(ctx, after, before.Version,
		s.entry(a.Ref(), a.tenant, action, TargetTenant, string(after.ID), after.UpdatedAt, backoffice.Diff(before, after)))
}

// AuthenticateSCIM returns the actor of a SCIM token: the tenant's
// identity provider, which may call the IdP methods below and nothing
// else. Every refusal is the one ErrUnauthenticated error. A tenant not
// in SSO mode may provision over SCIM too; its operators then sign in
// with the passwords an operator manager gives them, and the back office
// may manage them locally (I6 applies in SSO mode).
func (s *Service) AuthenticateSCIM(ctx context.Context, token backoffice.Secret) (_ *Actor, err error) {
	defer s.observe(&ctx, "accessctl.AuthenticateSCIM")(&err)
	refused := backoffice.NewError(backoffice.ErrUnauthenticated, "accessctl: scim", "the SCIM token is not valid")
	tenant, digest, ok := parseToken(token)
	if !ok {
		return nil, refused
	}
	t, err := s.store.Tenant(ctx, tenant)
	if isNotFound(err) {
		return nil, refused
	}
	if err != nil {
		return nil, err
	}
	now := s.clock()
	for _, x := range t.SCIMTokens {
		if subtle.ConstantTimeCompare([]byte(x.Digest), []byte(digest)) == 1 && x.Usable(now) {
			a := &Actor{tenant: tenant, id: "scim:" + x.ID, name: x.Name, kind: backoffice.ActorIdentityProvider, allAccounts: true}
			for _, id := range []OperatorID{x.CreatedBy, x.ActivatedBy} {
				if id != "" {
					a.grantors = append(a.grantors, id)
				}
			}
			return a, nil
		}
	}
	return nil, refused
}

// idp returns the identity-provider actor of ctx, or the refusal every
// other actor gets.
func idp(ctx context.Context) (*Actor, error) {
	a, ok := ActorFrom(ctx)
	switch {
	case !ok:
		return nil, errNoActor
	case a.kind != backoffice.ActorIdentityProvider:
		return nil, backoffice.NewError(backoffice.ErrForbidden, "accessctl: scim", "only the identity provider's SCIM token does this")
	}
	return a, nil
}

// IdPUser is what the identity provider says of a person.
type IdPUser struct {
	UserName   string
	ExternalID string
	Email      string
	FirstName  string
	LastName   string
	// DisplayName is how the person is shown; Manager, when set, is the
	// operator it reports to (the enterprise extension's manager).
	DisplayName string
	Manager     OperatorID
	Active      bool
}

// ManagedOperators returns every operator the identity provider manages
// in the actor's tenant, oldest first. Tenants have hundreds of
// operators, not millions: the SCIM handler filters and pages this list.
func (s *Service) ManagedOperators(ctx context.Context) (_ []*Operator, err error) {
	defer s.observe(&ctx, "accessctl.ManagedOperators")(&err)
	a, err := idp(ctx)
	if err != nil {
		return nil, err
	}
	return s.managed(ctx, a.tenant)
}

func (s *Service) managed(ctx context.Context, tenant backoffice.TenantID) ([]*Operator, error) {
	var out []*Operator
	q := OperatorQuery{Limit: 500}
	for {
		page, err := s.store.Operators(ctx, tenant, q)
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			if o.Managed {
				out = append(out, o)
			}
		}
		if len(page) < q.Limit {
			break
		}
		q.After = page[len(page)-1].ID
	}
	slices.Reverse(out)
	return out, nil
}

// ManagedOperator returns one operator the identity provider manages;
// any other is ErrNotFound.
func (s *Service) ManagedOperator(ctx context.Context, id OperatorID) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.ManagedOperator")(&err)
	a, err := idp(ctx)
	if err != nil {
		return nil, err
	}
	return s.managedOne(ctx, a.tenant, id)
}

func (s *Service) managedOne(ctx context.Context, tenant backoffice.TenantID, id OperatorID) (*Operator, error) {
	o, err := s.store.Operator(ctx, tenant, id)
	if err == nil && !o.Managed {
		err = backoffice.NewError(backoffice.ErrNotFound, "accessctl: scim", "no such user")
	}
	return o, err
}

func (u *IdPUser) validate(op string) error {
	u.UserName, u.Email = strings.TrimSpace(u.UserName), strings.ToLower(strings.TrimSpace(u.Email))
	u.FirstName, u.LastName, u.ExternalID = strings.TrimSpace(u.FirstName), strings.TrimSpace(u.LastName), strings.TrimSpace(u.ExternalID)
	var v backoffice.Violations
	if r := check.Name(u.UserName, 254); r != "" {
		v.Add("userName", r)
	}
	if u.Email != "" {
		if r := check.Email(u.Email); r != "" {
			v.Add("emails", r)
		}
	}
	for _, f := range []struct{ name, value string }{{"name.givenName", u.FirstName}, {"name.familyName", u.LastName}} {
		if r := check.Text(f.value, 100); r != "" {
			v.Add(f.name, r)
		}
	}
	if r := check.Text(u.ExternalID, 256); r != "" {
		v.Add("externalId", r)
	}
	u.DisplayName = strings.TrimSpace(u.DisplayName)
	if r := check.Text(u.DisplayName, 200); r != "" {
		v.Add("displayName", r)
	}
	return v.Err(op)
}

// CreateManagedOperator creates an operator from the identity provider
// (a SCIM POST). It belongs to no group yet, so it holds no role until
// the identity provider adds it to a mapped group. ErrConflict names
// "userName" or "externalId" when an operator already has it.
func (s *Service) CreateManagedOperator(ctx context.Context, u IdPUser) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.CreateManagedOperator")(&err)
	const op = "accessctl: scim create"
	a, err := idp(ctx)
	if err != nil {
		return nil, err
	}
	if err := u.validate(op); err != nil {
		return nil, err
	}
	if u.ExternalID != "" {
		if _, err := s.store.OperatorByExternalKey(ctx, a.tenant, u.ExternalID); err == nil {
			return nil, backoffice.NewError(backoffice.ErrConflict, op, "an operator already has this externalId", backoffice.FieldViolation{Field: "externalId", Reason: "taken"})
		} else if !isNotFound(err) {
			return nil, err
		}
	}
	now := s.clock()
	if err := s.checkManager(ctx, op, a.tenant, "", u.Manager); err != nil {
		return nil, err
	}
	o := &Operator{ID: OperatorID(s.newID()), Tenant: a.tenant, Username: u.UserName, Email: u.Email, FirstName: u.FirstName,
		LastName: u.LastName, DisplayName: u.DisplayName, Manager: u.Manager, ExternalKey: u.ExternalID, AllAccounts: true, Managed: true,
		EmailVerified: u.Email != "", Status: StatusActive, CreatedAt: now, UpdatedAt: now}
	if !u.Active {
		o.Status = StatusDeactivated
	}
	err = s.store.CreateOperator(ctx, o, Guard{}, s.operatorEntry(a.Ref(), backoffice.ActionOperatorSCIMCreate, nil, o))
	if errors.Is(err, backoffice.ErrConflict) {
		field := "userName"
		if conflictOn(err, "external_key") {
			field = "externalId"
		}
		return nil, backoffice.NewError(backoffice.ErrConflict, op, "an operator already has this "+field, backoffice.FieldViolation{Field: field, Reason: "taken"})
	}
	if err != nil {
		return nil, err
	}
	return o, nil
}

// ReplaceManagedOperator sets what the identity provider says of an
// operator it manages (a SCIM PUT, or a PATCH once applied): identity and
// active. version is the version the caller read (its ETag), or 0 for
// whatever is stored. Going inactive deactivates the operator and ends
// every session in the same call (I5).
func (s *Service) ReplaceManagedOperator(ctx context.Context, id OperatorID, version int64, u IdPUser) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.ReplaceManagedOperator")(&err)
	const op = "accessctl: scim replace"
	return s.changeManaged(ctx, op, id, version, func(t *Tenant, o *Operator) error {
		if err := u.validate(op); err != nil {
			return err
		}
		if u.ExternalID != o.ExternalKey && u.ExternalID != "" {
			if other, err := s.store.OperatorByExternalKey(ctx, t.ID, u.ExternalID); err == nil && other.ID != o.ID {
				return backoffice.NewError(backoffice.ErrConflict, op, "an operator already has this externalId", backoffice.FieldViolation{Field: "externalId", Reason: "taken"})
			}
		}
		if err := s.checkManager(ctx, op, t.ID, o.ID, u.Manager); err != nil {
			return err
		}
		o.Username, o.Email, o.FirstName, o.LastName, o.ExternalKey = u.UserName, u.Email, u.FirstName, u.LastName, u.ExternalID
		o.DisplayName, o.Manager = u.DisplayName, u.Manager
		if o.Email != "" {
			o.EmailVerified = true
		}
		switch {
		case !u.Active:
			o.Status = StatusDeactivated
		case o.Status == StatusDeactivated:
			o.Status = StatusActive
		}
		return nil
	})
}

// checkManager refuses a manager that is not an operator of the tenant,
// or the operator itself.
func (s *Service) checkManager(ctx context.Context, op string, tenant backoffice.TenantID, self, manager OperatorID) error {
	if manager == "" {
		return nil
	}
	invalid := backoffice.NewError(backoffice.ErrInvalid, op, "the manager is not a user of this tenant",
		backoffice.FieldViolation{Field: "manager", Reason: "unknown user"})
	if manager == self {
		return invalid
	}
	_, err := s.store.Operator(ctx, tenant, manager)
	if isNotFound(err) {
		return invalid
	}
	return err
}

// SetManagedGroups sets the identity provider's groups of an operator
// (a SCIM Groups membership change): its roles become what the tenant's
// mapping makes of them. Losing its last mapped group deactivates it and
// ends every session in the same call (I5).
func (s *Service) SetManagedGroups(ctx context.Context, id OperatorID, groups []string) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.SetManagedGroups")(&err)
	return s.changeManaged(ctx, "accessctl: scim groups", id, 0, func(_ *Tenant, o *Operator) error {
		o.Groups = sortedGroups(groups)
		return nil
	})
}

// DeprovisionManagedOperator is a SCIM DELETE: the operator is
// deactivated, its sessions end, and it leaves the identity provider's
// hands (no longer a SCIM resource, no group, no role). Nothing is
// deleted: the operator and its history stay for the auditors.
func (s *Service) DeprovisionManagedOperator(ctx context.Context, id OperatorID, version int64) (err error) {
	defer s.observe(&ctx, "accessctl.DeprovisionManagedOperator")(&err)
	_, err = s.changeManaged(ctx, "accessctl: scim delete", id, version, func(_ *Tenant, o *Operator) error {
		o.Status, o.Groups, o.Managed = StatusDeactivated, nil, false
		return nil
	})
	return err
}

// changeManaged is the shape of every change the identity provider makes
// to an operator: load, apply, derive roles and status, write with the
// audit entry, end sessions when access shrank or the status changed.
func (s *Service) changeManaged(ctx context.Context, op string, id OperatorID, version int64, apply func(t *Tenant, o *Operator) error) (*Operator, error) {
	a, err := idp(ctx)
	if err != nil {
		return nil, err
	}
	for range 3 {
		before, err := s.managedOne(ctx, a.tenant, id)
		if err != nil {
			return nil, err
		}
		if version != 0 && before.Version != version {
			return nil, backoffice.NewError(backoffice.ErrConflict, op, "the user changed since it was read; read it again")
		}
		t, rs, err := s.tenantRoles(ctx, a.tenant)
		if err != nil {
			return nil, err
		}
		o := before.Clone()
		if err := apply(t, o); err != nil {
			return nil, err
		}
		s.deriveAccess(t, before, o)
		if len(backoffice.Diff(before, o)) == 0 {
			return before, nil
		}
		if gained(before.Roles, o.Roles) || before.Status != StatusActive && o.Status == StatusActive {
			o.GrantedBy = joinIDs(o.ID, o.GrantedBy, a.grantors)
		}
		action := backoffice.ActionOperatorSCIMUpdate
		if before.Status != StatusDeactivated && o.Status == StatusDeactivated {
			action = backoffice.ActionOperatorSCIMDeprovision
		}
		if !slices.Equal(before.Roles, o.Roles) || before.Status != o.Status {
			o.SessionEpoch++
		}
		err = s.write(ctx, rs, a, before, o, before.Version, action)
		if errors.Is(err, backoffice.ErrConflict) && version == 0 && !conflictOn(err, "username") && !conflictOn(err, "email") {
			continue
		}
		if errors.Is(err, backoffice.ErrConflict) && (conflictOn(err, "username") || conflictOn(err, "email")) {
			return nil, backoffice.NewError(backoffice.ErrConflict, op, "an operator already has this userName or email", backoffice.FieldViolation{Field: "userName", Reason: "taken"})
		}
		if err != nil {
			return nil, err
		}
		return o, nil
	}
	return nil, backoffice.NewError(backoffice.ErrConflict, op, "the user kept changing; retry")
}

// deriveAccess sets o's roles from its groups through the tenant's
// mapping, and deactivates it when it just lost its last mapped group
// (I5). Groups the tenant does not know are dropped.
func (s *Service) deriveAccess(t *Tenant, before, o *Operator) {
	o.Groups = slices.DeleteFunc(o.Groups, func(g string) bool { _, ok := t.SSO.GroupRoles[g]; return !ok })
	if len(o.Groups) == 0 {
		o.Groups = nil
	}
	o.Roles = mappedRoles(t, o.Groups)
	if len(o.Roles) == 0 {
		o.Roles = nil
	}
	if len(mappedRoles(t, before.Groups)) > 0 && len(o.Roles) == 0 && o.Status == StatusActive {
		o.Status = StatusDeactivated
	}
	if o.Status == StatusDeactivated {
		o.RoleUntil = nil
	}
}

// mappedRoles is what the tenant's mapping gives members of groups.
func mappedRoles(t *Tenant, groups []string) []RoleName {
	var roles []RoleName
	for _, g := range groups {
		roles = append(roles, t.SSO.GroupRoles[g]...)
	}
	if len(roles) == 0 {
		return nil
	}
	return sortedRoles(roles)
}

func gained(before, after []RoleName) bool {
	for _, r := range after {
		if !slices.Contains(before, r) {
			return true
		}
	}
	return false
}

func sortedGroups(g []string) []string {
	out := slices.Clone(g)
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// IdPGroup is one of the identity provider's groups the tenant knows,
// with the roles it maps to and the operators in it.
type IdPGroup struct {
	ID         string
	Name       string
	ExternalID string
	Roles      []RoleName
	Members    []OperatorID
	// MemberNames are the members' user names, in the order of Members.
	MemberNames []string
	// Changed is when the group or a member last changed: the tenant's
	// settings, which hold the group, or a member's record.
	Changed time.Time
}

// groupRecords are the tenant's groups with their ids, by name.
func groupRecords(t *Tenant) []IdPGroupRecord {
	out := make([]IdPGroupRecord, 0, len(t.SSO.GroupRoles))
	for _, name := range slices.Sorted(maps.Keys(t.SSO.GroupRoles)) {
		rec := IdPGroupRecord{ID: GroupID(name), Name: name}
		if i := slices.IndexFunc(t.IdPGroups, func(g IdPGroupRecord) bool { return g.Name == name }); i >= 0 {
			rec = t.IdPGroups[i]
		}
		out = append(out, rec)
	}
	return out
}

// ManagedGroups returns the groups of the tenant's mapping with their
// members, by name.
func (s *Service) ManagedGroups(ctx context.Context) (_ []IdPGroup, err error) {
	defer s.observe(&ctx, "accessctl.ManagedGroups")(&err)
	a, err := idp(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.store.Tenant(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	ops, err := s.managed(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	recs := groupRecords(t)
	out := make([]IdPGroup, 0, len(recs))
	for _, r := range recs {
		grp := IdPGroup{ID: r.ID, Name: r.Name, ExternalID: r.ExternalID, Roles: slices.Clone(t.SSO.GroupRoles[r.Name]), Changed: t.UpdatedAt}
		for _, o := range ops {
			if slices.Contains(o.Groups, r.Name) {
				grp.Members, grp.MemberNames = append(grp.Members, o.ID), append(grp.MemberNames, o.Username)
				if o.UpdatedAt.After(grp.Changed) {
					grp.Changed = o.UpdatedAt
				}
			}
		}
		out = append(out, grp)
	}
	return out, nil
}

// ManagedGroupIDs maps the name of each group of the tenant's mapping to
// its id: one read of the tenant, for a user's groups.
func (s *Service) ManagedGroupIDs(ctx context.Context) (_ map[string]string, err error) {
	defer s.observe(&ctx, "accessctl.ManagedGroupIDs")(&err)
	a, err := idp(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.store.Tenant(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(t.SSO.GroupRoles))
	for _, r := range groupRecords(t) {
		out[r.Name] = r.ID
	}
	return out, nil
}

// ManagedGroup returns one group by its id. ErrNotFound.
func (s *Service) ManagedGroup(ctx context.Context, id string) (*IdPGroup, error) {
	gs, err := s.ManagedGroups(ctx)
	if err != nil {
		return nil, err
	}
	for i := range gs {
		if gs[i].ID == id {
			return &gs[i], nil
		}
	}
	return nil, backoffice.NewError(backoffice.ErrNotFound, "accessctl: scim", "no such group")
}

func validGroupName(op, name string) (string, error) {
	name = strings.TrimSpace(name)
	if r := check.Name(name, 256); r != "" {
		return "", backoffice.NewError(backoffice.ErrInvalid, op, "the group name "+r, backoffice.FieldViolation{Field: "displayName", Reason: r})
	}
	return name, nil
}

// CreateManagedGroup makes a group known to the tenant, mapped to no role
// until an Administrator maps it (mapping stays an Administrator's act,
// under four-eyes where the policy says). ErrConflict if a group has the
// name.
func (s *Service) CreateManagedGroup(ctx context.Context, name, externalID string) (_ *IdPGroup, err error) {
	defer s.observe(&ctx, "accessctl.CreateManagedGroup")(&err)
	const op = "accessctl: scim create group"
	name, err = validGroupName(op, name)
	if err != nil {
		return nil, err
	}
	var rec IdPGroupRecord
	err = s.changeGroups(ctx, op, backoffice.ActionSCIMGroupCreate, func(t *Tenant) error {
		if _, ok := t.SSO.GroupRoles[name]; ok {
			return backoffice.NewError(backoffice.ErrConflict, op, "a group has this name", backoffice.FieldViolation{Field: "displayName", Reason: "taken"})
		}
		if len(t.SSO.GroupRoles) >= 1000 {
			return backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the tenant knows 1,000 groups; remove one first")
		}
		t.SSO.GroupRoles[name] = nil
		rec = IdPGroupRecord{ID: s.newID(), Name: name, ExternalID: strings.TrimSpace(externalID)}
		t.IdPGroups = append(t.IdPGroups, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &IdPGroup{ID: rec.ID, Name: rec.Name, ExternalID: rec.ExternalID}, nil
}

// RenameManagedGroup gives a group a new name and external id. What the
// group maps to, and its members, follow it: a rename grants nothing.
func (s *Service) RenameManagedGroup(ctx context.Context, id, name, externalID string) (err error) {
	defer s.observe(&ctx, "accessctl.RenameManagedGroup")(&err)
	const op = "accessctl: scim rename group"
	name, err = validGroupName(op, name)
	if err != nil {
		return err
	}
	a, err := idp(ctx)
	if err != nil {
		return err
	}
	var old string
	err = s.changeGroups(ctx, op, backoffice.ActionSCIMGroupUpdate, func(t *Tenant) error {
		recs := groupRecords(t)
		i := slices.IndexFunc(recs, func(g IdPGroupRecord) bool { return g.ID == id })
		if i < 0 {
			return backoffice.NewError(backoffice.ErrNotFound, op, "no such group")
		}
		rec := recs[i]
		old = rec.Name
		if _, ok := t.SSO.GroupRoles[name]; ok && name != old {
			return backoffice.NewError(backoffice.ErrConflict, op, "a group has this name", backoffice.FieldViolation{Field: "displayName", Reason: "taken"})
		}
		roles := t.SSO.GroupRoles[old]
		delete(t.SSO.GroupRoles, old)
		t.SSO.GroupRoles[name] = roles
		t.IdPGroups = slices.DeleteFunc(t.IdPGroups, func(g IdPGroupRecord) bool { return g.ID == id })
		t.IdPGroups = append(t.IdPGroups, IdPGroupRecord{ID: id, Name: name, ExternalID: strings.TrimSpace(externalID)})
		return nil
	})
	if err != nil || old == name {
		return err
	}
	ops, err := s.managed(ctx, a.tenant)
	if err != nil {
		return err
	}
	for _, o := range ops {
		if i := slices.Index(o.Groups, old); i >= 0 {
			groups := slices.Clone(o.Groups)
			groups[i] = name
			if _, err := s.SetManagedGroups(ctx, o.ID, groups); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteManagedGroup forgets a group: its members lose what it mapped to
// (and are deprovisioned if it was their last mapped group), then the
// mapping drops it. Taking away is never held.
func (s *Service) DeleteManagedGroup(ctx context.Context, id string) (err error) {
	defer s.observe(&ctx, "accessctl.DeleteManagedGroup")(&err)
	const op = "accessctl: scim delete group"
	g, err := s.ManagedGroup(ctx, id)
	if err != nil {
		return err
	}
	for _, m := range g.Members {
		o, err := s.ManagedOperator(ctx, m)
		if err != nil {
			return err
		}
		if _, err := s.SetManagedGroups(ctx, o.ID, slices.DeleteFunc(slices.Clone(o.Groups), func(x string) bool { return x == g.Name })); err != nil {
			return err
		}
	}
	return s.changeGroups(ctx, op, backoffice.ActionSCIMGroupDelete, func(t *Tenant) error {
		if _, ok := t.SSO.GroupRoles[g.Name]; !ok {
			return backoffice.NewError(backoffice.ErrNotFound, op, "no such group")
		}
		delete(t.SSO.GroupRoles, g.Name)
		t.IdPGroups = slices.DeleteFunc(t.IdPGroups, func(r IdPGroupRecord) bool { return r.ID == id })
		return nil
	})
}

func (s *Service) changeGroups(ctx context.Context, op string, action backoffice.Action, apply func(*Tenant) error) error {
	a, err := idp(ctx)
	if err != nil {
		return err
	}
	for range 3 {
		t, err := s.store.Tenant(ctx, a.tenant)
		if err != nil {
			return err
		}
		after := t.Clone()
		if after.SSO.GroupRoles == nil {
			after.SSO.GroupRoles = map[string][]RoleName{}
		}
		if err := apply(after); err != nil {
			return err
		}
		err = s.writeTenant(ctx, a, t, after, action)
		if !errors.Is(err, backoffice.ErrConflict) {
			return err
		}
	}
	return backoffice.NewError(backoffice.ErrConflict, op, "the tenant kept changing; retry")
}
