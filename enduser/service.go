package enduser

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/internal/check"
	"github.com/backoffice-go/backoffice/internal/ids"
)

// Config configures a Service. Store, Tenants and Balances are required.
type Config struct {
	Store Store
	// Tenants gives the tenant settings, such as the forgot-password switch.
	Tenants accessctl.TenantStore
	// Balances is the host's wallet balances, checked before deactivation.
	Balances Balances
	// Notifier nil drops notices.
	Notifier Notifier
	// ReportError receives a notification that failed after its change
	// committed, wrapping backoffice.ErrNotDelivered: the call itself
	// succeeded. Nil means backoffice.LogError.
	ReportError func(ctx context.Context, err error)
	// Outbox, when set, writes each notice to the store's outbox with its
	// change, for a backoffice.Dispatcher to deliver (OutboxHandler).
	Outbox bool
	// Now and NewID as in accessctl.Config.
	Now   func() time.Time
	NewID func() string
	// ActivationTTL is how long an onboarding's activation link lasts;
	// default 7 days.
	ActivationTTL time.Duration
	// Approvals is the four-eyes gate, an *accessctl.Service: with it,
	// a tenant whose policy holds deactivation for a second operator
	// gets accessctl.ErrApprovalRequired from Deactivate, and an approved
	// request runs Deactivate once. Nil: no deactivation is held.
	Approvals Approvals
	// Observer, when set, hears the start and end of every service call,
	// for the host's tracing (backoffice.Observer).
	Observer backoffice.Observer
}

// Approvals is what the service needs of four-eyes approval; an
// *accessctl.Service implements it.
type Approvals interface {
	Gate(ctx context.Context, h accessctl.Hold) error
	HandleApproved(action backoffice.Action, x accessctl.Executor)
}

// Service implements the end-user rules. It is safe for concurrent use.
type Service struct {
	store         Store
	approvals     Approvals
	tenants       accessctl.TenantStore
	balances      Balances
	notifier      Notifier
	outbox        bool
	report        func(context.Context, error)
	now           func() time.Time
	newID         func() string
	activationTTL time.Duration
	observer      backoffice.Observer
}

// NewService checks the configuration and returns a service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Tenants == nil || cfg.Balances == nil {
		return nil, backoffice.NewError(backoffice.ErrInvalid, "enduser: new service", "Config.Store, Config.Tenants and Config.Balances are required")
	}
	s := &Service{store: cfg.Store, observer: cfg.Observer, tenants: cfg.Tenants, balances: cfg.Balances, notifier: cfg.Notifier,
		outbox: cfg.Outbox, report: cfg.ReportError, now: cfg.Now, newID: cfg.NewID, activationTTL: cfg.ActivationTTL, approvals: cfg.Approvals}
	if s.approvals != nil {
		s.approvals.HandleApproved(backoffice.ActionEndUserDeactivate, accessctl.Executor{Permission: accessctl.PermEndUserDeactivate,
			Run: func(ctx context.Context, ap *accessctl.Approval) error {
				version, err := accessctl.ParamVersion(ap)
				if err != nil {
					return err
				}
				_, err = s.Deactivate(ctx, ID(ap.TargetID), version)
				return err
			}})
	}
	if s.notifier == nil {
		s.notifier = notifierFunc(func(context.Context, Notice) error { return nil })
	}
	if s.report == nil {
		s.report = backoffice.LogError
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = ids.New(s.now).NewID
	}
	if s.activationTTL <= 0 {
		s.activationTTL = 7 * 24 * time.Hour
	}
	return s, nil
}

type notifierFunc func(context.Context, Notice) error

func (f notifierFunc) NotifyEndUser(ctx context.Context, n Notice) error { return f(ctx, n) }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Service) entry(a *accessctl.Actor, action backoffice.Action, typ, target string, at time.Time, c []backoffice.Change) backoffice.AuditEntry {
	return backoffice.AuditEntry{ID: s.newID(), Tenant: a.Tenant(), Actor: a.Ref(), Action: action, TargetType: typ, TargetID: target, At: at, Changes: c}
}

