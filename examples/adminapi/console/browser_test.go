package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/scadevice"
)

// newBrowser starts a headless Chromium of the test's own (its own
// cookies), stopped when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(testserver.Chromium(t)), chromedp.WindowSize(1280, 860),
		chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	return ctx
}

// shots writes screenshots to BACKOFFICE_SCREENSHOTS (make screenshots
// sets docs/screenshots) when it is set; they are taken anyway.
type shots struct {
	t   *testing.T
	ctx context.Context
}

func (s shots) take(name string) {
	s.t.Helper()
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	require.NoError(s.t, err)
	require.NotEmpty(s.t, png)
	if dir := os.Getenv("BACKOFFICE_SCREENSHOTS"); dir != "" {
		require.NoError(s.t, os.MkdirAll(dir, 0o755))
		require.NoError(s.t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
	}
}

// browserLogin logs in through the real pages: password, the secret under
// the QR code on a first login, the code.
func (e *env) browserLogin(t *testing.T, ctx context.Context, user string, shot func(string)) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("username")),
	))
	if shot != nil {
		shot("login")
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), string(pw)),
		through(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	var code string
	if secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("secret"), chromedp.AtLeast(0))); err == nil && secret != "" {
		if shot != nil {
			shot("mfa-enrolment")
		}
		code, err = accessctl.TOTPCode(backoffice.Secret(secret), e.k.Clock.Now())
		require.NoError(t, err)
	} else {
		code = e.k.Code(e.ops[user].ID)
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("code"), code),
		through(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("users")),
	))
	e.k.Clock.Advance(31 * time.Second)
}

// through clicks sel and waits for the page it loads: the old page's body
// is marked first, so a wait cannot match the page being left.
func through[S chromedp.Selectable](sel S) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for _, a := range []chromedp.Action[chromedp.Void]{
			chromedp.SetAttributeValue(chromedp.CSS("body"), "data-left", "1"),
			chromedp.Click(sel),
			chromedp.WaitNotPresent(chromedp.CSS("body[data-left]")),
			chromedp.WaitReady(chromedp.CSS("body")),
		} {
			if _, err := a(ctx, t); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, nil
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err)
	return s
}

// In a real browser: log in with TOTP, search a user by name, filter the
// list by status and date, open the profile board, lock then unlock a
// device with a reason; a Read-only operator sees no command; a form
// posted from another site is refused; an operator deactivated while its
// browser is open is sent to the login page at its next click.
func TestInTheBrowser(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	shot := shots{t: t, ctx: ctx}.take
	e.browserLogin(t, ctx, "manager", shot)
	shot("all-users")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("search-name"), "lovel"),
		through(chromedp.ID("search")),
		chromedp.WaitVisible(chromedp.ID("users")),
	))
	assert.Contains(t, text(t, ctx, "#users tbody"), "Ada Lovelace")
	assert.NotContains(t, text(t, ctx, "#users tbody"), "Person")
	shot("search")

	today := e.k.Clock.Now().UTC().Format("2006-01-02")
	require.NoError(t, chromedp.Do(ctx,
		through(chromedp.ID("clear")),
		chromedp.WaitVisible(chromedp.ID("users")),
		chromedp.SetValue(chromedp.ID("filter-status"), "validated"),
		chromedp.SetValue(chromedp.ID("filter-from"), "2026-01-01"),
		chromedp.SetValue(chromedp.ID("filter-to"), today),
		through(chromedp.ID("filter")),
		chromedp.WaitVisible(chromedp.ID("users")),
	))
	rows := text(t, ctx, "#users tbody")
	assert.Equal(t, 8, strings.Count(rows, "Sample"), "the eight validated users: %s", rows)
	assert.NotContains(t, rows, "pending")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Contains(t, loc, "status=validated")
	shot("filtered")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/users?name=lovelace"),
		through(chromedp.CSS(`#users a`)),
		chromedp.WaitVisible(chromedp.ID("tab-devices")),
	))
	assert.Contains(t, text(t, ctx, "main"), "ada@example.test")
	shot("profile")
	require.NoError(t, chromedp.Do(ctx,
		through(chromedp.ID("tab-devices")),
		chromedp.WaitVisible(chromedp.CSS("button.lock")),
		chromedp.SetValue(chromedp.CSS("select.reason"), string(scadevice.ReasonSuspectedFraud)),
		through(chromedp.CSS("button.lock")),
		chromedp.WaitVisible(chromedp.CSS("button.unlock")),
	))
	assert.Contains(t, text(t, ctx, ".device"), "Locked: suspected_fraud")
	shot("device-locked")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("input.verified")),
		through(chromedp.CSS("button.unlock")),
		chromedp.WaitVisible(chromedp.CSS("button.lock")),
	))
	d, err := e.k.Devices.Device(e.k.System(), e.device.ID)
	require.NoError(t, err)
	assert.Equal(t, scadevice.StatusActive, d.Status)

	// Another site's page posts a lock form at the console, with the
	// manager's browser: refused, nothing locked.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form method="post" action="%s/devices/%s/lock"><input name="version" value="%d">`+
			`<input name="reason" value="other"><button id="go">Win a prize</button></form>`, e.srv.URL, d.ID, d.Version)
	}))
	defer evil.Close()
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) // another site
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(evilURL),
		through(chromedp.ID("go")),
		chromedp.WaitReady(chromedp.CSS("body")),
	))
	d, err = e.k.Devices.Device(e.k.System(), e.device.ID)
	require.NoError(t, err)
	assert.Equal(t, scadevice.StatusActive, d.Status, "the forged post changed nothing")
	body := text(t, ctx, "body")
	assert.Contains(t, strings.ToLower(body), "cross-origin")

	// The Dashboard Users screens, for the pictures.
	for _, page := range []struct{ path, wait, name string }{
		{"/operators", "#operators", "dashboard-users"},
		{"/operators/" + string(e.ops["reader"].ID), "#save-roles", "operator"},
		{"/roles", "#matrix", "roles"},
	} {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+page.path), chromedp.WaitVisible(chromedp.CSS(page.wait))))
		shot(page.name)
	}

	// An Administrator, in a browser of its own, deactivates the manager
	// while the manager's browser is open: the manager's next click lands
	// on the login page.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/users"), chromedp.WaitVisible(chromedp.ID("users"))))
	chief := newBrowser(t)
	e.browserLogin(t, chief, "chief", nil)
	require.NoError(t, chromedp.Do(chief,
		chromedp.Navigate(e.srv.URL+"/operators/"+string(e.ops["manager"].ID)),
		through(chromedp.ID("action-deactivate")),
		chromedp.WaitVisible(chromedp.ID("action-reactivate")),
	))
	assert.Equal(t, "deactivated", text(t, chief, "#operator-status"))
	require.NoError(t, chromedp.Do(ctx,
		through(chromedp.CSS(`#users a`)),
		chromedp.WaitVisible(chromedp.ID("username")),
	))

	// A Read-only operator, in a browser of its own, sees the device and
	// no command.
	ro := newBrowser(t)
	e.browserLogin(t, ro, "reader", nil)
	require.NoError(t, chromedp.Do(ro,
		chromedp.Navigate(e.srv.URL+"/users/"+string(e.ada.ID)+"?tab=devices"),
		chromedp.WaitVisible(chromedp.CSS(".device")),
	))
	buttons, err := chromedp.Run(ro, chromedp.Nodes(chromedp.CSSAll(".device button"), chromedp.AtLeast(0)))
	require.NoError(t, err)
	assert.Empty(t, buttons, "no command for a Read-only operator")
}

