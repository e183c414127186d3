package saml_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	csaml "github.com/crewjam/saml"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/accessctl/saml"
	"github.com/backoffice-go/backoffice/accessctl/saml/samltest"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/postgres"
	"github.com/backoffice-go/backoffice/storage/redis"

	_ "github.com/lib/pq"
)

// instance is one process of the host: a service over the shared stores
// and the SAML handler mounted at /saml.
type instance struct {
	ops *accessctl.Service
	srv *httptest.Server
	h   *saml.Handler
}

// fixture is two instances of a host over one set of stores, a tenant
// "acme" in SSO mode trusting an identity provider, and events recorded.
type fixture struct {
	t      *testing.T
	a, b   *instance
	idp    *samltest.IdP
	spMD   *csaml.EntityDescriptor
	admin  context.Context
	events *atomic.Int64
}

// stores builds the configuration of one instance's service.
type stores func(t *testing.T) func() accessctl.Config

func onMemory(t *testing.T) func() accessctl.Config {
	st := memory.New()
	return func() accessctl.Config { return accessctl.Config{Store: st} }
}

var prefixes atomic.Int64

func onPostgresAndRedis(t *testing.T) func() accessctl.Config {
	db, err := sql.Open("postgres", testserver.Schema(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = postgres.Migrate(context.Background(), db, nil)
	require.NoError(t, err)
	pg, err := postgres.New(db, "postgres", nil)
	require.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	opts, err := goredis.ParseURL(testserver.RedisURL(t))
	require.NoError(t, err)
	rc := goredis.NewClient(opts)
	t.Cleanup(func() { rc.Close() })
	rs := redis.New(rc, &redis.Options{Prefix: fmt.Sprintf("saml%d-%d", time.Now().UnixNano(), prefixes.Add(1))})
	return func() accessctl.Config {
		return accessctl.Config{Store: pg, Sessions: rs, Tokens: rs, Attempts: rs}
	}
}

func newFixture(t *testing.T, build stores) *fixture {
	t.Helper()
	cfg := build(t)
	f := &fixture{t: t, idp: samltest.NewIdP(t), events: &atomic.Int64{}}
	var base string // the instances share one public URL, as behind a load balancer
	mk := func() *instance {
		c := cfg()
		c.Hasher = memorytest.Hasher()
		c.Events = func(_ context.Context, e accessctl.Event) {
			if e.Kind == accessctl.EventSSORefused {
				f.events.Add(1)
			}
		}
		ops, err := accessctl.NewService(c)
		require.NoError(t, err)
		in := &instance{ops: ops}
		mux := http.NewServeMux()
		in.srv = httptest.NewServer(mux)
		t.Cleanup(in.srv.Close)
		if base == "" {
			base = in.srv.URL + "/saml"
		}
		in.h = saml.NewHandler(ops, saml.Options{BaseURL: base, Done: func(w http.ResponseWriter, r *http.Request, res *accessctl.LoginResult) {
			_, _ = fmt.Fprintf(w, "welcome %s", res.Operator)
		}})
		mux.Handle("/saml/", http.StripPrefix("/saml", in.h))
		return in
	}
	f.a, f.b = mk(), mk()
	root, err := f.a.ops.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R",
			Password: memorytest.AdminPassword, PasswordConfirmation: memorytest.AdminPassword}})
	require.NoError(t, err)
	res, err := f.a.ops.StartSession(accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test")), root.ID)
	require.NoError(t, err)
	a, err := f.a.ops.Authenticate(context.Background(), res.Session)
	require.NoError(t, err)
	f.admin = accessctl.NewContext(context.Background(), a)
	tn, err := f.a.ops.Tenant(f.admin)
	require.NoError(t, err)
	_, err = f.a.ops.ConfigureTenant(f.admin, accessctl.TenantSettings{Version: tn.Version, SSO: &accessctl.SSOConfig{Enabled: true,
		GroupRoles: map[string][]accessctl.RoleName{"staff": {accessctl.RoleReadOnly}, "admins": {accessctl.RoleAdministrator}},
		SAML:       accessctl.SAMLConfig{IdPMetadata: accessctl.Document(f.idp.Metadata())}}})
	require.NoError(t, err)
	f.spMD = f.idp.Trust("acme", f.a.h.MetadataURL("acme"))
	f.idp.AddUser("alice", "alice@acme.example", "Alice", "Liddell", "staff")
	f.idp.AddUser("mallory", "mallory@acme.example", "Mallory", "M", "nobody")
	return f
}

func (f *fixture) operators() int {
	f.t.Helper()
	page, err := f.a.ops.Operators(f.admin, accessctl.OperatorFilter{}, backoffice.PageRequest{Limit: 100})
	require.NoError(f.t, err)
	return len(page.Items)
}

