// Package scimtest checks a SCIM 2.0 service provider from the outside,
// over HTTP, as identity providers and their validators do: it replays
// the test list of Microsoft's SCIM validator (users and groups) and
// validates every resource, list and error document the server answers
// against the RFC 7643 schemas as an independent implementation reads
// them (github.com/elimity-com/scim's schema package), not as this
// module's handler does.
package scimtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Client talks to one SCIM base URL with one token, and checks every
// answer.
type Client struct {
	T       testing.TB
	BaseURL string
	Token   string
	HTTP    *http.Client
	// Checked counts the documents validated.
	Checked int
}

// Response is an answer: its status, headers and JSON document.
type Response struct {
	Status int
	Header http.Header
	Doc    map[string]any
}

// Do sends a request and validates what comes back: a resource against
// its schema, a list's resources each, an error as an RFC 7644 error.
func (c *Client) Do(method, path string, body any, header ...string) *Response {
	c.T.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.T, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.BaseURL+path, rd)
	require.NoError(c.T, err)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	require.NoError(c.T, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(c.T, err)
	out := &Response{Status: res.StatusCode, Header: res.Header}
	if len(bytes.TrimSpace(raw)) == 0 {
		require.Contains(c.T, []int{http.StatusNoContent, http.StatusNotModified}, res.StatusCode, "%s %s: an empty body", method, path)
		return out
	}
	assert.Equal(c.T, "application/scim+json", res.Header.Get("Content-Type"), "%s %s", method, path)
	require.NoError(c.T, json.Unmarshal(raw, &out.Doc), "%s %s: %s", method, path, raw)
	c.Validate(out, raw)
	return out
}

// Validate checks one document by what its schemas say it is.
func (c *Client) Validate(r *Response, raw []byte) {
	c.T.Helper()
	c.Checked++
	schemas := strings.Join(stringList(r.Doc["schemas"]), " ")
	switch {
	case r.Status >= 400:
		require.Contains(c.T, schemas, "urn:ietf:params:scim:api:messages:2.0:Error", "%s", raw)
		var e scimerrors.ScimError
		require.NoError(c.T, json.Unmarshal(raw, &e), "an RFC 7644 error document: %s", raw)
		assert.Equal(c.T, r.Status, e.Status, "the document's status is the answer's")
		if e.ScimType != "" {
			assert.Contains(c.T, []scimerrors.ScimType{scimerrors.ScimTypeInvalidFilter, scimerrors.ScimTypeTooMany, scimerrors.ScimTypeUniqueness,
				scimerrors.ScimTypeMutability, scimerrors.ScimTypeInvalidSyntax, scimerrors.ScimTypeInvalidPath, scimerrors.ScimTypeNoTarget,
				scimerrors.ScimTypeInvalidValue, scimerrors.ScimTypeInvalidVersion, scimerrors.ScimTypeSensitive}, e.ScimType)
		}
		assert.NotEmpty(c.T, e.Detail)
	case strings.Contains(schemas, "urn:ietf:params:scim:api:messages:2.0:ListResponse"):
		for _, k := range []string{"totalResults", "startIndex", "itemsPerPage", "Resources"} {
			assert.Contains(c.T, r.Doc, k, "a list response has %s", k)
		}
		res, _ := r.Doc["Resources"].([]any)
		assert.Equal(c.T, float64(len(res)), r.Doc["itemsPerPage"])
		for _, x := range res {
			m, ok := x.(map[string]any)
			require.True(c.T, ok)
			b, _ := json.Marshal(m)
			c.Validate(&Response{Status: r.Status, Doc: m}, b)
		}
	default:
		c.resource(r.Doc, raw)
	}
}

// resource validates a resource against the schema its "schemas" names,
// and its common attributes (id, externalId, meta).
func (c *Client) resource(doc map[string]any, raw []byte) {
	c.T.Helper()
	require.NoError(c.T, CheckResource(raw), "%s", raw)
	if ids := stringList(doc["schemas"]); isResource(ids) {
		assert.NotEmpty(c.T, doc["id"], "a resource has an id")
		meta, _ := doc["meta"].(map[string]any)
		assert.NotEmpty(c.T, meta["resourceType"], "meta.resourceType")
		assert.NotEmpty(c.T, meta["location"], "meta.location")
		assert.NotEmpty(c.T, meta["version"], "meta.version (ETags are supported)")
	}
}

