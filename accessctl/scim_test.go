package accessctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// idpKit is a tenant in SSO mode whose mapping gives "admins" the
// Administrator role and "staff" Read-only, with a SCIM token.
type idpKit struct {
	*memorytest.Kit
	admin context.Context // the first Administrator's session
	scim  context.Context // the identity provider's
	token backoffice.Secret
}

func newIdPKit(t *testing.T, policy *accessctl.Policy) *idpKit {
	t.Helper()
	var k *memorytest.Kit
	if policy != nil {
		k = memorytest.New(&memorytest.Options{Policy: *policy})
	} else {
		k = memorytest.New(nil)
	}
	ik := &idpKit{Kit: k, admin: k.Session(k.Admin.ID)}
	tn, err := k.Ops.Tenant(ik.admin)
	require.NoError(t, err)
	_, err = k.Ops.ConfigureTenant(k.System(), accessctl.TenantSettings{Version: tn.Version, SSO: &accessctl.SSOConfig{Enabled: true,
		GroupRoles: map[string][]accessctl.RoleName{"admins": {accessctl.RoleAdministrator}, "staff": {accessctl.RoleReadOnly}}}})
	require.NoError(t, err)
	if policy == nil {
		ik.token, _, err = k.Ops.IssueSCIMToken(ik.admin, "okta", 0)
		require.NoError(t, err)
		ik.scim = ik.idp(t, ik.token)
	}
	return ik
}

func (k *idpKit) idp(t *testing.T, token backoffice.Secret) context.Context {
	t.Helper()
	a, err := k.Ops.AuthenticateSCIM(context.Background(), token)
	require.NoError(t, err)
	return accessctl.NewContext(context.Background(), a)
}

func (k *idpKit) person(t *testing.T, name string, groups ...string) *accessctl.Operator {
	t.Helper()
	o, err := k.Ops.CreateManagedOperator(k.scim, accessctl.IdPUser{UserName: name + "@acme.example", Email: name + "@acme.example",
		FirstName: name, LastName: "Doe", ExternalID: "okta-" + name, Active: true})
	require.NoError(t, err)
	if len(groups) > 0 {
		o, err = k.Ops.SetManagedGroups(k.scim, o.ID, groups)
		require.NoError(t, err)
	}
	return o
}

// I4: a SCIM token is shown once and kept as a digest; it is the actor of
// the changes it makes; revoked or lapsed, it authenticates nothing;
// rotation overlaps the two tokens for the time asked, no longer.
func TestSCIMTokens(t *testing.T) {
	k := newIdPKit(t, nil)
	tn, err := k.Ops.Tenant(k.admin)
	require.NoError(t, err)
	require.Len(t, tn.SCIMTokens, 1)
	tok := tn.SCIMTokens[0]
	assert.Equal(t, backoffice.Digest(k.token), tok.Digest, "only the digest is kept")
	raw, err := json.Marshal(tn)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), string(k.token))
	hist, err := k.Ops.AuditLog(k.admin, accessctl.TargetTenant, string(k.Tenant), backoffice.PageRequest{Limit: 10})
	require.NoError(t, err)
	raw, err = json.Marshal(hist)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), string(k.token), "the audit log has no secret")
	assert.NotContains(t, string(raw), tok.Digest, "nor the digest")
	assert.Contains(t, string(raw), "okta ("+tok.ID+", active)")

	// The token is the actor of what it does.
	o := k.person(t, "ann", "staff")
	h := k.history(t, o.ID)
	require.NotEmpty(t, h)
	assert.Equal(t, backoffice.ActorRef{Kind: backoffice.ActorIdentityProvider, ID: "scim:" + tok.ID, Name: "okta"}, h[len(h)-1].Actor)

	// Rotation: the old token works for the overlap, then stops.
	newTok, newRec, err := k.Ops.RotateSCIMToken(k.admin, tok.ID, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, "okta", newRec.Name)
	k.idp(t, k.token)
	k.idp(t, newTok)
	k.Clock.Advance(time.Hour)
	_, err = k.Ops.AuthenticateSCIM(context.Background(), k.token)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "the overlap is over")
	k.idp(t, newTok)

	// Revocation stops it at once, whatever its end.
	require.NoError(t, k.Ops.RevokeSCIMToken(k.admin, newRec.ID))
	_, err = k.Ops.AuthenticateSCIM(context.Background(), newTok)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated)

	// A token of a set lifetime lapses.
	short, _, err := k.Ops.IssueSCIMToken(k.admin, "entra", time.Minute)
	require.NoError(t, err)
	k.idp(t, short)
	k.Clock.Advance(time.Minute)
	_, err = k.Ops.AuthenticateSCIM(context.Background(), short)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated)

	// Garbage, another tenant's name, a session token: one refusal.
	for _, bad := range []backoffice.Secret{"", "x", "YWNtZQ.nope", backoffice.Secret(string(k.token) + "x")} {
		_, err = k.Ops.AuthenticateSCIM(context.Background(), bad)
		require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "%q", bad)
	}
}

