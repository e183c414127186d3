package accessctl

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/internal/check"
)

// NewOperator is the input for creating, inviting and duplicating operators.
type NewOperator struct {
	Username    string
	Email       string
	FirstName   string
	LastName    string
	Roles       []RoleName
	AllAccounts bool
	Accounts    []AccountID
	ExternalKey string
	// Password and PasswordConfirmation are for CreateOperator and
	// Bootstrap only; an invitation lets the operator choose a password.
	Password             backoffice.Secret
	PasswordConfirmation backoffice.Secret
}

// OperatorUpdate changes an operator; nil fields stay as they are. Version
// is the version the caller read.
type OperatorUpdate struct {
	Version     int64
	Username    *string
	Email       *string
	FirstName   *string
	LastName    *string
	ExternalKey *string
	Roles       *[]RoleName
	AllAccounts *bool
	Accounts    *[]AccountID
	// RoleUntil replaces the operator's time-bound roles: each key must be
	// one of the roles it ends up with, and stops counting at its time,
	// with no job running (T1). An empty map makes every role permanent.
	RoleUntil *map[RoleName]time.Time
	// AccessUntil sets when the operator's account access ends; the zero
	// time removes the end.
	AccessUntil *time.Time
}

// BootstrapInput creates a tenant with its first Administrator.
type BootstrapInput struct {
	Tenant backoffice.TenantID
	Name   string
	// Preset is PresetDashboard or PresetPortal (or a host preset).
	Preset string
	// Admin is the first Administrator; its Roles are ignored and set to
	// the preset's Administrator role. A password is required.
	Admin NewOperator
}

func normalize(in *NewOperator) {
	in.Username = strings.TrimSpace(in.Username)
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.FirstName = strings.TrimSpace(in.FirstName)
	in.LastName = strings.TrimSpace(in.LastName)
	in.ExternalKey = strings.TrimSpace(in.ExternalKey)
}

// validateIdentity checks the fields every operator needs.
func validateIdentity(v *backoffice.Violations, username, email, first, last, key string, needEmail bool) {
	if username == "" && email == "" {
		v.Add("username", "a username or an email is required")
	}
	if username != "" {
		if r := check.Username(username); r != "" {
			v.Add("username", r)
		}
	}
	if email != "" || needEmail {
		if r := check.Email(email); r != "" {
			v.Add("email", r)
		}
	}
	if r := check.Name(first, 100); r != "" {
		v.Add("first_name", r)
	}
	if r := check.Name(last, 100); r != "" {
		v.Add("last_name", r)
	}
	if r := check.Text(key, 256); r != "" {
		v.Add("external_key", r)
	}
}

func (s *Service) validatePassword(v *backoffice.Violations, pw, confirm backoffice.Secret, username, email string) {
	for _, r := range s.policy.Check(string(pw), username, email) {
		v.Add("password", r)
	}
	if pw != confirm {
		v.Add("password_confirmation", "does not match the password")
	}
}

func validateRoles(v *backoffice.Violations, rs *roleSet, roles []RoleName) {
	if len(roles) == 0 {
		v.Add("roles", "at least one role is required")
	}
	for _, r := range roles {
		if _, ok := rs.byName[r]; !ok {
			v.Add("roles", fmt.Sprintf("unknown role %q", r))
		}
	}
}

func validateAccounts(v *backoffice.Violations, accounts []AccountID) {
	for _, a := range accounts {
		if a == "" || check.Text(string(a), 128) != "" {
			v.Add("accounts", "account ids must be 1 to 128 printable characters")
			return
		}
	}
}

// canGrant reports whether the actor may give a role it is not yet sure the
// target holds: it holds the role itself, or every permission of the
// role. Only an Administrator may grant the Administrator role, or any
// role with a permission only Administrators hold (F5).
func canGrant(a *Actor, rs *roleSet, r RoleName) bool {
	if a.kind == backoffice.ActorSystem {
		return true
	}
	if r == rs.admin || rs.adminLevel(r) {
		return a.admin
	}
	if a.holdsRole(r) {
		return true
	}
	cr, ok := rs.byName[r]
	return ok && cr.set.subsetOf(&a.set)
}

// checkGrant enforces who may grant what for the roles and accounts an operator
// will have; before is nil for a new operator.
func checkGrant(op string, a *Actor, rs *roleSet, before *Operator, roles []RoleName, all bool, accounts []AccountID) error {
	for _, r := range roles {
		if before != nil && before.HasRole(r) {
			continue
		}
		if !canGrant(a, rs, r) {
			if r == rs.admin || rs.adminLevel(r) {
				return backoffice.NewError(backoffice.ErrForbidden, op, "only an Administrator may grant the Administrator role or a role with its permissions")
			}
			return backoffice.Errorf(backoffice.ErrForbidden, op, "you may grant only roles you hold; %s grants permissions you lack", r)
		}
	}
	if a.allAccounts {
		return nil
	}
	if all && (before == nil || !before.AllAccounts) {
		return backoffice.NewError(backoffice.ErrForbidden, op, "you may grant only account access you hold; you do not have access to all accounts")
	}
	for _, acc := range accounts {
		if before != nil && (before.AllAccounts || slices.Contains(before.Accounts, acc)) {
			continue
		}
		if !slices.Contains(a.accounts, acc) {
			return backoffice.Errorf(backoffice.ErrForbidden, op, "you may grant only account access you hold; you have no access to account %s", acc)
		}
	}
	return nil
}

