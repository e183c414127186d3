package accessctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
)

// The actions this package runs on approval: a grant of
// Administrator-level permissions (to an operator, through a custom
// role's edit, or through an SSO group mapping), changing the tenant's
// settings and policy, and a break-glass elevation.
func (s *Service) handleOwnApprovals() {
	s.HandleApproved(ApproveGrantAdministrator, Executor{Permission: PermOperatorEdit, Run: s.runAdminGrant})
	s.HandleApproved(ApprovePolicyChange, Executor{Permission: PermTenantConfigure, Run: s.runTenantSettings})
	s.HandleApproved(ApproveElevation, Executor{Permission: PermOperatorEdit, AnyRequester: true, Run: s.runElevation})
}

// runAdminGrant makes the change a grant of Administrator-level
// permissions stood for, by its target:
//   - an operator: the edit of its roles, params "version", "roles"
//     (comma-separated), and either "until" (RFC 3339) for the
//     Administrator role granted until a time, or "role_until" (a JSON
//     object of role to RFC 3339 time, replacing every end; {} makes
//     every role permanent);
//   - a role: the edit of a custom role, params "version", "permissions"
//     (comma-separated), "abbrev" and "description";
//   - the tenant: the activation of a SCIM token, param "scim_token" (its
//     id), or else its settings, as runTenantSettings reads them.
func (s *Service) runAdminGrant(ctx context.Context, ap *Approval) error {
	const op = "accessctl: grant administrator"
	switch ap.TargetType {
	case TargetTenant:
		if id := ap.Params["scim_token"]; id != "" {
			return s.ActivateSCIMToken(ctx, id)
		}
		return s.runTenantSettings(ctx, ap)
	case TargetRole:
		return s.runRoleEdit(ctx, ap)
	case TargetOperator:
	default:
		return backoffice.Errorf(backoffice.ErrInvalid, op, "nothing of type %q is granted", ap.TargetType)
	}
	version, err := ParamVersion(ap)
	if err != nil {
		return err
	}
	roles := splitList[RoleName](ap.Params["roles"])
	u := OperatorUpdate{Version: version, Roles: &roles}
	if until := ap.Params["until"]; until != "" {
		t, err := time.Parse(time.RFC3339Nano, until)
		if err != nil {
			return backoffice.NewError(backoffice.ErrInvalid, op, "until must be an RFC 3339 time")
		}
		admin, err := s.AdministratorRole(ctx)
		if err != nil {
			return err
		}
		u.RoleUntil = &map[RoleName]time.Time{admin: t}
	}
	if ru, ok := ap.Params["role_until"]; ok {
		m := map[RoleName]time.Time{}
		if err := json.Unmarshal([]byte(ru), &m); err != nil {
			return backoffice.NewError(backoffice.ErrInvalid, op, "role_until must be a JSON object of roles to RFC 3339 times")
		}
		u.RoleUntil = &m
	}
	_, err = s.UpdateOperator(ctx, OperatorID(ap.TargetID), u)
	return err
}

// splitList reads a comma-separated list, without empty items.
func splitList[T ~string](s string) []T {
	out := []T{}
	for r := range strings.SplitSeq(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, T(r))
		}
	}
	return out
}

// runRoleEdit makes the edit of a custom role a request stood for.
func (s *Service) runRoleEdit(ctx context.Context, ap *Approval) error {
	version, err := ParamVersion(ap)
	if err != nil {
		return err
	}
	_, err = s.UpdateRole(ctx, Role{Name: RoleName(ap.TargetID), Abbrev: ap.Params["abbrev"], Description: ap.Params["description"],
		Permissions: splitList[Permission](ap.Params["permissions"]), Version: version})
	return err
}

