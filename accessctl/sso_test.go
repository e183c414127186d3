package accessctl_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// A17: an SSO tenant provisions operators from the identity provider's
// assertion, maps groups to roles, and refuses local management.
func TestSSO(t *testing.T) {
	e := newEnv(t, accessctl.PresetDashboard)
	local := e.operator("local", accessctl.RoleReadOnly)
	local, err := e.svc.LinkSSO(e.adminCtx, local.ID, local.Version, "idp|local")
	require.NoError(t, err, "A17: the SAML key links an existing operator")
	tn, err := e.svc.Tenant(e.adminCtx)
	require.NoError(t, err)
	before := e.snapshot()
	_, err = e.svc.ConfigureTenant(e.adminCtx, accessctl.TenantSettings{Version: tn.Version, SSO: &accessctl.SSOConfig{Enabled: true,
		GroupRoles: map[string][]accessctl.RoleName{"ops": {"no_such_role"}}}})
	requireFields(t, err, "sso.group_roles")
	e.requireUnchanged(before)
	tn, err = e.svc.ConfigureTenant(e.adminCtx, accessctl.TenantSettings{Version: tn.Version, SSO: &accessctl.SSOConfig{Enabled: true,
		GroupRoles: map[string][]accessctl.RoleName{"support": {accessctl.RoleBasicEditor}, "leads": {accessctl.RoleManager}}}})
	require.NoError(t, err)
	assert.True(t, tn.SSO.Enabled)

	// Local creation, invitation, edits and password logins are refused.
	_, err = e.svc.InviteOperator(e.adminCtx, newOp("nope", accessctl.RoleReadOnly))
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	_, err = e.svc.UpdateOperator(e.adminCtx, local.ID, accessctl.OperatorUpdate{Version: local.Version, FirstName: ptr("X")})
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	_, err = e.svc.Login(context.Background(), tenantID, "root", adminPassword)
	requireKind(t, err, backoffice.ErrFailedPrecondition)

	// First sight creates the operator with the mapped roles.
	res, err := e.svc.ProvisionSSO(context.Background(), tenantID, accessctl.Assertion{Subject: "idp|kim", Email: "Kim@Acme.test",
		FirstName: "Kim", LastName: "Lee", Groups: []string{"support", "unmapped"}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Session)
	a, err := e.svc.Authenticate(context.Background(), res.Session)
	require.NoError(t, err)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleBasicEditor}, a.Roles())
	kim := e.get(res.Operator)
	assert.Equal(t, "kim@acme.test", kim.Email)
	assert.Equal(t, "idp|kim", kim.ExternalKey)
	// Later logins update roles and names from the assertion.
	res2, err := e.svc.ProvisionSSO(context.Background(), tenantID, accessctl.Assertion{Subject: "idp|kim", Email: "kim@acme.test",
		FirstName: "Kimberly", LastName: "Lee", Groups: []string{"leads"}})
	require.NoError(t, err)
	assert.Equal(t, res.Operator, res2.Operator)
	kim = e.get(res.Operator)
	assert.Equal(t, "Kimberly", kim.FirstName)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleManager}, kim.Roles)
	_, err = e.svc.Authenticate(context.Background(), res.Session)
	requireKind(t, err, backoffice.ErrUnauthenticated) // A18: the role change ended the older session
	// The linked local operator logs in through SSO.
	res3, err := e.svc.ProvisionSSO(context.Background(), tenantID, accessctl.Assertion{Subject: "idp|local", Email: "local@acme.test",
		FirstName: "Lo", LastName: "Cal", Groups: []string{"support"}})
	require.NoError(t, err)
	assert.Equal(t, local.ID, res3.Operator)
	// Groups that map to no role are refused.
	before = e.snapshot()
	_, err = e.svc.ProvisionSSO(context.Background(), tenantID, accessctl.Assertion{Subject: "idp|zed", Email: "zed@acme.test",
		FirstName: "Zed", LastName: "Z", Groups: []string{"unmapped"}})
	requireKind(t, err, backoffice.ErrForbidden)
	_, err = e.svc.ProvisionSSO(context.Background(), tenantID, accessctl.Assertion{Email: "bad", Groups: []string{"support"}})
	requireFields(t, err, "subject", "email", "first_name")
	e.requireUnchanged(before)
	hist := e.history(res.Operator)
	assert.Equal(t, backoffice.ActionOperatorSSOUpdate, hist[0].Action)
	assert.Equal(t, backoffice.ActionOperatorSSOProvision, hist[len(hist)-1].Action)
	// Back to local mode: SSO provisioning is refused.
	_, err = e.svc.ConfigureTenant(e.adminCtx, accessctl.TenantSettings{Version: tn.Version, SSO: &accessctl.SSOConfig{}})
	require.NoError(t, err)
	_, err = e.svc.ProvisionSSO(context.Background(), tenantID, accessctl.Assertion{Subject: "idp|kim", Email: "kim@acme.test",
		FirstName: "K", LastName: "L", Groups: []string{"leads"}})
	requireKind(t, err, backoffice.ErrFailedPrecondition)
}
