package accessctl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/internal/check"
)

// ApprovalStatus is where a four-eyes request is.
type ApprovalStatus string

// Approval statuses.
const (
	// ApprovalPending: waiting for a second operator, until ExpiresAt.
	ApprovalPending ApprovalStatus = "pending"
	// ApprovalApproved: a second operator approved and the action is
	// running; it ends as done or failed.
	ApprovalApproved ApprovalStatus = "approved"
	// ApprovalDone: the action ran.
	ApprovalDone ApprovalStatus = "done"
	// ApprovalFailed: approved, but a rule refused the action at that
	// moment (Outcome says which); nothing changed.
	ApprovalFailed ApprovalStatus = "failed"
	// ApprovalRejected: a second operator refused it.
	ApprovalRejected ApprovalStatus = "rejected"
	// ApprovalExpired: nobody decided in time. Stores keep the request
	// pending; services report it expired from ExpiresAt.
	ApprovalExpired ApprovalStatus = "expired"
)

// Approval is a request held for a second operator's approval (F1): the
// action, what it acts on, the call's arguments, and why.
type Approval struct {
	ID         string              `json:"id"`
	Tenant     backoffice.TenantID `json:"tenant"`
	Action     backoffice.Action   `json:"action" audit:"action"`
	TargetType string              `json:"target_type" audit:"target_type"`
	TargetID   string              `json:"target_id" audit:"target_id"`
	// Params are the call's arguments as text: the version read, the
	// role asked for, how long.
	Params map[string]string `json:"params" audit:"params"`
	// Effect is every value the action will change, computed when it was
	// asked for by running the action up to its write (F6): what the
	// approver sees and approves. EffectDigest names it; approval runs the
	// action only if it would still change exactly that.
	Effect       []backoffice.Change `json:"effect"`
	EffectDigest string              `json:"effect_digest" audit:"effect_digest"`
	// AdminLevel marks an effect that yields permissions only
	// Administrators hold: only an Administrator approves it (F4, F5).
	AdminLevel    bool           `json:"admin_level" audit:"admin_level"`
	Reason        string         `json:"reason" audit:"reason"`
	RequestedBy   OperatorID     `json:"requested_by" audit:"requested_by"`
	RequesterName string         `json:"requester_name"`
	Status        ApprovalStatus `json:"status" audit:"status"`
	DecidedBy     OperatorID     `json:"decided_by,omitempty" audit:"decided_by"`
	DeciderName   string         `json:"decider_name,omitempty"`
	DecidedAt     time.Time      `json:"decided_at,omitzero"`
	// Outcome is why an approved action failed, or why it was rejected.
	Outcome   string    `json:"outcome,omitempty" audit:"outcome"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Version   int64     `json:"version"`
}

// Clone returns a deep copy.
func (a *Approval) Clone() *Approval {
	c := *a
	c.Params = maps.Clone(a.Params)
	c.Effect = slices.Clone(a.Effect)
	return &c
}

// ApprovalQuery selects requests for a listing, newest first.
type ApprovalQuery struct {
	Status *ApprovalStatus
	// After is the id of the last request of the previous page.
	After string
	Limit int
}

// ApprovalStore persists four-eyes requests.
type ApprovalStore interface {
	// CreateApproval stores a new request with version 1 and its entry.
	CreateApproval(ctx context.Context, a *Approval, e backoffice.AuditEntry) error
	// Approval returns a copy of the request. Returns ErrNotFound.
	Approval(ctx context.Context, tenant backoffice.TenantID, id string) (*Approval, error)
	// Approvals lists a page of the tenant's requests, newest (highest id)
	// first.
	Approvals(ctx context.Context, tenant backoffice.TenantID, q ApprovalQuery) ([]*Approval, error)
	// UpdateApproval replaces the request if its stored version is
	// expectVersion, writes the entry, and sets a.Version to the next one:
	// of concurrent decisions, on any number of instances, one wins.
	// Returns ErrNotFound, or ErrConflict on a stale version.
	UpdateApproval(ctx context.Context, a *Approval, expectVersion int64, e backoffice.AuditEntry) error
}

// Executor runs an approved action. Permission is what both the
// requester and the approver must hold; Run makes the call the request
// stands for, in a context whose actor is the requester as it is now,
// through the same service method as a direct call, so that every rule is
// checked again at that moment (F3).
type Executor struct {
	Permission Permission
	// AnyRequester lets an operator without Permission ask: a
	// break-glass elevation is asked by someone who lacks the access.
	AnyRequester bool
	Run          func(ctx context.Context, a *Approval) error
}

// HandleApproved registers how approved requests of the action run.
// Services whose actions a tenant may hold for approval call it when they
// are built: enduser.NewService and scadevice.NewService with
// Config.Approvals set to this service. Registering an action twice
// replaces the first.
func (s *Service) HandleApproved(action backoffice.Action, x Executor) {
	s.execMu.Lock()
	defer s.execMu.Unlock()
	if s.executors == nil {
		s.executors = map[backoffice.Action]Executor{}
	}
	s.executors[action] = x
}

func (s *Service) executor(action backoffice.Action) (Executor, bool) {
	s.execMu.Lock()
	defer s.execMu.Unlock()
	x, ok := s.executors[action]
	return x, ok
}

type approvalKey struct{}

// Approved returns the approved request ctx runs, if any.
func Approved(ctx context.Context) (*Approval, bool) {
	a, ok := ctx.Value(approvalKey{}).(*Approval)
	return a, ok
}

// Hold is what a service asks the gate before it changes anything: the
// action, what it acts on, and the exact effect it would have, every
// value it would change as its audit entry would record it (F6).
type Hold struct {
	Action     backoffice.Action
	TargetType string
	TargetID   string
	Effect     []backoffice.Change
	// AdminLevel marks an effect that yields permissions only
	// Administrators hold (F5): only an Administrator approves it.
	AdminLevel bool
	// Always holds the action whether or not the policy lists it: a
	// weakening of the policy (F7).
	Always bool
	// Never says this change is not held, whatever the policy: a service
	// still passes it to the gate, so that a request for it is refused
	// before anything is written.
	Never bool
}

// errPreview stops an action at its gate while its request is being
// made: the gate has recorded the effect, and nothing was written.
var errPreview = errors.New("accessctl: previewed")

type previewKey struct{}

// preview collects the hold an action reached while it was previewed.
type preview struct {
	hold *Hold
	held bool
}

// Gate returns ErrApprovalRequired when the tenant's policy holds the
// action for a second operator and ctx is not running that very request,
// approved, with that very effect; ErrFailedPrecondition when it is
// running the request but the action would now change something else
// than was approved; otherwise nil. The host's system actor is not held:
// it is the host's own code. Services call it after they computed what
// they will change and before they change anything.
func (s *Service) Gate(ctx context.Context, h Hold) error {
	a, ok := ActorFrom(ctx)
	if !ok {
		return backoffice.NewError(backoffice.ErrUnauthenticated, "accessctl: gate", "log in first")
	}
	p, err := s.tenantPolicy(ctx, a.tenant)
	if err != nil {
		return err
	}
	return s.gate(ctx, a, p, h)
}

func (s *Service) gate(ctx context.Context, a *Actor, p Policy, h Hold) error {
	held := !h.Never && (h.Always || p.needsApproval(h.Action))
	if pv, ok := ctx.Value(previewKey{}).(*preview); ok && pv.hold == nil {
		h.Effect = slices.Clone(h.Effect)
		pv.hold, pv.held = &h, held
		return errPreview
	}
	if a.kind == backoffice.ActorSystem || !held {
		return nil
	}
	if ap, ok := Approved(ctx); ok && ap.Tenant == a.tenant && ap.Action == h.Action && ap.TargetType == h.TargetType && ap.TargetID == h.TargetID {
		if EffectDigest(h.Effect) != ap.EffectDigest {
			return backoffice.NewError(backoffice.ErrFailedPrecondition, "accessctl: approved action",
				"the action would now change other values than were approved; nothing was changed, ask again")
		}
		return nil
	}
	return ErrApprovalRequired
}

// EffectDigest names an effect: the hex SHA-256 of its changes as JSON,
// in their order. An approver's decision carries the digest of the
// effect it was shown.
func EffectDigest(effect []backoffice.Change) string {
	if effect == nil {
		effect = []backoffice.Change{}
	}
	b, err := json.Marshal(effect)
	if err != nil {
		panic(err) // strings only
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ApprovalRequest is what an operator asks a second operator to approve.
type ApprovalRequest struct {
	Action     backoffice.Action
	TargetType string
	TargetID   string
	// Params are the arguments of the call, as the action's Executor
	// reads them (for most, "version": the version the requester read).
	Params map[string]string
	Reason string
}

// RequestApproval stores a request for an action the tenant's policy
// holds for a second operator, pending until the policy's ApprovalTTL
// (F1). The requester must hold the action's permission now; the request
// needs a reason.
func (s *Service) RequestApproval(ctx context.Context, in ApprovalRequest) (_ *Approval, err error) {
	defer s.observe(&ctx, "accessctl.RequestApproval")(&err)
	const op = "accessctl: request approval"
	a, ok := ActorFrom(ctx)
	if !ok || a.kind != backoffice.ActorOperator {
		return nil, backoffice.NewError(backoffice.ErrUnauthenticated, op, "only an operator with a session asks for an approval")
	}
	p, err := s.tenantPolicy(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	x, known := s.executor(in.Action)
	in.Reason = strings.TrimSpace(in.Reason)
	var v backoffice.Violations
	if !known {
		v.Add("action", "no service runs this action on approval")
	}
	if in.Reason == "" {
		v.Add("reason", "is required")
	} else if r := check.Text(in.Reason, 500); r != "" {
		v.Add("reason", r)
	}
	if r := check.Text(in.TargetType, 64); r != "" || in.TargetType == "" {
		v.Add("target_type", "must be 1 to 64 printable characters")
	}
	if r := check.Text(in.TargetID, 128); r != "" || in.TargetID == "" {
		v.Add("target_id", "must be 1 to 128 printable characters")
	}
	for _, k := range slices.Sorted(maps.Keys(in.Params)) {
		if check.Text(k, 64) != "" || check.Text(in.Params[k], 8000) != "" || len(in.Params) > 16 {
			v.Add("params", "at most 16 printable names of 64 and values of 8000 characters")
			break
		}
	}
	if err := v.Err(op); err != nil {
		return nil, err
	}
	if !x.AnyRequester {
		if err := a.Authorize(x.Permission); err != nil {
			return nil, err
		}
	}
	now := s.clock()
	ap := &Approval{ID: s.newID(), Tenant: a.tenant, Action: in.Action, TargetType: in.TargetType, TargetID: in.TargetID,
		Params: maps.Clone(in.Params), Reason: in.Reason, RequestedBy: OperatorID(a.id), RequesterName: a.name,
		Status: ApprovalPending, CreatedAt: now, ExpiresAt: now.Add(p.approvalTTL())}
	// The action runs as the requester up to its gate, which records what
	// it would change and stops it before any write (F6).
	pv := &preview{}
	switch err := x.Run(context.WithValue(ctx, previewKey{}, pv), ap.Clone()); {
	case pv.hold == nil && err != nil:
		return nil, err
	case pv.hold == nil:
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, op, "the action would change nothing; there is nothing to approve")
	case pv.hold.Action != in.Action || pv.hold.TargetType != in.TargetType || pv.hold.TargetID != in.TargetID:
		return nil, backoffice.Errorf(backoffice.ErrInvalid, op, "this change is held as %s on %s %s; ask for that",
			pv.hold.Action, pv.hold.TargetType, pv.hold.TargetID)
	case !pv.held:
		return nil, backoffice.NewError(backoffice.ErrInvalid, op, "the tenant's policy does not hold this change for approval; do it directly",
			backoffice.FieldViolation{Field: "action", Reason: "not held by the policy"})
	}
	ap.Effect, ap.EffectDigest, ap.AdminLevel = pv.hold.Effect, EffectDigest(pv.hold.Effect), pv.hold.AdminLevel
	c := backoffice.Diff(nil, ap)
	for _, ch := range ap.Effect {
		ch.Field = "effect." + ch.Field
		c = append(c, ch)
	}
	e := s.entry(a.Ref(), a.tenant, backoffice.ActionApprovalRequest, TargetApproval, ap.ID, now, c)
	if err := s.store.CreateApproval(ctx, ap, e); err != nil {
		return nil, err
	}
	return ap, nil
}

// Approval returns a request, expired if its time passed undecided. The
// requester may read its own; anyone else needs the action's permission.
func (s *Service) Approval(ctx context.Context, id string) (_ *Approval, err error) {
	defer s.observe(&ctx, "accessctl.Approval")(&err)
	a, ok := ActorFrom(ctx)
	if !ok {
		return nil, backoffice.NewError(backoffice.ErrUnauthenticated, "accessctl: approval", "log in first")
	}
	ap, err := s.store.Approval(ctx, a.tenant, id)
	if err != nil {
		return nil, err
	}
	if string(ap.RequestedBy) != a.id {
		x, _ := s.executor(ap.Action)
		if err := a.Authorize(x.Permission); err != nil || x.Permission == "" {
			return nil, backoffice.NewError(backoffice.ErrNotFound, "accessctl: approval", "approval not found")
		}
	}
	s.expire(ap)
	return ap, nil
}

// Approvals lists the tenant's requests, newest first, expired ones
// shown so. Needs operator.read.
func (s *Service) Approvals(ctx context.Context, status *ApprovalStatus, p backoffice.PageRequest) (_ backoffice.Page[*Approval], err error) {
	defer s.observe(&ctx, "accessctl.Approvals")(&err)
	a, err := Require(ctx, PermOperatorRead)
	if err != nil {
		return backoffice.Page[*Approval]{}, err
	}
	limit, after, err := backoffice.DecodeCursor("accessctl: approvals", p)
	if err != nil {
		return backoffice.Page[*Approval]{}, err
	}
	q := ApprovalQuery{After: after, Limit: limit + 1}
	if status != nil && *status != ApprovalExpired {
		q.Status = status
	} else if status != nil {
		pending := ApprovalPending
		q.Status = &pending
	}
	items, err := s.store.Approvals(backoffice.WithLaggingReads(ctx), a.tenant, q)
	if err != nil {
		return backoffice.Page[*Approval]{}, err
	}
	for _, ap := range items {
		s.expire(ap)
	}
	if status != nil {
		items = slices.DeleteFunc(items, func(ap *Approval) bool { return ap.Status != *status })
	}
	return backoffice.MakePage(items, limit, func(ap *Approval) string { return ap.ID }), nil
}

func (s *Service) expire(ap *Approval) {
	if ap.Status == ApprovalPending && !s.clock().Before(ap.ExpiresAt) {
		ap.Status = ApprovalExpired
	}
}

// decide loads a pending request for a decision by the actor (F2, F4):
// the actor must hold the action's permission, must not be the
// requester, from whichever session, nor an operator the requester
// created, invited, duplicated, reactivated or granted anything, directly,
// through an operator it so empowered, or through its own requests, nor
// one that so empowered the requester; it
// must have been an operator for the policy's ApproverMinAge; and an
// effect that yields Administrator-level permissions needs an
// Administrator.
func (s *Service) decide(ctx context.Context, op, id string) (*Actor, *Approval, Executor, error) {
	a, ok := ActorFrom(ctx)
	if !ok || a.kind != backoffice.ActorOperator {
		return nil, nil, Executor{}, backoffice.NewError(backoffice.ErrUnauthenticated, op, "only an operator with a session decides")
	}
	ap, err := s.store.Approval(ctx, a.tenant, id)
	if err != nil {
		return nil, nil, Executor{}, err
	}
	x, known := s.executor(ap.Action)
	if !known {
		return nil, nil, Executor{}, backoffice.Errorf(backoffice.ErrFailedPrecondition, op, "no service runs %s here", ap.Action)
	}
	if err := a.Authorize(x.Permission); err != nil {
		return nil, nil, Executor{}, err
	}
	if string(ap.RequestedBy) == a.id {
		return nil, nil, Executor{}, backoffice.NewError(backoffice.ErrForbidden, op, "a request needs a second operator; you asked for it")
	}
	if ap.AdminLevel && !a.admin {
		return nil, nil, Executor{}, backoffice.NewError(backoffice.ErrForbidden, op,
			"the request yields permissions only Administrators hold; an Administrator decides it")
	}
	me, err := s.store.Operator(ctx, a.tenant, OperatorID(a.id))
	if err != nil {
		return nil, nil, Executor{}, err
	}
	if slices.Contains(me.GrantedBy, ap.RequestedBy) {
		return nil, nil, Executor{}, backoffice.NewError(backoffice.ErrForbidden, op,
			"the requester created, invited, reactivated or granted your account (or one that did); another operator decides its requests")
	}
	// Nor may one person hold both accounts: the approver's keys may not
	// be the requester's, nor the requester's the approver's, nor both
	// accounts one third operator's.
	requester, err := s.store.Operator(ctx, a.tenant, ap.RequestedBy)
	if err != nil && !errors.Is(err, backoffice.ErrNotFound) {
		return nil, nil, Executor{}, err
	}
	if requester != nil && sharesKeys(requester, me) {
		return nil, nil, Executor{}, backoffice.NewError(backoffice.ErrForbidden, op,
			"your account and the requester's were created, reactivated or re-passworded by the same operator, or one by the other; another operator decides its requests")
	}
	p, err := s.tenantPolicy(ctx, a.tenant)
	if err != nil {
		return nil, nil, Executor{}, err
	}
	if age := p.approverMinAge(); s.clock().Sub(me.CreatedAt) < age {
		return nil, nil, Executor{}, backoffice.Errorf(backoffice.ErrForbidden, op,
			"an operator decides requests once its account is %s old", age)
	}
	s.expire(ap)
	if ap.Status != ApprovalPending {
		return nil, nil, Executor{}, backoffice.Errorf(backoffice.ErrFailedPrecondition, op, "the request is %s", ap.Status)
	}
	return a, ap, x, nil
}

// sharesKeys reports whether one person may hold both operators' keys:
// one is in the other's ControlledBy, or both lists share an operator.
func sharesKeys(x, y *Operator) bool {
	if slices.Contains(x.ControlledBy, y.ID) || slices.Contains(y.ControlledBy, x.ID) {
		return true
	}
	for _, id := range x.ControlledBy {
		if slices.Contains(y.ControlledBy, id) {
			return true
		}
	}
	return false
}

// Approve approves a pending request and runs its action, once: of
// concurrent approvals, on any number of instances, one wins the
// request's version and runs it; the others get ErrConflict (F3). The
// action runs as the requester as it is now (still active, still holding
// the permission), through the service method a direct call uses, so
// every rule is checked again; a refusal leaves the request failed with
// its reason and changes nothing else. effectDigest is the
// EffectDigest of the effect the approver was shown (F6): a request whose
// effect is not that one is refused, and the action runs only if it would
// still change exactly that. Returns the request as it ended.
func (s *Service) Approve(ctx context.Context, id, effectDigest string) (_ *Approval, err error) {
	defer s.observe(&ctx, "accessctl.Approve")(&err)
	const op = "accessctl: approve"
	a, ap, x, err := s.decide(ctx, op, id)
	if err != nil {
		return nil, err
	}
	if effectDigest != ap.EffectDigest || ap.EffectDigest == "" {
		return nil, backoffice.NewError(backoffice.ErrFailedPrecondition, op,
			"the request's effect is not the one you were shown; reload it and decide again",
			backoffice.FieldViolation{Field: "effect_digest", Reason: "does not match the request's effect"})
	}
	next := ap.Clone()
	next.Status, next.DecidedBy, next.DeciderName, next.DecidedAt = ApprovalApproved, OperatorID(a.id), a.name, s.clock()
	if err := s.store.UpdateApproval(ctx, next, ap.Version, s.approvalEntry(a.Ref(), backoffice.ActionApprovalApprove, ap, next)); err != nil {
		if errors.Is(err, backoffice.ErrConflict) {
			return nil, backoffice.NewError(backoffice.ErrConflict, op, "another operator decided this request first")
		}
		return nil, err
	}
	runErr := s.run(ctx, x, next)
	done := next.Clone()
	done.Status = ApprovalDone
	if runErr != nil {
		done.Status, done.Outcome = ApprovalFailed, runErr.Error()
	}
	// Recording the end must not be lost with the request's context.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ref := backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:approvals", Name: "approvals"}
	if err := s.store.UpdateApproval(wctx, done, next.Version, s.approvalEntry(ref, backoffice.ActionApprovalDone, next, done)); err != nil {
		return nil, fmt.Errorf("accessctl: approve: the action ran (%v) but its end was not recorded: %w", runErr, err)
	}
	return done, nil
}

// run runs an approved request as its requester, read again now.
func (s *Service) run(ctx context.Context, x Executor, ap *Approval) error {
	o, err := s.store.Operator(ctx, ap.Tenant, ap.RequestedBy)
	if err != nil {
		return err
	}
	if o.Status != StatusActive {
		return wrongStatus("accessctl: approve", o, "an active requester")
	}
	_, rs, err := s.tenantRoles(ctx, ap.Tenant)
	if err != nil {
		return err
	}
	now := s.clock()
	requester := sessionActor(s.cat, rs, &Session{Tenant: o.Tenant, Operator: o.ID, Epoch: o.SessionEpoch, Name: o.LoginName(),
		Roles: o.RolesAt(now), AllAccounts: o.AllAccounts && (o.AccessUntil.IsZero() || now.Before(o.AccessUntil)), Accounts: o.Accounts})
	if !x.AnyRequester {
		if err := requester.Authorize(x.Permission); err != nil {
			return err
		}
	}
	rctx := context.WithValue(NewContext(ctx, requester), approvalKey{}, ap.Clone())
	return x.Run(rctx, ap)
}

// Reject refuses a pending request with a reason. The same people as
// Approve may.
func (s *Service) Reject(ctx context.Context, id, reason string) (_ *Approval, err error) {
	defer s.observe(&ctx, "accessctl.Reject")(&err)
	const op = "accessctl: reject"
	a, ap, _, err := s.decide(ctx, op, id)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if r := check.Text(reason, 500); r != "" || reason == "" {
		return nil, backoffice.NewError(backoffice.ErrInvalid, op, "a rejection needs a reason",
			backoffice.FieldViolation{Field: "reason", Reason: "is required, at most 500 printable characters"})
	}
	next := ap.Clone()
	next.Status, next.DecidedBy, next.DeciderName, next.DecidedAt, next.Outcome = ApprovalRejected, OperatorID(a.id), a.name, s.clock(), reason
	if err := s.store.UpdateApproval(ctx, next, ap.Version, s.approvalEntry(a.Ref(), backoffice.ActionApprovalReject, ap, next)); err != nil {
		if errors.Is(err, backoffice.ErrConflict) {
			return nil, backoffice.NewError(backoffice.ErrConflict, op, "another operator decided this request first")
		}
		return nil, err
	}
	return next, nil
}

func (s *Service) approvalEntry(ref backoffice.ActorRef, action backoffice.Action, before, after *Approval) backoffice.AuditEntry {
	return s.entry(ref, after.Tenant, action, TargetApproval, after.ID, s.clock(), backoffice.Diff(before, after))
}

// ParamVersion reads the "version" parameter of an approved request, the
// version of the record its requester read.
func ParamVersion(ap *Approval) (int64, error) {
	var v int64
	if _, err := fmt.Sscan(ap.Params["version"], &v); err != nil || v <= 0 {
		return 0, backoffice.NewError(backoffice.ErrInvalid, "accessctl: approval", "the request has no valid version parameter")
	}
	return v, nil
}