// requireAdminFor enforces that only Administrators act on Administrators,
// and on operators holding any permission only Administrators hold.
func requireAdminFor(op string, a *Actor, rs *roleSet, target *Operator) error {
	if (target.HasRole(rs.admin) || rs.adminLevel(target.Roles...)) && !a.admin {
		return backoffice.NewError(backoffice.ErrForbidden, op, "only an Administrator may change an Administrator")
	}
	return nil
}

// guardFor returns the guard of a change made by a: the actor check of
// an operator actor, and the last-Administrator guard when the change may leave the
// tenant without an active Administrator. A nil a is the service's own
// bookkeeping.
func guardFor(a *Actor, rs *roleSet, before, after *Operator) Guard {
	g := actorGuard(a)
	wasAdmin := before.Status == StatusActive && before.HoldsForGood(rs.admin)
	if wasAdmin && (after == nil || after.Status != StatusActive || !after.HoldsForGood(rs.admin)) {
		g.KeepAdmin = rs.admin
	}
	return g
}

// How an actor's change reaches an operator (F4).
const (
	// granted: the change gives the operator access (roles, accounts, end
	// dates, an unblock).
	granted = false
	// controlled: the change may give the actor the operator's keys: its
	// creation, reactivation, password, login or MFA.
	controlled = true
)

// grantBy records on o that the operator actor a changed it (F4): a and
// those a was granted by join o.GrantedBy, and when the change is
// controlled, a and those a is controlled by join o.ControlledBy. The
// host's system actor is recorded nowhere.
func (s *Service) grantBy(ctx context.Context, a *Actor, o *Operator, control bool) error {
	if a == nil || a.kind != backoffice.ActorOperator {
		return nil
	}
	me, err := s.store.Operator(ctx, a.tenant, OperatorID(a.id))
	if err != nil {
		return err
	}
	o.GrantedBy = joinIDs(o.ID, o.GrantedBy, me.GrantedBy, []OperatorID{me.ID})
	if control {
		o.ControlledBy = joinIDs(o.ID, o.ControlledBy, me.ControlledBy, []OperatorID{me.ID})
	}
	return nil
}

// joinIDs is the sorted union of the lists, without self; nil when empty.
func joinIDs(self OperatorID, lists ...[]OperatorID) []OperatorID {
	var out []OperatorID
	for _, l := range lists {
		out = append(out, l...)
	}
	out = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(out))), func(id OperatorID) bool { return id == self })
	if len(out) == 0 {
		return nil
	}
	return out
}

// actorGuard makes a store check, atomically with the write, that an
// operator actor is still active at the epoch it was authenticated with:
// an actor built before its own deactivation, block or role change
// cannot act any more once that change is stored.
func actorGuard(a *Actor) Guard {
	if a == nil || a.kind != backoffice.ActorOperator {
		return Guard{}
	}
	return Guard{Actor: OperatorID(a.id), ActorEpoch: a.epoch}
}

// Bootstrap creates a tenant and its first Administrator with a password.
// It needs no actor: it is how the first actor comes to be, and it is
// audited as the system actor "bootstrap". It fails with ErrConflict when
// the tenant already has operators.
func (s *Service) Bootstrap(ctx context.Context, in BootstrapInput) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.Bootstrap")(&err)
	const op = "accessctl: bootstrap"
	p, ok := s.presets[in.Preset]
	var v backoffice.Violations
	if r := check.Username(string(in.Tenant)); r != "" {
		v.Add("tenant", r)
	}
	if r := check.Name(in.Name, 200); r != "" {
		v.Add("name", r)
	}
	if !ok {
		v.Add("preset", "unknown preset")
	}
	normalize(&in.Admin)
	validateIdentity(&v, in.Admin.Username, in.Admin.Email, in.Admin.FirstName, in.Admin.LastName, in.Admin.ExternalKey, false)
	s.validatePassword(&v, in.Admin.Password, in.Admin.PasswordConfirmation, in.Admin.Username, in.Admin.Email)
	if err := v.Err(op); err != nil {
		return nil, err
	}
	sys := SystemActor(in.Tenant, "bootstrap")
	now := s.clock()
	t := &Tenant{ID: in.Tenant, Name: in.Name, Preset: in.Preset, CreatedAt: now, UpdatedAt: now}
	err = s.store.CreateTenant(ctx, t, s.entry(sys.Ref(), t.ID, backoffice.ActionTenantCreate, TargetTenant, string(t.ID), now, backoffice.Diff(nil, t)))
	if errors.Is(err, backoffice.ErrConflict) {
		existing, lerr := s.store.Operators(ctx, in.Tenant, OperatorQuery{Limit: 1})
		if lerr != nil {
			return nil, lerr
		}
		if len(existing) > 0 {
			return nil, backoffice.NewError(backoffice.ErrConflict, op, "the tenant already exists and has operators; log in as one of them")
		}
	} else if err != nil {
		return nil, err
	}
	in.Admin.Roles = []RoleName{p.Admin}
	in.Admin.AllAccounts = true
	in.Admin.Accounts = nil
	ctx = NewContext(ctx, sys)
	return s.create(ctx, op, sys, nil, in.Admin, true)
}