// Create adds an end user, Pending with no KYC yet. Needs enduser.create.
func (s *Service) Create(ctx context.Context, in NewEndUser) (_ *EndUser, err error) {
	defer s.observe(&ctx, "enduser.Create")(&err)
	const op = "enduser: create"
	a, err := accessctl.Require(ctx, accessctl.PermEndUserCreate)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	u := s.fromInput(a.Tenant(), in, now)
	if err := s.check(ctx, op, u, nil); err != nil {
		return nil, err
	}
	if err := s.store.CreateEndUser(ctx, u, s.entry(a, backoffice.ActionEndUserCreate, TargetEndUser, string(u.ID), now, diff(&EndUser{}, u))); err != nil {
		return nil, err
	}
	return u, nil
}

func (s *Service) fromInput(tenant backoffice.TenantID, in NewEndUser, now time.Time) *EndUser {
	u := &EndUser{ID: ID(s.newID()), Tenant: tenant, Tag: in.Tag, Type: in.Type, Status: StatusPending, KYC: KYCNone,
		FirstName: in.FirstName, LastName: in.LastName, LegalName: in.LegalName, Email: in.Email, Phone: in.Phone,
		Address: in.Address, BirthDate: in.BirthDate, Parent: in.Parent, TaxResidences: slices.Clone(in.TaxResidences),
		CreatedAt: now, UpdatedAt: now}
	for i := range u.TaxResidences {
		u.TaxResidences[i].ID = s.newID()
	}
	normalize(u)
	return u
}

// check validates a record and its parent; before is nil for a new one.
func (s *Service) check(ctx context.Context, op string, u, before *EndUser) error {
	var v backoffice.Violations
	validate(&v, u, s.clock())
	if err := v.Err(op); err != nil {
		return err
	}
	if u.Parent == "" || before != nil && before.Parent == u.Parent {
		return nil
	}
	return s.checkParent(ctx, op, u)
}

// checkParent refuses a parent that does not exist in the tenant, or
// whose chain leads back to the user.
func (s *Service) checkParent(ctx context.Context, op string, u *EndUser) error {
	bad := func(reason string) error {
		return backoffice.NewError(backoffice.ErrInvalid, op, "choose another parent", backoffice.FieldViolation{Field: "parent", Reason: reason})
	}
	seen := map[ID]bool{u.ID: true}
	for id := u.Parent; id != ""; {
		if seen[id] {
			return bad("would make a cycle of parents")
		}
		seen[id] = true
		p, err := s.store.EndUser(ctx, u.Tenant, id)
		if errors.Is(err, backoffice.ErrNotFound) {
			return bad("no such user in this tenant")
		}
		if err != nil {
			return err
		}
		if len(seen) > 64 {
			return bad("the chain of parents is too deep")
		}
		id = p.Parent
	}
	return nil
}

// Get returns one end user. Needs enduser.read.
func (s *Service) Get(ctx context.Context, id ID) (_ *EndUser, err error) {
	defer s.observe(&ctx, "enduser.Get")(&err)
	a, err := accessctl.Require(ctx, accessctl.PermEndUserRead)
	if err != nil {
		return nil, err
	}
	return s.store.EndUser(ctx, a.Tenant(), id)
}

// SearchQuery is the search toolbar: fill at least one field; filled
// fields combine with AND.
type SearchQuery struct {
	ID    ID
	Tag   string
	Email string
	// Name matches part of a word of first, last or legal name or email,
	// case-insensitively; at least 3 characters.
	Name string
}

// Search finds end users, newest first, a page at a time. Needs
// enduser.read.
func (s *Service) Search(ctx context.Context, q SearchQuery, p backoffice.PageRequest) (_ backoffice.Page[*EndUser], err error) {
	defer s.observe(&ctx, "enduser.Search")(&err)
	const op = "enduser: search"
	var v backoffice.Violations
	name := searchTerm(&v, q.Name)
	if q.ID == "" && q.Tag == "" && q.Email == "" && name == "" && len(v) == 0 {
		v.Add("query", "fill in a user id, tag, email or name")
	}
	return s.find(ctx, op, v, Query{ID: q.ID, Tag: q.Tag, Email: q.Email, Name: name}, p)
}

// Filter narrows the list of all users; zero fields do not filter.
type Filter struct {
	Type   *Type
	Status *Status
	// CreatedFrom is inclusive, CreatedTo exclusive.
	CreatedFrom time.Time
	CreatedTo   time.Time
}

