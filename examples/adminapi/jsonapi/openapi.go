package jsonapi

import (
	"cmp"
	"regexp"
	"strconv"
	"strings"
)

// docRoute documents one endpoint. The list is kept by hand, apart from
// the registrations in routes.go, and a test checks the two agree.
type docRoute struct {
	pattern string // "METHOD /path/{param}"
	summary string
	auth    string // "bearer", "internal" or "" for none
	body    string // request schema name, or ""
	resp    string // response schema name, or "" for no content
	status  int
}

var docRoutes = []docRoute{
	{"GET /healthz", "The process is up.", "", "", "Status", 200},
	{"GET /readyz", "Every store answers and every migration is applied (else 503); the outbox's backlog.", "", "", "Ready", 200},
	{"GET /openapi.json", "This document.", "", "", "Object", 200},
	{"GET /metrics", "Prometheus metrics, in the text exposition format.", "", "", "", 200},
	{"POST /v1/setup", "Create the first Administrator with the one-time setup token printed at start.", "", "Setup", "Operator", 201},
	{"POST /v1/login", "Check a password; returns a TOTP challenge (and an MFA enrolment on first login). The tenant is the body's, or the address's where the host resolves one.", "", "Login", "LoginResult", 200},
	{"POST /v1/login/mfa", "Answer the challenge with a TOTP code; returns the session token.", "", "MFA", "LoginResult", 200},
	{"POST /v1/login/passkey", "Start the passkey step of a login (after its password): the options for navigator.credentials.get(), or .create() for a first passkey the policy requires.", "", "PasskeyStep", "PasskeyCeremony", 200},
	{"POST /v1/login/passkey/finish", "Answer the login's challenge with the authenticator's answer; returns the session token.", "", "PasskeyAnswer", "LoginResult", 200},
	{"POST /v1/passkey-sign-in", "Start a sign-in with a passkey alone (username-less), where the tenant allows it.", "", "PasskeySignIn", "PasskeyCeremony", 200},
	{"POST /v1/passkey-sign-in/finish", "Finish a sign-in with a passkey alone; returns the session token.", "", "PasskeyAnswer", "LoginResult", 200},
	{"POST /v1/invitations/accept", "Follow an invitation link: verify the email and set a password.", "", "Password", "LoginResult", 200},
	{"POST /v1/password/forgot", "Ask for a password reset link (answers the same for unknown logins).", "", "Forgot", "Status", 202},
	{"POST /v1/password/reset", "Set a new password with a reset link.", "", "Password", "", 204},
	{"GET /v1/password/policy", "The password criteria, for a form.", "", "", "Criteria", 200},
	{"POST /v1/logout", "End this session.", "bearer", "", "", 204},
	{"GET /v1/me", "The session's operator and its permissions.", "bearer", "", "Me", 200},
	{"POST /v1/me/password", "Change one's own password.", "bearer", "Password", "", 204},
	{"POST /v1/me/passkeys/registration", "Start registering a passkey for oneself (a login of the last five minutes): the options for navigator.credentials.create().", "bearer", "", "PasskeyCeremony", 200},
	{"POST /v1/me/passkeys", "Finish registering a passkey, under a name.", "bearer", "PasskeyAnswer", "Passkey", 201},
	{"GET /v1/me/explain/{permission}", "Why the operator holds a permission or not.", "bearer", "", "Explain", 200},
	{"GET /v1/operators", "List operators, newest first (status, role, cursor, limit).", "bearer", "", "OperatorPage", 200},
	{"POST /v1/operators", "Create an operator with a password.", "bearer", "NewOperator", "Operator", 201},
	{"POST /v1/operators/invitations", "Invite an operator by email.", "bearer", "NewOperator", "Operator", 201},
	{"GET /v1/operators/{id}", "One operator.", "bearer", "", "Operator", 200},
	{"PATCH /v1/operators/{id}", "Edit an operator, its roles and account access.", "bearer", "OperatorPatch", "Operator", 200},
	{"DELETE /v1/operators/{id}", "Delete an operator for good (?version=N).", "bearer", "", "", 204},
	{"POST /v1/operators/{id}/duplicate", "Invite a copy of an operator with the roles the actor may grant.", "bearer", "NewOperator", "Operator", 201},
	{"POST /v1/operators/{id}/invitation", "Resend the verification link.", "bearer", "", "", 204},
	{"POST /v1/operators/{id}/deactivate", "Deactivate an operator; its sessions end.", "bearer", "Version", "Operator", 200},
	{"POST /v1/operators/{id}/reactivate", "Reactivate an operator.", "bearer", "Version", "Operator", 200},
	{"POST /v1/operators/{id}/block", "Block an operator.", "bearer", "Version", "Operator", 200},
	{"POST /v1/operators/{id}/unblock", "Unblock an operator.", "bearer", "Version", "Operator", 200},
	{"POST /v1/operators/{id}/mfa/reset", "Reset an operator's MFA.", "bearer", "Version", "Operator", 200},
	{"PUT /v1/operators/{id}/password", "Set an operator's password.", "bearer", "Password", "Operator", 200},
	{"POST /v1/operators/{id}/password-reset", "Email an operator a reset link.", "bearer", "", "", 204},
	{"PUT /v1/operators/{id}/sso-key", "Link an operator to the identity provider (SAML key).", "bearer", "SSOKey", "Operator", 200},
	{"DELETE /v1/operators/{id}/passkeys/{passkey}", "Revoke one of an operator's passkeys (one's own, or with operator.reset_mfa).", "bearer", "", "", 204},
	{"GET /v1/operators/{id}/history", "An operator's history, newest first.", "bearer", "", "EntryPage", 200},
	{"GET /v1/operators/{id}/sessions", "An operator's sessions.", "bearer", "", "SessionList", 200},
	{"DELETE /v1/operators/{id}/sessions", "End every session of an operator.", "bearer", "", "", 204},
	{"GET /v1/roles", "The tenant's roles.", "bearer", "", "RoleList", 200},
	{"POST /v1/roles", "Add a custom role.", "bearer", "RoleBody", "Role", 201},
	{"PUT /v1/roles/{name}", "Change a custom role.", "bearer", "RoleBody", "Role", 200},
	{"GET /v1/permissions", "The permission catalog and the roles × permissions matrix.", "bearer", "", "Permissions", 200},
	{"GET /v1/tenant", "The tenant's settings.", "bearer", "", "Tenant", 200},
	{"PATCH /v1/tenant", "Change the tenant's name, SSO mode, switches and security policy.", "bearer", "TenantPatch", "Tenant", 200},
	{"GET /v1/tenant/scim-tokens", "The tenant's SCIM tokens (never their secrets or digests).", "bearer", "", "SCIMTokenList", 200},
	{"POST /v1/tenant/scim-tokens", "Issue a SCIM token for the identity provider: its secret is in this answer only. Pending where Administrator grants are held.", "bearer", "SCIMTokenBody", "SCIMTokenIssued", 201},
	{"POST /v1/tenant/scim-tokens/{id}/rotate", "Issue a token to replace this one, which keeps working for overlap_seconds (at most a day).", "bearer", "Rotate", "SCIMTokenIssued", 201},
	{"POST /v1/tenant/scim-tokens/{id}/activate", "Make a pending token work: held like granting Administrator.", "bearer", "", "", 204},
	{"DELETE /v1/tenant/scim-tokens/{id}", "Revoke a SCIM token at once.", "bearer", "", "", 204},
	{"GET /v1/policy", "The security policy in force for the tenant (PCI DSS v4.0 requirement 8).", "bearer", "", "Policy", 200},
	{"GET /v1/operators/dormant", "Active operators with no login for longer than the policy allows (8.2.6).", "bearer", "", "OperatorList", 200},
	{"POST /v1/operators/grants/expire", "Record the end of time-bound roles and account access that reached it.", "bearer", "", "Ended", 200},
	{"GET /v1/approvals", "Four-eyes requests, newest first (?status=pending|done|failed|rejected|expired).", "bearer", "", "ApprovalPage", 200},
	{"POST /v1/approvals", "Ask a second operator to approve an action the policy holds, with a reason.", "bearer", "ApprovalRequest", "Approval", 201},
	{"GET /v1/approvals/{id}", "One four-eyes request.", "bearer", "", "Approval", 200},
	{"POST /v1/approvals/{id}/approve", "Approve a request, naming the digest of the effect you were shown; its action runs once, only if it would still change exactly that, every rule checked again.", "bearer", "Approve", "Approval", 200},
	{"POST /v1/approvals/{id}/reject", "Reject a request, with a reason.", "bearer", "Reason", "Approval", 200},
	{"POST /v1/me/elevation", "Break-glass: ask for a role for a few hours, through four-eyes approval.", "bearer", "Elevation", "Approval", 201},
	{"GET /v1/reviews", "Access review campaigns, newest first.", "bearer", "", "ReviewPage", 200},
	{"POST /v1/reviews", "Start an access review campaign of every operator (7.2.4).", "bearer", "NewReview", "Review", 201},
	{"GET /v1/reviews/status", "Overdue campaigns, and whether a review is due.", "bearer", "", "ReviewReport", 200},
	{"GET /v1/reviews/{id}", "One campaign with its lines and decisions.", "bearer", "", "Review", 200},
	{"POST /v1/reviews/{id}/decisions", "Certify or revoke one operator's access.", "bearer", "Decision", "Review", 200},
	{"GET /v1/reviews/{id}/csv", "The campaign as CSV, for an auditor.", "bearer", "", "", 200},
	{"GET /v1/events/sinks", "The security event sinks' state in the tenant: backlog, lag, failures, the last event delivered (needs audit.read).", "bearer", "", "SinkList", 200},
	{"POST /v1/events/test", "Send a test event to a sink at once and say whether it arrived (Administrators).", "bearer", "SinkTest", "TestResult", 200},
	{"POST /v1/events/redeliver", "Send the tenant's events to a sink again from a sequence number, or start a dead stream again (Administrators).", "bearer", "Redeliver", "", 204},
	{"GET /v1/audit/verify", "Check the tenant's audit hash chain from the last intact walk's checkpoint to its head; names the first entry altered, removed or inserted.", "bearer", "", "AuditVerification", 200},
	{"POST /v1/audit/verify/full", "Walk the tenant's whole audit hash chain from its first entry: at most once every ten minutes.", "bearer", "", "AuditVerification", 200},
	{"GET /v1/audit/{type}/{id}", "The audit log of any record, newest first.", "bearer", "", "EntryPage", 200},
	{"GET /v1/endusers/search", "Search end users by id, tag, email or name.", "bearer", "", "EndUserPage", 200},
	{"GET /v1/endusers", "List end users, newest first (type, status, created_from, created_to).", "bearer", "", "EndUserPage", 200},
	{"GET /v1/endusers/count", "How many end users the list's filters match (an opt-in total).", "bearer", "", "Count", 200},
	{"POST /v1/endusers", "Create an end user.", "bearer", "NewEndUser", "EndUser", 201},
	{"GET /v1/endusers/{id}", "One end user.", "bearer", "", "EndUser", 200},
	{"PATCH /v1/endusers/{id}", "Edit an end user's identity and contact fields.", "bearer", "EndUserPatch", "EndUser", 200},
	{"POST /v1/endusers/{id}/tax-residences", "Declare a tax residence.", "bearer", "TaxResidence", "EndUser", 200},
	{"PUT /v1/endusers/{id}/tax-residences/{rid}", "Change a tax residence.", "bearer", "TaxResidence", "EndUser", 200},
	{"DELETE /v1/endusers/{id}/tax-residences/{rid}", "Remove a tax residence (?version=N).", "bearer", "", "EndUser", 200},
	{"POST /v1/endusers/{id}/deactivate", "Deactivate a validated end user with empty wallets.", "bearer", "Version", "EndUser", 200},
	{"POST /v1/endusers/{id}/forgot-password", "Send the forgot-password email; returns where it went.", "bearer", "", "Sent", 200},
	{"GET /v1/endusers/{id}/children", "An end user's children.", "bearer", "", "EndUserPage", 200},
	{"GET /v1/endusers/{id}/tree", "An end user and its descendants.", "bearer", "", "Node", 200},
	{"POST /v1/endusers/{id}/kyc/review", "Request a KYC review.", "bearer", "Version", "EndUser", 200},
	{"POST /v1/endusers/{id}/kyc/outcome", "Record a KYC outcome.", "bearer", "KYCOutcome", "EndUser", 200},
	{"PUT /v1/endusers/{id}/wallet", "Set the example wallet's balance.", "bearer", "Wallet", "Balance", 200},
	{"GET /v1/onboardings", "Self-onboardings, completed or not (?completed=true).", "bearer", "", "OnboardingPage", 200},
	{"GET /v1/endusers/{id}/devices", "An end user's devices (?deleted=true for the deleted ones).", "bearer", "", "DeviceList", 200},
	{"GET /v1/devices/{id}", "One device.", "bearer", "", "Device", 200},
	{"GET /v1/devices/{id}/commands", "The commands the operator may run on the device now.", "bearer", "", "Commands", 200},
	{"POST /v1/devices/{id}/lock", "Secure a device with a reason and a message.", "bearer", "Lock", "Device", 200},
	{"POST /v1/devices/{id}/unlock", "Unlock a device (identity verified).", "bearer", "Identity", "Device", 200},
	{"POST /v1/devices/{id}/reset-pin", "Ask the end user for a new PIN (identity verified).", "bearer", "Identity", "Device", 200},
	{"DELETE /v1/devices/{id}", "Delete a device (?version=N).", "bearer", "", "Device", 200},
	{"POST /v1/internal/sso/login", "Log in from a validated identity-provider assertion.", "internal", "Assertion", "LoginResult", 200},
	{"POST /v1/internal/onboardings", "Start a self-onboarding; sends the activation link.", "internal", "NewEndUser", "Onboarding", 201},
	{"POST /v1/internal/onboardings/complete", "Follow an activation link.", "internal", "Token", "EndUser", 200},
	{"POST /v1/internal/endusers/{id}/devices", "The customer app enrols a device.", "internal", "Enrol", "Device", 201},
	{"POST /v1/internal/devices/{id}/passcode", "The customer app reports a PIN was set.", "internal", "Version", "Device", 200},
	{"GET /v1/internal/outbox", "The notices sent so far (the example's mail provider).", "internal", "", "Notices", 200},
}