// CreateOperator creates an active operator with an initial password that
// meets the policy and matches its confirmation. Needs
// operator.create; the granting rules limit the roles and accounts it may grant.
func (s *Service) CreateOperator(ctx context.Context, in NewOperator) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.CreateOperator")(&err)
	a, err := Require(ctx, PermOperatorCreate)
	if err != nil {
		return nil, err
	}
	return s.create(ctx, "accessctl: create operator", a, nil, in, true)
}

// InviteOperator creates an invited operator and sends it a verification
// link valid 14 days through which it verifies its email, sets a
// password and enrols MFA. Needs operator.create.
func (s *Service) InviteOperator(ctx context.Context, in NewOperator) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.InviteOperator")(&err)
	a, err := Require(ctx, PermOperatorCreate)
	if err != nil {
		return nil, err
	}
	return s.create(ctx, "accessctl: invite operator", a, nil, in, false)
}

// DuplicateOperator invites a new operator with the roles and account
// access of an existing one, keeping only those the actor may grant:
// the copy may have fewer permissions than the original. When in.Roles is
// set, those roles are used instead and every one must be grantable.
func (s *Service) DuplicateOperator(ctx context.Context, source OperatorID, in NewOperator) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.DuplicateOperator")(&err)
	const op = "accessctl: duplicate operator"
	a, err := Require(ctx, PermOperatorCreate)
	if err != nil {
		return nil, err
	}
	src, err := s.store.Operator(ctx, a.tenant, source)
	if err != nil {
		return nil, err
	}
	_, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	if in.Roles == nil {
		for _, r := range src.Roles {
			if canGrant(a, rs, r) {
				in.Roles = append(in.Roles, r)
			}
		}
		switch {
		case src.AllAccounts && a.allAccounts:
			in.AllAccounts = true
		case src.AllAccounts:
			in.Accounts = slices.Clone(a.accounts)
		default:
			for _, acc := range src.Accounts {
				if a.hasAccount(acc) {
					in.Accounts = append(in.Accounts, acc)
				}
			}
		}
		if len(in.Roles) == 0 {
			return nil, backoffice.NewError(backoffice.ErrForbidden, op, "you hold none of the source operator's roles, so nothing can be copied")
		}
	}
	return s.create(ctx, op, a, src, in, false)
}

