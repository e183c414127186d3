package console_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/text/language"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// people are the identity provider's users.
type people map[string]*storage.User

func (p people) GetUserByID(id string) *storage.User { return p[id] }
func (p people) GetUserByUsername(name string) *storage.User {
	for _, u := range p {
		if u.Username == name {
			return u
		}
	}
	return nil
}
func (p people) ExampleClientID() string { return "service" }

// provider is zitadel/oidc's example OpenID provider with a groups claim
// at the userinfo endpoint.
type provider struct {
	*storage.Storage
	groups map[string][]string
}

func (p provider) SetUserinfoFromToken(ctx context.Context, info *zoidc.UserInfo, tokenID, subject, origin string) error {
	if err := p.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	info.AppendClaims("groups", p.groups[info.Subject])
	return nil
}

// ssoEnv is the console of an SSO tenant and a real OpenID provider,
// each on its own loopback server.
type ssoEnv struct {
	*env
	idp *httptest.Server
}

func newSSOEnv(t *testing.T) *ssoEnv {
	t.Helper()
	// The example provider logs every request to the default logger.
	quiet := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { slog.SetDefault(quiet) })
	var consoleH, idpH http.Handler
	consoleSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { consoleH.ServeHTTP(w, r) }))
	t.Cleanup(consoleSrv.Close)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { idpH.ServeHTTP(w, r) }))
	t.Cleanup(idp.Close)

	users := people{
		"sub-grace": {ID: "sub-grace", Username: "grace", Password: "idp-password", FirstName: "Grace", LastName: "Hopper",
			Email: "grace@acme.test", EmailVerified: true, PreferredLanguage: language.English},
		"sub-ada": {ID: "sub-ada", Username: "ada", Password: "idp-password", FirstName: "Ada", LastName: "Lovelace",
			Email: "ada@acme.test", EmailVerified: true, PreferredLanguage: language.English},
		"sub-alan": {ID: "sub-alan", Username: "alan", Password: "idp-password", FirstName: "Alan", LastName: "Turing",
			Email: "alan@acme.test", EmailVerified: true, PreferredLanguage: language.English},
	}
	st := storage.NewStorageWithClients(users, map[string]*storage.Client{
		"console": storage.WebClient("console", "console-secret", consoleSrv.URL+"/sso/callback"),
	})
	idpH = exampleop.SetupServer(idp.URL, provider{Storage: st, groups: map[string][]string{"sub-grace": {"support"}, "sub-ada": {"it-admins"}, "sub-alan": {"visitors"}}}, nil, false)

	k := memorytest.New(nil)
	c, err := console.New(console.Config{Ops: k.Ops, Users: k.Users, Devices: k.Devices, Tenant: k.Tenant, Now: k.Clock.Now,
		SSO: &console.SSO{Issuer: idp.URL, ClientID: "console", ClientSecret: "console-secret", RedirectURL: consoleSrv.URL + "/sso/callback"}})
	require.NoError(t, err)
	consoleH = c
	tn, err := k.Ops.Tenant(k.System())
	require.NoError(t, err)
	_, err = k.Ops.ConfigureTenant(k.System(), accessctl.TenantSettings{Version: tn.Version,
		SSO: &accessctl.SSOConfig{Enabled: true, GroupRoles: map[string][]accessctl.RoleName{"support": {accessctl.RoleReadOnly},
			"it-admins": {accessctl.RoleAdministrator}}}})
	require.NoError(t, err)
	return &ssoEnv{env: &env{k: k, srv: consoleSrv, ops: map[string]*accessctl.Operator{}}, idp: idp}
}

var authRequestRe = regexp.MustCompile(`name="id" value="([^"]+)"`)

