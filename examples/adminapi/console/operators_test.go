package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/accessctl"
)

var versionRe = regexp.MustCompile(`name="version" value="(\d+)"`)

// version reads the version an operator's board shows.
func version(t *testing.T, body string) string {
	t.Helper()
	m := versionRe.FindStringSubmatch(body)
	require.NotNil(t, m, "the page shows the version")
	return m[1]
}

// Dashboard Users: list and filter, invite (a refusal keeps what was
// typed and says why next to the field), change roles, deactivate and
// reactivate, block and unblock, send a reset, reset MFA, sessions and
// their end, history, duplicate, delete; the permission matrix.
func TestDashboardUsers(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	e.login(t, c, "chief")

	_, body := e.get(t, c, "/operators")
	for _, name := range []string{"reader", "manager", "chief"} {
		assert.Contains(t, body, "<td>"+name+"</td>")
	}
	assert.Contains(t, body, "<td>Read-only</td>", "roles as the seeds write them")
	assert.NotContains(t, body, "<td>read_only</td>")
	_, body = e.get(t, c, "/operators?role=read_only")
	assert.Contains(t, body, "<td>reader</td>")
	assert.NotContains(t, body, "<td>manager</td>")

	form := url.Values{"username": {"newbie"}, "email": {"not-an-email"}, "first_name": {"New"}, "last_name": {"Bie"}, "roles": {"basic_editor"}}
	resp, body := e.post(t, c, "/operators", form)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, `value="not-an-email" aria-invalid="true"`, "what was typed stays, marked")
	assert.Contains(t, body, `id="error-email"`)
	assert.Contains(t, body, `value="newbie"`)
	assert.Regexp(t, `value="basic_editor" checked`, body)

	form.Set("email", "newbie@acme.test")
	resp, body = e.post(t, c, "/operators", form)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Regexp(t, `^/operators/[^/]+$`, resp.Request.URL.Path)
	assert.Contains(t, body, ">invited<")
	newbie := resp.Request.URL.Path
	assert.Regexp(t, `id="links"><div>invitation sent 20\d\d-\d\d-\d\d \d\d:\d\d, expires `, body, "the invitation is outstanding")
	_, ok := e.k.Outbox.LastOperatorNotice("newbie@acme.test", accessctl.NoticeInvitation)
	assert.True(t, ok, "the invitation was sent")

	resp, body = e.post(t, c, newbie+"/roles", url.Values{"version": {version(t, body)}, "roles": {"read_only", "basic_editor"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Regexp(t, `value="read_only" checked`, body)

	manager := "/operators/" + string(e.ops["manager"].ID)
	_, body = e.get(t, c, manager)
	resp, body = e.post(t, c, manager+"/deactivate", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `id="operator-status">deactivated<`)
	assert.Contains(t, body, `id="action-reactivate"`)
	resp, body = e.post(t, c, manager+"/reactivate", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `id="operator-status">active<`)
	resp, body = e.post(t, c, manager+"/block", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `id="operator-status">blocked<`)
	resp, body = e.post(t, c, manager+"/unblock", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `id="operator-status">active<`)
	resp, body = e.post(t, c, manager+"/send_reset", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	_, ok = e.k.Outbox.LastOperatorNotice("manager@acme.test", accessctl.NoticePasswordReset)
	assert.True(t, ok, "the reset link was sent")

	// The manager logs in (enrolling MFA), then its MFA is reset and its
	// sessions ended from the board.
	mc := e.browser(t)
	e.login(t, mc, "manager")
	_, body = e.get(t, c, manager)
	require.Contains(t, body, `id="action-reset_mfa"`)
	resp, body = e.post(t, c, manager+"/reset_mfa", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "not enrolled")
	e.login(t, mc, "manager")
	_, body = e.get(t, c, manager+"?tab=sessions")
	assert.Equal(t, 1, strings.Count(body, "<tr><td>20"), "one open session")
	resp, body = e.post(t, c, manager+"/revoke_sessions", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "No open session.")
	resp, _ = e.get(t, mc, "/users")
	assert.Equal(t, "/login", resp.Request.URL.Path, "its browser is logged out")

	_, body = e.get(t, c, manager+"?tab=history")
	for _, action := range []string{"operator.deactivate", "operator.reactivate", "operator.block", "operator.unblock", "operator.reset_mfa"} {
		assert.Contains(t, body, ">"+action+"<")
	}

	_, body = e.get(t, c, "/operators/new?from="+string(e.ops["manager"].ID))
	assert.Contains(t, body, "Duplicate manager Op")
	assert.Regexp(t, `value="manager" checked`, body)

	_, body = e.get(t, c, newbie)
	resp, body = e.post(t, c, newbie+"/delete", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "/operators", resp.Request.URL.Path)
	assert.NotContains(t, body, "<td>newbie</td>")

	_, body = e.get(t, c, "/roles")
	assert.Regexp(t, `<code>operator.read</code>`, body)
	row := regexp.MustCompile(`(?s)<code>operator.read</code>.*?</tr>`).FindString(body)
	assert.Equal(t, 8, strings.Count(row, `<td class="cell">`), "a cell per role")
	assert.Equal(t, 2, strings.Count(row, "✓"), "Manager and Administrator hold operator.read")
}

// A Read-only operator has no Dashboard Users screen, and the service
// refuses an action posted by hand.
func TestReadOnlyHasNoOperatorScreens(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	e.login(t, c, "reader")
	_, body := e.get(t, c, "/users")
	assert.NotContains(t, body, `id="nav-operators"`)
	resp, _ := e.get(t, c, "/operators")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = e.post(t, c, "/operators/"+string(e.ops["manager"].ID)+"/deactivate", url.Values{"version": {fmt.Sprint(e.ops["manager"].Version)}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	o, err := e.k.Ops.Operator(e.k.System(), e.ops["manager"].ID)
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusActive, o.Status)
}

// The tenant's settings: single sign-on and the mapping of groups to
// roles; a line that cannot be read, or a role that does not exist, is
// refused next to the field with what was typed kept.
func TestSettings(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	e.login(t, c, "chief")
	_, body := e.get(t, c, "/settings")
	form := url.Values{"version": {version(t, body)}, "name": {"Acme Bank"}, "sso": {"on"}, "mapping": {"nonsense"}}
	resp, body := e.post(t, c, "/settings", form)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, `id="error-group_roles">line 1: write it as group: role, role<`)
	assert.Contains(t, body, ">nonsense</textarea>")
	form.Set("mapping", "ops: no_such_role")
	resp, body = e.post(t, c, "/settings", form)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
	assert.Contains(t, body, ">ops: no_such_role</textarea>")
	form.Set("mapping", "support: read_only\nops-admins: administrator, manager")
	resp, body = e.post(t, c, "/settings", form)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "ops-admins: administrator, manager\nsupport: read_only\n</textarea>")
	tn, err := e.k.Ops.Tenant(e.k.System())
	require.NoError(t, err)
	assert.True(t, tn.SSO.Enabled)
	assert.Equal(t, "Acme Bank", tn.Name)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleReadOnly}, tn.SSO.GroupRoles["support"])
}

// An operator's identity edited from its board; a refusal keeps what was
// typed, with the reason next to the field.
func TestEditOperator(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	e.login(t, c, "chief")
	reader := "/operators/" + string(e.ops["reader"].ID)
	_, body := e.get(t, c, reader)
	resp, body := e.post(t, c, reader+"/identity", url.Values{"version": {version(t, body)}, "first_name": {"Rea"}, "last_name": {"Der"},
		"email": {"broken"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, `value="broken" aria-invalid="true"`)
	assert.Contains(t, body, `value="Rea"`)
	resp, body = e.post(t, c, reader+"/identity", url.Values{"version": {version(t, body)}, "first_name": {"Rea"}, "last_name": {"Der"},
		"email": {"rea.der@acme.test"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "<h1>Rea Der")
	assert.Contains(t, body, "rea.der@acme.test")
}
