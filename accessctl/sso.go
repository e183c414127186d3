package accessctl

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/backoffice-go/backoffice"
)

// Assertion is what the host's SSO integration learned from the identity
// provider after checking the response's signature. The library trusts it.
type Assertion struct {
	// Subject is the identity provider's stable id for the person; it is
	// matched against Operator.ExternalKey.
	Subject   string
	Email     string
	FirstName string
	LastName  string
	Groups    []string
}

// ProvisionSSO logs in an operator of an SSO tenant from an assertion:
// it creates the operator on first sight, updates its email, names and
// roles from the assertion on later ones, and opens a session (the
// identity provider has done MFA). Roles come from the tenant's group
// mapping; an assertion whose groups map to no role is ErrForbidden. It
// needs no actor and is audited as the system actor "sso".
func (s *Service) ProvisionSSO(ctx context.Context, tenant backoffice.TenantID, as Assertion) (_ *LoginResult, err error) {
	defer s.observe(&ctx, "accessctl.ProvisionSSO")(&err)
	const op = "accessctl: sso login"
	t, rs, err := s.tenantRoles(ctx, tenant)
	if isNotFound(err) {
		return nil, backoffice.NewError(backoffice.ErrUnauthenticated, op, "unknown tenant")
	}
	if err != nil {
		return nil, err
	}
	if !t.SSO.Enabled {
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the tenant does not use SSO; log in with a password")
	}
	known := func(gs []string) []string {
		out := slices.DeleteFunc(sortedGroups(gs), func(g string) bool { _, ok := t.SSO.GroupRoles[g]; return !ok })
		if len(out) == 0 {
			return nil
		}
		return out
	}
	in := NewOperator{Username: as.Email, Email: as.Email, FirstName: as.FirstName, LastName: as.LastName,
		ExternalKey: as.Subject, AllAccounts: true}
	normalize(&in)
	var v backoffice.Violations
	if in.ExternalKey == "" {
		v.Add("subject", "is required")
	}
	validateIdentity(&v, "", in.Email, in.FirstName, in.LastName, in.ExternalKey, true)
	if err := v.Err(op); err != nil {
		return nil, err
	}
	noRole := backoffice.NewError(backoffice.ErrForbidden, op, "none of the identity provider's groups maps to a role; ask an Administrator to map one")
	sys := SystemActor(tenant, "sso")
	now := s.clock()
	for range 3 { // retry on a concurrent first login or change
		before, err := s.store.OperatorByExternalKey(ctx, tenant, in.ExternalKey)
		if isNotFound(err) {
			// An operator the identity provider made over SCIM, by the
			// user name it gave it: the NameID Okta and Entra ID send by
			// default is the userName they provision (I2).
			before, err = s.store.OperatorByLogin(ctx, tenant, as.Subject)
			if err == nil && (!before.Managed || !strings.EqualFold(before.Username, as.Subject)) {
				err = backoffice.NewError(backoffice.ErrNotFound, op, "no operator provisioned with this user name")
			}
		}
		if isNotFound(err) && t.SSO.LinkByEmail && in.Email != "" {
			// Linked by its verified email, where the tenant allows (I2).
			before, err = s.store.OperatorByLogin(ctx, tenant, in.Email)
			if err == nil && (!strings.EqualFold(before.Email, in.Email) || !before.EmailVerified || before.ExternalKey != "") {
				err = backoffice.NewError(backoffice.ErrNotFound, op, "no operator with this verified email")
			}
		}
		// The assertion's groups; an assertion that names none leaves an
		// operator the groups SCIM gave it.
		groups := known(as.Groups)
		if len(as.Groups) == 0 && err == nil {
			groups = known(before.Groups)
		}
		roles := mappedRoles(t, groups)
		if len(roles) == 0 {
			return nil, noRole
		}
		if isNotFound(err) {
			o := &Operator{ID: OperatorID(s.newID()), Tenant: tenant, Email: in.Email, FirstName: in.FirstName,
				LastName: in.LastName, Roles: roles, Groups: groups, AllAccounts: true, ExternalKey: in.ExternalKey, Managed: true,
				Status: StatusActive, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
			err = s.store.CreateOperator(ctx, o, Guard{}, s.operatorEntry(sys.Ref(), backoffice.ActionOperatorSSOProvision, nil, o))
			if errors.Is(err, backoffice.ErrConflict) && conflictOn(err, "external_key") {
				continue
			}
			if err != nil {
				return nil, err
			}
			return s.ssoSession(ctx, o)
		}
		if err != nil {
			return nil, err
		}
		if before.Status != StatusActive {
			return nil, ErrLoginRefused
		}
		o := before.Clone()
		o.Email, o.FirstName, o.LastName, o.Roles, o.Groups = in.Email, in.FirstName, in.LastName, roles, groups
		if o.ExternalKey == "" {
			o.ExternalKey = in.ExternalKey // linked now
		}
		o.Managed, o.EmailVerified = true, true
		if len(backoffice.Diff(before, o)) > 0 {
			if !slices.Equal(before.Roles, o.Roles) {
				o.SessionEpoch++
			}
			o.UpdatedAt = now
			err = s.store.UpdateOperator(ctx, o, before.Version, guardFor(nil, rs, before, o),
				s.operatorEntry(sys.Ref(), backoffice.ActionOperatorSSOUpdate, before, o))
			if errors.Is(err, backoffice.ErrConflict) && !conflictOn(err, "email") {
				continue
			}
			if err != nil {
				return nil, err
			}
			if o.SessionEpoch != before.SessionEpoch {
				if err := s.endSessions(ctx, op, tenant, o.ID); err != nil {
					return nil, err
				}
			}
		}
		return s.ssoSession(ctx, o)
	}
	return nil, backoffice.NewError(backoffice.ErrConflict, op, "the operator kept changing during login; retry")
}

// ssoSession opens the session of a provisioned operator; one that changed
// meanwhile is refused like any login.
func (s *Service) ssoSession(ctx context.Context, o *Operator) (*LoginResult, error) {
	res, err := s.openSession(ctx, o)
	if errors.Is(err, errNoLongerActive) {
		return nil, ErrLoginRefused
	}
	return res, err
}

func conflictOn(err error, field string) bool {
	var e *backoffice.Error
	return errors.As(err, &e) && e.HasField(field)
}

// LinkSSO sets the external key ("SAML key") that links an existing
// operator to the identity provider's subject. Needs operator.edit; only an Administrator acts on an Administrator.
func (s *Service) LinkSSO(ctx context.Context, id OperatorID, version int64, key string) (_ *Operator, err error) {
	defer s.observe(&ctx, "accessctl.LinkSSO")(&err)
	key = strings.TrimSpace(key)
	return s.UpdateOperator(ctx, id, OperatorUpdate{Version: version, ExternalKey: &key})
}

// RefuseSSO records that a sign-in through the tenant's identity
// provider was refused, and why (I1): an audit entry on the tenant and
// an EventSSORefused. The protocol package calls it for every refusal,
// after answering the browser with the one refusal. The reason must not
// hold a secret (an assertion, a token): name the check that failed.
func (s *Service) RefuseSSO(ctx context.Context, tenant backoffice.TenantID, reason string) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	s.events(ctx, Event{Kind: EventSSORefused, Tenant: tenant, Reason: reason})
	if _, err := s.store.Tenant(ctx, tenant); err != nil {
		return err // an unknown tenant gets no entry
	}
	sys := SystemActor(tenant, "sso")
	return s.store.AppendAuditEntry(ctx, s.entry(sys.Ref(), tenant, backoffice.ActionOperatorSSORefused, TargetTenant, string(tenant), s.clock(),
		[]backoffice.Change{{Field: "reason", After: reason}}))
}
