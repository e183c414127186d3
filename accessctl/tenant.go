package accessctl

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/internal/check"
)

// Tenant returns the actor's tenant with its settings. Any authenticated
// actor may read it.
func (s *Service) Tenant(ctx context.Context) (_ *Tenant, err error) {
	defer s.observe(&ctx, "accessctl.Tenant")(&err)
	a, ok := ActorFrom(ctx)
	if !ok {
		return nil, backoffice.NewError(backoffice.ErrUnauthenticated, "accessctl: tenant", "log in first")
	}
	return s.store.Tenant(ctx, a.tenant)
}

// TenantSettings changes a tenant's settings; nil fields stay as they are.
type TenantSettings struct {
	Version                  int64
	Name                     *string
	SSO                      *SSOConfig
	EndUserForgotPasswordOff *bool
	// Policy gives the tenant a security policy of its own (PCIDSS4(),
	// say); DefaultPolicy puts it back on the service's. A change of the
	// policy is held for approval when the policy in force lists
	// ApprovePolicyChange.
	Policy        *Policy
	DefaultPolicy bool
	// WebAuthn is the tenant's relying party for passkeys, and whether
	// its operators may sign in with one alone.
	WebAuthn *WebAuthnConfig
}

// ConfigureTenant changes the tenant's name, SSO mode and group-to-role
// mapping, and the end-user forgot-password switch. Needs
// tenant.configure. Every role in the mapping must exist.
func (s *Service) ConfigureTenant(ctx context.Context, in TenantSettings) (_ *Tenant, err error) {
	defer s.observe(&ctx, "accessctl.ConfigureTenant")(&err)
	const op = "accessctl: configure tenant"
	a, err := Require(ctx, PermTenantConfigure)
	if err != nil {
		return nil, err
	}
	before, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	t := before.Clone()
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	if in.SSO != nil {
		t.SSO = in.SSO.clone()
	}
	if in.EndUserForgotPasswordOff != nil {
		t.EndUserForgotPasswordOff = *in.EndUserForgotPasswordOff
	}
	if in.WebAuthn != nil {
		t.WebAuthn = *in.WebAuthn
		t.WebAuthn.Origins = slices.Clone(in.WebAuthn.Origins)
	}
	var v backoffice.Violations
	switch {
	case in.DefaultPolicy:
		t.Policy = nil
	case in.Policy != nil:
		p := in.Policy.clone()
		p.validate(&v)
		t.Policy = &p
	}
	if r := check.Name(t.Name, 200); r != "" {
		v.Add("name", r)
	}
	for _, g := range slices.Sorted(maps.Keys(t.SSO.GroupRoles)) {
		if r := check.Name(g, 256); r != "" {
			v.Add("sso.group_roles", "group names "+r)
		}
		for _, r := range t.SSO.GroupRoles[g] {
			if _, ok := rs.byName[r]; !ok {
				v.Add("sso.group_roles", fmt.Sprintf("unknown role %q", r))
			}
		}
	}
	if len(t.SSO.SAML.IdPMetadata) > 256<<10 {
		v.Add("sso.saml.idp_metadata", "is longer than 256 KiB")
	} else if m := strings.TrimSpace(string(t.SSO.SAML.IdPMetadata)); m != "" && !strings.HasPrefix(m, "<") {
		v.Add("sso.saml.idp_metadata", "is not an XML document")
	}
	if u := t.SSO.SAML.IdPMetadataURL; u != "" {
		if r := metadataURL(u); r != "" {
			v.Add("sso.saml.idp_metadata_url", r)
		}
	}
	if w := t.WebAuthn; w.RPID != "" || len(w.Origins) > 0 {
		if r := check.Domain(w.RPID); r != "" && !isLoopbackHost(w.RPID) {
			v.Add("webauthn.rp_id", r)
		}
		if len(w.Origins) == 0 || len(w.Origins) > 10 {
			v.Add("webauthn.origins", "name between one and ten origins")
		}
		for _, o := range w.Origins {
			if r := webOrigin(o, w.RPID); r != "" {
				v.Add("webauthn.origins", r)
			}
		}
	}
	if t.SSO.Enabled && len(t.SSO.GroupRoles) == 0 {
		v.Add("sso.group_roles", "SSO needs at least one group mapped to a role")
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	c := backoffice.Diff(before, t)
	pb, pa := s.policyOf(before), s.policyOf(t)
	for _, ch := range backoffice.Diff(&pb, &pa) {
		ch.Field = "policy." + ch.Field
		c = append(c, ch)
	}
	if (before.Policy == nil) != (t.Policy == nil) {
		c = append(c, backoffice.Change{Field: "policy.own", Before: fmt.Sprint(before.Policy != nil), After: fmt.Sprint(t.Policy != nil)})
	}
	if len(c) == 0 {
		return before, nil
	}
	// A group newly mapped to a role with a permission only
	// Administrators hold is held like granting Administrator (F5); a
	// change of the policy is held when the policy says so, and a
	// weakening of it whenever the policy holds anything (F7). The
	// approver sees every change, value by value (F6).
	policyChanged := len(c) > len(backoffice.Diff(before, t))
	weakened := policyChanged && len(pb.FourEyes) > 0 && len(pb.weakenings(pa, s.sessionTTL)) > 0
	// Whom the tenant trusts to say who its operators are (the SAML
	// identity provider, linking by email) is held like granting
	// Administrator: that party can sign anyone in to a mapped group.
	// Taking trust away (removing the provider, switching a switch off)
	// is not held.
	ns, bs := t.SSO.SAML, before.SSO.SAML
	trust := ns.IdPMetadata != "" && ns.IdPMetadata != bs.IdPMetadata || ns.IdPMetadataURL != "" && ns.IdPMetadataURL != bs.IdPMetadataURL ||
		ns.AllowIdPInitiated && !bs.AllowIdPInitiated || t.SSO.LinkByEmail && !before.SSO.LinkByEmail
	switch {
	case trust || mapsAdmin(rs, before.SSO.GroupRoles, t.SSO.GroupRoles):
		if err := s.gate(ctx, a, pb, Hold{Action: ApproveGrantAdministrator, TargetType: TargetTenant, TargetID: string(t.ID),
			Effect: c, AdminLevel: true, Always: weakened}); err != nil {
			return nil, err
		}
	default:
		if err := s.gate(ctx, a, pb, Hold{Action: ApprovePolicyChange, TargetType: TargetTenant, TargetID: string(t.ID),
			Effect: c, Always: weakened, Never: !policyChanged}); err != nil {
			return nil, err
		}
	}
	t.UpdatedAt = s.clock()
	if err := s.store.UpdateTenant(ctx, t, in.Version, s.entry(a.Ref(), a.tenant, backoffice.ActionTenantConfigure, TargetTenant, string(t.ID), t.UpdatedAt, c)); err != nil {
		return nil, err
	}
	return t, nil
}

// mapsAdmin reports whether next maps a group to a role with a
// permission only Administrators hold that the group did not map to
// before.
func mapsAdmin(rs *roleSet, before, next map[string][]RoleName) bool {
	for g, roles := range next {
		for _, r := range roles {
			if rs.adminLevel(r) && !slices.Contains(before[g], r) {
				return true
			}
		}
	}
	return false
}

// Roles lists the tenant's roles, preset ones first. Needs operator.read.
func (s *Service) Roles(ctx context.Context) (_ []Role, err error) {
	defer s.observe(&ctx, "accessctl.Roles")(&err)
	a, err := Require(ctx, PermOperatorRead)
	if err != nil {
		return nil, err
	}
	_, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	out := make([]Role, 0, len(rs.order))
	for _, n := range rs.order {
		r := rs.byName[n].Role
		r.Permissions = slices.Clone(r.Permissions)
		out = append(out, r)
	}
	return out, nil
}

// AdministratorRole returns the tenant's Administrator role name.
func (s *Service) AdministratorRole(ctx context.Context) (_ RoleName, err error) {
	defer s.observe(&ctx, "accessctl.AdministratorRole")(&err)
	a, ok := ActorFrom(ctx)
	if !ok {
		return "", backoffice.NewError(backoffice.ErrUnauthenticated, "accessctl: roles", "log in first")
	}
	_, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return "", err
	}
	return rs.admin, nil
}

