// Package observed wraps a store so that a host's tracing sees each
// store call (backoffice.Observer): a span per call, named after the
// store and the method ("postgres.UpdateOperator"), nested in the
// service call's span that the context carries. It adds no behaviour: a
// wrapped store passes the conformance suite as its inner store does.
//
//	durable := observed.Wrap(pg, tracer, "postgres")
//	hot := observed.WrapHot(redisStore, tracer, "redis")
//	ops, _ := accessctl.NewService(accessctl.Config{Store: durable, Sessions: hot, Tokens: hot, Observer: tracer})
package observed

import (
	"context"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
)

// Everything is an adapter that holds every store, the outbox included:
// storage/memory and storage/postgres.
type Everything interface {
	accessctl.Store
	enduser.Store
	scadevice.Store
	backoffice.OutboxStore
}

// Store observes every call of an adapter that holds every store.
type Store struct {
	inner Everything
	obs   backoffice.Observer
	name  string
}

var _ Everything = (*Store)(nil)

// Wrap returns inner observed by obs, its calls named name + "." +
// method.
func Wrap(inner Everything, obs backoffice.Observer, name string) *Store {
	return &Store{inner: inner, obs: obs, name: name}
}

// HotStores are the stores of sessions, one-time tokens and login
// attempts: storage/redis.
type HotStores interface {
	accessctl.SessionStore
	accessctl.TokenStore
	accessctl.AttemptStore
	accessctl.OnceStore
}

// Hot observes every call of the stores of sessions, tokens and
// attempts.
type Hot struct {
	inner HotStores
	obs   backoffice.Observer
	name  string
}

var _ HotStores = (*Hot)(nil)

// WrapHot returns inner observed by obs, its calls named name + "." +
// method.
func WrapHot(inner HotStores, obs backoffice.Observer, name string) *Hot {
	return &Hot{inner: inner, obs: obs, name: name}
}

// CreateTenant observes the store's CreateTenant.
func (w *Store) CreateTenant(ctx context.Context, t *accessctl.Tenant, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CreateTenant")(&err)
	return w.inner.CreateTenant(ctx, t, e)
}

// Tenant observes the store's Tenant.
func (w *Store) Tenant(ctx context.Context, id backoffice.TenantID) (_ *accessctl.Tenant, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Tenant")(&err)
	return w.inner.Tenant(ctx, id)
}

// UpdateTenant observes the store's UpdateTenant.
func (w *Store) UpdateTenant(ctx context.Context, t *accessctl.Tenant, expectVersion int64, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".UpdateTenant")(&err)
	return w.inner.UpdateTenant(ctx, t, expectVersion, e)
}

// CreateOperator observes the store's CreateOperator.
func (w *Store) CreateOperator(ctx context.Context, op *accessctl.Operator, g accessctl.Guard, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CreateOperator")(&err)
	return w.inner.CreateOperator(ctx, op, g, e)
}

// Operator observes the store's Operator.
func (w *Store) Operator(ctx context.Context, tenant backoffice.TenantID, id accessctl.OperatorID) (_ *accessctl.Operator, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Operator")(&err)
	return w.inner.Operator(ctx, tenant, id)
}

// OperatorByLogin observes the store's OperatorByLogin.
func (w *Store) OperatorByLogin(ctx context.Context, tenant backoffice.TenantID, login string) (_ *accessctl.Operator, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".OperatorByLogin")(&err)
	return w.inner.OperatorByLogin(ctx, tenant, login)
}

// OperatorByExternalKey observes the store's OperatorByExternalKey.
func (w *Store) OperatorByExternalKey(ctx context.Context, tenant backoffice.TenantID, key string) (_ *accessctl.Operator, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".OperatorByExternalKey")(&err)
	return w.inner.OperatorByExternalKey(ctx, tenant, key)
}

// Operators observes the store's Operators.
func (w *Store) Operators(ctx context.Context, tenant backoffice.TenantID, q accessctl.OperatorQuery) (_ []*accessctl.Operator, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Operators")(&err)
	return w.inner.Operators(ctx, tenant, q)
}

// UpdateOperator observes the store's UpdateOperator.
func (w *Store) UpdateOperator(ctx context.Context, op *accessctl.Operator, expectVersion int64, g accessctl.Guard, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".UpdateOperator")(&err)
	return w.inner.UpdateOperator(ctx, op, expectVersion, g, e)
}