func (k *idpKit) history(t *testing.T, id accessctl.OperatorID) []backoffice.AuditEntry {
	t.Helper()
	es, err := k.Store.AuditEntries(context.Background(), k.Tenant, accessctl.AuditQuery{TargetType: accessctl.TargetOperator, TargetID: string(id)})
	require.NoError(t, err)
	return es
}

// I4, the attacker's test: only an Administrator issues a token; what a
// token can do is the managed-operator calls and nothing else; it never
// reaches an operator the identity provider does not manage, the first
// Administrator included.
func TestSCIMTokenReachesOnlyManagedOperators(t *testing.T) {
	k := newIdPKit(t, nil)
	// Operators made before SSO: a manager who may configure nothing.
	for _, roles := range [][]accessctl.RoleName{{accessctl.RoleManager}, {accessctl.RoleReadOnly}} {
		k2 := memorytest.New(nil)
		ctx := k2.As(roles...)
		_, _, err := k2.Ops.IssueSCIMToken(ctx, "mine", 0)
		require.ErrorIs(t, err, backoffice.ErrForbidden, "%v", roles)
	}

	_, err := k.Ops.Operators(k.scim, accessctl.OperatorFilter{}, backoffice.PageRequest{Limit: 10})
	require.ErrorIs(t, err, backoffice.ErrForbidden)
	_, err = k.Ops.ConfigureTenant(k.scim, accessctl.TenantSettings{Version: 1})
	require.ErrorIs(t, err, backoffice.ErrForbidden)
	_, _, err = k.Ops.IssueSCIMToken(k.scim, "another", 0)
	require.ErrorIs(t, err, backoffice.ErrForbidden, "a token cannot mint tokens")
	_, err = k.Ops.DeactivateOperator(k.scim, k.Admin.ID, 1)
	require.ErrorIs(t, err, backoffice.ErrForbidden)
	// The managed calls on the unmanaged first Administrator: not found.
	_, err = k.Ops.ManagedOperator(k.scim, k.Admin.ID)
	require.ErrorIs(t, err, backoffice.ErrNotFound)
	_, err = k.Ops.ReplaceManagedOperator(k.scim, k.Admin.ID, 0, accessctl.IdPUser{UserName: "admin", Active: false})
	require.ErrorIs(t, err, backoffice.ErrNotFound)
	_, err = k.Ops.SetManagedGroups(k.scim, k.Admin.ID, nil)
	require.ErrorIs(t, err, backoffice.ErrNotFound)
	require.ErrorIs(t, k.Ops.DeprovisionManagedOperator(k.scim, k.Admin.ID, 0), backoffice.ErrNotFound)
	admin, err := k.Ops.Operator(k.admin, k.Admin.ID)
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusActive, admin.Status)
	// A userName or externalId already an operator's is a conflict, not
	// a takeover.
	_, err = k.Ops.CreateManagedOperator(k.scim, accessctl.IdPUser{UserName: "admin", Active: true})
	require.ErrorIs(t, err, backoffice.ErrConflict)
	k.person(t, "bob")
	_, err = k.Ops.CreateManagedOperator(k.scim, accessctl.IdPUser{UserName: "other", ExternalID: "okta-bob", Active: true})
	require.ErrorIs(t, err, backoffice.ErrConflict)
	// A group the identity provider makes known maps to nothing; it
	// cannot take the name of a mapped one.
	g, err := k.Ops.CreateManagedGroup(k.scim, "new-team", "")
	require.NoError(t, err)
	assert.Empty(t, g.Roles)
	require.ErrorIs(t, k.Ops.RenameManagedGroup(k.scim, g.ID, "admins", ""), backoffice.ErrConflict)
	_, err = k.Ops.CreateManagedGroup(k.scim, "admins", "")
	require.ErrorIs(t, err, backoffice.ErrConflict)
	eve := k.person(t, "eve", "new-team")
	assert.Empty(t, eve.Roles, "an unmapped group grants nothing")
}