// CheckResource validates a resource document against the RFC 7643
// schemas its "schemas" attribute names, as elimity-com's implementation
// reads them, and a User or Group's common attributes.
func CheckResource(raw []byte) error {
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return err
	}
	doc, ok := generic.(map[string]any)
	if !ok {
		return fmt.Errorf("not a JSON object")
	}
	ids := stringList(doc["schemas"])
	if len(ids) == 0 {
		return fmt.Errorf("a resource names its schemas")
	}
	for _, id := range ids {
		var s schema.Schema
		extension := false
		switch id {
		case schema.UserSchema:
			s = schema.CoreUserSchema()
		case schema.GroupSchema:
			s = schema.CoreGroupSchema()
		case "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
			s, extension = schema.ExtensionEnterpriseUser(), true
		case "urn:ietf:params:scim:schemas:core:2.0:Schema":
			s = schema.Definition()
		case "urn:ietf:params:scim:schemas:core:2.0:ResourceType":
			s = schema.ResourceTypeSchema()
		case "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig":
			s = schema.ServiceProviderConfigSchema()
		default:
			return fmt.Errorf("a schema no RFC 7643 resource has: %s", id)
		}
		if extension {
			ext, _ := doc[id].(map[string]any)
			if _, serr := s.ValidateExtension(ext); serr != nil {
				return fmt.Errorf("against %s: %v", id, serr)
			}
		} else if _, serr := s.Validate(generic); serr != nil {
			return fmt.Errorf("against %s: %v", id, serr)
		}
	}
	if isResource(ids) {
		common := schema.Schema{ID: ids[0], Attributes: schema.CommonAttributes()}
		if _, serr := common.Validate(generic); serr != nil {
			return fmt.Errorf("common attributes: %v", serr)
		}
	}
	return nil
}

