package console_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	_ "github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/accessctl/saml"
	"github.com/backoffice-go/backoffice/accessctl/saml/samltest"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/redis"
)

// samlEnv is the console of a tenant that signs in over SAML, with the
// service provider mounted beside it at /saml/, and a real identity
// provider (crewjam's samlidp) on its own loopback server.
type samlEnv struct {
	srv *httptest.Server
	ops *accessctl.Service
	idp *samltest.IdP
	sys context.Context
}

// samlServices are the three services over memory, or over PostgreSQL
// with Redis for sessions and tokens (and so for assertion ids).
func samlServices(t *testing.T, onPostgres bool) (*accessctl.Service, *enduser.Service, *scadevice.Service) {
	t.Helper()
	var store interface {
		accessctl.Store
		enduser.Store
		scadevice.Store
	}
	cfg := accessctl.Config{Hasher: memorytest.Hasher()}
	if onPostgres {
		db, err := sql.Open("postgres", testserver.Schema(t))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		_, err = postgres.Migrate(context.Background(), db, nil)
		require.NoError(t, err)
		pg, err := postgres.New(db, "postgres", nil)
		require.NoError(t, err)
		opt, err := goredis.ParseURL(testserver.RedisURL(t))
		require.NoError(t, err)
		rc := goredis.NewClient(opt)
		t.Cleanup(func() { rc.Close() })
		hot := redis.New(rc, &redis.Options{Prefix: fmt.Sprintf("samlconsole%d", time.Now().UnixNano())})
		store, cfg.Sessions, cfg.Tokens = pg, hot, hot
	} else {
		store = memory.New()
	}
	cfg.Store = store
	ops, err := accessctl.NewService(cfg)
	require.NoError(t, err)
	users, err := enduser.NewService(enduser.Config{Store: store, Tenants: store, Balances: &memorytest.Wallets{}})
	require.NoError(t, err)
	devices, err := scadevice.NewService(scadevice.Config{Store: store, Users: store})
	require.NoError(t, err)
	return ops, users, devices
}

func newSAMLEnv(t *testing.T, onPostgres bool) *samlEnv {
	t.Helper()
	ops, users, devices := samlServices(t, onPostgres)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var con *console.Console
	sp := saml.NewHandler(ops, saml.Options{BaseURL: srv.URL + "/saml",
		Done:    func(w http.ResponseWriter, r *http.Request, res *accessctl.LoginResult) { con.SignedIn(w, r, res) },
		Refused: func(w http.ResponseWriter, r *http.Request) { con.SignInRefused(w, r) }})
	var err error
	con, err = console.New(console.Config{Ops: ops, Users: users, Devices: devices, Tenant: "acme",
		SAMLLogin: sp.LoginURL("acme"), SAMLMetadata: sp.MetadataURL("acme"), SCIMBaseURL: srv.URL + "/scim/v2"})
	require.NoError(t, err)
	mux.Handle("/saml/", http.StripPrefix("/saml", sp))
	mux.Handle("/", con)

	_, err = ops.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "Oot", Password: pw, PasswordConfirmation: pw}})
	require.NoError(t, err)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))
	idp := samltest.NewIdP(t)
	tn, err := ops.Tenant(sys)
	require.NoError(t, err)
	_, err = ops.ConfigureTenant(sys, accessctl.TenantSettings{Version: tn.Version, SSO: &accessctl.SSOConfig{Enabled: true,
		GroupRoles: map[string][]accessctl.RoleName{"staff": {accessctl.RoleReadOnly}, "admins": {accessctl.RoleAdministrator}},
		SAML:       accessctl.SAMLConfig{IdPMetadataURL: idp.MetadataURL()}}})
	require.NoError(t, err)
	idp.Trust("acme", sp.MetadataURL("acme"))
	idp.AddUser("alice", "alice@acme.example", "Alice", "Liddell", "staff")
	idp.AddUser("ada", "ada@acme.example", "Ada", "Lovelace", "admins")
	idp.AddUser("eve", "eve@acme.example", "Eve", "Ves", "nobody")
	return &samlEnv{srv: srv, ops: ops, idp: idp, sys: sys}
}

// signIn signs in in the browser: the console's login page, the identity
// provider's, and back through the ACS.
func (e *samlEnv) signIn(t *testing.T, ctx context.Context, user string, shot func(string)) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("saml"))))
	if shot != nil {
		shot("saml-login")
	}
	require.NoError(t, chromedp.Do(ctx,
		through(chromedp.ID("saml")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="user"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), samltest.Password),
		chromedp.Click(chromedp.CSS(`input[type="submit"]`)),
	))
}