// I4, F4: where Administrator grants are held for a second operator, a
// token is issued pending and authenticates nothing until another
// Administrator approves it; whom the token provisions is granted by its
// issuer and its approver, so neither decides their requests.
func TestSCIMTokenUnderFourEyes(t *testing.T) {
	p := accessctl.PCIDSS4()
	p.ApproverMinAge = 0
	k := newIdPKit(t, &p)
	root := k.Admin
	tn, err := k.Ops.Tenant(k.admin)
	require.NoError(t, err)
	// A second Administrator, through SSO (the tenant is in SSO mode).
	res, err := k.Ops.ProvisionSSO(context.Background(), k.Tenant, accessctl.Assertion{Subject: "idp-zoe", Email: "zoe@acme.example",
		FirstName: "Zoe", LastName: "Z", Groups: []string{"admins"}})
	require.NoError(t, err)
	a2, err := k.Ops.Authenticate(context.Background(), res.Session)
	require.NoError(t, err)
	second := accessctl.NewContext(context.Background(), a2)

	token, rec, err := k.Ops.IssueSCIMToken(k.admin, "okta", 0)
	require.NoError(t, err)
	assert.True(t, rec.Pending)
	_, err = k.Ops.AuthenticateSCIM(context.Background(), token)
	require.ErrorIs(t, err, backoffice.ErrUnauthenticated, "pending: it authenticates nothing")
	require.ErrorIs(t, k.Ops.ActivateSCIMToken(k.admin, rec.ID), accessctl.ErrApprovalRequired)
	ap, err := k.Ops.RequestApproval(k.admin, accessctl.ApprovalRequest{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetTenant,
		TargetID: string(tn.ID), Params: map[string]string{"scim_token": rec.ID}, Reason: "connect Okta"})
	require.NoError(t, err)
	assert.True(t, ap.AdminLevel)
	_, err = k.Ops.Approve(k.admin, ap.ID, ap.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrForbidden, "not by its requester")
	done, err := k.Ops.Approve(second, ap.ID, ap.EffectDigest)
	require.NoError(t, err)
	require.Equal(t, accessctl.ApprovalDone, done.Status, done.Outcome)
	k.scim = k.idp(t, token)

	o := k.person(t, "mallory", "admins")
	assert.Contains(t, o.GrantedBy, root.ID)
	assert.Contains(t, o.GrantedBy, accessctl.OperatorID(a2.ID()), "its approver too")
	// Mallory, made an Administrator by root's token, cannot approve
	// root's requests.
	res, err = k.Ops.StartSession(k.System(), o.ID)
	require.NoError(t, err)
	am, err := k.Ops.Authenticate(context.Background(), res.Session)
	require.NoError(t, err)
	tn, err = k.Ops.Tenant(k.admin)
	require.NoError(t, err)
	weaker := accessctl.PCIDSS4()
	weaker.MinPasswordLength = 8
	raw, err := json.Marshal(weaker)
	require.NoError(t, err)
	ap, err = k.Ops.RequestApproval(k.admin, accessctl.ApprovalRequest{Action: accessctl.ApprovePolicyChange, TargetType: accessctl.TargetTenant,
		TargetID: string(tn.ID), Params: map[string]string{"version": fmt.Sprint(tn.Version), "policy": string(raw)}, Reason: "fewer lockouts"})
	require.NoError(t, err)
	_, err = k.Ops.Approve(accessctl.NewContext(context.Background(), am), ap.ID, ap.EffectDigest)
	require.ErrorIs(t, err, backoffice.ErrForbidden, "an account root's token made does not approve root's request")
	_, err = k.Ops.Approve(second, ap.ID, ap.EffectDigest)
	require.NoError(t, err, "the independent Administrator can")
}