func isResource(ids []string) bool {
	return ids[0] == schema.UserSchema || ids[0] == schema.GroupSchema
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Str reads a string attribute of a document by a dotted path.
func Str(doc map[string]any, path string) string {
	var cur any = doc
	for _, p := range strings.Split(path, ".") {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

func managerOf(doc map[string]any) string {
	ext, _ := doc["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
	return Str(ext, "manager.value")
}

// Resources returns a list response's resources.
func (r *Response) Resources() []map[string]any {
	list, _ := r.Doc["Resources"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func patch(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

func op(name, path string, value any) map[string]any {
	m := map[string]any{"op": name}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// MicrosoftValidator replays the test list of Microsoft's SCIM validator
// (https://scimvalidator.microsoft.com) with the requests Entra ID's
// provisioning sends: for users, create, get, filter an existing and a
// missing user (and with another case), replace attributes by PATCH and
// by PUT, change the userName, disable, add and remove a manager,
// delete; for groups, create, get and filter without members, filter a
// missing one (and with another case), replace attributes, add and
// remove members, delete. prefix makes the names unique to the run.
func (c *Client) MicrosoftValidator(prefix string) {
	t := c.T
	t.Helper()
	user := func(name string) map[string]any {
		return map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			"userName": name + "@contoso.example", "active": true, "displayName": "Display " + name, "externalId": "ext-" + name,
			"name":      map[string]any{"givenName": "Given" + name, "familyName": "Family" + name, "formatted": "Given Family"},
			"emails":    []any{map[string]any{"type": "work", "value": name + "@contoso.example", "primary": true}},
			"locale":    "en-US",
			"title":     "Clerk",
			"userType":  "Employee",
			"addresses": []any{map[string]any{"type": "work", "country": "FR"}},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"employeeNumber": "42", "department": "Ops"},
		}
	}
	// Users.
	created := c.Do("POST", "/Users", user(prefix+"u1"))
	require.Equal(t, http.StatusCreated, created.Status, "create user: %v", created.Doc)
	id := Str(created.Doc, "id")
	assert.Equal(t, prefix+"u1@contoso.example", Str(created.Doc, "userName"))
	assert.NotEmpty(t, created.Header.Get("ETag"))
	manager := c.Do("POST", "/Users", user(prefix+"boss"))
	require.Equal(t, http.StatusCreated, manager.Status)
	managerID := Str(manager.Doc, "id")

	got := c.Do("GET", "/Users/"+id, nil)
	require.Equal(t, http.StatusOK, got.Status)
	assert.Equal(t, "Given"+prefix+"u1", Str(got.Doc, "name.givenName"))

	for _, name := range []string{prefix + "u1@contoso.example", strings.ToUpper(prefix + "u1@contoso.example")} {
		list := c.Do("GET", "/Users?filter="+queryEscape(fmt.Sprintf(`userName eq "%s"`, name)), nil)
		require.Equal(t, http.StatusOK, list.Status)
		require.Len(t, list.Resources(), 1, "filter existing user %s", name)
		assert.Equal(t, id, Str(list.Resources()[0], "id"))
	}
	missing := c.Do("GET", "/Users?filter="+queryEscape(`userName eq "nobody-`+prefix+`@contoso.example"`), nil)
	require.Equal(t, http.StatusOK, missing.Status)
	assert.Empty(t, missing.Resources())
	assert.Equal(t, float64(0), missing.Doc["totalResults"])

	// Patch User - Replace Attributes, as Entra ID sends them.
	res := c.Do("PATCH", "/Users/"+id, patch(
		op("Replace", "displayName", "Renamed "+prefix),
		op("Replace", "name.givenName", "NewGiven"),
		op("Replace", "name.familyName", "NewFamily"),
		op("Replace", `emails[type eq "work"].value`, "new-"+prefix+"u1@contoso.example"),
		op("Replace", "externalId", "ext2-"+prefix),
		op("Add", "title", "Manager"),
	))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	assert.Equal(t, "NewGiven", Str(res.Doc, "name.givenName"))
	assert.Equal(t, "Renamed "+prefix, Str(res.Doc, "displayName"))
	assert.Equal(t, "ext2-"+prefix, Str(res.Doc, "externalId"))
	emails, _ := res.Doc["emails"].([]any)
	require.Len(t, emails, 1)
	assert.Equal(t, "new-"+prefix+"u1@contoso.example", emails[0].(map[string]any)["value"])

	// Patch User - Update userName.
	res = c.Do("PATCH", "/Users/"+id, patch(op("Replace", "userName", prefix+"renamed@contoso.example")))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	assert.Equal(t, prefix+"renamed@contoso.example", Str(res.Doc, "userName"))

	// Replace by PUT.
	put := user(prefix + "renamed")
	put["displayName"] = "Put " + prefix
	res = c.Do("PUT", "/Users/"+id, put)
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	assert.Equal(t, "Put "+prefix, Str(res.Doc, "displayName"))

	// Patch User - Add Manager, then Remove Manager.
	res = c.Do("PATCH", "/Users/"+id, patch(op("Add", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", managerID)))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	assert.Equal(t, managerID, managerOf(res.Doc))
	res = c.Do("PATCH", "/Users/"+id, patch(op("Remove", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", nil)))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	assert.Empty(t, managerOf(res.Doc))

	// Patch User - Disable User, Entra ID's way (a string).
	res = c.Do("PATCH", "/Users/"+id, patch(op("Replace", "active", "False")))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	assert.Equal(t, false, res.Doc["active"])

	// Groups.
	g := c.Do("POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": prefix + "Team", "externalId": "gext-" + prefix})
	require.Equal(t, http.StatusCreated, g.Status, "%v", g.Doc)
	gid := Str(g.Doc, "id")
	got = c.Do("GET", "/Groups/"+gid+"?excludedAttributes=members", nil)
	require.Equal(t, http.StatusOK, got.Status)
	assert.NotContains(t, got.Doc, "members")
	for _, name := range []string{prefix + "Team", strings.ToUpper(prefix + "Team")} {
		list := c.Do("GET", "/Groups?excludedAttributes=members&filter="+queryEscape(fmt.Sprintf(`displayName eq "%s"`, name)), nil)
		require.Equal(t, http.StatusOK, list.Status)
		require.Len(t, list.Resources(), 1, "filter existing group %s", name)
		assert.NotContains(t, list.Resources()[0], "members")
	}
	list := c.Do("GET", "/Groups?excludedAttributes=members&filter="+queryEscape(`displayName eq "none-`+prefix+`"`), nil)
	require.Equal(t, http.StatusOK, list.Status)
	assert.Empty(t, list.Resources())

	res = c.Do("PATCH", "/Groups/"+gid, patch(op("Replace", "displayName", prefix+"Team2"), op("Replace", "externalId", "gext2-"+prefix)))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	assert.Equal(t, prefix+"Team2", Str(res.Doc, "displayName"))
	assert.Equal(t, gid, Str(res.Doc, "id"), "a rename keeps the id")

	res = c.Do("PATCH", "/Groups/"+gid, patch(op("Add", "members", []any{map[string]any{"value": id}, map[string]any{"value": managerID}})))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	members, _ := res.Doc["members"].([]any)
	assert.Len(t, members, 2)
	member := c.Do("GET", "/Users/"+managerID, nil)
	groups, _ := member.Doc["groups"].([]any)
	require.Len(t, groups, 1, "the user lists its group")
	assert.Equal(t, gid, groups[0].(map[string]any)["value"])
	res = c.Do("PATCH", "/Groups/"+gid, patch(op("Remove", "members", []any{map[string]any{"value": id}})))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	members, _ = res.Doc["members"].([]any)
	require.Len(t, members, 1)
	res = c.Do("PATCH", "/Groups/"+gid, patch(op("remove", fmt.Sprintf(`members[value eq "%s"]`, managerID), nil)))
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Doc)
	assert.NotContains(t, res.Doc, "members")

	res = c.Do("DELETE", "/Groups/"+gid, nil)
	require.Equal(t, http.StatusNoContent, res.Status)
	require.Equal(t, http.StatusNotFound, c.Do("GET", "/Groups/"+gid, nil).Status)

	// Delete User.
	res = c.Do("DELETE", "/Users/"+id, nil)
	require.Equal(t, http.StatusNoContent, res.Status)
	require.Equal(t, http.StatusNotFound, c.Do("GET", "/Users/"+id, nil).Status)
	list = c.Do("GET", "/Users?filter="+queryEscape(fmt.Sprintf(`userName eq "%s"`, prefix+"renamed@contoso.example")), nil)
	assert.Empty(t, list.Resources(), "a deleted user is no longer listed")
	require.Equal(t, http.StatusNoContent, c.Do("DELETE", "/Users/"+managerID, nil).Status)
}

func queryEscape(s string) string { return url.QueryEscape(s) }
