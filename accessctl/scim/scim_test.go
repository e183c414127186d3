package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/accessctl/scim"
	"github.com/backoffice-go/backoffice/accessctl/scim/scimtest"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// server is a tenant in SSO mode ("staff" maps to Read-only) with the
// SCIM handler mounted under /scim/v2, and a client with its token.
func server(t *testing.T, opts scim.Options) (*memorytest.Kit, *scimtest.Client) {
	t.Helper()
	k := memorytest.New(nil)
	admin := k.Session(k.Admin.ID)
	tn, err := k.Ops.Tenant(admin)
	require.NoError(t, err)
	_, err = k.Ops.ConfigureTenant(admin, accessctl.TenantSettings{Version: tn.Version, SSO: &accessctl.SSOConfig{Enabled: true,
		GroupRoles: map[string][]accessctl.RoleName{"staff": {accessctl.RoleReadOnly}}}})
	require.NoError(t, err)
	token, _, err := k.Ops.IssueSCIMToken(admin, "okta", 0)
	require.NoError(t, err)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts.BaseURL = srv.URL + "/scim/v2"
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", scim.NewHandler(k.Ops, opts)))
	return k, &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: string(token)}
}

// I3: the test list of Microsoft's SCIM validator, every document the
// server answers validated against the RFC 7643 schemas by elimity-com's
// implementation.
func TestMicrosoftValidatorList(t *testing.T) {
	_, c := server(t, scim.Options{})
	c.MicrosoftValidator("a")
	assert.Greater(t, c.Checked, 25)
}

// The independent check bites: documents that break RFC 7643 are
// refused by it.
func TestTheSchemaCheckRefusesBrokenDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"no userName":       `{"schemas":["` + scim.UserSchema + `"],"id":"1","meta":{"resourceType":"User"}}`,
		"active not a bool": `{"schemas":["` + scim.UserSchema + `"],"id":"1","userName":"a","active":"yes"}`,
		"emails not a list": `{"schemas":["` + scim.UserSchema + `"],"id":"1","userName":"a","emails":"a@b.c"}`,
		"no displayName":    `{"schemas":["` + scim.GroupSchema + `"],"id":"1"}`,
		"unknown schema":    `{"schemas":["urn:example:Device"],"id":"1"}`,
	} {
		assert.Error(t, scimtest.CheckResource([]byte(doc)), name)
	}
	require.NoError(t, scimtest.CheckResource([]byte(`{"schemas":["`+scim.UserSchema+`"],"id":"1","userName":"a","active":true}`)))
}

// I3: ServiceProviderConfig, ResourceTypes and Schemas, each valid
// against RFC 7643's own schemas.
func TestDiscovery(t *testing.T) {
	_, c := server(t, scim.Options{})
	spc := c.Do("GET", "/ServiceProviderConfig", nil)
	require.Equal(t, http.StatusOK, spc.Status)
	assert.Equal(t, true, spc.Doc["patch"].(map[string]any)["supported"])
	assert.Equal(t, true, spc.Doc["etag"].(map[string]any)["supported"])
	assert.Equal(t, false, spc.Doc["bulk"].(map[string]any)["supported"])
	rts := c.Do("GET", "/ResourceTypes", nil)
	require.Equal(t, http.StatusOK, rts.Status)
	assert.Len(t, rts.Resources(), 2)
	schemas := c.Do("GET", "/Schemas", nil)
	require.Equal(t, http.StatusOK, schemas.Status)
	assert.Len(t, schemas.Resources(), 3)
	for _, id := range []string{scim.UserSchema, scim.GroupSchema, scim.EnterpriseSchema} {
		require.Equal(t, http.StatusOK, c.Do("GET", "/Schemas/"+id, nil).Status)
	}
	require.Equal(t, http.StatusOK, c.Do("GET", "/ResourceTypes/User", nil).Status)
	require.Equal(t, http.StatusNotFound, c.Do("GET", "/ResourceTypes/Device", nil).Status)
	require.Equal(t, http.StatusNotFound, c.Do("GET", "/Nope", nil).Status)
}