// I1, I2, I6 in a real browser, on memory and on PostgreSQL + Redis: an
// operator signs in through the SAML identity provider's own pages and
// lands on the dashboard with its group's role; an Administrator sees it
// marked as managed by the identity provider, without the commands only
// the identity provider may run, and the settings with the SCIM URL, a
// token shown once and the service provider's metadata; a person whose
// groups map to nothing is sent back to the login page with the one
// refusal.
func TestSAMLInTheBrowser(t *testing.T) {
	for _, tc := range []struct {
		name       string
		onPostgres bool
	}{{"Memory", false}, {"PostgresAndRedis", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSAMLEnv(t, tc.onPostgres)
			ctx := newBrowser(t)
			var shot func(string)
			if !tc.onPostgres {
				shot = shots{t: t, ctx: ctx}.take
			}
			e.signIn(t, ctx, "alice", shot)
			require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("users"))))
			assert.Equal(t, "alice@acme.example", text(t, ctx, ".who span"), "the operator the identity provider named")
			nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.ID("nav-operators"), chromedp.AtLeast(0)))
			require.NoError(t, err)
			assert.Empty(t, nodes, "Read-only, as its group maps")

			// An Administrator from the identity provider.
			admin := newBrowser(t)
			e.signIn(t, admin, "ada", nil)
			require.NoError(t, chromedp.Do(admin, chromedp.WaitVisible(chromedp.ID("users"))))
			page, err := e.ops.Operators(e.sys, accessctl.OperatorFilter{}, backoffice.PageRequest{Limit: 10})
			require.NoError(t, err)
			var alice *accessctl.Operator
			for _, o := range page.Items {
				if o.Email == "alice@acme.example" {
					alice = o
				}
			}
			require.NotNil(t, alice)
			require.NoError(t, chromedp.Do(admin, chromedp.Navigate(e.srv.URL+"/operators/"+string(alice.ID)), chromedp.WaitVisible(chromedp.ID("managed"))))
			for _, id := range []string{"edit-operator", "action-send_reset", "duplicate", "save-roles"} {
				nodes, err := chromedp.Run(admin, chromedp.Nodes(chromedp.ID(id), chromedp.AtLeast(0)))
				require.NoError(t, err)
				assert.Empty(t, nodes, "%s is the identity provider's", id)
			}
			nodes, err = chromedp.Run(admin, chromedp.Nodes(chromedp.ID("action-deactivate"), chromedp.AtLeast(0)))
			require.NoError(t, err)
			assert.NotEmpty(t, nodes, "deactivation stays: the back office's emergency stop")
			adminShot := func(name string) {
				if shot != nil {
					shots{t: t, ctx: admin}.take(name)
				}
			}
			adminShot("managed-operator")
			require.NoError(t, chromedp.Do(admin,
				chromedp.Navigate(e.srv.URL+"/settings"),
				chromedp.WaitVisible(chromedp.ID("scim-url")),
				chromedp.SendKeys(chromedp.ID("token_name"), "Okta"),
				through(chromedp.ID("issue-token")),
				chromedp.WaitVisible(chromedp.ID("scim-token")),
			))
			token := text(t, admin, "#scim-token")
			scimActor, err := e.ops.AuthenticateSCIM(context.Background(), backoffice.Secret(token))
			require.NoError(t, err, "the token shown once works")
			assert.Equal(t, "Okta", scimActor.Name())
			assert.Equal(t, e.srv.URL+"/saml/acme/metadata", text(t, admin, "#sp-metadata"))
			adminShot("identity-provider-settings")

			// No mapped group: back to the login page with the one refusal.
			other := newBrowser(t)
			e.signIn(t, other, "eve", nil)
			require.NoError(t, chromedp.Do(other, chromedp.WaitVisible(chromedp.ID("saml"))))
			body := text(t, other, "main")
			assert.Contains(t, body, "sign-in was refused")
			assert.False(t, strings.Contains(body, "eve@acme.example"))
		})
	}
}

// I6 over plain HTTP: the console refuses the commands it hides.
func TestManagedOperatorCommandsRefused(t *testing.T) {
	e := newSAMLEnv(t, false)
	res, err := e.ops.ProvisionSSO(context.Background(), "acme", accessctl.Assertion{Subject: "alice@acme.example", Email: "alice@acme.example",
		FirstName: "Alice", LastName: "L", Groups: []string{"staff"}})
	require.NoError(t, err)
	adminRes, err := e.ops.ProvisionSSO(context.Background(), "acme", accessctl.Assertion{Subject: "ada@acme.example", Email: "ada@acme.example",
		FirstName: "Ada", LastName: "L", Groups: []string{"admins"}})
	require.NoError(t, err)
	b := (&env{srv: e.srv}).browser(t)
	u, _ := url.Parse(e.srv.URL)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: "bo_session", Value: string(adminRes.Session)}})
	o, err := e.ops.Operator(e.sys, res.Operator)
	require.NoError(t, err)
	for _, action := range []string{"send_reset", "reset_mfa", "reactivate"} {
		resp, err := b.PostForm(e.srv.URL+"/operators/"+string(o.ID)+"/"+action, url.Values{"version": {fmt.Sprint(o.Version)}})
		require.NoError(t, err)
		resp.Body.Close()
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, action)
	}
	after, err := e.ops.Operator(e.sys, o.ID)
	require.NoError(t, err)
	assert.Equal(t, o.Version, after.Version, "nothing changed")
}
