package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// pciEnv is the console's environment with the tenant under PCIDSS4.
func pciEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	sys := e.k.System()
	tn, err := e.k.Ops.Tenant(sys)
	require.NoError(t, err)
	p := accessctl.PCIDSS4()
	_, err = e.k.Ops.ConfigureTenant(sys, accessctl.TenantSettings{Version: tn.Version, Policy: &p})
	require.NoError(t, err)
	e.k.Clock.Advance(8 * 24 * time.Hour) // F4: the demo operators are a week old, old enough to decide
	return e
}

var reviewLink = regexp.MustCompile(`href="/reviews/([^"/]+)"`)

// F1, F2, F3 in the console: a Manager's deactivation is held and becomes
// a request with a reason; the Manager is offered no decision on its own
// request; another operator approves it from the Approvals page and the
// user is deactivated.
func TestConsoleFourEyes(t *testing.T) {
	e := pciEnv(t)
	status := enduser.StatusValidated
	list, err := e.k.Users.List(e.k.System(), enduser.Filter{Status: &status}, backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	validated := list.Items[0]

	manager := e.browser(t)
	e.login(t, manager, "manager")
	resp, body := e.post(t, manager, "/users/"+string(validated.ID)+"/deactivate", url.Values{"version": {strconv.FormatInt(validated.Version, 10)}})
	require.Equal(t, http.StatusConflict, resp.StatusCode, body)
	assert.Contains(t, body, "needs a second operator")
	resp, body = e.post(t, manager, "/approvals", url.Values{"action": {"enduser.deactivate"}, "target_type": {"enduser"},
		"target_id": {string(validated.ID)}, "param_version": {strconv.FormatInt(validated.Version, 10)}, "reason": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, `id="error-reason"`, "a request needs a reason")
	resp, body = e.post(t, manager, "/approvals", url.Values{"action": {"enduser.deactivate"}, "target_type": {"enduser"},
		"target_id": {string(validated.ID)}, "param_version": {strconv.FormatInt(validated.Version, 10)}, "reason": {"the customer closed the account"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "/approvals", resp.Request.URL.Path)
	assert.Contains(t, body, "the customer closed the account")
	assert.Contains(t, body, "yours: another operator decides")
	assert.NotContains(t, body, `class="approve"`)

	chief := e.browser(t)
	e.login(t, chief, "chief")
	_, body = e.get(t, chief, "/approvals")
	m := regexp.MustCompile(`action="/approvals/([^"/]+)/approve"><input type="hidden" name="effect_digest" value="([0-9a-f]{64})">`).FindStringSubmatch(body)
	require.NotNil(t, m, body)
	assert.Contains(t, body, "<tr><td><code>status</code></td><td>validated</td><td>canceled</td></tr>", "F6: the approver sees what it will change")
	seen := url.Values{"effect_digest": {m[2]}}
	resp, body = e.post(t, manager, "/approvals/"+m[1]+"/approve", seen)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "F2: not the requester")
	assert.Contains(t, body, "You may not do this")
	resp, _ = e.post(t, chief, "/approvals/"+m[1]+"/approve", url.Values{"effect_digest": {strings.Repeat("0", 64)}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "F6: only the effect shown is approved")
	resp, body = e.post(t, chief, "/approvals/"+m[1]+"/approve", seen)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `class="status-done"`)
	got, err := e.k.Users.Get(e.k.System(), validated.ID)
	require.NoError(t, err)
	assert.Equal(t, enduser.StatusCanceled, got.Status)
}

// V1 and H2 in the console: a campaign started, a line certified, the
// CSV downloaded; the audit page says the history holds.
func TestConsoleReviewAndAudit(t *testing.T) {
	e := pciEnv(t)
	chief := e.browser(t)
	e.login(t, chief, "chief")
	resp, body := e.get(t, chief, "/reviews")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `id="review-due"`, "no review ever closed")
	resp, body = e.post(t, chief, "/reviews", url.Values{"name": {"Q4 review"}, "due": {"yesterday"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, "a date, such as")
	resp, body = e.post(t, chief, "/reviews", url.Values{"name": {"Q4 review"}, "due": {e.k.Clock.Now().AddDate(0, 0, 14).Format("2006-01-02")}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.True(t, strings.HasPrefix(resp.Request.URL.Path, "/reviews/"))
	id := strings.TrimPrefix(resp.Request.URL.Path, "/reviews/")
	assert.Contains(t, body, "another reviewer decides", "not the chief's own line")
	resp, body = e.post(t, chief, "/reviews/"+id, url.Values{"operator": {string(e.ops["reader"].ID)}, "decision": {"certified"}, "note": {"needed"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "certified: needed")
	resp, body = e.get(t, chief, "/reviews/"+id+"/csv")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(body, "campaign,operator,name"))
	_, body = e.get(t, chief, "/reviews")
	assert.NotNil(t, reviewLink.FindStringSubmatch(body))

	resp, body = e.get(t, chief, "/audit")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `id="chain-intact"`)
	assert.Contains(t, body, "pci-dss-4.0")
	_, body = e.get(t, chief, "/audit")
	assert.Contains(t, body, "which an earlier check found intact", "B3: the routine check goes on from its checkpoint")
	resp, body = e.post(t, chief, "/audit/verify-full", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `id="chain-intact"`)
	assert.NotContains(t, body, "which an earlier check found intact", "the full check reads every entry")
	resp, body = e.post(t, chief, "/audit/verify-full", nil)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "one full check every ten minutes")
	assert.Contains(t, body, "a full verification ran at")
	reader := e.browser(t)
	e.login(t, reader, "reader")
	_, body = e.get(t, reader, "/users")
	assert.NotContains(t, body, `id="nav-audit"`, "a Read-only operator has no audit.read")
}

type waitErr struct{}

func (waitErr) Error() string   { return "too many" }
func (waitErr) RetryAfter() int { return 7 }

// The host's rate limits stand before the login forms: a refused form is
// the login page again, 429 with Retry-After, and no password was checked.
func TestLoginFormsRateLimited(t *testing.T) {
	k := memorytest.New(nil)
	var asked []string
	c, err := console.New(console.Config{Ops: k.Ops, Users: k.Users, Devices: k.Devices, Tenant: k.Tenant, Now: k.Clock.Now,
		Limit: func(_ *http.Request, action, login string) error {
			asked = append(asked, action+":"+login)
			return waitErr{}
		}})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	defer srv.Close()
	resp, err := srv.Client().PostForm(srv.URL+"/login", url.Values{"username": {"admin"}, "password": {string(memorytest.AdminPassword)}})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "7", resp.Header.Get("Retry-After"))
	assert.Contains(t, string(body), "Too many attempts")
	assert.Equal(t, []string{"login:admin"}, asked)
	for _, ck := range resp.Cookies() {
		assert.NotEqual(t, "bo_login", ck.Name, "no password was checked, no login step opened")
	}
}
