package console_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// W1, W2, W4 in headless Chromium with a virtual authenticator (DevTools'
// WebAuthn domain: CTAP2, internal transport, resident keys, user
// verification): an operator registers a passkey from its own page, logs
// out, signs in with it as the second factor after its password and
// then alone (username-less), sees it listed with its last use, and
// revokes it.
func TestPasskeysInTheBrowser(t *testing.T) {
	k := memorytest.New(nil)
	c, err := console.New(console.Config{Ops: k.Ops, Users: k.Users, Devices: k.Devices, Tenant: k.Tenant, Now: k.Clock.Now})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	// Browsers take no IP address as a relying party id: localhost.
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	sys := k.System()
	tn, err := k.Ops.Tenant(sys)
	require.NoError(t, err)
	_, err = k.Ops.ConfigureTenant(sys, accessctl.TenantSettings{Version: tn.Version,
		WebAuthn: &accessctl.WebAuthnConfig{RPID: "localhost", Origins: []string{base}, Passwordless: true}})
	require.NoError(t, err)
	o, err := k.Ops.CreateOperator(sys, accessctl.NewOperator{Username: "grace", Email: "grace@acme.test", FirstName: "Grace", LastName: "Hopper",
		Roles: []accessctl.RoleName{accessctl.RoleManager}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
	require.NoError(t, err)

	ctx := newBrowser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("username"))))
	_, err = chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true,
		HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	require.NoError(t, err)
	shot := shots{t: t, ctx: ctx}.take

	// The first login, with TOTP.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), "grace"),
		chromedp.SendKeys(chromedp.ID("password"), string(pw)),
		through(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("secret")))
	require.NoError(t, err)
	code, err := accessctl.TOTPCode(backoffice.Secret(secret), k.Clock.Now())
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("code"), code), through(chromedp.ID("verify")), chromedp.WaitVisible(chromedp.ID("users"))))

	// Register a passkey from its own page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/operators/"+string(o.ID)),
		chromedp.WaitVisible(chromedp.ID("add-passkey")),
		chromedp.SetValue(chromedp.ID("passkey-name"), "Grace's laptop"),
		through(chromedp.ID("add-passkey")),
		chromedp.WaitVisible(chromedp.ID("revoke-passkey-0")),
	))
	assert.Contains(t, text(t, ctx, "#passkeys"), "never used")
	got, err := k.Ops.Operator(sys, o.ID)
	require.NoError(t, err)
	require.Len(t, got.Passkeys, 1)
	assert.Equal(t, "Grace's laptop", got.Passkeys[0].Name)

	logout := func() {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, through(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.ID("username"))))
	}
	logout()
	shot("passkey-login")

	// The passkey as the second factor.
	k.Clock.Advance(time.Minute)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), "grace"),
		chromedp.SendKeys(chromedp.ID("password"), string(pw)),
		through(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("passkey-step")),
		through(chromedp.ID("passkey-step")),
		chromedp.WaitVisible(chromedp.ID("users")),
	))
	logout()

	// Alone, username-less.
	k.Clock.Advance(time.Minute)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("passkey-signin")),
		through(chromedp.ID("passkey-signin")),
		chromedp.WaitVisible(chromedp.ID("users")),
	))
	assert.Equal(t, "grace", text(t, ctx, ".who span"))

	// Listed with its last use; revoked.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/operators/"+string(o.ID)), chromedp.WaitVisible(chromedp.ID("passkeys"))))
	assert.Contains(t, text(t, ctx, "#passkeys"), "last used")
	shot("passkeys")
	require.NoError(t, chromedp.Do(ctx, through(chromedp.ID("revoke-passkey-0")), chromedp.WaitVisible(chromedp.ID("passkeys"))))
	assert.Contains(t, text(t, ctx, "#passkeys"), "none")
	got, err = k.Ops.Operator(sys, o.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Passkeys)
}