// I5: going inactive, losing the last mapped group, or DELETE deactivate
// the operator and end every session in the same call; DELETE keeps the
// operator and its history; coming back needs the identity provider to
// say active again.
func TestSCIMDeprovisioning(t *testing.T) {
	k := newIdPKit(t, nil)
	session := func(o *accessctl.Operator) backoffice.Secret {
		res, err := k.Ops.StartSession(k.System(), o.ID)
		require.NoError(t, err)
		return res.Session
	}
	refused := func(tok backoffice.Secret) {
		t.Helper()
		_, err := k.Ops.Authenticate(context.Background(), tok)
		require.ErrorIs(t, err, backoffice.ErrUnauthenticated)
	}

	ann := k.person(t, "ann", "staff")
	s1, s2 := session(ann), session(ann)
	ann, err := k.Ops.ReplaceManagedOperator(k.scim, ann.ID, ann.Version, accessctl.IdPUser{UserName: ann.Username, Email: ann.Email, Active: false})
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusDeactivated, ann.Status)
	refused(s1)
	refused(s2)
	h := k.history(t, ann.ID)
	assert.Equal(t, backoffice.ActionOperatorSCIMDeprovision, h[0].Action)
	// Active again: it may sign in again, with its groups' roles.
	ann, err = k.Ops.ReplaceManagedOperator(k.scim, ann.ID, 0, accessctl.IdPUser{UserName: ann.Username, Email: ann.Email, Active: true})
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusActive, ann.Status)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleReadOnly}, ann.Roles)

	// The last mapped group left.
	bob := k.person(t, "bob", "staff", "admins")
	s3 := session(bob)
	bob, err = k.Ops.SetManagedGroups(k.scim, bob.ID, []string{"staff"})
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusActive, bob.Status)
	refused(s3) // roles shrank: sessions end too
	s4 := session(bob)
	bob, err = k.Ops.SetManagedGroups(k.scim, bob.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusDeactivated, bob.Status)
	assert.Empty(t, bob.Roles)
	refused(s4)
	bob, err = k.Ops.SetManagedGroups(k.scim, bob.ID, []string{"staff"})
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusDeactivated, bob.Status, "rejoining a group does not reactivate: the identity provider says active")

	// DELETE.
	cy := k.person(t, "cy", "staff")
	s5 := session(cy)
	require.NoError(t, k.Ops.DeprovisionManagedOperator(k.scim, cy.ID, 0))
	refused(s5)
	_, err = k.Ops.ManagedOperator(k.scim, cy.ID)
	require.ErrorIs(t, err, backoffice.ErrNotFound, "no longer a SCIM resource")
	kept, err := k.Ops.Operator(k.admin, cy.ID)
	require.NoError(t, err, "the operator stays for the auditors")
	assert.Equal(t, accessctl.StatusDeactivated, kept.Status)
	assert.Len(t, k.history(t, cy.ID), 3, "create, groups, delete: history kept")

	// A stale version is refused and changes nothing.
	ann2, err := k.Ops.ManagedOperator(k.scim, ann.ID)
	require.NoError(t, err)
	_, err = k.Ops.ReplaceManagedOperator(k.scim, ann.ID, ann2.Version-1, accessctl.IdPUser{UserName: "x", Active: false})
	require.ErrorIs(t, err, backoffice.ErrConflict)
	again, err := k.Ops.ManagedOperator(k.scim, ann.ID)
	require.NoError(t, err)
	assert.Equal(t, ann2, again)
}