func (f *fixture) refusals() []backoffice.AuditEntry {
	f.t.Helper()
	hist, err := f.a.ops.AuditLog(f.admin, accessctl.TargetTenant, "acme", backoffice.PageRequest{Limit: 100})
	require.NoError(f.t, err)
	var out []backoffice.AuditEntry
	for _, e := range hist.Items {
		if e.Action == backoffice.ActionOperatorSSORefused {
			out = append(out, e)
		}
	}
	return out
}

func testSignIn(t *testing.T, build stores) {
	f := newFixture(t, build)
	b := samltest.NewBrowser(t)
	acs, resp := b.SignIn(f.a.h.LoginURL("acme"), "alice")
	assert.Equal(t, f.a.h.ACSURL("acme"), acs)
	res, body := b.PostResponse(acs, resp)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Contains(t, body, "welcome ")
	id := accessctl.OperatorID(body[len("welcome "):])
	o, err := f.a.ops.Operator(f.admin, id)
	require.NoError(t, err)
	assert.Equal(t, "alice@acme.example", o.Email)
	assert.Equal(t, "Alice", o.FirstName)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleReadOnly}, o.Roles, "I2: roles through the tenant's mapping")
	assert.True(t, o.Managed)

	// I1: the same response again, on the other instance: refused.
	before := f.operators()
	res, body = b.PostResponse(f.b.srv.URL+"/saml/acme/acs", resp)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, body)
	res, _ = b.PostResponse(acs, resp)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "nor again on the first")
	assert.Equal(t, before, f.operators())
	require.Len(t, f.refusals(), 2, "the reason is in the audit log")
	for _, e := range f.refusals() {
		assert.Contains(t, e.Changes[0].After, "already been used")
	}

	// I2: groups that map to no role: refused, nothing provisioned.
	b2 := samltest.NewBrowser(t)
	acs, resp = b2.SignIn(f.a.h.LoginURL("acme"), "mallory")
	res, _ = b2.PostResponse(acs, resp)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Equal(t, before, f.operators())
}

// I1, I2: a browser signs in through the identity provider; the operator
// is provisioned with its groups' roles; the same response is refused on
// the second instance; an unmapped person is refused.
func TestSignIn(t *testing.T) {
	t.Run("Memory", func(t *testing.T) { testSignIn(t, onMemory) })
	t.Run("PostgresAndRedis", func(t *testing.T) { testSignIn(t, onPostgresAndRedis) })
}

func testHostile(t *testing.T, build stores) {
	f := newFixture(t, build)
	otherKey, otherCert := samltest.KeyPair(t, "attacker")
	alice := samltest.Session("alice@acme.example", "Alice", "L", "staff")
	admin := samltest.Session("mallory@acme.example", "Mallory", "M", "admins")
	honest := f.idp.Signer(nil, nil)
	// The request id a browser got from /login, for InResponseTo.
	start := func() (*samltest.Browser, string) {
		b := samltest.NewBrowser(t)
		res, err := b.Client.Get(f.a.h.LoginURL("acme"))
		require.NoError(t, err)
		res.Body.Close()
		for _, c := range res.Cookies() {
			if c.Name == "bo_saml_request" {
				return b, c.Value
			}
		}
		t.Fatal("no request cookie")
		return nil, ""
	}
	post := func(b *samltest.Browser, requestID string, resp url.Values) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, f.a.h.ACSURL("acme"), stringsReader(resp.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "bo_saml_request", Value: requestID})
		res, err := b.Client.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	otherSP := *f.spMD
	otherSP.EntityID = "https://elsewhere.example/saml/metadata"
	betaSP := *f.spMD
	betaSP.EntityID = f.a.h.MetadataURL("beta")

	before := f.operators()
	for _, tc := range []struct {
		name string
		resp func(requestID string) url.Values
	}{
		{"unsigned", func(id string) url.Values {
			return samltest.Forge(t, honest, f.spMD, id, time.Now(), admin, samltest.Unsign)
		}},
		{"signed by another key", func(id string) url.Values {
			return samltest.Forge(t, f.idp.Signer(otherKey, otherCert), f.spMD, id, time.Now(), admin, nil)
		}},
		{"signature wrapping", func(id string) url.Values {
			return samltest.Forge(t, honest, f.spMD, id, time.Now(), alice, samltest.Wrap("mallory@acme.example", "admins"))
		}},
		{"expired", func(id string) url.Values {
			return samltest.Forge(t, honest, f.spMD, id, time.Now().Add(-2*time.Hour), alice, nil)
		}},
		{"not yet valid", func(id string) url.Values {
			return samltest.Forge(t, honest, f.spMD, id, time.Now().Add(time.Hour), alice, nil)
		}},
		{"wrong audience", func(id string) url.Values {
			return samltest.Forge(t, honest, &otherSP, id, time.Now(), alice, nil)
		}},
		{"another tenant's", func(id string) url.Values {
			return samltest.Forge(t, honest, &betaSP, id, time.Now(), alice, nil)
		}},
		{"another request's", func(string) url.Values {
			return samltest.Forge(t, honest, f.spMD, "id-not-ours", time.Now(), alice, nil)
		}},
		{"unsolicited", func(string) url.Values {
			return samltest.Forge(t, honest, f.spMD, "", time.Now(), alice, nil)
		}},
		{"wrong destination", func(id string) url.Values {
			return samltest.Forge(t, honest, f.spMD, id, time.Now(), alice, func(resp *etree.Element) {
				resp.CreateAttr("Destination", "https://elsewhere.example/acs")
			})
		}},
		{"not XML", func(string) url.Values { return samltest.Encode([]byte("<<<")) }},
	} {
		b, id := start()
		assert.Equal(t, http.StatusUnauthorized, post(b, id, tc.resp(id)), tc.name)
	}
	assert.Equal(t, before, f.operators(), "nothing was provisioned")
	assert.GreaterOrEqual(t, len(f.refusals()), 11, "each refusal is in the audit log with its reason")
	assert.GreaterOrEqual(t, f.events.Load(), int64(11), "and in Config.Events")

	// The honest response passes: the refusals were the attacks'.
	b, id := start()
	assert.Equal(t, http.StatusOK, post(b, id, samltest.Forge(t, honest, f.spMD, id, time.Now(), alice, nil)))
}