// DeleteOperator observes the store's DeleteOperator.
func (w *Store) DeleteOperator(ctx context.Context, tenant backoffice.TenantID, id accessctl.OperatorID, expectVersion int64, g accessctl.Guard, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".DeleteOperator")(&err)
	return w.inner.DeleteOperator(ctx, tenant, id, expectVersion, g, e)
}

// CreateRole observes the store's CreateRole.
func (w *Store) CreateRole(ctx context.Context, r *accessctl.Role, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CreateRole")(&err)
	return w.inner.CreateRole(ctx, r, e)
}

// Roles observes the store's Roles.
func (w *Store) Roles(ctx context.Context, tenant backoffice.TenantID) (_ []accessctl.Role, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Roles")(&err)
	return w.inner.Roles(ctx, tenant)
}

// UpdateRole observes the store's UpdateRole.
func (w *Store) UpdateRole(ctx context.Context, r *accessctl.Role, expectVersion int64, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".UpdateRole")(&err)
	return w.inner.UpdateRole(ctx, r, expectVersion, e)
}

// AppendAuditEntry observes the store's AppendAuditEntry.
func (w *Store) AppendAuditEntry(ctx context.Context, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".AppendAuditEntry")(&err)
	return w.inner.AppendAuditEntry(ctx, e)
}

// AuditEntries observes the store's AuditEntries.
func (w *Store) AuditEntries(ctx context.Context, tenant backoffice.TenantID, q accessctl.AuditQuery) (_ []backoffice.AuditEntry, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".AuditEntries")(&err)
	return w.inner.AuditEntries(ctx, tenant, q)
}

// AuditChain observes the store's AuditChain.
func (w *Store) AuditChain(ctx context.Context, tenant backoffice.TenantID, after int64, limit int) (_ []backoffice.AuditEntry, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".AuditChain")(&err)
	return w.inner.AuditChain(ctx, tenant, after, limit)
}

// AuditHead observes the store's AuditHead.
func (w *Store) AuditHead(ctx context.Context, tenant backoffice.TenantID) (_ backoffice.ChainHead, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".AuditHead")(&err)
	return w.inner.AuditHead(ctx, tenant)
}

// CreateSession observes the store's CreateSession.
func (w *Store) CreateSession(ctx context.Context, s *accessctl.Session) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CreateSession")(&err)
	return w.inner.CreateSession(ctx, s)
}

// Session observes the store's Session.
func (w *Store) Session(ctx context.Context, tenant backoffice.TenantID, digest string) (_ *accessctl.Session, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Session")(&err)
	return w.inner.Session(ctx, tenant, digest)
}

// SetRolesVersion observes the store's SetRolesVersion.
func (w *Store) SetRolesVersion(ctx context.Context, tenant backoffice.TenantID, version int64) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".SetRolesVersion")(&err)
	return w.inner.SetRolesVersion(ctx, tenant, version)
}

// Sessions observes the store's Sessions.
func (w *Store) Sessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (_ []*accessctl.Session, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Sessions")(&err)
	return w.inner.Sessions(ctx, tenant, op)
}

// TouchSession observes the store's TouchSession.
func (w *Store) TouchSession(ctx context.Context, tenant backoffice.TenantID, digest string, at time.Time) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".TouchSession")(&err)
	return w.inner.TouchSession(ctx, tenant, digest, at)
}

// DeleteSession observes the store's DeleteSession.
func (w *Store) DeleteSession(ctx context.Context, tenant backoffice.TenantID, digest string) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".DeleteSession")(&err)
	return w.inner.DeleteSession(ctx, tenant, digest)
}

// DeleteOperatorSessions observes the store's DeleteOperatorSessions.
func (w *Store) DeleteOperatorSessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".DeleteOperatorSessions")(&err)
	return w.inner.DeleteOperatorSessions(ctx, tenant, op)
}

// IssueToken observes the store's IssueToken.
func (w *Store) IssueToken(ctx context.Context, t *accessctl.Token) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".IssueToken")(&err)
	return w.inner.IssueToken(ctx, t)
}

// Token observes the store's Token.
func (w *Store) Token(ctx context.Context, purpose accessctl.TokenPurpose, tenant backoffice.TenantID, digest string) (_ *accessctl.Token, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Token")(&err)
	return w.inner.Token(ctx, purpose, tenant, digest)
}

// ConsumeToken observes the store's ConsumeToken.
func (w *Store) ConsumeToken(ctx context.Context, purpose accessctl.TokenPurpose, tenant backoffice.TenantID, digest string) (_ *accessctl.Token, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".ConsumeToken")(&err)
	return w.inner.ConsumeToken(ctx, purpose, tenant, digest)
}