// I6: in SSO mode the back office does not change what the identity
// provider owns of its operators: password, reset link, MFA, reactivation,
// key, identity, roles; it still may deactivate one at once.
func TestSSOModeRefusesLocalManagement(t *testing.T) {
	k := newIdPKit(t, nil)
	o := k.person(t, "ann", "staff")
	before, err := k.Ops.Operator(k.admin, o.ID)
	require.NoError(t, err)
	name := "Mallory"
	key := "someone-else"
	for name, call := range map[string]func() error{
		"SetPassword": func() error {
			_, err := k.Ops.SetPassword(k.admin, o.ID, o.Version, memorytest.AdminPassword, memorytest.AdminPassword)
			return err
		},
		"SendPasswordReset": func() error { return k.Ops.SendPasswordReset(k.admin, o.ID) },
		"ResetMFA":          func() error { _, err := k.Ops.ResetMFA(k.admin, o.ID, o.Version); return err },
		"LinkSSO":           func() error { _, err := k.Ops.LinkSSO(k.admin, o.ID, o.Version, key); return err },
		"UpdateOperator": func() error {
			_, err := k.Ops.UpdateOperator(k.admin, o.ID, accessctl.OperatorUpdate{Version: o.Version, FirstName: &name})
			return err
		},
	} {
		err := call()
		require.ErrorIs(t, err, backoffice.ErrFailedPrecondition, name)
	}
	after, err := k.Ops.Operator(k.admin, o.ID)
	require.NoError(t, err)
	assert.Equal(t, before, after, "nothing changed")

	// Deactivation is the back office's own emergency stop; reactivation
	// is the identity provider's.
	o, err = k.Ops.DeactivateOperator(k.admin, o.ID, o.Version)
	require.NoError(t, err)
	_, err = k.Ops.ReactivateOperator(k.admin, o.ID, o.Version)
	require.ErrorIs(t, err, accessctl.ErrManagedByIdP)
}

// I2: a sign-in finds its operator by the identity provider's key first,
// by verified email only where the tenant allows, and links it; a sign-in
// whose groups map to no role is refused and provisions nothing.
func TestSSOLinking(t *testing.T) {
	k := memorytest.New(nil)
	_, local := k.Operator(accessctl.RoleManager)
	admin := k.Session(k.Admin.ID)
	tn, err := k.Ops.Tenant(admin)
	require.NoError(t, err)
	sso := accessctl.SSOConfig{Enabled: true, GroupRoles: map[string][]accessctl.RoleName{"staff": {accessctl.RoleReadOnly}}}
	tn, err = k.Ops.ConfigureTenant(admin, accessctl.TenantSettings{Version: tn.Version, SSO: &sso})
	require.NoError(t, err)
	as := accessctl.Assertion{Subject: "idp-42", Email: local.Email, FirstName: "Lo", LastName: "Cal", Groups: []string{"staff"}}

	// Off: the email is another operator's; the sign-in cannot take it.
	_, err = k.Ops.ProvisionSSO(context.Background(), k.Tenant, as)
	require.ErrorIs(t, err, backoffice.ErrConflict)
	got, err := k.Ops.Operator(admin, local.ID)
	require.NoError(t, err)
	assert.Empty(t, got.ExternalKey)

	sso.LinkByEmail = true
	_, err = k.Ops.ConfigureTenant(admin, accessctl.TenantSettings{Version: tn.Version, SSO: &sso})
	require.NoError(t, err)
	_, err = k.Ops.ProvisionSSO(context.Background(), k.Tenant, as)
	require.ErrorIs(t, err, backoffice.ErrConflict, "an email never verified does not link")
	got.EmailVerified = true
	require.NoError(t, k.Store.UpdateOperator(context.Background(), got, got.Version, accessctl.Guard{}, backoffice.AuditEntry{ID: "verify",
		Tenant: k.Tenant, Action: backoffice.ActionOperatorAcceptInvitation, TargetType: accessctl.TargetOperator, TargetID: string(got.ID)}))
	res, err := k.Ops.ProvisionSSO(context.Background(), k.Tenant, as)
	require.NoError(t, err)
	assert.Equal(t, local.ID, res.Operator, "linked by its verified email")
	got, err = k.Ops.Operator(admin, local.ID)
	require.NoError(t, err)
	assert.Equal(t, "idp-42", got.ExternalKey)
	assert.True(t, got.Managed)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleReadOnly}, got.Roles, "roles from the mapping")

	// By key now, whatever email the provider sends.
	as.Email = "renamed@acme.test"
	res, err = k.Ops.ProvisionSSO(context.Background(), k.Tenant, as)
	require.NoError(t, err)
	assert.Equal(t, local.ID, res.Operator)

	// No mapped group: refused, nothing made.
	before, err := k.Ops.Operators(admin, accessctl.OperatorFilter{}, backoffice.PageRequest{Limit: 100})
	require.NoError(t, err)
	_, err = k.Ops.ProvisionSSO(context.Background(), k.Tenant, accessctl.Assertion{Subject: "idp-43", Email: "new@acme.test",
		FirstName: "N", LastName: "W", Groups: []string{"unmapped"}})
	require.ErrorIs(t, err, backoffice.ErrForbidden)
	after, err := k.Ops.Operators(admin, accessctl.OperatorFilter{}, backoffice.PageRequest{Limit: 100})
	require.NoError(t, err)
	assert.Len(t, after.Items, len(before.Items))
}