func patch(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{scim.PatchSchema}, "Operations": ops}
}

// I3: filters on every attribute the issue names, pages by startIndex and
// count, and attribute selection.
func TestFiltersAndPages(t *testing.T) {
	_, c := server(t, scim.Options{MaxResults: 3})
	for i := range 5 {
		res := c.Do("POST", "/Users", map[string]any{"schemas": []string{scim.UserSchema}, "userName": fmt.Sprintf("user%d@acme.example", i),
			"externalId": fmt.Sprintf("ext-%d", i), "displayName": fmt.Sprintf("User %d", i), "active": i%2 == 0,
			"emails": []any{map[string]any{"value": fmt.Sprintf("user%d@acme.example", i), "type": "work"}}})
		require.Equal(t, http.StatusCreated, res.Status, "%v", res.Doc)
	}
	count := func(filter string) int {
		t.Helper()
		res := c.Do("GET", "/Users?count=3&filter="+url.QueryEscape(filter), nil)
		require.Equal(t, http.StatusOK, res.Status, "%s: %v", filter, res.Doc)
		return int(res.Doc["totalResults"].(float64))
	}
	for filter, want := range map[string]int{
		`userName eq "USER1@acme.example"`:                   1,
		`userName sw "user"`:                                 5,
		`userName co "ER3"`:                                  1,
		`externalId eq "ext-2"`:                              1,
		`externalId eq "EXT-2"`:                              0, // caseExact
		`emails.value eq "user4@acme.example"`:               1,
		`emails[type eq "work" and value co "user0"]`:        1,
		`active eq true`:                                     3,
		`active eq false and displayName sw "User"`:          2,
		`displayName eq "User 1" or displayName eq "User 2"`: 2,
		`externalId pr`:                                      5,
		`title pr`:                                           0,
		`not (active eq true)`:                               2,
		`meta.resourceType eq "User"`:                        5,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName ew "4@acme.example"`: 1,
	} {
		assert.Equal(t, want, count(filter), filter)
	}
	page := c.Do("GET", "/Users?startIndex=2&count=2", nil)
	assert.Equal(t, float64(5), page.Doc["totalResults"])
	assert.Equal(t, float64(2), page.Doc["startIndex"])
	assert.Len(t, page.Resources(), 2)
	capped := c.Do("GET", "/Users?count=100", nil)
	assert.Len(t, capped.Resources(), 3, "count is capped at MaxResults")
	beyond := c.Do("GET", "/Users?startIndex=9", nil)
	assert.Empty(t, beyond.Resources())
	zero := c.Do("GET", "/Users?count=0", nil)
	assert.Empty(t, zero.Resources())
	assert.Equal(t, float64(5), zero.Doc["totalResults"])
	sel := c.Do("GET", "/Users?attributes=userName&count=1", nil)
	r := sel.Resources()[0]
	assert.Contains(t, r, "userName")
	assert.Contains(t, r, "id")
	assert.NotContains(t, r, "emails")
	search := c.Do("POST", "/Users/.search", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter": `userName eq "user2@acme.example"`, "startIndex": 1, "count": 10})
	require.Equal(t, http.StatusOK, search.Status)
	assert.Len(t, search.Resources(), 1)
}

// I3: refusals are SCIM error documents with the fitting status and
// scimType, and change nothing.
func TestErrors(t *testing.T) {
	k, c := server(t, scim.Options{MaxBodyBytes: 4096})
	u := c.Do("POST", "/Users", map[string]any{"schemas": []string{scim.UserSchema}, "userName": "ann@acme.example"})
	require.Equal(t, http.StatusCreated, u.Status)
	id := scimtest.Str(u.Doc, "id")
	etag := u.Header.Get("ETag")

	for _, tc := range []struct {
		name, method, path string
		body               any
		header             []string
		status             int
		scimType           string
	}{
		{"bad filter", "GET", "/Users?filter=" + url.QueryEscape(`userName eq`), nil, nil, 400, "invalidFilter"},
		{"garbage filter", "GET", "/Users?filter=" + url.QueryEscape(`((((`), nil, nil, 400, "invalidFilter"},
		{"bad count", "GET", "/Users?count=x", nil, nil, 400, "invalidValue"},
		{"no userName", "POST", "/Users", map[string]any{"schemas": []string{scim.UserSchema}}, nil, 400, "invalidValue"},
		{"taken userName", "POST", "/Users", map[string]any{"schemas": []string{scim.UserSchema}, "userName": "ANN@acme.example"}, nil, 409, "uniqueness"},
		{"bad email", "POST", "/Users", map[string]any{"userName": "bo", "emails": []any{map[string]any{"value": "not-an-email"}}}, nil, 400, "invalidValue"},
		{"not JSON", "POST", "/Users", "just a string", nil, 400, "invalidSyntax"},
		{"bad active", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "active", "value": "maybe"}), nil, 400, "invalidValue"},
		{"bad op", "PATCH", "/Users/" + id, patch(map[string]any{"op": "move", "path": "active", "value": true}), nil, 400, "invalidSyntax"},
		{"remove without path", "PATCH", "/Users/" + id, patch(map[string]any{"op": "remove"}), nil, 400, "noTarget"},
		{"unknown path", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "password", "value": "x"}), nil, 400, "invalidPath"},
		{"bad path", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "emails[type eq", "value": "x"}), nil, 400, "invalidPath"},
		{"no operations", "PATCH", "/Users/" + id, map[string]any{"schemas": []string{scim.PatchSchema}}, nil, 400, "invalidSyntax"},
		{"stale If-Match", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "displayName", "value": "x"}), []string{"If-Match", `W/"999"`}, 412, ""},
		{"stale If-Match on PUT", "PUT", "/Users/" + id, map[string]any{"userName": "ann@acme.example"}, []string{"If-Match", `W/"999"`}, 412, ""},
		{"stale If-Match on DELETE", "DELETE", "/Users/" + id, nil, []string{"If-Match", `W/"999"`}, 412, ""},
		{"unknown user", "GET", "/Users/nope", nil, nil, 404, ""},
		{"unknown manager", "PATCH", "/Users/" + id, patch(map[string]any{"op": "add", "path": scim.EnterpriseSchema + ":manager", "value": "nope"}), nil, 400, "invalidValue"},
		{"unknown member", "POST", "/Groups", map[string]any{"displayName": "g", "members": []any{map[string]any{"value": "nope"}}}, nil, 400, "invalidValue"},
		{"too large", "POST", "/Users", map[string]any{"userName": strings.Repeat("a", 5000)}, nil, 413, ""},
	} {
		before := c.Do("GET", "/Users/"+id, nil)
		res := c.Do(tc.method, tc.path, tc.body, tc.header...)
		require.Equal(t, tc.status, res.Status, "%s: %v", tc.name, res.Doc)
		if tc.scimType != "" {
			assert.Equal(t, tc.scimType, res.Doc["scimType"], tc.name)
		}
		after := c.Do("GET", "/Users/"+id, nil)
		assert.Equal(t, before.Doc, after.Doc, "%s changed nothing", tc.name)
	}
	idp, err := k.Ops.AuthenticateSCIM(context.Background(), backoffice.Secret(c.Token))
	require.NoError(t, err)
	ops, err := k.Ops.ManagedOperators(accessctl.NewContext(context.Background(), idp))
	require.NoError(t, err)
	assert.Len(t, ops, 1, "no refused call made a user")
	// The right version works; If-None-Match answers 304.
	res := c.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "path": "displayName", "value": "Ann"}), "If-Match", etag)
	require.Equal(t, http.StatusOK, res.Status)
	assert.NotEqual(t, etag, res.Header.Get("ETag"))
	assert.Equal(t, http.StatusNotModified, c.Do("GET", "/Users/"+id, nil, "If-None-Match", res.Header.Get("ETag")).Status)

	// Authentication.
	for _, token := range []string{"", "nope", "YWNtZQ.forged"} {
		bad := &scimtest.Client{T: t, BaseURL: c.BaseURL, Token: token}
		res := bad.Do("GET", "/Users", nil)
		require.Equal(t, http.StatusUnauthorized, res.Status)
	}
}

// I7: the quirks of Entra ID (string booleans, PascalCase ops, the
// manager as a bare id, members removed by value) and Okta (deactivation
// by PUT) are accepted.
func TestClientQuirks(t *testing.T) {
	k, c := server(t, scim.Options{})
	u := c.Do("POST", "/Users", map[string]any{"schemas": []string{scim.UserSchema}, "userName": "ann@acme.example", "active": "True",
		"emails": []any{map[string]any{"value": "ann@acme.example", "type": "work", "primary": "true"}}})
	require.Equal(t, http.StatusCreated, u.Status, "%v", u.Doc)
	id := scimtest.Str(u.Doc, "id")
	assert.Equal(t, true, u.Doc["active"])

	// Entra: PascalCase op, path-less replace with a string boolean.
	res := c.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace", "value": map[string]any{"active": "False"}}))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	assert.Equal(t, false, res.Doc["active"])
	res = c.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace", "path": "active", "value": "True"}))
	assert.Equal(t, true, res.Doc["active"])
	// emails[type eq "work"].value, on a user with no such email: added.
	v := c.Do("POST", "/Users", map[string]any{"userName": "vic@acme.example"})
	vid := scimtest.Str(v.Doc, "id")
	res = c.Do("PATCH", "/Users/"+vid, patch(map[string]any{"op": "Add", "path": `emails[type eq "work"].value`, "value": "vic@acme.example"}))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	got, err := k.Store.Operator(context.Background(), k.Tenant, accessctl.OperatorID(vid))
	require.NoError(t, err)
	assert.Equal(t, "vic@acme.example", got.Email)

	// Okta deactivates with a PUT of the whole user, active false.
	res = c.Do("PUT", "/Users/"+id, map[string]any{"schemas": []string{scim.UserSchema}, "userName": "ann@acme.example", "active": false,
		"emails": []any{map[string]any{"value": "ann@acme.example", "primary": true}}})
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	assert.Equal(t, false, res.Doc["active"])
	got, err = k.Store.Operator(context.Background(), k.Tenant, accessctl.OperatorID(id))
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusDeactivated, got.Status)

	// Entra removes members by listing them as the value of a path-less
	// "Remove" on members; and a group's member list in a PUT.
	g := c.Do("POST", "/Groups", map[string]any{"displayName": "staff", "members": []any{map[string]any{"value": vid}}})
	require.Equal(t, http.StatusConflict, g.Status, "staff is already known through the tenant's mapping")
	list := c.Do("GET", "/Groups?filter="+url.QueryEscape(`displayName eq "staff"`), nil)
	require.Len(t, list.Resources(), 1)
	gid := scimtest.Str(list.Resources()[0], "id")
	res = c.Do("PUT", "/Groups/"+gid, map[string]any{"displayName": "staff", "members": []any{map[string]any{"value": vid}}})
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	got, err = k.Store.Operator(context.Background(), k.Tenant, accessctl.OperatorID(vid))
	require.NoError(t, err)
	assert.Equal(t, []accessctl.RoleName{accessctl.RoleReadOnly}, got.Roles, "the mapping gives the group's role")
	res = c.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": vid}}}))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	got, err = k.Store.Operator(context.Background(), k.Tenant, accessctl.OperatorID(vid))
	require.NoError(t, err)
	assert.Equal(t, accessctl.StatusDeactivated, got.Status, "I5: out of its last mapped group")
}

// I4: the host's abuse limits are asked before the token is checked and
// with the token's id after.
func TestAbuseLimits(t *testing.T) {
	var seen []string
	_, c := server(t, scim.Options{Allow: func(r *http.Request, token string) bool {
		seen = append(seen, token)
		return len(seen) < 4
	}})
	require.Equal(t, http.StatusOK, c.Do("GET", "/Users", nil).Status)
	require.Equal(t, http.StatusTooManyRequests, c.Do("GET", "/Users", nil).Status)
	assert.Equal(t, "", seen[0])
	assert.True(t, strings.HasPrefix(seen[1], "scim:"), "then with the token's id: %q", seen[1])
}