// DeleteOperatorTokens observes the store's DeleteOperatorTokens.
func (w *Store) DeleteOperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".DeleteOperatorTokens")(&err)
	return w.inner.DeleteOperatorTokens(ctx, tenant, op)
}

// OperatorTokens observes the store's OperatorTokens.
func (w *Store) OperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (_ []*accessctl.Token, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".OperatorTokens")(&err)
	return w.inner.OperatorTokens(ctx, tenant, op)
}

// ReserveAttempt observes the store's ReserveAttempt.
func (w *Store) ReserveAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, l accessctl.AttemptLimit) (_ bool, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".ReserveAttempt")(&err)
	return w.inner.ReserveAttempt(ctx, tenant, op, at, l)
}

// SettleAttempt observes the store's SettleAttempt.
func (w *Store) SettleAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, o accessctl.AttemptOutcome) (_ accessctl.Attempts, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".SettleAttempt")(&err)
	return w.inner.SettleAttempt(ctx, tenant, op, at, o)
}

// Attempts observes the store's Attempts.
func (w *Store) Attempts(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (_ accessctl.Attempts, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Attempts")(&err)
	return w.inner.Attempts(ctx, tenant, op)
}

// ResetAttempts observes the store's ResetAttempts.
func (w *Store) ResetAttempts(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".ResetAttempts")(&err)
	return w.inner.ResetAttempts(ctx, tenant, op)
}

// CreateApproval observes the store's CreateApproval.
func (w *Store) CreateApproval(ctx context.Context, a *accessctl.Approval, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CreateApproval")(&err)
	return w.inner.CreateApproval(ctx, a, e)
}

// Approval observes the store's Approval.
func (w *Store) Approval(ctx context.Context, tenant backoffice.TenantID, id string) (_ *accessctl.Approval, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Approval")(&err)
	return w.inner.Approval(ctx, tenant, id)
}

// Approvals observes the store's Approvals.
func (w *Store) Approvals(ctx context.Context, tenant backoffice.TenantID, q accessctl.ApprovalQuery) (_ []*accessctl.Approval, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Approvals")(&err)
	return w.inner.Approvals(ctx, tenant, q)
}

// UpdateApproval observes the store's UpdateApproval.
func (w *Store) UpdateApproval(ctx context.Context, a *accessctl.Approval, expectVersion int64, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".UpdateApproval")(&err)
	return w.inner.UpdateApproval(ctx, a, expectVersion, e)
}

// CreateReview observes the store's CreateReview.
func (w *Store) CreateReview(ctx context.Context, r *accessctl.Review, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CreateReview")(&err)
	return w.inner.CreateReview(ctx, r, e)
}

// Review observes the store's Review.
func (w *Store) Review(ctx context.Context, tenant backoffice.TenantID, id string) (_ *accessctl.Review, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Review")(&err)
	return w.inner.Review(ctx, tenant, id)
}

// Reviews observes the store's Reviews.
func (w *Store) Reviews(ctx context.Context, tenant backoffice.TenantID, q accessctl.ReviewQuery) (_ []*accessctl.Review, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Reviews")(&err)
	return w.inner.Reviews(ctx, tenant, q)
}

// UpdateReview observes the store's UpdateReview.
func (w *Store) UpdateReview(ctx context.Context, r *accessctl.Review, expectVersion int64, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".UpdateReview")(&err)
	return w.inner.UpdateReview(ctx, r, expectVersion, e)
}

// CreateEndUser observes the store's CreateEndUser.
func (w *Store) CreateEndUser(ctx context.Context, u *enduser.EndUser, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CreateEndUser")(&err)
	return w.inner.CreateEndUser(ctx, u, e)
}

// EndUser observes the store's EndUser.
func (w *Store) EndUser(ctx context.Context, tenant backoffice.TenantID, id enduser.ID) (_ *enduser.EndUser, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".EndUser")(&err)
	return w.inner.EndUser(ctx, tenant, id)
}

// UpdateEndUser observes the store's UpdateEndUser.
func (w *Store) UpdateEndUser(ctx context.Context, u *enduser.EndUser, expectVersion int64, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".UpdateEndUser")(&err)
	return w.inner.UpdateEndUser(ctx, u, expectVersion, e)
}