// F2, F3, V1, H2 in headless Chromium: the chief approves, from the
// Approvals page, a deactivation a Manager asked for; starts an access
// review and certifies a line; and sees the audit history hold.
func TestComplianceInTheBrowser(t *testing.T) {
	e := pciEnv(t)
	manager := e.browser(t)
	e.login(t, manager, "manager")
	status := enduser.StatusValidated
	list, err := e.k.Users.List(e.k.System(), enduser.Filter{Status: &status}, backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	u := list.Items[0]
	resp, body := e.post(t, manager, "/approvals", url.Values{"action": {"enduser.deactivate"}, "target_type": {"enduser"},
		"target_id": {string(u.ID)}, "param_version": {fmt.Sprint(u.Version)}, "reason": {"the customer closed the account"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	ctx := newBrowser(t)
	shot := shots{t: t, ctx: ctx}.take
	e.browserLogin(t, ctx, "chief", nil)
	require.NoError(t, chromedp.Do(ctx,
		through(chromedp.ID("nav-approvals")),
		chromedp.WaitVisible(chromedp.CSS("#pending-approvals .approve")),
	))
	shot("approvals")
	require.NoError(t, chromedp.Do(ctx,
		through(chromedp.CSS("#pending-approvals .approve")),
		chromedp.WaitVisible(chromedp.CSS("#decided-approvals .status-done")),
	))
	got, err := e.k.Users.Get(e.k.System(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, enduser.StatusCanceled, got.Status)

	require.NoError(t, chromedp.Do(ctx,
		through(chromedp.ID("nav-reviews")),
		chromedp.WaitVisible(chromedp.ID("start-review")),
		chromedp.SendKeys(chromedp.ID("name"), "Q4 access review"),
		through(chromedp.CSS("#start-review button")),
		chromedp.WaitVisible(chromedp.ID("review-lines")),
		through(chromedp.CSS("#line-"+string(e.ops["reader"].ID)+" .certify")),
		chromedp.WaitVisible(chromedp.ID("review-lines")),
	))
	assert.Contains(t, text(t, ctx, "#line-"+string(e.ops["reader"].ID)), "certified")
	shot("access-review")
	require.NoError(t, chromedp.Do(ctx,
		through(chromedp.ID("nav-audit")),
		chromedp.WaitVisible(chromedp.ID("chain-intact")),
	))
	shot("audit")
}