// CreateRole adds a custom role to the tenant. Needs role.manage. The
// role may hold only permissions the actor holds, so that a role is never
// a way to escalate.
func (s *Service) CreateRole(ctx context.Context, r Role) (_ *Role, err error) {
	defer s.observe(&ctx, "accessctl.CreateRole")(&err)
	return s.saveRole(ctx, r, true)
}

// UpdateRole replaces a custom role's abbreviation, description and
// permissions; r.Version is the version read. Needs role.manage.
// Sessions of operators holding the role keep running with the new
// permissions from their next request.
func (s *Service) UpdateRole(ctx context.Context, r Role) (_ *Role, err error) {
	defer s.observe(&ctx, "accessctl.UpdateRole")(&err)
	return s.saveRole(ctx, r, false)
}

func (s *Service) saveRole(ctx context.Context, r Role, create bool) (*Role, error) {
	op := "accessctl: update role"
	if create {
		op = "accessctl: create role"
	}
	a, err := Require(ctx, PermRoleManage)
	if err != nil {
		return nil, err
	}
	t, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	r.Tenant = a.tenant
	r.Abbrev = strings.TrimSpace(r.Abbrev)
	r.Description = strings.TrimSpace(r.Description)
	r.Permissions = slices.Compact(slices.Sorted(slices.Values(r.Permissions)))
	var v backoffice.Violations
	if !validPermissionName("role." + string(r.Name)) {
		v.Add("name", "must be lower-case letters, digits and _")
	}
	if r := check.Name(r.Abbrev, 16); r != "" {
		v.Add("abbrev", r)
	}
	if r := check.Text(r.Description, 500); r != "" {
		v.Add("description", r)
	}
	set, err := s.cat.compile(r.Permissions)
	if err != nil {
		v.Add("permissions", "lists a permission not in the catalog")
	}
	existing, exists := rs.byName[r.Name]
	if exists && existing.Tenant == "" {
		v.Add("name", fmt.Sprintf("is a role of preset %q", t.Preset))
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	if !create && !exists {
		return nil, backoffice.Errorf(backoffice.ErrNotFound, op, "no custom role %q", r.Name)
	}
	if a.kind != backoffice.ActorSystem && !set.subsetOf(&a.set) {
		return nil, backoffice.NewError(backoffice.ErrForbidden, op, "a role may hold only permissions you hold")
	}
	now := s.clock()
	var holders []*Operator
	if create {
		c := backoffice.Diff(nil, &r)
		err = s.store.CreateRole(ctx, &r, s.entry(a.Ref(), a.tenant, backoffice.ActionRoleCreate, TargetRole, string(r.Name), now, c))
	} else {
		c := backoffice.Diff(&existing.Role, &r)
		if !set.subsetOf(&existing.set) {
			// Permissions added reach every holder: a grant to each (F4),
			// held like granting Administrator when one of them only
			// Administrators hold (F5).
			if holders, err = s.holders(ctx, a.tenant, r.Name); err != nil {
				return nil, err
			}
		}
		gained := set.minus(&existing.set)
		if err := s.gate(ctx, a, s.policyOf(t), Hold{Action: ApproveGrantAdministrator, TargetType: TargetRole, TargetID: string(r.Name),
			Effect: c, AdminLevel: true, Never: len(holders) == 0 || !gained.intersects(&rs.adminOnly)}); err != nil {
			return nil, err
		}
		// The grant is recorded on each holder before the role changes: a
		// failure leaves the role as it was, and an edit that then fails
		// leaves holders that merely name one more operator whose requests
		// they may not decide, never the other way round.
		for _, h := range holders {
			if err := s.recordGrant(ctx, a, h); err != nil {
				return nil, err
			}
		}
		expect := r.Version
		err = s.store.UpdateRole(ctx, &r, expect, s.entry(a.Ref(), a.tenant, backoffice.ActionRoleUpdate, TargetRole, string(r.Name), now, c))
	}
	if err != nil {
		return nil, err
	}
	if err := s.publishRoles(ctx, a.tenant); err != nil {
		return nil, backoffice.Errorf(backoffice.ErrUnavailable, op,
			"the role is saved, but not yet in force on every instance; save it again: %v", err)
	}
	return &r, nil
}

// publishRoles tells the session store the tenant's new roles version,
// which it returns with every session: each instance then recompiles the
// tenant's roles at its next request. A session store that holds tenants
// reads the version from them, in the same transaction as the change.
func (s *Service) publishRoles(ctx context.Context, tenant backoffice.TenantID) error {
	t, err := s.store.Tenant(ctx, tenant)
	if err != nil {
		return err
	}
	s.forgetRoles(tenant)
	return s.sessions.SetRolesVersion(ctx, tenant, t.RolesVersion)
}

// holders lists every operator of the tenant holding the role.
func (s *Service) holders(ctx context.Context, tenant backoffice.TenantID, role RoleName) ([]*Operator, error) {
	var out []*Operator
	for after := OperatorID(""); ; {
		page, err := s.store.Operators(ctx, tenant, OperatorQuery{Role: &role, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 500 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// recordGrant records on o that the actor granted it something through
// a role it holds (F4), retrying while o changes.
func (s *Service) recordGrant(ctx context.Context, a *Actor, o *Operator) error {
	for range retries {
		next := o.Clone()
		if err := s.grantBy(ctx, a, next, granted); err != nil {
			return err
		}
		if slices.Equal(next.GrantedBy, o.GrantedBy) {
			return nil
		}
		next.UpdatedAt = s.clock()
		err := s.store.UpdateOperator(ctx, next, o.Version, Guard{}, s.operatorEntry(a.Ref(), backoffice.ActionOperatorUpdate, o, next))
		if !errors.Is(err, backoffice.ErrConflict) {
			return err
		}
		if o, err = s.store.Operator(ctx, o.Tenant, o.ID); err != nil {
			return err
		}
	}
	return backoffice.NewError(backoffice.ErrConflict, "accessctl: record grant", "the operator kept changing")
}

// metadataURL checks where a tenant's SAML metadata is published: an
// https URL, or http on the loopback interface (a test's identity
// provider).
func metadataURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || len(raw) > 2000:
		return "is not an absolute URL"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return ""
	}
	return "must be an https URL"
}

func isLoopbackHost(h string) bool {
	ip := net.ParseIP(h)
	return h == "localhost" || ip != nil && ip.IsLoopback()
}

// webOrigin checks an origin passkeys are used from: https (or http on
// the loopback interface), no path, a host within the relying party id.
func webOrigin(raw, rpID string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" || len(raw) > 300:
		return fmt.Sprintf("%q is not an origin such as https://admin.example.com", raw)
	case u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())):
		return fmt.Sprintf("%q must be https", raw)
	case u.Hostname() != rpID && !strings.HasSuffix(u.Hostname(), "."+rpID):
		return fmt.Sprintf("%q is not within the relying party id %q", raw, rpID)
	}
	return ""
}