// FindEndUsers observes the store's FindEndUsers.
func (w *Store) FindEndUsers(ctx context.Context, tenant backoffice.TenantID, q enduser.Query) (_ []*enduser.EndUser, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".FindEndUsers")(&err)
	return w.inner.FindEndUsers(ctx, tenant, q)
}

// CountEndUsers observes the store's CountEndUsers.
func (w *Store) CountEndUsers(ctx context.Context, tenant backoffice.TenantID, q enduser.Query) (_ int, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CountEndUsers")(&err)
	return w.inner.CountEndUsers(ctx, tenant, q)
}

// CreateOnboarding observes the store's CreateOnboarding.
func (w *Store) CreateOnboarding(ctx context.Context, o *enduser.Onboarding, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CreateOnboarding")(&err)
	return w.inner.CreateOnboarding(ctx, o, e)
}

// OnboardingByActivation observes the store's OnboardingByActivation.
func (w *Store) OnboardingByActivation(ctx context.Context, activationID string) (_ *enduser.Onboarding, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".OnboardingByActivation")(&err)
	return w.inner.OnboardingByActivation(ctx, activationID)
}

// Onboardings observes the store's Onboardings.
func (w *Store) Onboardings(ctx context.Context, tenant backoffice.TenantID, q enduser.OnboardingQuery) (_ []*enduser.Onboarding, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Onboardings")(&err)
	return w.inner.Onboardings(ctx, tenant, q)
}

// CompleteOnboarding observes the store's CompleteOnboarding.
func (w *Store) CompleteOnboarding(ctx context.Context, o *enduser.Onboarding, expectVersion int64, u *enduser.EndUser, eo backoffice.AuditEntry, eu backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CompleteOnboarding")(&err)
	return w.inner.CompleteOnboarding(ctx, o, expectVersion, u, eo, eu)
}

// CreateDevice observes the store's CreateDevice.
func (w *Store) CreateDevice(ctx context.Context, d *scadevice.Device, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CreateDevice")(&err)
	return w.inner.CreateDevice(ctx, d, e)
}

// Device observes the store's Device.
func (w *Store) Device(ctx context.Context, tenant backoffice.TenantID, id scadevice.ID) (_ *scadevice.Device, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Device")(&err)
	return w.inner.Device(ctx, tenant, id)
}

// UpdateDevice observes the store's UpdateDevice.
func (w *Store) UpdateDevice(ctx context.Context, d *scadevice.Device, expectVersion int64, e backoffice.AuditEntry) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".UpdateDevice")(&err)
	return w.inner.UpdateDevice(ctx, d, expectVersion, e)
}

// Devices observes the store's Devices.
func (w *Store) Devices(ctx context.Context, tenant backoffice.TenantID, user enduser.ID, deleted bool) (_ []*scadevice.Device, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Devices")(&err)
	return w.inner.Devices(ctx, tenant, user, deleted)
}

// ClaimMessages observes the store's ClaimMessages.
func (w *Store) ClaimMessages(ctx context.Context, now time.Time, n int, lease time.Duration) (_ []backoffice.Message, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".ClaimMessages")(&err)
	return w.inner.ClaimMessages(ctx, now, n, lease)
}

// MarkDelivered observes the store's MarkDelivered.
func (w *Store) MarkDelivered(ctx context.Context, id string, at time.Time) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".MarkDelivered")(&err)
	return w.inner.MarkDelivered(ctx, id, at)
}

// MarkFailed observes the store's MarkFailed.
func (w *Store) MarkFailed(ctx context.Context, id string, next time.Time, reason string, dead bool) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".MarkFailed")(&err)
	return w.inner.MarkFailed(ctx, id, next, reason, dead)
}

// OutboxMessages observes the store's OutboxMessages.
func (w *Store) OutboxMessages(ctx context.Context, status backoffice.MessageStatus, limit int) (_ []backoffice.Message, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".OutboxMessages")(&err)
	return w.inner.OutboxMessages(ctx, status, limit)
}

// OutboxBacklog observes the store's OutboxBacklog.
func (w *Store) OutboxBacklog(ctx context.Context) (_ backoffice.Backlog, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".OutboxBacklog")(&err)
	return w.inner.OutboxBacklog(ctx)
}

// The stores of sessions, tokens and attempts, for Hot.

// CreateSession observes the store's CreateSession.
func (w *Hot) CreateSession(ctx context.Context, s *accessctl.Session) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".CreateSession")(&err)
	return w.inner.CreateSession(ctx, s)
}

