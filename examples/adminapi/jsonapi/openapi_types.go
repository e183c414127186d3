package jsonapi

import (
	"encoding"
	"reflect"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
)

// schemaOf derives the JSON schema of a Go value from its type and json
// tags, so that the document names exactly the fields the code sends:
// strict objects, their always-present fields required, times as
// date-time strings, durations as integers of nanoseconds.
// A struct type that has a schema of its own (named) is referred to, not
// repeated, which also ends the recursion of a tree.
func schemaOf(v any, named map[reflect.Type]string) map[string]any {
	t := reflect.TypeOf(v)
	return (&schemaGen{named: named, root: t}).of(t)
}

type schemaGen struct {
	named   map[reflect.Type]string
	root    reflect.Type
	started bool // the root is being written: a second meeting refers to it
	request bool // a request body: no field is required by its type
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	stampType    = reflect.TypeFor[stamp]()
	durationType = reflect.TypeFor[time.Duration]()
	textType     = reflect.TypeFor[encoding.TextMarshaler]()
)

func (g *schemaGen) of(t reflect.Type) map[string]any {
	if name, ok := g.named[t]; ok && (t != g.root || g.started) {
		return ref(name)
	}
	if t == g.root {
		g.started = true
	}
	switch {
	case t == timeType, t == stampType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == durationType:
		return map[string]any{"type": "integer", "format": "int64", "description": "nanoseconds"}
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Struct && t.Implements(textType):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return orNull(g.of(t.Elem()))
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		s := map[string]any{"type": "array", "items": g.of(t.Elem())}
		if t.Kind() == reflect.Slice {
			return orNull(s) // a nil slice is null
		}
		return s
	case reflect.Map:
		return orNull(map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())})
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		g.addFields(t, props, &required)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 && !g.request {
			s["required"] = required
		}
		return s
	}
	return map[string]any{} // any value
}

// orNull lets a schema's value also be null, as OpenAPI 3.1 writes it.
func orNull(s map[string]any) map[string]any {
	if typ, ok := s["type"].(string); ok {
		s["type"] = []string{typ, "null"}
		return s
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

func (g *schemaGen) addFields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.addFields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.of(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}

// typedSchemas are the response schemas derived from the code's types.
func typedSchemas() map[string]any {
	types := map[string]any{
		"Operator":          operatorView{},
		"Entry":             entryView{},
		"LoginResult":       loginView{},
		"EndUser":           endUserView{},
		"Device":            deviceView{},
		"DeviceList":        []deviceView{},
		"Node":              nodeView{},
		"Onboarding":        onboardingView{},
		"OnboardingPage":    page[onboardingView]{},
		"Approval":          accessctl.Approval{},
		"ApprovalPage":      page[*accessctl.Approval]{},
		"Review":            accessctl.Review{},
		"ReviewLine":        accessctl.ReviewLine{},
		"ReviewPage":        page[*accessctl.Review]{},
		"ReviewReport":      accessctl.ReviewReport{},
		"AuditVerification": accessctl.AuditVerification{},
		"ChainHead":         backoffice.ChainHead{},
		"ChainBreak":        backoffice.ChainBreak{},
		"Policy":            accessctl.Policy{},
		"Tenant":            accessctl.Tenant{},
		"SSOConfig":         accessctl.SSOConfig{},
		"SCIMTokenList":     []accessctl.SCIMToken{},
		"PasskeyCeremony":   ceremonyView{},
		"Passkey":           passkeyView{},
		"SCIMTokenIssued":   scimTokenIssued{},
		"Role":              accessctl.Role{},
		"RoleList":          []accessctl.Role{},
		"Session":           accessctl.Session{},
		"SessionList":       []*accessctl.Session{},
		"OperatorList": struct {
			Items []operatorView `json:"items"`
		}{},
		"Explain":     accessctl.Decision{},
		"Me":          meView{},
		"Criteria":    criteriaView{},
		"Permissions": permissionsView{},
		"Ended":       endedView{},
		"Count":       countView{},
		"Sent":        sentView{},
		"Commands":    commandsView{},
		"Notices":     noticesView{},
		"Balance":     enduser.Balance{},
		"Ready":       readiness{},
		"SinkList":    sinkList{},
		"TestResult":  testResult{},
		"Backlog":     backoffice.Backlog{},
		"Change":      backoffice.Change{},
		"Actor":       backoffice.ActorRef{},
	}
	named := map[reflect.Type]string{}
	for name, v := range types {
		if t := reflect.TypeOf(v); t.Kind() == reflect.Struct && t.Name() != "" {
			named[t] = name
		}
	}
	out := map[string]any{}
	for name, v := range types {
		out[name] = schemaOf(v, named)
	}
	return out
}

// requestTypes are the request bodies' types, by schema name: their
// properties come from the type (the decoder refuses any other field), the
// fields a call needs are the written schema's required list.
func requestTypes() map[string]any {
	return map[string]any{
		"Setup": setupBody{}, "Login": loginBody{}, "MFA": mfaBody{}, "Password": passwordBody{}, "Forgot": forgotBody{},
		"NewOperator": operatorBody{}, "OperatorPatch": operatorPatch{}, "Version": versionBody{}, "TenantPatch": tenantPatch{},
		"RoleBody": roleBody{}, "NewEndUser": endUserBody{}, "EndUserPatch": endUserPatch{}, "TaxResidence": residenceBody{},
		"KYCOutcome": kycBody{}, "Wallet": walletBody{}, "Lock": lockBody{}, "Identity": identityBody{}, "Enrol": enrolBody{},
		"Token": tokenBody{}, "Assertion": ssoBody{}, "ApprovalRequest": approvalBody{}, "Reason": reasonBody{}, "Approve": approveBody{},
		"Elevation": elevationBody{}, "NewReview": reviewBody{}, "Decision": decisionBody{}, "SCIMTokenBody": scimTokenBody{}, "Rotate": rotateBody{},
		"SinkTest": sinkBody{}, "Redeliver": sinkBody{},
		"PasskeyStep": passkeyBody{}, "PasskeySignIn": passkeyBody{}, "PasskeyAnswer": passkeyBody{},
		"SSOKey": struct {
			Version int64  `json:"version"`
			Key     string `json:"key"`
		}{},
	}
}

// requestSchemas derives the request schemas, each keeping the required
// fields written is the schema of the same name.
func requestSchemas(written map[string]any) map[string]any {
	out := map[string]any{}
	for name, v := range requestTypes() {
		t := reflect.TypeOf(v)
		s := (&schemaGen{root: t, request: true}).of(t)
		if w, ok := written[name].(map[string]any); ok {
			if req, ok := w["required"]; ok {
				s["required"] = req
			}
		}
		out[name] = s
	}
	return out
}
