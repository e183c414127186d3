package scim

import (
	"encoding/json"
	"strings"
	"testing"
)

func sampleUser() map[string]any {
	return map[string]any{"schemas": []any{UserSchema}, "id": "1", "userName": "ann@acme.example", "active": true,
		"name":   map[string]any{"givenName": "Ann"},
		"emails": []any{map[string]any{"value": "ann@acme.example", "type": "work", "primary": true}},
		"meta":   map[string]any{"resourceType": "User", "version": `W/"1"`}}
}

// Filters are parsed from what a client sends: any input is an answer or
// a typed 400, never a panic.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{`userName eq "a"`, `emails[type eq "work" and value co "@"]`, `not (active eq true)`,
		`meta.lastModified gt "2020-01-01T00:00:00Z"`, `userName pr or externalId sw "x"`, `((((`, `a eq 1.5e3`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		match, err := compile(raw)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		match(sampleUser())
	})
}

// PATCH bodies likewise: a typed 400 or a changed document, never a
// panic.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		`{"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y.z"}]}`,
		`{"Operations":[{"op":"add","value":{"name.givenName":"B","active":"False"}}]}`,
		`{"Operations":[{"op":"remove","path":"members[value eq \"1\"]"}]}`,
		`{"Operations":[{"op":"remove","path":"members","value":[{"value":"1"}]}]}`,
		`{"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"2"}]}`,
		`{"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"manager":{"value":"2"}}}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var body map[string]any
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&body) != nil || body == nil {
			return
		}
		ops, err := patchOps(body)
		if err != nil {
			return
		}
		doc := sampleUser()
		for _, op := range ops {
			if err := op.apply(doc, userAttrs); err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
		}
		_, _ = userFrom(doc)
	})
}