func (s *Service) create(ctx context.Context, op string, a *Actor, src *Operator, in NewOperator, withPassword bool) (*Operator, error) {
	t, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	if t.SSO.Enabled {
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the tenant uses SSO; create operators in the identity provider")
	}
	normalize(&in)
	in.Roles = sortedRoles(in.Roles)
	var v backoffice.Violations
	validateIdentity(&v, in.Username, in.Email, in.FirstName, in.LastName, in.ExternalKey, !withPassword)
	validateRoles(&v, rs, in.Roles)
	validateAccounts(&v, in.Accounts)
	if withPassword {
		s.validatePassword(&v, in.Password, in.PasswordConfirmation, in.Username, in.Email)
		if err := s.checkNewPassword(ctx, &v, s.policyOf(t), nil, in.Password); err != nil {
			return nil, err
		}
	} else {
		if in.Password != "" {
			v.Add("password", "an invited operator chooses its own password; leave it empty")
		}
		if in.PasswordConfirmation != "" {
			v.Add("password_confirmation", "an invited operator chooses its own password; leave it empty")
		}
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	if err := checkGrant(op, a, rs, nil, in.Roles, in.AllAccounts, in.Accounts); err != nil {
		return nil, err
	}
	now := s.clock()
	o := &Operator{ID: OperatorID(s.newID()), Tenant: a.tenant, Username: in.Username, Email: in.Email,
		FirstName: in.FirstName, LastName: in.LastName, Roles: in.Roles, AllAccounts: in.AllAccounts,
		Accounts: slices.Clone(in.Accounts), ExternalKey: in.ExternalKey, Status: StatusInvited,
		CreatedAt: now, UpdatedAt: now}
	if in.AllAccounts {
		o.Accounts = nil
	}
	if err := s.grantBy(ctx, a, o, controlled); err != nil {
		return nil, err
	}
	if rs.adminLevel(in.Roles...) {
		// A new operator's id is drawn anew on every call, so no request
		// could stand for it: an Administrator-level operator is made by
		// granting an existing one the role, through approval.
		if err := s.gate(ctx, a, s.policyOf(t), Hold{Action: ApproveGrantAdministrator, TargetType: TargetOperator,
			Effect: backoffice.Diff(nil, o), AdminLevel: true}); err != nil {
			return nil, err
		}
	}
	if withPassword {
		if o.PasswordHash, err = s.hasher.Hash(ctx, string(in.Password)); err != nil {
			return nil, err
		}
		o.PasswordChangedAt = now
		o.Status = StatusActive
	}
	action := backoffice.ActionOperatorCreate
	var extra []backoffice.Change
	switch {
	case src != nil:
		action = backoffice.ActionOperatorDuplicate
		extra = append(extra, backoffice.Change{Field: "duplicated_from", After: string(src.ID)})
	case !withPassword:
		action = backoffice.ActionOperatorInvite
	}
	e := s.operatorEntry(a.Ref(), action, nil, o, extra...)
	var notice OperatorNotice
	if !withPassword {
		// The link exists before the operator it is for: were the creation
		// to fail, it would only lapse unused.
		token, exp, err := s.issue(ctx, PurposeInvitation, o, s.invitationTTL)
		if err != nil {
			return nil, err
		}
		notice = OperatorNotice{Kind: NoticeInvitation, Tenant: o.Tenant, Operator: o.ID, Email: o.Email,
			Name: o.FirstName + " " + o.LastName, Token: token, ExpiresAt: exp}
		s.attach(&e, notice)
	}
	if err := s.store.CreateOperator(ctx, o, actorGuard(a), e); err != nil {
		return nil, err
	}
	if !withPassword {
		s.sent(ctx, notice)
	}
	return o, nil
}

// ResendInvitation sends an invited operator a new verification link valid
// 24 hours and voids every earlier link. Needs operator.create.
func (s *Service) ResendInvitation(ctx context.Context, id OperatorID) (err error) {
	defer s.observe(&ctx, "accessctl.ResendInvitation")(&err)
	const op = "accessctl: resend invitation"
	a, err := Require(ctx, PermOperatorCreate)
	if err != nil {
		return err
	}
	o, _, _, err := s.loadTarget(ctx, op, a, id)
	if err != nil {
		return err
	}
	if o.Status != StatusInvited {
		return backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the operator has already accepted its invitation")
	}
	token, exp, err := s.issue(ctx, PurposeInvitation, o, s.verificationTTL)
	if err != nil {
		return err
	}
	notice := OperatorNotice{Kind: NoticeVerification, Tenant: o.Tenant, Operator: o.ID, Email: o.Email,
		Name: o.FirstName + " " + o.LastName, Token: token, ExpiresAt: exp}
	e := s.entry(a.Ref(), a.tenant, backoffice.ActionOperatorResendInvitation, TargetOperator, string(o.ID), s.clock(), nil)
	s.attach(&e, notice)
	if err := s.store.AppendAuditEntry(ctx, e); err != nil {
		return err
	}
	s.sent(ctx, notice)
	return nil
}

// Link is a link an operator was sent and has not followed yet: an
// invitation (or the verification link that replaced it) or a password
// reset. The link itself is never given out again.
type Link struct {
	Purpose   TokenPurpose `json:"purpose"`
	SentAt    time.Time    `json:"sent_at"`
	ExpiresAt time.Time    `json:"expires_at"`
}

// Links lists the links outstanding for an operator, by purpose, with when
// each was sent and when it expires: what a manager checks before sending
// one again. Needs operator.read.
func (s *Service) Links(ctx context.Context, id OperatorID) (_ []Link, err error) {
	defer s.observe(&ctx, "accessctl.Links")(&err)
	a, err := Require(ctx, PermOperatorRead)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Operator(ctx, a.tenant, id); err != nil {
		return nil, err
	}
	toks, err := s.tokens.OperatorTokens(ctx, a.tenant, id)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var out []Link
	for _, t := range toks {
		if t.Purpose == PurposeMFAChallenge || !now.Before(t.ExpiresAt) {
			continue
		}
		out = append(out, Link{Purpose: t.Purpose, SentAt: t.CreatedAt, ExpiresAt: t.ExpiresAt})
	}
	slices.SortFunc(out, func(x, y Link) int { return strings.Compare(string(x.Purpose), string(y.Purpose)) })
	return out, nil
}

// loadTarget loads an operator of the actor's tenant, the tenant and its
// roles, and refuses a non-Administrator acting on an Administrator.
func (s *Service) loadTarget(ctx context.Context, op string, a *Actor, id OperatorID) (*Operator, *Tenant, *roleSet, error) {
	o, err := s.store.Operator(ctx, a.tenant, id)
	if err != nil {
		return nil, nil, nil, err
	}
	t, rs, err := s.tenantRoles(ctx, a.tenant)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := requireAdminFor(op, a, rs, o); err != nil {
		return nil, nil, nil, err
	}
	return o, t, rs, nil
}

// loadLocal is loadTarget for a change only the back office makes: its
// password, MFA, reactivation or SSO key. An operator the identity
// provider manages is refused while the tenant is in SSO mode (I6).
func (s *Service) loadLocal(ctx context.Context, op string, a *Actor, id OperatorID) (*Operator, *Tenant, *roleSet, error) {
	o, t, rs, err := s.loadTarget(ctx, op, a, id)
	if err == nil && managedByIdP(t, o) {
		return nil, nil, nil, ErrManagedByIdP
	}
	return o, t, rs, err
}

// Operator returns one operator of the actor's tenant. Needs operator.read.
func (s *Service) Operator(ctx context.Context, id OperatorID) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.Operator")(&err)
	a, err := Require(ctx, PermOperatorRead)
	if err != nil {
		return nil, err
	}
	return s.store.Operator(ctx, a.tenant, id)
}