// List lists every end user, Canceled ones included, newest first, with
// combinable filters and a cursor. Needs enduser.read.
func (s *Service) List(ctx context.Context, f Filter, p backoffice.PageRequest) (_ backoffice.Page[*EndUser], err error) {
	defer s.observe(&ctx, "enduser.List")(&err)
	const op = "enduser: list"
	q, v := f.query()
	return s.find(ctx, op, v, q, p)
}

// query validates a filter and turns it into a store query.
func (f Filter) query() (Query, backoffice.Violations) {
	var v backoffice.Violations
	if f.Type != nil && !f.Type.Valid() {
		v.Add("type", "unknown type")
	}
	if f.Status != nil && !f.Status.Valid() {
		v.Add("status", "unknown status")
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && !f.CreatedFrom.Before(f.CreatedTo) {
		v.Add("created_to", "must be after created_from")
	}
	return Query{Type: f.Type, Status: f.Status, CreatedFrom: f.CreatedFrom.UTC(), CreatedTo: f.CreatedTo.UTC()}, v
}

// Count returns how many users the filter matches, for a UI that shows a
// total. It is a call of its own, never part of a page, because a
// count over a large table costs far more than a page does. Needs
// enduser.read.
func (s *Service) Count(ctx context.Context, f Filter) (_ int, err error) {
	defer s.observe(&ctx, "enduser.Count")(&err)
	const op = "enduser: count"
	a, err := accessctl.Require(ctx, accessctl.PermEndUserRead)
	if err != nil {
		return 0, err
	}
	q, v := f.query()
	if err := v.Err(op); err != nil {
		return 0, err
	}
	return s.store.CountEndUsers(backoffice.WithLaggingReads(ctx), a.Tenant(), q)
}

func (s *Service) find(ctx context.Context, op string, v backoffice.Violations, q Query, p backoffice.PageRequest) (backoffice.Page[*EndUser], error) {
	a, err := accessctl.Require(ctx, accessctl.PermEndUserRead)
	if err != nil {
		return backoffice.Page[*EndUser]{}, err
	}
	limit, before, err := backoffice.DecodeCursor(op, p)
	if err != nil {
		return backoffice.Page[*EndUser]{}, err
	}
	if before != "" {
		k, ok := decodeKey(before)
		if !ok {
			v.Add("cursor", "malformed")
		}
		q.Before = &k
	}
	for _, f := range [][2]string{{"id", string(q.ID)}, {"tag", q.Tag}, {"email", q.Email}} {
		if r := check.Text(f[1], 256); r != "" {
			v.Add(f[0], r)
		}
	}
	if err := v.Err(op); err != nil {
		return backoffice.Page[*EndUser]{}, err
	}
	q.Limit = limit + 1
	q.Email = lower(q.Email)
	users, err := s.store.FindEndUsers(backoffice.WithLaggingReads(ctx), a.Tenant(), q)
	if err != nil {
		return backoffice.Page[*EndUser]{}, err
	}
	return backoffice.MakePage(users, limit, func(u *EndUser) string { return encodeKey(KeyOf(u)) }), nil
}

func encodeKey(k Key) string {
	return strconv.FormatInt(k.CreatedAt.UnixMicro(), 10) + "|" + string(k.ID)
}

func decodeKey(s string) (Key, bool) {
	ts, id, ok := strings.Cut(s, "|")
	us, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || id == "" {
		return Key{}, false
	}
	return Key{CreatedAt: time.UnixMicro(us).UTC(), ID: ID(id)}, true
}

// Update changes identity and contact fields, with validation. Needs
// enduser.edit. A Canceled user cannot be changed.
func (s *Service) Update(ctx context.Context, id ID, in Update) (_ *EndUser, err error) {
	defer s.observe(&ctx, "enduser.Update")(&err)
	const op = "enduser: update"
	return s.change(ctx, op, accessctl.PermEndUserEdit, id, in.Version, backoffice.ActionEndUserUpdate, func(u *EndUser) error {
		set := func(dst *string, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		set(&u.Tag, in.Tag)
		set(&u.FirstName, in.FirstName)
		set(&u.LastName, in.LastName)
		set(&u.LegalName, in.LegalName)
		set(&u.Email, in.Email)
		set(&u.Phone, in.Phone)
		if in.Address != nil {
			u.Address = *in.Address
		}
		if in.BirthDate != nil {
			u.BirthDate = *in.BirthDate
		}
		if in.Parent != nil {
			u.Parent = *in.Parent
		}
		return nil
	})
}

// change is the shape of every update: authorize, load, apply, validate,
// write with its entry.
func (s *Service) change(ctx context.Context, op string, perm accessctl.Permission, id ID, version int64, action backoffice.Action,
	apply func(u *EndUser) error) (*EndUser, error) {
	a, err := accessctl.Require(ctx, perm)
	if err != nil {
		return nil, err
	}
	before, err := s.store.EndUser(ctx, a.Tenant(), id)
	if err != nil {
		return nil, err
	}
	if before.Status == StatusCanceled {
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the user is canceled; a canceled user cannot change")
	}
	u := before.Clone()
	if err := apply(u); err != nil {
		return nil, err
	}
	normalize(u)
	if err := s.check(ctx, op, u, before); err != nil {
		return nil, err
	}
	c := diff(before, u)
	if len(c) == 0 {
		if before.Version != version {
			return nil, backoffice.NewError(backoffice.ErrConflict, op, "the user changed since you read it; reload and retry")
		}
		return before, nil
	}
	u.UpdatedAt = s.clock()
	if err := s.store.UpdateEndUser(ctx, u, version, s.entry(a, action, TargetEndUser, string(u.ID), u.UpdatedAt, c)); err != nil {
		return nil, err
	}
	return u, nil
}

// AddTaxResidence declares a tax residence: an ISO 3166-1 country and
// a TIN, mandatory and checked for US taxpayers. Needs enduser.edit.
func (s *Service) AddTaxResidence(ctx context.Context, id ID, version int64, r TaxResidence) (_ *EndUser, err error) {
	defer s.observe(&ctx, "enduser.AddTaxResidence")(&err)
	return s.change(ctx, "enduser: add tax residence", accessctl.PermEndUserEdit, id, version, backoffice.ActionEndUserAddTaxResidence, func(u *EndUser) error {
		r.ID = s.newID()
		u.TaxResidences = append(u.TaxResidences, r)
		return nil
	})
}

// UpdateTaxResidence changes the country or TIN of the residence r.ID.
// Needs enduser.edit.
func (s *Service) UpdateTaxResidence(ctx context.Context, id ID, version int64, r TaxResidence) (_ *EndUser, err error) {
	defer s.observe(&ctx, "enduser.UpdateTaxResidence")(&err)
	const op = "enduser: update tax residence"
	return s.change(ctx, op, accessctl.PermEndUserEdit, id, version, backoffice.ActionEndUserUpdateTaxResidence, func(u *EndUser) error {
		i := slices.IndexFunc(u.TaxResidences, func(x TaxResidence) bool { return x.ID == r.ID })
		if i < 0 {
			return backoffice.NewError(backoffice.ErrNotFound, op, "no such tax residence")
		}
		u.TaxResidences[i] = r
		return nil
	})
}

// RemoveTaxResidence removes the residence with the id. Needs enduser.edit.
func (s *Service) RemoveTaxResidence(ctx context.Context, id ID, version int64, residence string) (_ *EndUser, err error) {
	defer s.observe(&ctx, "enduser.RemoveTaxResidence")(&err)
	const op = "enduser: remove tax residence"
	return s.change(ctx, op, accessctl.PermEndUserEdit, id, version, backoffice.ActionEndUserRemoveTaxResidence, func(u *EndUser) error {
		i := slices.IndexFunc(u.TaxResidences, func(x TaxResidence) bool { return x.ID == residence })
		if i < 0 {
			return backoffice.NewError(backoffice.ErrNotFound, op, "no such tax residence")
		}
		u.TaxResidences = slices.Delete(u.TaxResidences, i, i+1)
		return nil
	})
}

// Deactivate cancels a Validated user whose wallets are all empty.
// It is irreversible; the user stays listed as Canceled. There is no way
// to delete a user. Needs enduser.deactivate.
func (s *Service) Deactivate(ctx context.Context, id ID, version int64) (_ *EndUser, err error) {
	defer s.observe(&ctx, "enduser.Deactivate")(&err)
	const op = "enduser: deactivate"
	return s.change(ctx, op, accessctl.PermEndUserDeactivate, id, version, backoffice.ActionEndUserDeactivate, func(u *EndUser) error {
		if u.Status != StatusValidated {
			return backoffice.Errorf(backoffice.ErrFailedPrecondition, op, "only a validated user can be deactivated; this one is %s", u.Status)
		}
		if u.Version != version {
			return backoffice.NewError(backoffice.ErrConflict, op, "the user changed since you read it; reload and retry")
		}
		balances, err := s.balances.Balances(ctx, u)
		if err != nil {
			return fmt.Errorf("%s: reading wallet balances: %w", op, err)
		}
		for _, b := range balances {
			if b.Amount != 0 {
				return backoffice.NewError(backoffice.ErrFailedPrecondition, op,
					fmt.Sprintf("wallet %s holds %s %s; its balance must be zero before deactivation", b.Wallet, minor(b.Amount), b.Currency))
			}
		}
		before := u.Status
		u.Status = StatusCanceled
		if s.approvals != nil {
			return s.approvals.Gate(ctx, accessctl.Hold{Action: backoffice.ActionEndUserDeactivate, TargetType: TargetEndUser, TargetID: string(u.ID),
				Effect: []backoffice.Change{{Field: "status", Before: string(before), After: string(u.Status)}}})
		}
		return nil
	})
}

// attach makes a notice part of its change in outbox mode.
func (s *Service) attach(e *backoffice.AuditEntry, n Notice) {
	if !s.outbox {
		return
	}
	m, _ := backoffice.NewMessage(s.newID(), n.Tenant, OutboxTopic, wireNotice{Kind: n.Kind, Tenant: n.Tenant, User: n.User,
		Onboard: n.Onboard, Email: n.Email, Name: n.Name, Token: string(n.Token), ExpiresAt: n.ExpiresAt}, s.clock()) // plain data always marshals
	e.Outbox = append(e.Outbox, m)
}

// sent sends a notice after its change committed, unless it went to the
// outbox; a failure is reported, never the caller's.
func (s *Service) sent(ctx context.Context, op string, n Notice) {
	if s.outbox {
		return
	}
	if err := s.notifier.NotifyEndUser(ctx, n); err != nil {
		s.report(ctx, fmt.Errorf("%s: %s: %w: %w", op, n.Email, backoffice.ErrNotDelivered, err))
	}
}

// minor formats an amount in minor units with two decimals.
func minor(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// SendForgotPassword sends the user the host's password change email and
// returns the address it goes to. Needs enduser.forgot_password; the
// tenant may have switched it off.
func (s *Service) SendForgotPassword(ctx context.Context, id ID) (_ string, err error) {
	defer s.observe(&ctx, "enduser.SendForgotPassword")(&err)
	const op = "enduser: send forgot password"
	a, err := accessctl.Require(ctx, accessctl.PermEndUserForgotPassword)
	if err != nil {
		return "", err
	}
	t, err := s.tenants.Tenant(ctx, a.Tenant())
	if err != nil {
		return "", err
	}
	if t.EndUserForgotPasswordOff {
		return "", backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the forgot-password email is switched off for this tenant")
	}
	u, err := s.store.EndUser(ctx, a.Tenant(), id)
	if err != nil {
		return "", err
	}
	if u.Email == "" {
		return "", backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the user has no email address; add one first")
	}
	if u.Status == StatusCanceled {
		return "", backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the user is canceled")
	}
	e := s.entry(a, backoffice.ActionEndUserForgotPassword, TargetEndUser, string(u.ID), s.clock(),
		[]backoffice.Change{{Field: "sent_to", After: u.Email}})
	n := Notice{Kind: NoticeForgotPassword, Tenant: u.Tenant, User: u.ID, Email: u.Email, Name: u.DisplayName()}
	s.attach(&e, n)
	if err := s.store.AppendAuditEntry(ctx, e); err != nil {
		return "", err
	}
	s.sent(ctx, op, n)
	return u.Email, nil
}

// Children lists the users whose parent is id, newest first. Needs
// enduser.read.
func (s *Service) Children(ctx context.Context, id ID, p backoffice.PageRequest) (_ backoffice.Page[*EndUser], err error) {
	defer s.observe(&ctx, "enduser.Children")(&err)
	a, err := accessctl.Require(ctx, accessctl.PermEndUserRead)
	if err != nil {
		return backoffice.Page[*EndUser]{}, err
	}
	if _, err := s.store.EndUser(ctx, a.Tenant(), id); err != nil {
		return backoffice.Page[*EndUser]{}, err
	}
	return s.find(ctx, "enduser: children", nil, Query{Parent: &id}, p)
}

// Node is one user of a tree of children.
type Node struct {
	User     *EndUser
	Children []*Node
	// Truncated is set when the tree was cut at MaxTreeSize users.
	Truncated bool
}

// MaxTreeSize bounds the users one Tree call returns.
const MaxTreeSize = 1000

// Tree returns the user and its descendants, at most MaxTreeSize
// users. Needs enduser.read.
func (s *Service) Tree(ctx context.Context, id ID) (_ *Node, err error) {
	defer s.observe(&ctx, "enduser.Tree")(&err)
	a, err := accessctl.Require(ctx, accessctl.PermEndUserRead)
	if err != nil {
		return nil, err
	}
	root, err := s.store.EndUser(ctx, a.Tenant(), id)
	if err != nil {
		return nil, err
	}
	top := &Node{User: root}
	queue := []*Node{top}
	count := 1
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		parent := n.User.ID
		kids, err := s.store.FindEndUsers(ctx, a.Tenant(), Query{Parent: &parent, Limit: MaxTreeSize - count + 1})
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			if count == MaxTreeSize {
				top.Truncated = true
				return top, nil
			}
			c := &Node{User: k}
			n.Children = append(n.Children, c)
			queue = append(queue, c)
			count++
		}
	}
	return top, nil
}

// RequestKYCReview asks for a KYC review: from none, refused or
// validated to pending. Needs enduser.kyc_request.
func (s *Service) RequestKYCReview(ctx context.Context, id ID, version int64) (_ *EndUser, err error) {
	defer s.observe(&ctx, "enduser.RequestKYCReview")(&err)
	const op = "enduser: request kyc review"
	return s.change(ctx, op, accessctl.PermEndUserKYCRequest, id, version, backoffice.ActionEndUserKYCRequest, func(u *EndUser) error {
		if u.KYC == KYCPending {
			return backoffice.NewError(backoffice.ErrFailedPrecondition, op, "a review is already pending")
		}
		u.KYC = KYCPending
		return nil
	})
}

// RecordKYCOutcome records a pending review's outcome, validated or
// refused, with a note. A validated review validates a pending user.
// Needs enduser.kyc_decide.
func (s *Service) RecordKYCOutcome(ctx context.Context, id ID, version int64, outcome KYCStatus, note string) (_ *EndUser, err error) {
	defer s.observe(&ctx, "enduser.RecordKYCOutcome")(&err)
	const op = "enduser: record kyc outcome"
	return s.change(ctx, op, accessctl.PermEndUserKYCDecide, id, version, backoffice.ActionEndUserKYCOutcome, func(u *EndUser) error {
		var v backoffice.Violations
		if outcome != KYCValidated && outcome != KYCRefused {
			v.Add("outcome", "must be validated or refused")
		}
		if len([]rune(note)) > 1000 {
			v.Add("note", "is too long")
		}
		if err := v.Err(op); err != nil {
			return err
		}
		if u.KYC != KYCPending {
			return backoffice.Errorf(backoffice.ErrFailedPrecondition, op, "no review is pending (KYC is %s); request one first", u.KYC)
		}
		u.KYC, u.KYCNote = outcome, note
		if outcome == KYCValidated && u.Status == StatusPending {
			u.Status = StatusValidated
		}
		return nil
	})
}

// diff lists the changed fields of a user for its audit entry.
func diff(a, b *EndUser) []backoffice.Change { return backoffice.Diff(a, b) }

// AuditValue is the address on one line, as the audit log records it.
func (a Address) AuditValue() string {
	if a == (Address{}) {
		return ""
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s", a.Line1, a.Line2, a.PostalCode, a.City, a.State, a.Country)
}

// AuditValue is the residence as the audit log records it: the country
// and the TIN masked to its last four characters.
func (r TaxResidence) AuditValue() string { return r.Country + ":" + maskTIN(r.TIN) }

// maskTIN keeps the last four characters of a TIN for the audit log: enough
// to tell two numbers apart, not enough to reuse one.
func maskTIN(tin string) string {
	if len(tin) <= 4 {
		return strings.Repeat("*", len(tin))
	}
	return strings.Repeat("*", len(tin)-4) + tin[len(tin)-4:]
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// observe starts the observation of a call by Config.Observer.
func (s *Service) observe(ctx *context.Context, name string) func(*error) {
	return backoffice.Observe(s.observer, ctx, name)
}
