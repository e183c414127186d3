package jsonapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
)

const adminPW = "Correct-Horse-9-Battery"

// newTestAPI builds the API in memory, for tenant acme, with an
// Administrator "root" (root@acme.test).
func newTestAPI(t testing.TB) *API {
	t.Helper()
	store := memory.New()
	ops, err := accessctl.NewService(accessctl.Config{Store: store})
	require.NoError(t, err)
	wallets := NewWallets()
	users, err := enduser.NewService(enduser.Config{Store: store, Tenants: store, Balances: wallets, Approvals: ops})
	require.NoError(t, err)
	devices, err := scadevice.NewService(scadevice.Config{Store: store, Users: store, Approvals: ops})
	require.NoError(t, err)
	_, err = ops.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "Root", LastName: "Admin",
			Password: adminPW, PasswordConfirmation: adminPW}})
	require.NoError(t, err)
	a, err := New(Config{Ops: ops, Users: users, Devices: devices, Tenant: "acme", FindOperator: store.OperatorByLogin, Wallets: wallets})
	require.NoError(t, err)
	return a
}

// The OpenAPI document lists exactly the routes the server registers.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	a := newTestAPI(t)
	var documented []string
	for _, r := range docRoutes {
		documented = append(documented, r.pattern)
	}
	registered := a.Routes()
	slices.Sort(documented)
	slices.Sort(registered)
	assert.Equal(t, registered, documented, "every registered route is documented and every documented one registered")
	assert.Len(t, slices.Compact(slices.Clone(documented)), len(documented), "no route documented twice")

	srv := httptest.NewServer(a)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	var doc map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	assert.Equal(t, "3.1.0", doc["openapi"])
	paths := doc["paths"].(map[string]any)
	n := 0
	for path, ops := range paths {
		for method := range ops.(map[string]any) {
			assert.Contains(t, registered, strings.ToUpper(method)+" "+path)
			n++
		}
	}
	assert.Equal(t, len(registered), n)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	raw, _ := json.Marshal(paths)
	for _, ref := range refRe.FindAllStringSubmatch(string(raw), -1) {
		assert.Contains(t, schemas, ref[1], "a $ref points at a schema")
	}
}

// FuzzDecode: whatever the body and content type, the decoder answers with
// nil or a 4xx error; it never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"username":"x"}`, `{`, `[]`, `null`, `{"roles":[1]}`, `{"a":1}`, `{} {}`, "\x00", `{"password":"\u0000"}`} {
		f.Add(s, "application/json")
	}
	f.Add(`{}`, "text/plain")
	f.Add(`{}`, "application/json; charset=\"")
	f.Fuzz(func(t *testing.T, body, ctype string) {
		req := httptest.NewRequest("POST", "/v1/operators", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		var b operatorBody
		err := decode(req, &b)
		if err == nil {
			return
		}
		status, _ := statusOf(err)
		if status < 400 || status > 499 {
			t.Fatalf("decode(%q, %q) = %d %v", body, ctype, status, err)
		}
	})
}

// B1: the limiter's memory is bounded: past its cap it forgets keys,
// oldest windows first, and a key costs at most maxKeyLen bytes however
// long what it names.
func TestLimiterIsBounded(t *testing.T) {
	m := newMemLimiter()
	m.maxKeys = 1000
	for i := range 10_000 {
		_, err := m.take(context.Background(), fmt.Sprintf("login_account:acme/login/%d", i), loginPerAccount)
		require.NoError(t, err)
		require.LessOrEqual(t, len(m.tat), m.maxKeys)
	}
	long := strings.Repeat("a", 8<<20)
	_, err := m.take(context.Background(), "login_account:"+long, loginPerAccount)
	require.NoError(t, err)
	for k := range m.tat {
		assert.LessOrEqual(t, len(k), maxKeyLen)
	}
}

// B3: the per-account login limit counts a person once, whichever of its
// username and email is typed, in any case; an unknown login is counted
// by its name, and a name too long to be a login by its digest (B1).
func TestAccountLimitCountsAPersonOnce(t *testing.T) {
	a := newTestAPI(t)
	frozen := time.Now()
	a.limits.(*memLimiter).now = func() time.Time { return frozen }
	ctx := context.Background()
	byName := a.account(ctx, "acme", "root")
	assert.Equal(t, byName, a.account(ctx, "acme", " ROOT@acme.test "), "the email names the same person")
	assert.Contains(t, byName, "/operator/")
	assert.NotEqual(t, byName, a.account(ctx, "beta", "root"), "another tenant's login is another account")
	assert.Equal(t, "acme/login/nobody", a.account(ctx, "acme", "Nobody"))
	long := a.account(ctx, "acme", strings.Repeat("x", 8<<20))
	assert.LessOrEqual(t, len(long), maxKeyLen)

	for range loginPerAccount.n / 2 {
		require.NoError(t, a.allow(ctx, check{loginPerAccount, a.account(ctx, "acme", "root")}))
		require.NoError(t, a.allow(ctx, check{loginPerAccount, a.account(ctx, "acme", "root@acme.test")}))
	}
	err := a.allow(ctx, check{loginPerAccount, a.account(ctx, "acme", "Root@Acme.test")})
	var limited *limitedError
	require.ErrorAs(t, err, &limited, "ten logins of one person, by name and by email, fill its limit")
}