// I1: a refused sign-in is recorded with its reason and reported to
// Config.Events.
func TestSSORefusalIsAudited(t *testing.T) {
	k := memorytest.New(nil)
	require.NoError(t, k.Ops.RefuseSSO(context.Background(), k.Tenant, "the assertion was signed by another key"))
	hist, err := k.Ops.AuditLog(k.Session(k.Admin.ID), accessctl.TargetTenant, string(k.Tenant), backoffice.PageRequest{Limit: 5})
	require.NoError(t, err)
	require.NotEmpty(t, hist.Items)
	assert.Equal(t, backoffice.ActionOperatorSSORefused, hist.Items[0].Action)
	assert.Equal(t, "the assertion was signed by another key", hist.Items[0].Changes[0].After)
	require.Error(t, k.Ops.RefuseSSO(context.Background(), "nope", "x"), "an unknown tenant gets no entry")
}

// I1, I2, F5, the attacker's test: where Administrator grants are held,
// one Administrator alone cannot point the tenant at an identity provider
// of its own, nor let a sign-in take an operator by email: whoever
// controls that provider could sign anyone in to a mapped group. Taking
// trust away is not held.
func TestIdentityProviderTrustIsHeld(t *testing.T) {
	p := accessctl.PCIDSS4()
	p.ApproverMinAge = 0
	k := newIdPKit(t, &p)
	tn, err := k.Ops.Tenant(k.admin)
	require.NoError(t, err)
	before := tn.Clone()
	for name, edit := range map[string]func(c *accessctl.SSOConfig){
		"metadata":      func(c *accessctl.SSOConfig) { c.SAML.IdPMetadata = "<EntityDescriptor/>" },
		"metadata URL":  func(c *accessctl.SSOConfig) { c.SAML.IdPMetadataURL = "https://evil.example/metadata" },
		"IdP-initiated": func(c *accessctl.SSOConfig) { c.SAML.AllowIdPInitiated = true },
		"link by email": func(c *accessctl.SSOConfig) { c.LinkByEmail = true },
	} {
		sso := tn.SSO
		edit(&sso)
		_, err := k.Ops.ConfigureTenant(k.admin, accessctl.TenantSettings{Version: tn.Version, SSO: &sso})
		require.ErrorIs(t, err, accessctl.ErrApprovalRequired, name)
	}
	after, err := k.Ops.Tenant(k.admin)
	require.NoError(t, err)
	assert.Equal(t, before, after, "nothing changed")

	// Set up with a second Administrator's approval, then taken away alone.
	sso := tn.SSO
	sso.SAML.IdPMetadataURL, sso.LinkByEmail = "https://idp.example/metadata", true
	raw, err := json.Marshal(sso)
	require.NoError(t, err)
	ap, err := k.Ops.RequestApproval(k.admin, accessctl.ApprovalRequest{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetTenant,
		TargetID: string(tn.ID), Params: map[string]string{"version": fmt.Sprint(tn.Version), "sso": string(raw)}, Reason: "connect the IdP"})
	require.NoError(t, err)
	assert.True(t, ap.AdminLevel)
	res, err := k.Ops.ProvisionSSO(context.Background(), k.Tenant, accessctl.Assertion{Subject: "idp-zed", Email: "zed@acme.example",
		FirstName: "Zed", LastName: "Z", Groups: []string{"admins"}})
	require.NoError(t, err)
	a2, err := k.Ops.Authenticate(context.Background(), res.Session)
	require.NoError(t, err)
	done, err := k.Ops.Approve(accessctl.NewContext(context.Background(), a2), ap.ID, ap.EffectDigest)
	require.NoError(t, err)
	require.Equal(t, accessctl.ApprovalDone, done.Status, done.Outcome)
	tn, err = k.Ops.Tenant(k.admin)
	require.NoError(t, err)
	sso = tn.SSO
	sso.SAML, sso.LinkByEmail = accessctl.SAMLConfig{}, false
	_, err = k.Ops.ConfigureTenant(k.admin, accessctl.TenantSettings{Version: tn.Version, SSO: &sso})
	require.NoError(t, err, "taking trust away needs no second operator")
}