// I1: hostile responses are each refused with the one answer, provision
// nothing, and leave their reason in the audit log.
func TestHostileResponses(t *testing.T) {
	t.Run("Memory", func(t *testing.T) { testHostile(t, onMemory) })
	t.Run("PostgresAndRedis", func(t *testing.T) { testHostile(t, onPostgresAndRedis) })
}

// I1: an unsolicited (IdP-initiated) response is accepted only where the
// tenant allows it.
func TestIdPInitiated(t *testing.T) {
	f := newFixture(t, onMemory)
	alice := samltest.Session("alice@acme.example", "Alice", "L", "staff")
	resp := samltest.Forge(t, f.idp.Signer(nil, nil), f.spMD, "", time.Now(), alice, nil)
	b := samltest.NewBrowser(t)
	res, _ := b.PostResponse(f.a.h.ACSURL("acme"), resp)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)

	tn, err := f.a.ops.Tenant(f.admin)
	require.NoError(t, err)
	sso := tn.SSO
	sso.SAML.AllowIdPInitiated = true
	_, err = f.a.ops.ConfigureTenant(f.admin, accessctl.TenantSettings{Version: tn.Version, SSO: &sso})
	require.NoError(t, err)
	resp = samltest.Forge(t, f.idp.Signer(nil, nil), f.spMD, "", time.Now(), alice, nil)
	res, body := b.PostResponse(f.a.h.ACSURL("acme"), resp)
	assert.Equal(t, http.StatusOK, res.StatusCode, body)
}

// I1: the tenant's metadata may be a URL; the service provider's own
// metadata names its ACS; a tenant that does not use SAML has none.
func TestMetadata(t *testing.T) {
	f := newFixture(t, onMemory)
	tn, err := f.a.ops.Tenant(f.admin)
	require.NoError(t, err)
	sso := tn.SSO
	sso.SAML = accessctl.SAMLConfig{IdPMetadataURL: f.idp.MetadataURL()}
	_, err = f.a.ops.ConfigureTenant(f.admin, accessctl.TenantSettings{Version: tn.Version, SSO: &sso})
	require.NoError(t, err)
	b := samltest.NewBrowser(t)
	acs, resp := b.SignIn(f.a.h.LoginURL("acme"), "alice")
	res, body := b.PostResponse(acs, resp)
	require.Equal(t, http.StatusOK, res.StatusCode, body)

	r, err := http.Get(f.a.h.MetadataURL("acme"))
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, "application/samlmetadata+xml", r.Header.Get("Content-Type"))
	r, err = http.Get(f.a.h.MetadataURL("nope"))
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusNotFound, r.StatusCode)

	// A metadata URL must be https (or loopback).
	tn, err = f.a.ops.Tenant(f.admin)
	require.NoError(t, err)
	sso = tn.SSO
	sso.SAML.IdPMetadataURL = "http://idp.example/metadata"
	_, err = f.a.ops.ConfigureTenant(f.admin, accessctl.TenantSettings{Version: tn.Version, SSO: &sso})
	require.ErrorIs(t, err, backoffice.ErrInvalid)
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