// Session observes the store's Session.
func (w *Hot) Session(ctx context.Context, tenant backoffice.TenantID, digest string) (_ *accessctl.Session, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Session")(&err)
	return w.inner.Session(ctx, tenant, digest)
}

// SetRolesVersion observes the store's SetRolesVersion.
func (w *Hot) SetRolesVersion(ctx context.Context, tenant backoffice.TenantID, version int64) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".SetRolesVersion")(&err)
	return w.inner.SetRolesVersion(ctx, tenant, version)
}

// Sessions observes the store's Sessions.
func (w *Hot) Sessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (_ []*accessctl.Session, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Sessions")(&err)
	return w.inner.Sessions(ctx, tenant, op)
}

// TouchSession observes the store's TouchSession.
func (w *Hot) TouchSession(ctx context.Context, tenant backoffice.TenantID, digest string, at time.Time) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".TouchSession")(&err)
	return w.inner.TouchSession(ctx, tenant, digest, at)
}

// DeleteSession observes the store's DeleteSession.
func (w *Hot) DeleteSession(ctx context.Context, tenant backoffice.TenantID, digest string) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".DeleteSession")(&err)
	return w.inner.DeleteSession(ctx, tenant, digest)
}

// DeleteOperatorSessions observes the store's DeleteOperatorSessions.
func (w *Hot) DeleteOperatorSessions(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".DeleteOperatorSessions")(&err)
	return w.inner.DeleteOperatorSessions(ctx, tenant, op)
}

// IssueToken observes the store's IssueToken.
func (w *Hot) IssueToken(ctx context.Context, t *accessctl.Token) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".IssueToken")(&err)
	return w.inner.IssueToken(ctx, t)
}

// Token observes the store's Token.
func (w *Hot) Token(ctx context.Context, purpose accessctl.TokenPurpose, tenant backoffice.TenantID, digest string) (_ *accessctl.Token, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Token")(&err)
	return w.inner.Token(ctx, purpose, tenant, digest)
}

// ConsumeToken observes the store's ConsumeToken.
func (w *Hot) ConsumeToken(ctx context.Context, purpose accessctl.TokenPurpose, tenant backoffice.TenantID, digest string) (_ *accessctl.Token, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".ConsumeToken")(&err)
	return w.inner.ConsumeToken(ctx, purpose, tenant, digest)
}

// DeleteOperatorTokens observes the store's DeleteOperatorTokens.
func (w *Hot) DeleteOperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".DeleteOperatorTokens")(&err)
	return w.inner.DeleteOperatorTokens(ctx, tenant, op)
}

// OperatorTokens observes the store's OperatorTokens.
func (w *Hot) OperatorTokens(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (_ []*accessctl.Token, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".OperatorTokens")(&err)
	return w.inner.OperatorTokens(ctx, tenant, op)
}

// ReserveAttempt observes the store's ReserveAttempt.
func (w *Hot) ReserveAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, l accessctl.AttemptLimit) (_ bool, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".ReserveAttempt")(&err)
	return w.inner.ReserveAttempt(ctx, tenant, op, at, l)
}

// SettleAttempt observes the store's SettleAttempt.
func (w *Hot) SettleAttempt(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID, at time.Time, o accessctl.AttemptOutcome) (_ accessctl.Attempts, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".SettleAttempt")(&err)
	return w.inner.SettleAttempt(ctx, tenant, op, at, o)
}

// Attempts observes the store's Attempts.
func (w *Hot) Attempts(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (_ accessctl.Attempts, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".Attempts")(&err)
	return w.inner.Attempts(ctx, tenant, op)
}

// ResetAttempts observes the store's ResetAttempts.
func (w *Hot) ResetAttempts(ctx context.Context, tenant backoffice.TenantID, op accessctl.OperatorID) (err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".ResetAttempts")(&err)
	return w.inner.ResetAttempts(ctx, tenant, op)
}

// UseOnce observes the store's UseOnce.
func (w *Store) UseOnce(ctx context.Context, tenant backoffice.TenantID, key string, at, until time.Time) (_ bool, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".UseOnce")(&err)
	return w.inner.UseOnce(ctx, tenant, key, at, until)
}

// UseOnce observes the store's UseOnce.
func (w *Hot) UseOnce(ctx context.Context, tenant backoffice.TenantID, key string, at, until time.Time) (_ bool, err error) {
	defer backoffice.Observe(w.obs, &ctx, w.name+".UseOnce")(&err)
	return w.inner.UseOnce(ctx, tenant, key, at, until)
}
