package scim

import (
	"net/http"
	"strings"
)

// attr describes one attribute in a schema definition (RFC 7643, 7).
func attr(name, typ, desc string, opts ...func(map[string]any)) map[string]any {
	a := map[string]any{"name": name, "type": typ, "description": desc, "multiValued": false, "required": false,
		"caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none"}
	if typ == "reference" {
		a["referenceTypes"] = []string{"User", "Group", "uri"}
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

func set(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }

func subs(s ...map[string]any) func(map[string]any) {
	return func(m map[string]any) { m["subAttributes"] = s }
}

var (
	multi    = set("multiValued", true)
	required = set("required", true)
	readOnly = set("mutability", "readOnly")
)

// schemaDocs are the schemas the handler serves, with only the
// attributes it supports.
func (h *Handler) schemaDocs() []map[string]any {
	doc := func(id, name, desc string, attrs ...map[string]any) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"}, "id": id, "name": name,
			"description": desc, "attributes": attrs,
			"meta": map[string]any{"resourceType": "Schema", "location": h.opts.BaseURL + "/Schemas/" + id}}
	}
	ref := func(desc string, kinds ...string) map[string]any {
		return attr("$ref", "reference", desc, set("referenceTypes", kinds), readOnly)
	}
	return []map[string]any{
		doc(UserSchema, "User", "An operator of the back office",
			attr("userName", "string", "What the operator signs in as; unique in the tenant, case-insensitively", required, set("uniqueness", "server")),
			attr("name", "complex", "The operator's names", subs(
				attr("formatted", "string", "The full name", readOnly),
				attr("givenName", "string", "The first name"),
				attr("familyName", "string", "The last name"))),
			attr("displayName", "string", "How the operator is shown"),
			attr("active", "boolean", "false deactivates the operator and ends its sessions"),
			attr("emails", "complex", "The operator's email; the primary one, else the work one, is kept", multi, subs(
				attr("value", "string", "The address"),
				attr("type", "string", "work", set("canonicalValues", []string{"work", "home", "other"})),
				attr("primary", "boolean", "The one kept"))),
			attr("groups", "complex", "The groups the operator is in; change them through Groups", multi, readOnly, subs(
				attr("value", "string", "The group's id", readOnly),
				ref("The group's URI", "Group"),
				attr("display", "string", "The group's name", readOnly),
				attr("type", "string", "direct", readOnly, set("canonicalValues", []string{"direct"}))))),
		doc(EnterpriseSchema, "EnterpriseUser", "Enterprise attributes of an operator",
			attr("manager", "complex", "The operator it reports to", subs(
				attr("value", "string", "The manager's id"),
				ref("The manager's URI", "User"),
				attr("displayName", "string", "The manager's name", readOnly)))),
		doc(GroupSchema, "Group", "A group of the identity provider; the tenant maps it to roles",
			attr("displayName", "string", "The group's name, which the tenant's mapping names", required, set("uniqueness", "server")),
			attr("members", "complex", "The operators in the group", multi, subs(
				attr("value", "string", "The user's id", set("mutability", "immutable")),
				ref("The user's URI", "User"),
				attr("display", "string", "The user's userName", readOnly),
				attr("type", "string", "User", set("mutability", "immutable"), set("canonicalValues", []string{"User"}))))),
	}
}

func (h *Handler) resourceTypeDocs() []map[string]any {
	rt := func(id, endpoint, schema string, ext ...map[string]any) map[string]any {
		d := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": id, "name": id,
			"endpoint": endpoint, "description": id + "s of the tenant", "schema": schema,
			"meta": map[string]any{"resourceType": "ResourceType", "location": h.opts.BaseURL + "/ResourceTypes/" + id}}
		if len(ext) > 0 {
			d["schemaExtensions"] = ext
		}
		return d
	}
	return []map[string]any{
		rt("User", "/Users", UserSchema, map[string]any{"schema": EnterpriseSchema, "required": false}),
		rt("Group", "/Groups", GroupSchema),
	}
}

func (h *Handler) serviceProviderConfig(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://pkg.go.dev/github.com/backoffice-go/backoffice/accessctl/scim",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": h.opts.MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{"type": "oauthbearertoken", "name": "SCIM token",
			"description": "A SCIM token an Administrator of the tenant issued, as a bearer token", "primary": true}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": h.opts.BaseURL + "/ServiceProviderConfig"},
	})
	return nil
}

func (h *Handler) listing(w http.ResponseWriter, docs []map[string]any) {
	res := make([]any, len(docs))
	for i, d := range docs {
		res[i] = d
	}
	writeJSON(w, http.StatusOK, map[string]any{"schemas": []string{ListSchema}, "totalResults": len(docs),
		"startIndex": 1, "itemsPerPage": len(docs), "Resources": res})
}

func (h *Handler) resourceTypes(w http.ResponseWriter, _ *http.Request) error {
	h.listing(w, h.resourceTypeDocs())
	return nil
}

func (h *Handler) schemas(w http.ResponseWriter, _ *http.Request) error {
	h.listing(w, h.schemaDocs())
	return nil
}

func byID(docs []map[string]any, id string) map[string]any {
	for _, d := range docs {
		if s, _ := d["id"].(string); strings.EqualFold(s, id) {
			return d
		}
	}
	return nil
}

func (h *Handler) resourceType(w http.ResponseWriter, r *http.Request) error {
	d := byID(h.resourceTypeDocs(), r.PathValue("id"))
	if d == nil {
		return &Error{Status: http.StatusNotFound, Detail: "no such resource type"}
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (h *Handler) schema(w http.ResponseWriter, r *http.Request) error {
	d := byID(h.schemaDocs(), r.PathValue("id"))
	if d == nil {
		return &Error{Status: http.StatusNotFound, Detail: "no such schema"}
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}