var (
	paramRe = regexp.MustCompile(`\{([a-z_]+)\}`)
	refRe   = regexp.MustCompile(`#/components/schemas/([A-Za-z]+)`)
)

// OpenAPI is the OpenAPI 3.1 document, built from docRoutes, of the API
// mounted at prefix ("" for the root): its server URL.
func OpenAPI(prefix string) map[string]any {
	paths := map[string]map[string]any{}
	query := routeQuery()
	for _, r := range docRoutes {
		method, path, _ := strings.Cut(r.pattern, " ")
		op := map[string]any{"summary": r.summary, "operationId": operationID(r.pattern)}
		var params []any
		for _, m := range paramRe.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": pathSchema(m[1])})
		}
		params = append(params, anys(query[r.pattern])...)
		if len(params) > 0 {
			op["parameters"] = params
		}
		switch r.auth {
		case "bearer":
			op["security"] = []any{map[string]any{"bearer": []any{}}}
		case "internal":
			op["security"] = []any{map[string]any{"internal": []any{}}}
		}
		if r.body != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(r.body)}}}
		}
		responses := map[string]any{"default": map[string]any{"description": "An error.",
			"content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}}
		ok := map[string]any{"description": "Success."}
		if r.resp != "" {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(r.resp)}}
		}
		responses[strconv.Itoa(r.status)] = ok
		op["responses"] = responses
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(method)] = op
	}
	// Not ready answers the readiness itself, not a problem.
	paths["/readyz"]["get"].(map[string]any)["responses"].(map[string]any)["503"] = map[string]any{"description": "Not ready.",
		"content": map[string]any{"application/json": map[string]any{"schema": ref("Ready")}}}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "backoffice admin API (example)", "version": "1.0.0",
			"description": "Operators, end users and SCA devices, acting as the operator of the bearer session token. Errors are RFC 9457 problem documents."},
		"servers": []any{map[string]any{"url": cmp.Or(prefix, "/")}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer":   map[string]any{"type": "http", "scheme": "bearer"},
				"internal": map[string]any{"type": "apiKey", "in": "header", "name": "X-Internal-Secret"},
			},
			"schemas": schemas(),
		},
	}
}

