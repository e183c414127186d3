package enduser

import (
	"context"
	"errors"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// StartOnboarding records a user who onboards themselves and sends the
// activation link. The host's sign-up endpoint calls it with a system
// actor (or an operator with enduser.create). The user is not searchable
// until it completes the onboarding.
func (s *Service) StartOnboarding(ctx context.Context, in NewEndUser) (_ *Onboarding, err error) {
	defer s.observe(&ctx, "enduser.StartOnboarding")(&err)
	const op = "enduser: start onboarding"
	a, err := accessctl.Require(ctx, accessctl.PermEndUserCreate)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	probe := s.fromInput(a.Tenant(), in, now)
	var v backoffice.Violations
	validate(&v, probe, now)
	if probe.Email == "" {
		v.Add("email", "is required to send the activation link")
	}
	if in.Parent != "" {
		v.Add("parent", "a self-onboarding user has no parent")
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	token, activation, err := backoffice.NewToken()
	if err != nil {
		return nil, err
	}
	profile := in
	profile.Tag, profile.FirstName, profile.LastName, profile.LegalName = probe.Tag, probe.FirstName, probe.LastName, probe.LegalName
	profile.Email, profile.Phone, profile.Address, profile.BirthDate = probe.Email, probe.Phone, probe.Address, probe.BirthDate
	profile.TaxResidences = probe.TaxResidences
	o := &Onboarding{ID: s.newID(), Tenant: a.Tenant(), ActivationID: activation, Profile: profile,
		ExpiresAt: now.Add(s.activationTTL), CreatedAt: now, UpdatedAt: now}
	e := s.entry(a, backoffice.ActionOnboardingStart, TargetOnboarding, o.ID, now, []backoffice.Change{{Field: "email", After: probe.Email}, {Field: "type", After: string(probe.Type)}})
	n := Notice{Kind: NoticeActivation, Tenant: o.Tenant, Onboard: o.ID, Email: probe.Email, Name: probe.DisplayName(), Token: token, ExpiresAt: o.ExpiresAt}
	s.attach(&e, n)
	if err := s.store.CreateOnboarding(ctx, o, e); err != nil {
		return nil, err
	}
	s.sent(ctx, op, n)
	return o, nil
}

// CompleteOnboarding follows an activation link: the user gets its
// user id and becomes searchable, Pending KYC review. The link is the
// credential, so no actor is needed; the change is audited as the end user.
func (s *Service) CompleteOnboarding(ctx context.Context, token backoffice.Secret) (_ *EndUser, err error) {
	defer s.observe(&ctx, "enduser.CompleteOnboarding")(&err)
	const op = "enduser: complete onboarding"
	bad := backoffice.NewError(backoffice.ErrInvalid, op, "the activation link is invalid, expired or already used",
		backoffice.FieldViolation{Field: "token", Reason: "invalid, expired or already used"})
	o, err := s.store.OnboardingByActivation(ctx, backoffice.Digest(token))
	if errors.Is(err, backoffice.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if o.Completed() || !now.Before(o.ExpiresAt) {
		return nil, bad
	}
	u := s.fromInput(o.Tenant, o.Profile, now)
	u.OnboardingID = o.ID
	done := o.Clone()
	done.CompletedAt, done.User, done.UpdatedAt = now, u.ID, now
	actor := accessctl.EndUserActor(o.Tenant, string(u.ID))
	eo := s.entry(actor, backoffice.ActionOnboardingComplete, TargetOnboarding, o.ID, now, []backoffice.Change{{Field: "user", After: string(u.ID)}})
	eu := s.entry(actor, backoffice.ActionEndUserCreate, TargetEndUser, string(u.ID), now, diff(&EndUser{}, u))
	err = s.store.CompleteOnboarding(ctx, done, o.Version, u, eo, eu)
	if errors.Is(err, backoffice.ErrConflict) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Onboardings lists self-onboardings, completed or not, newest first.
// Needs view.onboarding_users.
func (s *Service) Onboardings(ctx context.Context, completed bool, p backoffice.PageRequest) (_ backoffice.Page[*Onboarding], err error) {
	defer s.observe(&ctx, "enduser.Onboardings")(&err)
	const op = "enduser: onboardings"
	a, err := accessctl.Require(ctx, accessctl.PermViewOnboardingUsers)
	if err != nil {
		return backoffice.Page[*Onboarding]{}, err
	}
	limit, before, err := backoffice.DecodeCursor(op, p)
	if err != nil {
		return backoffice.Page[*Onboarding]{}, err
	}
	items, err := s.store.Onboardings(backoffice.WithLaggingReads(ctx), a.Tenant(), OnboardingQuery{Completed: completed, Before: before, Limit: limit + 1})
	if err != nil {
		return backoffice.Page[*Onboarding]{}, err
	}
	return backoffice.MakePage(items, limit, func(o *Onboarding) string { return o.ID }), nil
}