// OperatorFilter narrows a listing of operators.
type OperatorFilter struct {
	Status *OperatorStatus
	Role   *RoleName
}

// Operators lists the tenant's operators, newest first. Needs operator.read.
func (s *Service) Operators(ctx context.Context, f OperatorFilter, p backoffice.PageRequest) (_ backoffice.Page[*Operator], err error) {
	defer s.observe(&ctx, "accessctl.Operators")(&err)
	const op = "accessctl: list operators"
	a, err := Require(ctx, PermOperatorRead)
	if err != nil {
		return backoffice.Page[*Operator]{}, err
	}
	limit, after, err := backoffice.DecodeCursor(op, p)
	if err != nil {
		return backoffice.Page[*Operator]{}, err
	}
	if f.Status != nil && !f.Status.Valid() {
		return backoffice.Page[*Operator]{}, backoffice.NewError(backoffice.ErrInvalid, op, "unknown status", backoffice.FieldViolation{Field: "status", Reason: "unknown status"})
	}
	items, err := s.store.Operators(backoffice.WithLaggingReads(ctx), a.tenant, OperatorQuery{Status: f.Status, Role: f.Role, After: OperatorID(after), Limit: limit + 1})
	if err != nil {
		return backoffice.Page[*Operator]{}, err
	}
	return backoffice.MakePage(items, limit, func(o *Operator) string { return string(o.ID) }), nil
}