// I2: an operator the identity provider provisioned over SCIM signs in
// over SSO by the user name it was given (the NameID Okta and Entra ID
// send by default), keeps its SCIM key, and keeps its SCIM groups when
// the assertion names none; a deactivated one is refused.
func TestSSOSignInOfAProvisionedOperator(t *testing.T) {
	k := newIdPKit(t, nil)
	o := k.person(t, "ann", "staff")
	res, err := k.Ops.ProvisionSSO(context.Background(), k.Tenant, accessctl.Assertion{Subject: o.Username, Email: o.Email, FirstName: "Ann", LastName: "Doe"})
	require.NoError(t, err)
	assert.Equal(t, o.ID, res.Operator)
	got, err := k.Ops.ManagedOperator(k.scim, o.ID)
	require.NoError(t, err)
	assert.Equal(t, "okta-ann", got.ExternalKey, "the SCIM externalId stays its key")
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleReadOnly}, got.Roles, "its SCIM groups' roles")

	// Groups in the assertion are the groups.
	res, err = k.Ops.ProvisionSSO(context.Background(), k.Tenant, accessctl.Assertion{Subject: "okta-ann", Email: o.Email, FirstName: "Ann",
		LastName: "Doe", Groups: []string{"admins"}})
	require.NoError(t, err)
	assert.Equal(t, o.ID, res.Operator)

	// A local operator is not taken by a subject equal to its username.
	_, err = k.Ops.ProvisionSSO(context.Background(), k.Tenant, accessctl.Assertion{Subject: k.Admin.Username, Email: "x@acme.example",
		FirstName: "X", LastName: "Y", Groups: []string{"staff"}})
	require.NoError(t, err)
	admin, err := k.Ops.Operator(k.admin, k.Admin.ID)
	require.NoError(t, err)
	assert.False(t, admin.Managed)
	assert.Empty(t, admin.ExternalKey)

	_, err = k.Ops.ReplaceManagedOperator(k.scim, o.ID, 0, accessctl.IdPUser{UserName: o.Username, Email: o.Email, Active: false})
	require.NoError(t, err)
	_, err = k.Ops.ProvisionSSO(context.Background(), k.Tenant, accessctl.Assertion{Subject: o.Username, Email: o.Email, FirstName: "Ann", LastName: "Doe"})
	require.ErrorIs(t, err, accessctl.ErrLoginRefused, "deprovisioned: refused")
}
