package jsonapi

import (
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
)

// The query parameters of the API, each with its type, format, enum,
// default and limits, and the routes that take them.

func strs[T ~string](vs ...T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func queryParam(name, description string, schema map[string]any, required bool) map[string]any {
	return map[string]any{"name": name, "in": "query", "description": description, "required": required, "schema": schema}
}

var (
	pCursor  = queryParam("cursor", "The next page's cursor, as the previous page gave it.", map[string]any{"type": "string", "maxLength": 512}, false)
	pLimit   = queryParam("limit", "The page size.", map[string]any{"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, false)
	pVersion = queryParam("version", "The version of the record the client read.", map[string]any{"type": "integer", "format": "int64", "minimum": 1}, true)
	pageQ    = []map[string]any{pCursor, pLimit}
)

func routeQuery() map[string][]map[string]any {
	userType := queryParam("type", "End users of one type.", map[string]any{"type": "string",
		"enum": strs(enduser.TypePhysicalPerson, enduser.TypeBusiness, enduser.TypeNGO, enduser.TypeGovernment)}, false)
	userStatus := queryParam("status", "End users of one status.", map[string]any{"type": "string",
		"enum": strs(enduser.StatusPending, enduser.StatusValidated, enduser.StatusCanceled)}, false)
	dateTime := func(name, d string) map[string]any {
		return queryParam(name, d, map[string]any{"type": "string", "format": "date-time"}, false)
	}
	text := func(name, d string) map[string]any {
		return queryParam(name, d, map[string]any{"type": "string", "maxLength": 320}, false)
	}
	filters := append([]map[string]any{userType, userStatus, dateTime("created_from", "Created at or after (RFC 3339)."),
		dateTime("created_to", "Created before (RFC 3339).")}, pageQ...)
	with := func(ps ...map[string]any) []map[string]any { return append(ps, pageQ...) }
	return map[string][]map[string]any{
		"GET /v1/operators": with(queryParam("status", "Operators of one status.", map[string]any{"type": "string",
			"enum": strs(accessctl.StatusInvited, accessctl.StatusActive, accessctl.StatusBlocked, accessctl.StatusDeactivated)}, false),
			text("role", "Operators holding the role.")),
		"DELETE /v1/operators/{id}":                     {pVersion},
		"GET /v1/operators/{id}/history":                pageQ,
		"GET /v1/audit/{type}/{id}":                     pageQ,
		"GET /v1/endusers/search":                       with(text("id", "An end user's id."), text("tag", "A tag."), text("email", "An email."), text("name", "A fragment of a name.")),
		"GET /v1/endusers":                              filters,
		"GET /v1/endusers/count":                        filters[:4],
		"DELETE /v1/endusers/{id}/tax-residences/{rid}": {pVersion},
		"GET /v1/endusers/{id}/children":                pageQ,
		"GET /v1/onboardings":                           with(queryParam("completed", "Completed onboardings instead of open ones.", map[string]any{"type": "boolean", "default": false}, false)),
		"GET /v1/endusers/{id}/devices":                 {queryParam("deleted", "The deleted devices instead of the others.", map[string]any{"type": "boolean", "default": false}, false)},
		"DELETE /v1/devices/{id}":                       {pVersion},
		"GET /v1/approvals": with(queryParam("status", "Requests of one status.", map[string]any{"type": "string",
			"enum": strs(accessctl.ApprovalPending, accessctl.ApprovalApproved, accessctl.ApprovalDone, accessctl.ApprovalFailed, accessctl.ApprovalRejected, accessctl.ApprovalExpired)}, false)),
		"GET /v1/reviews": pageQ,
	}
}

// problemTypes are the stable, machine-readable problem types, one per
// kind of error.
func problemTypes() []string {
	var out []string
	for _, k := range []string{"invalid-input", "invalid-parameter", "malformed-json", "unknown-field", "too-large", "unsupported-media-type",
		"not-found", "method-not-allowed", "conflict", "failed-precondition", "forbidden", "unauthenticated", "unavailable", "timeout",
		"rate-limited", "internal"} {
		out = append(out, "https://backoffice.example/problems/"+k)
	}
	return out
}

// pathSchema is a path parameter's schema: ids are the library's
// sortable ids, roles and permissions lower-case names.
func pathSchema(name string) map[string]any {
	switch name {
	case "type":
		return map[string]any{"type": "string", "enum": []string{accessctl.TargetTenant, accessctl.TargetOperator,
			accessctl.TargetRole, accessctl.TargetApproval, accessctl.TargetReview, enduser.TargetEndUser, enduser.TargetOnboarding, scadevice.TargetDevice}}
	case "name":
		return map[string]any{"type": "string", "pattern": "^[a-z0-9_]{1,64}$"}
	case "permission":
		return map[string]any{"type": "string", "pattern": "^[a-z0-9_.]{1,128}$"}
	}
	return map[string]any{"type": "string", "minLength": 1, "maxLength": 128, "description": "an id, as the API gave it"}
}