// UpdateOperator edits an operator's identity, SSO key, roles and account
// access. Needs operator.edit; only Administrators edit
// Administrators; roles and accounts follow the granting rules; the last active
// Administrator keeps its role. A change of roles or accounts ends
// the operator's sessions.
func (s *Service) UpdateOperator(ctx context.Context, id OperatorID, u OperatorUpdate) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.UpdateOperator")(&err)
	const op = "accessctl: update operator"
	a, err := Require(ctx, PermOperatorEdit)
	if err != nil {
		return nil, err
	}
	before, t, rs, err := s.loadTarget(ctx, op, a, id)
	if err != nil {
		return nil, err
	}
	if t.SSO.Enabled && (u.Username != nil || u.Email != nil || u.FirstName != nil || u.LastName != nil || u.Roles != nil) {
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the tenant uses SSO; edit operators in the identity provider")
	}
	if u.ExternalKey != nil && managedByIdP(t, before) {
		return nil, ErrManagedByIdP
	}
	o := before.Clone()
	set := func(dst *string, src *string, fold bool) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
			if fold {
				*dst = strings.ToLower(*dst)
			}
		}
	}
	set(&o.Username, u.Username, false)
	set(&o.Email, u.Email, true)
	set(&o.FirstName, u.FirstName, false)
	set(&o.LastName, u.LastName, false)
	set(&o.ExternalKey, u.ExternalKey, false)
	if u.Roles != nil {
		o.Roles = sortedRoles(*u.Roles)
	}
	if u.AllAccounts != nil {
		o.AllAccounts = *u.AllAccounts
	}
	if u.Accounts != nil {
		o.Accounts = slices.Clone(*u.Accounts)
	}
	if o.AllAccounts {
		o.Accounts = nil
	}
	now := s.clock()
	var v backoffice.Violations
	if u.RoleUntil != nil {
		o.RoleUntil = nil
		for r, until := range *u.RoleUntil {
			if o.RoleUntil == nil {
				o.RoleUntil = map[RoleName]time.Time{}
			}
			o.RoleUntil[r] = backoffice.Truncate(until)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(o.RoleUntil)) {
		switch {
		case !o.HasRole(r) && u.RoleUntil != nil:
			v.Add("role_until", fmt.Sprintf("%q is not one of the operator's roles", r))
		case !o.HasRole(r):
			delete(o.RoleUntil, r) // the role was taken away with its end
		case u.RoleUntil != nil && !o.RoleUntil[r].After(now) && !o.RoleUntil[r].Equal(before.RoleUntil[r]):
			v.Add("role_until", fmt.Sprintf("the end of %q must be in the future", r))
		}
	}
	if len(o.RoleUntil) == 0 {
		o.RoleUntil = nil
	}
	if u.AccessUntil != nil {
		o.AccessUntil = backoffice.Truncate(*u.AccessUntil)
		if u.AccessUntil.IsZero() {
			o.AccessUntil = time.Time{}
		} else if !o.AccessUntil.After(now) {
			v.Add("access_until", "must be in the future")
		}
	}
	validateIdentity(&v, o.Username, o.Email, o.FirstName, o.LastName, o.ExternalKey, o.Status == StatusInvited)
	validateRoles(&v, rs, o.Roles)
	validateAccounts(&v, o.Accounts)
	if err := v.Err(op); err != nil {
		return nil, err
	}
	if err := checkGrant(op, a, rs, before, o.Roles, o.AllAccounts, o.Accounts); err != nil {
		return nil, err
	}
	accessChanged := !slices.Equal(before.Roles, o.Roles) || before.AllAccounts != o.AllAccounts || !slices.Equal(before.Accounts, o.Accounts) ||
		!maps.Equal(before.RoleUntil, o.RoleUntil) || !before.AccessUntil.Equal(o.AccessUntil)
	// A change of access is a grant by the actor, a change of what the
	// account logs in with may hand it its keys (F4).
	if login := before.Username != o.Username || before.Email != o.Email || before.ExternalKey != o.ExternalKey; accessChanged || login {
		if err := s.grantBy(ctx, a, o, login); err != nil {
			return nil, err
		}
	}
	// Held like granting Administrator: any role with a permission only
	// Administrators hold, newly held or held for longer (F5).
	changes := backoffice.Diff(before, o)
	if err := s.gate(ctx, a, s.policyOf(t), Hold{Action: ApproveGrantAdministrator, TargetType: TargetOperator, TargetID: string(id),
		Effect: changes, AdminLevel: true, Never: !rs.extendsAdmin(before, o, now)}); err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		if before.Version != u.Version {
			return nil, backoffice.NewError(backoffice.ErrConflict, op, "the operator changed since you read it; reload and retry")
		}
		return before, nil
	}
	if accessChanged {
		o.SessionEpoch++
	}
	if err := s.write(ctx, rs, a, before, o, u.Version, backoffice.ActionOperatorUpdate); err != nil {
		return nil, err
	}
	return o, nil
}

// write stores an operator change with its entry, guarding the last Administrator with the
// tenant's roles the caller loaded, and ends the operator's sessions when
// its epoch moved.
func (s *Service) write(ctx context.Context, rs *roleSet, a *Actor, before, after *Operator, version int64, action backoffice.Action) error {
	after.UpdatedAt = s.clock()
	e := s.operatorEntry(a.Ref(), action, before, after)
	if err := s.store.UpdateOperator(ctx, after, version, guardFor(a, rs, before, after), e); err != nil {
		return err
	}
	if after.SessionEpoch != before.SessionEpoch {
		return s.endSessions(ctx, "accessctl: "+string(action), after.Tenant, after.ID)
	}
	return nil
}

// transition is the shape of the status changes below.
func (s *Service) transition(ctx context.Context, op string, perm Permission, id OperatorID, version int64,
	action backoffice.Action, notSelf bool, apply func(o *Operator) error) (*Operator, error) {
	a, err := Require(ctx, perm)
	if err != nil {
		return nil, err
	}
	if notSelf && a.id == string(id) {
		return nil, backoffice.NewError(backoffice.ErrForbidden, op, "you cannot do this to yourself; ask another operator manager")
	}
	load := s.loadTarget
	if action == backoffice.ActionOperatorReactivate || action == backoffice.ActionOperatorResetMFA {
		load = s.loadLocal
	}
	before, _, rs, err := load(ctx, op, a, id)
	if err != nil {
		return nil, err
	}
	o := before.Clone()
	if err := apply(o); err != nil {
		return nil, err
	}
	switch action {
	case backoffice.ActionOperatorUnblock:
		// Access given back: a grant (F4).
		if err := s.grantBy(ctx, a, o, granted); err != nil {
			return nil, err
		}
	case backoffice.ActionOperatorReactivate, backoffice.ActionOperatorResetMFA:
		// An account whose owner may be gone, or a second factor to enrol
		// anew: its keys may be the actor's (F4).
		if err := s.grantBy(ctx, a, o, controlled); err != nil {
			return nil, err
		}
	}
	if err := s.write(ctx, rs, a, before, o, version, action); err != nil {
		return nil, err
	}
	return o, nil
}