// signIn runs the whole flow with an HTTP client: the console sends it to
// the provider, whose login form it fills, and back.
func (e *ssoEnv) signIn(t *testing.T, c *http.Client, user string) (*http.Response, string) {
	t.Helper()
	_, body := e.get(t, c, "/login")
	require.Contains(t, body, `id="sso"`, "the login page offers SSO")
	resp, body := e.get(t, c, "/sso/start")
	require.Equal(t, e.idp.URL, "http://"+resp.Request.URL.Host, "at the provider's login page")
	m := authRequestRe.FindStringSubmatch(body)
	require.NotNil(t, m, body)
	resp, err := c.PostForm(e.idp.URL+"/login/username", url.Values{"id": {m[1]}, "username": {user}, "password": {"idp-password"}})
	require.NoError(t, err)
	return resp, read(t, resp)
}

// SSO over OpenID Connect against a real provider: the operator is
// provisioned with the role its group maps to, lands on the dashboard,
// and is refused when its groups map to nothing; an SSO tenant's login
// page offers no password form.
func TestSSO(t *testing.T) {
	e := newSSOEnv(t)
	c := e.browser(t)
	resp, body := e.signIn(t, c, "grace")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "/users", resp.Request.URL.Path, "on the dashboard")
	assert.Contains(t, body, "<span>grace@acme.test</span>", "as the operator the provider named")
	o, err := e.k.Ops.Operators(e.k.System(), accessctl.OperatorFilter{}, backoffice.PageRequest{Limit: 50})
	require.NoError(t, err)
	var grace *accessctl.Operator
	for _, op := range o.Items {
		if op.ExternalKey == "sub-grace" {
			grace = op
		}
	}
	require.NotNil(t, grace, "provisioned from the provider")
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleReadOnly}, grace.Roles, "the role its group maps to")
	assert.Equal(t, "grace@acme.test", grace.Email)

	// An Administrator from the provider may not invite or rename
	// operators here: the provider is where they are made.
	admin := e.browser(t)
	resp, body = e.signIn(t, admin, "ada")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = e.post(t, admin, "/operators", url.Values{"username": {"local"}, "email": {"local@acme.test"}, "first_name": {"L"},
		"last_name": {"O"}, "roles": {"read_only"}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Contains(t, body, "uses SSO")
	_, body = e.get(t, admin, "/operators/"+string(grace.ID))
	resp, body = e.post(t, admin, "/operators/"+string(grace.ID)+"/identity", url.Values{"version": {version(t, body)},
		"first_name": {"Renamed"}, "last_name": {"Hopper"}, "email": {"grace@acme.test"}})
	assert.NotEqual(t, http.StatusOK, resp.StatusCode, body)
	g, err := e.k.Ops.Operator(e.k.System(), grace.ID)
	require.NoError(t, err)
	assert.Equal(t, "Grace", g.FirstName, "unchanged")

	resp, body = e.signIn(t, e.browser(t), "alan")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, "groups give you no role here")

	_, body = e.get(t, e.browser(t), "/login")
	assert.NotContains(t, body, `id="password"`)

	// A callback whose state is not the one this browser started with is
	// refused.
	resp, body = e.get(t, e.browser(t), "/sso/callback?state=forged&code=x")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, "The sign-in expired")
}

// In the browser: SSO sign-in through the provider's own login page lands
// on the dashboard with the mapped role (no operator-only link shown).
func TestSSOInTheBrowser(t *testing.T) {
	e := newSSOEnv(t)
	ctx := newBrowser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("sso"))))
	shots{t: t, ctx: ctx}.take("sso-login")
	require.NoError(t, chromedp.Do(ctx,
		through(chromedp.ID("sso")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "grace"),
		chromedp.SendKeys(chromedp.ID("password"), "idp-password"),
		through(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("users")),
	))
	who := text(t, ctx, ".who span")
	assert.Equal(t, "grace@acme.test", who, "the operator the provider named")
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.ID("nav-operators"), chromedp.AtLeast(0)))
	require.NoError(t, err)
	assert.Empty(t, nodes, "Read-only, as its group maps")
}