// runTenantSettings sets the tenant's settings a request stood for:
// params "version"; "policy" (the Policy as JSON), or "default" = "true"
// to go back to the service's; "sso" (the SSOConfig as JSON); "name".
// Absent params leave their settings as they are.
func (s *Service) runTenantSettings(ctx context.Context, ap *Approval) error {
	const op = "accessctl: tenant settings"
	version, err := ParamVersion(ap)
	if err != nil {
		return err
	}
	in := TenantSettings{Version: version, DefaultPolicy: ap.Params["default"] == "true"}
	if raw, ok := ap.Params["policy"]; ok && !in.DefaultPolicy {
		var p Policy
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return backoffice.NewError(backoffice.ErrInvalid, op, "the request's policy is not valid JSON")
		}
		in.Policy = &p
	}
	if raw, ok := ap.Params["sso"]; ok {
		var c SSOConfig
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			return backoffice.NewError(backoffice.ErrInvalid, op, "the request's sso is not valid JSON")
		}
		in.SSO = &c
	}
	if name, ok := ap.Params["name"]; ok {
		in.Name = &name
	}
	_, err = s.ConfigureTenant(ctx, in)
	return err
}

// RequestElevation asks for break-glass access (T2): the actor is to hold
// role for d, at most the tenant's Policy.MaxElevation, once a second
// operator holding operator.edit approves; it needs a reason. Approval
// grants the role until d after the approval, recorded in the history
// with the request, and ends the operator's sessions so that its next
// login has it; the role stops counting at its end with no job running.
func (s *Service) RequestElevation(ctx context.Context, role RoleName, d time.Duration, reason string) (_ *Approval, err error) {
	defer s.observe(&ctx, "accessctl.RequestElevation")(&err)
	const op = "accessctl: request elevation"
	a, ok := ActorFrom(ctx)
	if !ok || a.kind != backoffice.ActorOperator {
		return nil, backoffice.NewError(backoffice.ErrUnauthenticated, op, "only an operator with a session asks for an elevation")
	}
	t, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	max := s.policyOf(t).maxElevation()
	var v backoffice.Violations
	if _, ok := rs.byName[role]; !ok {
		v.Add("role", "unknown role")
	} else if a.holdsRole(role) {
		v.Add("role", "you hold it already")
	}
	if d <= 0 || d > max {
		v.Add("duration", fmt.Sprintf("must be more than 0 and at most %s", max))
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	return s.RequestApproval(ctx, ApprovalRequest{Action: ApproveElevation, TargetType: TargetOperator, TargetID: a.id,
		Params: map[string]string{"role": string(role), "duration": d.String()}, Reason: reason})
}

// runElevation grants the role a break-glass request asked for, until
// its duration after now, on the approver's authority.
func (s *Service) runElevation(ctx context.Context, ap *Approval) error {
	const op = "accessctl: elevate"
	d, err := time.ParseDuration(ap.Params["duration"])
	role := RoleName(ap.Params["role"])
	if err != nil || d <= 0 {
		return backoffice.NewError(backoffice.ErrInvalid, op, "the request has no valid duration")
	}
	t, rs, err := s.tenantRoles(ctx, ap.Tenant)
	if err != nil {
		return err
	}
	if d > s.policyOf(t).maxElevation() {
		return backoffice.Errorf(backoffice.ErrFailedPrecondition, op, "the policy now allows at most %s", s.policyOf(t).maxElevation())
	}
	if _, ok := rs.byName[role]; !ok {
		return backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the role no longer exists")
	}
	a, ok := ActorFrom(ctx)
	if !ok {
		return backoffice.NewError(backoffice.ErrUnauthenticated, op, "log in first")
	}
	ref := backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:break-glass", Name: "approved by " + ap.DeciderName}
	for range retries {
		before, err := s.store.Operator(ctx, ap.Tenant, ap.RequestedBy)
		if err != nil {
			return err
		}
		if before.Status != StatusActive {
			return wrongStatus(op, before, "an active operator")
		}
		if before.HoldsForGood(role) {
			return backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the operator holds the role for good already")
		}
		o := before.Clone()
		if !o.HasRole(role) {
			o.Roles = sortedRoles(append(o.Roles, role))
		}
		if o.RoleUntil == nil {
			o.RoleUntil = map[RoleName]time.Time{}
		}
		o.UpdatedAt = s.clock()
		o.RoleUntil[role] = o.UpdatedAt.Add(d)
		o.SessionEpoch++
		// The effect names the duration, not its end, which runs from the
		// approval (F6).
		effect := append(backoffice.Diff(&rolesOf{before.Roles}, &rolesOf{o.Roles}),
			backoffice.Change{Field: "elevation", After: fmt.Sprintf("%s for %s from the approval", role, d)})
		if err := s.gate(ctx, a, s.policyOf(t), Hold{Action: ApproveElevation, TargetType: TargetOperator, TargetID: string(ap.RequestedBy),
			Effect: effect, AdminLevel: rs.adminLevel(role), Always: true}); err != nil {
			return err
		}
		e := s.operatorEntry(ref, backoffice.ActionOperatorElevate, before, o, backoffice.Change{Field: "approval", After: ap.ID},
			backoffice.Change{Field: "reason", After: ap.Reason})
		err = s.store.UpdateOperator(ctx, o, before.Version, Guard{}, e)
		if errors.Is(err, backoffice.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		return s.endSessions(ctx, op, o.Tenant, o.ID)
	}
	return backoffice.NewError(backoffice.ErrConflict, op, "the operator kept changing; approve again")
}

// ExpireGrants tidies the tenant's operators whose time-bound roles or
// account access reached their end: it removes them and records each end
// in the operator's history (T1). Access already stopped counting at the
// end, with or without this call; a host runs it from time to time so
// that lists and reviews show only what counts. The last Administrator
// holding the role for good is never touched. Needs operator.edit, or
// the host's system actor. Returns how many operators it changed.
func (s *Service) ExpireGrants(ctx context.Context) (_ int, err error) {
	defer s.observe(&ctx, "accessctl.ExpireGrants")(&err)
	a, err := Require(ctx, PermOperatorEdit)
	if err != nil {
		return 0, err
	}
	_, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return 0, err
	}
	ref := backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:grants", Name: "time-bound access"}
	changed := 0
	for after := OperatorID(""); ; {
		page, err := s.store.Operators(ctx, a.tenant, OperatorQuery{After: after, Limit: 500})
		if err != nil {
			return changed, err
		}
		for _, before := range page {
			now := s.clock()
			o, ended := endGrants(before, now)
			if !ended {
				continue
			}
			o.SessionEpoch++
			o.UpdatedAt = now
			e := s.operatorEntry(ref, backoffice.ActionOperatorGrantEnd, before, o)
			switch err := s.store.UpdateOperator(ctx, o, before.Version, guardFor(nil, rs, before, o), e); {
			case errors.Is(err, backoffice.ErrConflict):
				continue // changed meanwhile; the next run sees it
			case err != nil:
				return changed, err
			}
			changed++
			s.after(ctx, "ending sessions after a grant ended", s.sessions.DeleteOperatorSessions(ctx, o.Tenant, o.ID))
		}
		if len(page) < 500 {
			return changed, nil
		}
		after = page[len(page)-1].ID
	}
}

// endGrants returns o without its grants ended at now, and whether any
// had.
func endGrants(before *Operator, now time.Time) (*Operator, bool) {
	o := before.Clone()
	ended := false
	for _, r := range slices.Sorted(maps.Keys(o.RoleUntil)) {
		if !now.Before(o.RoleUntil[r]) {
			o.Roles = slices.DeleteFunc(o.Roles, func(x RoleName) bool { return x == r })
			delete(o.RoleUntil, r)
			ended = true
		}
	}
	if len(o.RoleUntil) == 0 {
		o.RoleUntil = nil
	}
	if !o.AccessUntil.IsZero() && !now.Before(o.AccessUntil) {
		o.AllAccounts, o.Accounts, o.AccessUntil = false, nil, time.Time{}
		ended = true
	}
	return o, ended
}

// rolesOf is an operator's roles alone, recorded as its roles are.
type rolesOf struct {
	Roles []RoleName `audit:"roles"`
}