func anys(ps []map[string]any) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// problemSchema is the RFC 9457 problem document, its type one of the
// stable problem types.
func problemSchema() map[string]any {
	s := obj(map[string]string{"type": "string", "title": "string", "status": "integer", "detail": "string", "instance": "string"},
		"type", "title", "status")
	props := s["properties"].(map[string]any)
	props["type"] = map[string]any{"type": "string", "format": "uri", "enum": problemTypes()}
	props["status"] = map[string]any{"type": "integer", "minimum": 400, "maximum": 599}
	props["errors"] = map[string]any{"type": "array", "items": ref("FieldViolation"), "description": "The invalid fields, each with its reason."}
	return s
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func operationID(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '-' || r == '.' || r == '{' || r == '}' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func obj(props map[string]string, required ...string) map[string]any {
	p := map[string]any{}
	for name, typ := range props {
		switch {
		case strings.HasPrefix(typ, "#"):
			p[name] = ref(typ[1:])
		case strings.HasPrefix(typ, "[]"):
			p[name] = map[string]any{"type": "array", "items": map[string]any{"type": typ[2:]}}
		default:
			p[name] = map[string]any{"type": typ}
		}
	}
	// Strict: a field the code sends and the document does not name is a
	// drift the contract test catches.
	s := map[string]any{"type": "object", "properties": p, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func pageSchema(item string) map[string]any {
	return map[string]any{"type": "object", "additionalProperties": false, "required": []string{"items"}, "properties": map[string]any{
		"items": map[string]any{"type": "array", "items": ref(item)}, "next": map[string]any{"type": "string"}}}
}

// schemas are the document's schemas: the request bodies written here,
// the responses derived from the code's types (typedSchemas), which
// replace any written here under the same name.
func schemas() map[string]any {
	out := writtenSchemas()
	for name, s := range requestSchemas(out) {
		out[name] = s
	}
	for name, s := range typedSchemas() {
		out[name] = s
	}
	for name, ex := range examples() {
		out[name].(map[string]any)["example"] = ex
	}
	return out
}

// examples show a client what to send and what comes back.
func examples() map[string]any {
	return map[string]any{
		"Login":       map[string]any{"tenant": "acme", "login": "ada", "password": "Tangerine-Sky-2048"},
		"MFA":         map[string]any{"challenge": "YWNtZQ.3q2-7w…", "code": "123456"},
		"LoginResult": map[string]any{"operator": "0195f2c4-7d1e-7000-8000-000000000001", "challenge": "YWNtZQ.3q2-7w…"},
		"NewOperator": map[string]any{"username": "grace", "email": "grace@acme.test", "first_name": "Grace", "last_name": "Hopper",
			"roles": []string{"manager"}, "all_accounts": true},
		"Version": map[string]any{"version": 3},
		"Problem": map[string]any{"type": "https://backoffice.example/problems/invalid-input", "title": "Unprocessable Entity", "status": 422,
			"detail": "enduser: create: invalid input: correct the listed fields and retry", "instance": "/v1/endusers",
			"errors": []any{map[string]any{"field": "email", "reason": "must be a valid email address"}}},
		"ApprovalRequest": map[string]any{"action": "enduser.deactivate", "target_type": "enduser", "target_id": "0195f2c4-7d1e-7000-8000-00000000002a",
			"params": map[string]any{"version": "3"}, "reason": "the customer closed the account"},
	}
}

func writtenSchemas() map[string]any {
	return map[string]any{
		"Object":         map[string]any{"type": "object"},
		"Array":          map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
		"Status":         obj(map[string]string{"status": "string"}),
		"Problem":        problemSchema(),
		"FieldViolation": obj(map[string]string{"field": "string", "reason": "string"}, "field", "reason"),
		"Setup":          obj(map[string]string{"setup_token": "string", "name": "string", "preset": "string", "admin": "#NewOperator"}, "setup_token", "admin"),
		"Login":          obj(map[string]string{"tenant": "string", "login": "string", "password": "string"}, "login", "password"),
		"MFA":            obj(map[string]string{"challenge": "string", "code": "string"}, "challenge", "code"),
		"Password":       obj(map[string]string{"token": "string", "current_password": "string", "version": "integer", "password": "string", "password_confirmation": "string"}, "password", "password_confirmation"),
		"Forgot":         obj(map[string]string{"tenant": "string", "login": "string"}, "login"),
		"LoginResult": obj(map[string]string{"operator": "string", "session": "string", "expires_at": "string", "challenge": "string", "mfa_enrolment": "object",
			"passkey": "boolean", "passkey_required": "boolean"}),
		"NewOperator": obj(map[string]string{"username": "string", "email": "string", "first_name": "string", "last_name": "string", "roles": "[]string",
			"all_accounts": "boolean", "accounts": "[]string", "external_key": "string", "password": "string", "password_confirmation": "string"}),
		"OperatorPatch": obj(map[string]string{"version": "integer", "username": "string", "email": "string", "first_name": "string", "last_name": "string",
			"external_key": "string", "roles": "[]string", "all_accounts": "boolean", "accounts": "[]string", "role_until": "object", "access_until": "string"}, "version"),
		"Operator": obj(map[string]string{"id": "string", "username": "string", "email": "string", "first_name": "string", "last_name": "string",
			"roles": "[]string", "all_accounts": "boolean", "accounts": "[]string", "status": "string", "email_verified": "boolean",
			"mfa_enrolled": "boolean", "external_key": "string", "managed": "boolean", "groups": "[]string", "passkeys": "[]object", "role_until": "object", "access_until": "string", "last_login_at": "string",
			"last_login_from": "string", "version": "integer", "created_at": "string", "updated_at": "string"}),
		"OperatorPage": pageSchema("Operator"),
		"Entry": obj(map[string]string{"id": "string", "actor": "object", "action": "string", "target_type": "string", "target_id": "string",
			"at": "string", "changes": "[]object", "seq": "integer", "hash": "string"}),
		"EntryPage":     pageSchema("Entry"),
		"Version":       obj(map[string]string{"version": "integer"}, "version"),
		"SSOKey":        obj(map[string]string{"version": "integer", "key": "string"}, "version", "key"),
		"SCIMTokenBody": obj(map[string]string{"name": "string", "ttl_seconds": "integer"}, "name"),
		"PasskeyStep":   obj(map[string]string{"challenge": "string"}, "challenge"),
		"PasskeySignIn": obj(map[string]string{"tenant": "string"}),
		"PasskeyAnswer": obj(map[string]string{"challenge": "string", "ceremony": "string", "name": "string", "response": "object"}, "ceremony", "response"),
		"Rotate":        obj(map[string]string{"overlap_seconds": "integer"}),
		"SinkTest":      obj(map[string]string{"sink": "string"}, "sink"),
		"Redeliver":     obj(map[string]string{"sink": "string", "from": "integer"}, "sink", "from"),
		"RoleBody":      obj(map[string]string{"name": "string", "abbrev": "string", "description": "string", "permissions": "[]string", "version": "integer"}),
		"TenantPatch": obj(map[string]string{"version": "integer", "name": "string", "sso": "object", "enduser_forgot_password_off": "boolean",
			"policy": "object", "default_policy": "boolean", "webauthn": "object"}, "version"),
		"ApprovalRequest": obj(map[string]string{"action": "string", "target_type": "string", "target_id": "string", "params": "object", "reason": "string"},
			"action", "target_type", "target_id", "reason"),
		"Approval": obj(map[string]string{"id": "string", "tenant": "string", "action": "string", "target_type": "string", "target_id": "string", "params": "object",
			"reason": "string", "requested_by": "string", "requester_name": "string", "status": "string", "decided_by": "string", "decider_name": "string",
			"decided_at": "string", "outcome": "string", "created_at": "string", "expires_at": "string", "version": "integer"}),
		"Reason":    obj(map[string]string{"reason": "string"}, "reason"),
		"Elevation": obj(map[string]string{"role": "string", "duration": "string", "reason": "string"}, "role", "duration", "reason"),
		"NewReview": obj(map[string]string{"name": "string", "due_at": "string"}, "name", "due_at"),
		"Decision":  obj(map[string]string{"operator": "string", "decision": "string", "note": "string"}, "operator", "decision"),
		"NewEndUser": obj(map[string]string{"type": "string", "tag": "string", "first_name": "string", "last_name": "string", "legal_name": "string",
			"email": "string", "phone": "string", "address": "object", "birth_date": "string", "parent": "string", "tax_residences": "[]object"}, "type"),
		"EndUserPatch": obj(map[string]string{"version": "integer", "tag": "string", "first_name": "string", "last_name": "string", "legal_name": "string",
			"email": "string", "phone": "string", "address": "object", "birth_date": "string", "parent": "string"}, "version"),
		"EndUser": obj(map[string]string{"id": "string", "tag": "string", "type": "string", "status": "string", "kyc": "string", "first_name": "string",
			"last_name": "string", "legal_name": "string", "email": "string", "phone": "string", "address": "object", "birth_date": "string",
			"parent": "string", "tax_residences": "[]object", "version": "integer", "created_at": "string", "updated_at": "string"}),
		"EndUserPage":  pageSchema("EndUser"),
		"TaxResidence": obj(map[string]string{"version": "integer", "country": "string", "tin": "string"}, "version", "country"),
		"KYCOutcome":   obj(map[string]string{"version": "integer", "outcome": "string", "note": "string"}, "version", "outcome"),
		"Wallet":       obj(map[string]string{"currency": "string", "amount": "integer"}, "currency", "amount"),
		"Device": obj(map[string]string{"id": "string", "user": "string", "kind": "string", "status": "string", "tag": "string", "info": "string",
			"lock_reason": "string", "lock_message": "string", "deleted": "boolean", "version": "integer", "created_at": "string", "updated_at": "string"}),
		"Lock":      obj(map[string]string{"version": "integer", "reason": "string", "message": "string"}, "version", "reason"),
		"Identity":  obj(map[string]string{"version": "integer", "identity_verified": "boolean"}, "version", "identity_verified"),
		"Enrol":     obj(map[string]string{"kind": "string", "tag": "string", "info": "string"}, "kind"),
		"Token":     obj(map[string]string{"token": "string"}, "token"),
		"Assertion": obj(map[string]string{"subject": "string", "email": "string", "first_name": "string", "last_name": "string", "groups": "[]string"}, "subject"),
	}
}