func wrongStatus(op string, o *Operator, want string) error {
	return backoffice.Errorf(backoffice.ErrFailedPrecondition, op, "the operator is %s; this needs %s", o.Status, want)
}

// DeactivateOperator removes an operator's access and ends its sessions at
// once; its history is kept and it can be reactivated. Needs
// operator.deactivate; not oneself; only an Administrator acts on an Administrator, and never on the last active one.
func (s *Service) DeactivateOperator(ctx context.Context, id OperatorID, version int64) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.DeactivateOperator")(&err)
	const op = "accessctl: deactivate operator"
	o, err := s.transition(ctx, op, PermOperatorDeactivate, id, version, backoffice.ActionOperatorDeactivate, true, func(o *Operator) error {
		if o.Status == StatusDeactivated {
			return wrongStatus(op, o, "an operator that is not deactivated")
		}
		o.Status = StatusDeactivated
		o.SessionEpoch++
		return nil
	})
	if err == nil {
		s.after(ctx, "voiding the links of "+string(o.ID), s.tokens.DeleteOperatorTokens(ctx, o.Tenant, o.ID))
	}
	return o, err
}

// ReactivateOperator restores a deactivated operator: active if it had set
// a password, invited otherwise. Needs operator.deactivate; not oneself
// (an actor built before its own deactivation is refused anyway); only an Administrator acts on an Administrator.
func (s *Service) ReactivateOperator(ctx context.Context, id OperatorID, version int64) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.ReactivateOperator")(&err)
	const op = "accessctl: reactivate operator"
	return s.transition(ctx, op, PermOperatorDeactivate, id, version, backoffice.ActionOperatorReactivate, true, func(o *Operator) error {
		if o.Status != StatusDeactivated {
			return wrongStatus(op, o, "a deactivated operator")
		}
		o.Status = StatusActive
		if o.PasswordHash == "" && o.ExternalKey == "" {
			o.Status = StatusInvited
		}
		// Cleared before the write: an inactive operator's run is moot, and
		// a reactivated one must not inherit a full run.
		return s.attempts.ResetAttempts(ctx, o.Tenant, o.ID)
	})
}

// BlockOperator blocks an active operator, ending its sessions. Needs
// operator.block; not oneself; only an Administrator acts on an Administrator, and never on the last active one.
func (s *Service) BlockOperator(ctx context.Context, id OperatorID, version int64) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.BlockOperator")(&err)
	const op = "accessctl: block operator"
	return s.transition(ctx, op, PermOperatorBlock, id, version, backoffice.ActionOperatorBlock, true, func(o *Operator) error {
		if o.Status != StatusActive {
			return wrongStatus(op, o, "an active operator")
		}
		o.Status = StatusBlocked
		o.SessionEpoch++
		return nil
	})
}

// UnblockOperator lets a blocked operator log in again and clears its
// failed logins. Needs operator.block; not oneself; only an Administrator acts on an Administrator.
func (s *Service) UnblockOperator(ctx context.Context, id OperatorID, version int64) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.UnblockOperator")(&err)
	const op = "accessctl: unblock operator"
	return s.transition(ctx, op, PermOperatorBlock, id, version, backoffice.ActionOperatorUnblock, true, func(o *Operator) error {
		if o.Status != StatusBlocked {
			return wrongStatus(op, o, "a blocked operator")
		}
		o.Status = StatusActive
		// Cleared before the write, so that a failure leaves the operator
		// blocked rather than unblocked with a full run that still refuses it.
		return s.attempts.ResetAttempts(ctx, o.Tenant, o.ID)
	})
}

// ResetMFA clears an operator's TOTP enrolment; it must enrol again at its
// next login. Its sessions end. Needs operator.reset_mfa; only an Administrator acts on an Administrator.
func (s *Service) ResetMFA(ctx context.Context, id OperatorID, version int64) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.ResetMFA")(&err)
	const op = "accessctl: reset mfa"
	return s.transition(ctx, op, PermOperatorResetMFA, id, version, backoffice.ActionOperatorResetMFA, false, func(o *Operator) error {
		if !o.MFAEnrolled && o.MFASecret == "" && len(o.Passkeys) == 0 {
			return backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the operator has no MFA enrolment to reset")
		}
		// Its passkeys go too (W4): it enrols again at its next login.
		o.MFAEnrolled, o.MFASecret, o.MFALastStep, o.Passkeys = false, "", 0, nil
		o.SessionEpoch++
		return nil
	})
}

// DeleteOperator removes an operator for good; its audit history is
// kept. Needs operator.delete; not oneself; only an Administrator acts on an Administrator, and never on the last active one.
func (s *Service) DeleteOperator(ctx context.Context, id OperatorID, version int64) (err error) {
	defer s.observe(&ctx, "accessctl.DeleteOperator")(&err)
	const op = "accessctl: delete operator"
	a, err := Require(ctx, PermOperatorDelete)
	if err != nil {
		return err
	}
	if a.id == string(id) {
		return backoffice.NewError(backoffice.ErrForbidden, op, "you cannot delete yourself; ask another operator manager")
	}
	o, _, rs, err := s.loadTarget(ctx, op, a, id)
	if err != nil {
		return err
	}
	e := s.entry(a.Ref(), a.tenant, backoffice.ActionOperatorDelete, TargetOperator, string(id), s.clock(),
		[]backoffice.Change{{Field: "status", Before: string(o.Status), After: "deleted"}})
	if err := s.store.DeleteOperator(ctx, a.tenant, id, version, guardFor(a, rs, o, nil), e); err != nil {
		return err
	}
	s.after(ctx, "voiding the links of "+string(id), s.tokens.DeleteOperatorTokens(ctx, a.tenant, id))
	s.after(ctx, "clearing the failed logins of "+string(id), s.attempts.ResetAttempts(ctx, a.tenant, id))
	return s.endSessions(ctx, op, a.tenant, id)
}

// SetPassword sets another operator's password, which must meet the
// policy and match its confirmation; the operator's sessions end. Needs
// operator.edit; only an Administrator acts on an Administrator.
func (s *Service) SetPassword(ctx context.Context, id OperatorID, version int64, pw, confirm backoffice.Secret) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.SetPassword")(&err)
	const op = "accessctl: set password"
	a, err := Require(ctx, PermOperatorEdit)
	if err != nil {
		return nil, err
	}
	before, _, rs, err := s.loadLocal(ctx, op, a, id)
	if err != nil {
		return nil, err
	}
	return s.setPassword(ctx, op, rs, a, before, version, pw, confirm, backoffice.ActionOperatorSetPassword)
}

func (s *Service) setPassword(ctx context.Context, op string, rs *roleSet, a *Actor, before *Operator, version int64, pw, confirm backoffice.Secret, action backoffice.Action) (*Operator, error) {
	if before.Status != StatusActive && before.Status != StatusBlocked {
		return nil, wrongStatus(op, before, "an active or blocked operator")
	}
	p, err := s.tenantPolicy(ctx, before.Tenant)
	if err != nil {
		return nil, err
	}
	var v backoffice.Violations
	s.validatePassword(&v, pw, confirm, before.Username, before.Email)
	if err := s.checkNewPassword(ctx, &v, p, before, pw); err != nil {
		return nil, err
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	o := before.Clone()
	hash, err := s.hasher.Hash(ctx, string(pw))
	if err != nil {
		return nil, err
	}
	rotatePassword(o, hash, p, s.clock())
	o.SessionEpoch++
	if a.id != string(o.ID) {
		// Another's password set: the actor holds its keys (F4).
		if err := s.grantBy(ctx, a, o, controlled); err != nil {
			return nil, err
		}
	}
	if err := s.write(ctx, rs, a, before, o, version, action); err != nil {
		return nil, err
	}
	return o, nil
}

// History lists the changes made to an operator, newest first:
// editor, action, date and details. Needs operator.history.
func (s *Service) History(ctx context.Context, id OperatorID, p backoffice.PageRequest) (_ backoffice.Page[backoffice.AuditEntry], err error) {
	defer s.observe(&ctx, "accessctl.History")(&err)
	a, err := Require(ctx, PermOperatorHistory)
	if err != nil {
		return backoffice.Page[backoffice.AuditEntry]{}, err
	}
	return s.auditPage(ctx, a, TargetOperator, string(id), p)
}

// AuditLog lists the changes made to any record of the tenant of the given
// type and id, newest first. Needs audit.read.
func (s *Service) AuditLog(ctx context.Context, targetType, targetID string, p backoffice.PageRequest) (_ backoffice.Page[backoffice.AuditEntry], err error) {
	defer s.observe(&ctx, "accessctl.AuditLog")(&err)
	a, err := Require(ctx, PermAuditRead)
	if err != nil {
		return backoffice.Page[backoffice.AuditEntry]{}, err
	}
	return s.auditPage(ctx, a, targetType, targetID, p)
}

func (s *Service) auditPage(ctx context.Context, a *Actor, typ, id string, p backoffice.PageRequest) (backoffice.Page[backoffice.AuditEntry], error) {
	limit, before, err := backoffice.DecodeCursor("accessctl: history", p)
	if err != nil {
		return backoffice.Page[backoffice.AuditEntry]{}, err
	}
	items, err := s.store.AuditEntries(backoffice.WithLaggingReads(ctx), a.tenant, AuditQuery{TargetType: typ, TargetID: id, Before: before, Limit: limit + 1})
	if err != nil {
		return backoffice.Page[backoffice.AuditEntry]{}, err
	}
	return backoffice.MakePage(items, limit, func(e backoffice.AuditEntry) string { return e.ID }), nil
}
