package events_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/events"
)

// ocsf is the OCSF 1.2.0 schema's class and object definitions checked in
// under testdata, read as OCSF's own tools read them: a class extends its
// category's file, which extends the base event; includes add their
// attributes; an object extends its parent.
type ocsf struct {
	root    string
	dict    map[string]dictAttr
	cats    map[string]int
	classes map[string]*def // by name
	objects map[string]*def // by name
}

type dictAttr struct {
	Type    string                     `json:"type"`
	IsArray bool                       `json:"is_array"`
	Enum    map[string]json.RawMessage `json:"enum"`
}

type attrSpec struct {
	Requirement string                     `json:"requirement"`
	Enum        map[string]json.RawMessage `json:"enum"`
}

type def struct {
	Name        string                     `json:"name"`
	Extends     string                     `json:"extends"`
	Category    string                     `json:"category"`
	UID         int                        `json:"uid"`
	Attributes  map[string]json.RawMessage `json:"attributes"`
	Constraints struct {
		AtLeastOne []string `json:"at_least_one"`
	} `json:"constraints"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, v), path)
}

func loadOCSF(t *testing.T) *ocsf {
	t.Helper()
	s := &ocsf{root: filepath.Join("testdata", "ocsf-1.2.0"), classes: map[string]*def{}, objects: map[string]*def{}, cats: map[string]int{}}
	var dict struct {
		Attributes map[string]dictAttr `json:"attributes"`
	}
	readJSON(t, filepath.Join(s.root, "dictionary.json"), &dict)
	s.dict = dict.Attributes
	var cats struct {
		Attributes map[string]struct {
			UID int `json:"uid"`
		} `json:"attributes"`
	}
	readJSON(t, filepath.Join(s.root, "categories.json"), &cats)
	for name, c := range cats.Attributes {
		s.cats[name] = c.UID
	}
	for dir, into := range map[string]map[string]*def{"events": s.classes, "objects": s.objects} {
		require.NoError(t, filepath.WalkDir(filepath.Join(s.root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
				return err
			}
			var x def
			readJSON(t, path, &x)
			into[x.Name] = &x
			return nil
		}))
	}
	return s
}

// attrs merges a definition's attributes along its extends chain and its
// includes (profiles, which add only optional attributes, are left out).
func (s *ocsf) attrs(t *testing.T, d *def, kind map[string]*def) map[string]attrSpec {
	t.Helper()
	out := map[string]attrSpec{}
	if d.Extends != "" {
		parent, ok := kind[d.Extends]
		require.True(t, ok, "%s extends %s, which is in testdata", d.Name, d.Extends)
		for k, v := range s.attrs(t, parent, kind) {
			out[k] = v
		}
	}
	for name, raw := range d.Attributes {
		if name == "$include" {
			var files []string
			require.NoError(t, json.Unmarshal(raw, &files))
			for _, f := range files {
				if strings.HasPrefix(f, "profiles/") {
					continue
				}
				var inc def
				readJSON(t, filepath.Join(s.root, f), &inc)
				for k, v := range inc.Attributes {
					var a attrSpec
					require.NoError(t, json.Unmarshal(v, &a))
					out[k] = merge(out[k], a)
				}
			}
			continue
		}
		var a attrSpec
		require.NoError(t, json.Unmarshal(raw, &a))
		out[name] = merge(out[name], a)
	}
	return out
}

func merge(base, over attrSpec) attrSpec {
	if over.Requirement != "" {
		base.Requirement = over.Requirement
	}
	if len(over.Enum) > 0 {
		if base.Enum == nil {
			base.Enum = map[string]json.RawMessage{}
		}
		for k, v := range over.Enum {
			base.Enum[k] = v
		}
	}
	return base
}

// check returns what is wrong with an event, checked against its class.
func (s *ocsf) check(t *testing.T, event map[string]any) []string {
	t.Helper()
	var bad []string
	classUID := int(event["class_uid"].(float64))
	var class *def
	for _, d := range s.classes {
		if d.UID != 0 && s.cats[s.categoryOf(d)]*1000+d.UID == classUID {
			class = d
		}
	}
	if class == nil {
		return []string{fmt.Sprintf("class_uid %d is no OCSF 1.2 class", classUID)}
	}
	attrs := s.attrs(t, class, s.classes)
	if got, want := int(event["category_uid"].(float64)), s.cats[s.categoryOf(class)]; got != want {
		bad = append(bad, fmt.Sprintf("category_uid %d, want %d", got, want))
	}
	activity := int(event["activity_id"].(float64))
	if _, ok := attrs["activity_id"].Enum[strconv.Itoa(activity)]; !ok {
		bad = append(bad, fmt.Sprintf("activity_id %d is not one of %s's", activity, class.Name))
	}
	if got := int(event["type_uid"].(float64)); got != classUID*100+activity {
		bad = append(bad, fmt.Sprintf("type_uid %d, want %d", got, classUID*100+activity))
	}
	for _, enumed := range []string{"severity_id", "status_id"} {
		if v, ok := event[enumed]; ok {
			if _, ok := s.dict[enumed].Enum[strconv.Itoa(int(v.(float64)))]; !ok {
				bad = append(bad, fmt.Sprintf("%s %v is not in OCSF's enum", enumed, v))
			}
		}
	}
	return append(bad, s.checkObject(t, class.Name, attrs, nil, event)...)
}

func (s *ocsf) categoryOf(d *def) string {
	for d != nil {
		if d.Category != "" {
			return d.Category
		}
		d = s.classes[d.Extends]
	}
	return ""
}

// checkObject checks a class's or an object's value: required attributes
// there, every attribute known, at least one of a constraint's, and each
// attribute's value of its dictionary type.
func (s *ocsf) checkObject(t *testing.T, name string, attrs map[string]attrSpec, atLeastOne []string, v map[string]any) []string {
	t.Helper()
	var bad []string
	for k, a := range attrs {
		if _, ok := v[k]; a.Requirement == "required" && !ok {
			bad = append(bad, fmt.Sprintf("%s: the required %s is missing", name, k))
		}
	}
	if len(atLeastOne) > 0 {
		found := false
		for _, k := range atLeastOne {
			_, found = v[k]
			if found {
				break
			}
		}
		if !found {
			bad = append(bad, fmt.Sprintf("%s: needs at least one of %v", name, atLeastOne))
		}
	}
	for k, value := range v {
		if _, ok := attrs[k]; !ok {
			bad = append(bad, fmt.Sprintf("%s: %s is no attribute of it", name, k))
			continue
		}
		d, ok := s.dict[k]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: %s is not in the dictionary", name, k))
			continue
		}
		values := []any{value}
		if d.IsArray {
			list, ok := value.([]any)
			if !ok {
				bad = append(bad, fmt.Sprintf("%s.%s: an array expected", name, k))
				continue
			}
			values = list
		}
		for _, one := range values {
			bad = append(bad, s.checkValue(t, name+"."+k, d.Type, one)...)
		}
	}
	return bad
}

func (s *ocsf) checkValue(t *testing.T, where, typ string, v any) []string {
	switch {
	case typ == "object":
		if _, ok := v.(map[string]any); !ok {
			return []string{where + ": an object expected"}
		}
	case typ == "boolean_t":
		if _, ok := v.(bool); !ok {
			return []string{where + ": a boolean expected"}
		}
	case typ == "integer_t", typ == "long_t", typ == "timestamp_t", typ == "port_t":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return []string{where + ": an integer expected"}
		}
	case typ == "float_t":
		if _, ok := v.(float64); !ok {
			return []string{where + ": a number expected"}
		}
	case strings.HasSuffix(typ, "_t"):
		if _, ok := v.(string); !ok {
			return []string{where + ": a string expected"}
		}
	default: // an object of the schema
		obj, ok := s.objects[typ]
		m, isMap := v.(map[string]any)
		if !ok || !isMap {
			return []string{fmt.Sprintf("%s: an OCSF %s object expected", where, typ)}
		}
		var atLeastOne []string
		for d := obj; d != nil; d = s.objects[d.Extends] {
			if len(d.Constraints.AtLeastOne) > 0 {
				atLeastOne = d.Constraints.AtLeastOne
				break
			}
		}
		return s.checkObject(t, where, s.attrs(t, obj, s.objects), atLeastOne, m)
	}
	return nil
}

// allActions are the constants of type Action in the root package's
// action.go, read from its source: every action the library records.
func allActions(t *testing.T) []backoffice.Action {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "action.go"), nil, 0)
	require.NoError(t, err)
	var out []backoffice.Action
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		if id, ok := spec.Type.(*ast.Ident); !ok || id.Name != "Action" {
			return true
		}
		for _, v := range spec.Values {
			if lit, ok := v.(*ast.BasicLit); ok {
				s, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				out = append(out, backoffice.Action(s))
			}
		}
		return true
	})
	require.Greater(t, len(out), 50, "the actions were read")
	return out
}

func asJSON(t *testing.T, e events.Event) map[string]any {
	t.Helper()
	raw, err := json.Marshal(e)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// L1: the event of every action the library records, by each kind of
// actor, with and without changes, is a valid OCSF 1.2 event of its
// class: its required attributes there, its classification consistent,
// every attribute and object known to the schema and of its type. Its uid
// is the entry's, its sequence and chain hash the entry's.
func TestEveryActionIsAValidOCSFEvent(t *testing.T) {
	s := loadOCSF(t)
	at := time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)
	actors := []backoffice.ActorRef{{Kind: backoffice.ActorOperator, ID: "op-1", Name: "ada"}, {Kind: backoffice.ActorSystem, ID: "system:sso", Name: "sso"},
		{Kind: backoffice.ActorIdentityProvider, ID: "scim:tok-1", Name: "okta"}, {Kind: backoffice.ActorEndUser, ID: "eu-1", Name: "eu-1"}}
	classes := map[int]bool{}
	for _, action := range allActions(t) {
		_, _, _, _, mapped := events.MappingOf(action)
		assert.True(t, mapped, "%s has its own mapping", action)
		for i, actor := range actors {
			entry := backoffice.AuditEntry{ID: fmt.Sprintf("entry-%s-%d", action, i), Tenant: "acme", Actor: actor, Action: action,
				TargetType: "operator", TargetID: "op-2", At: at, Seq: 42, Hash: "c0ffee"}
			switch i % 3 {
			case 0:
				entry.Changes = []backoffice.Change{{Field: "status", Before: "active", After: "blocked"}}
			case 1:
				entry.Changes = []backoffice.Change{{Field: "roles", Before: "read_only", After: "administrator,read_only"}}
			}
			e := events.FromAudit(entry)
			classes[e.ClassUID] = true
			if e.ClassUID == events.ClassUserAccessManagement {
				assert.NotEmpty(t, e.Privileges, "%s", action)
			}
			for _, problem := range s.check(t, asJSON(t, e)) {
				t.Errorf("%s by %s: %s", action, actor.Kind, problem)
			}
			assert.Equal(t, entry.ID, e.Metadata.UID)
			assert.Equal(t, int64(42), e.Metadata.Sequence)
			assert.Equal(t, "acme", e.Metadata.TenantUID)
			assert.Contains(t, e.Metadata.Labels, "chain_hash:c0ffee")
			assert.Equal(t, at.UnixMilli(), e.Time)
		}
	}
	for _, c := range []int{events.ClassAccountChange, events.ClassAuthentication, events.ClassEntityManagement, events.ClassUserAccessManagement} {
		assert.True(t, classes[c], "class %d is used", c)
	}
	// A login's entry records where it came from: the event's
	// src_endpoint.
	for _, source := range []string{"203.0.113.9", "203.0.113.9:51234", "[2001:db8::1]:443"} {
		e := events.FromAudit(backoffice.AuditEntry{ID: "entry-login", Tenant: "acme", Actor: actors[0], Action: backoffice.ActionOperatorLogin,
			TargetType: "operator", TargetID: "op-1", At: at, Seq: 7, Changes: []backoffice.Change{{Field: "source", After: source}}})
		require.NotNil(t, e.SrcEndpoint, source)
		assert.NotContains(t, e.SrcEndpoint.IP, ":51234")
		for _, problem := range s.check(t, asJSON(t, e)) {
			t.Errorf("login from %s: %s", source, problem)
		}
	}
	noAddr := events.FromAudit(backoffice.AuditEntry{ID: "entry-login", Tenant: "acme", Actor: actors[0], Action: backoffice.ActionOperatorLogin,
		TargetType: "operator", TargetID: "op-1", At: at, Changes: []backoffice.Change{{Field: "source", After: "not an address"}}})
	assert.Nil(t, noAddr.SrcEndpoint)
}

// L1: a refused password or code is a failed Authentication Logon naming
// the operator when the login was one's, and nothing typed otherwise;
// the outcomes the audit log holds are left to it.
func TestLoginOutcomes(t *testing.T) {
	s := loadOCSF(t)
	at := time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)
	for _, e := range []accessctl.Event{{Kind: accessctl.EventLoginRefused, Tenant: "acme", Operator: "op-1"},
		{Kind: accessctl.EventLoginRefused}, {Kind: accessctl.EventMFAFailed, Tenant: "acme", Operator: "op-1", Reason: "wrong code"}} {
		ev, ok := events.FromLogin(e, "evt-1", at)
		require.True(t, ok)
		for _, problem := range s.check(t, asJSON(t, ev)) {
			t.Errorf("%s: %s", e.Kind, problem)
		}
		assert.Equal(t, events.ClassAuthentication, ev.ClassUID)
		assert.Equal(t, events.StatusFailure, ev.StatusID)
		assert.Equal(t, "evt-1", ev.Metadata.UID)
	}
	// A session ended is a Logoff; a broken chain found by a
	// verification is a critical failed Read of the audit chain.
	ended, ok := events.FromLogin(accessctl.Event{Kind: accessctl.EventSessionEnded, Tenant: "acme", Operator: "op-1", Reason: "logout"}, "evt-3", at)
	require.True(t, ok)
	assert.Equal(t, events.ClassAuthentication, ended.ClassUID)
	assert.Equal(t, 2, ended.ActivityID)
	assert.Equal(t, "op-1", ended.User.UID)
	broken, ok := events.FromLogin(accessctl.Event{Kind: accessctl.EventChainBroken, Tenant: "acme", Reason: "entry 7 (e-7): altered"}, "evt-4", at)
	require.True(t, ok)
	assert.Equal(t, events.ClassEntityManagement, broken.ClassUID)
	assert.Equal(t, events.SeverityCritical, broken.SeverityID)
	assert.Equal(t, "audit chain broken: entry 7 (e-7): altered", broken.StatusDetail)
	for _, ev := range []events.Event{ended, broken} {
		for _, problem := range s.check(t, asJSON(t, ev)) {
			t.Errorf("%s: %s", ev.Metadata.EventCode, problem)
		}
	}
	for _, k := range []accessctl.EventKind{accessctl.EventLoginSucceeded, accessctl.EventLockout, accessctl.EventSSORefused} {
		_, ok := events.FromLogin(accessctl.Event{Kind: k}, "evt-2", at)
		assert.False(t, ok, "%s is an audit entry's event", k)
	}
}

// The schema check itself refuses what is wrong: a missing required
// attribute, an unknown one, a wrong activity, a mistyped value.
func TestTheSchemaCheckRefuses(t *testing.T) {
	s := loadOCSF(t)
	good := asJSON(t, events.FromAudit(backoffice.AuditEntry{ID: "e", Tenant: "acme", Actor: backoffice.ActorRef{Kind: backoffice.ActorOperator, ID: "o", Name: "n"},
		Action: backoffice.ActionOperatorBlock, TargetType: "operator", TargetID: "o2", At: time.Now()}))
	require.Empty(t, s.check(t, good))
	for name, spoil := range map[string]func(m map[string]any){
		"no user":          func(m map[string]any) { delete(m, "user") },
		"no metadata":      func(m map[string]any) { delete(m, "metadata") },
		"unknown":          func(m map[string]any) { m["made_up"] = 1 },
		"activity":         func(m map[string]any) { m["activity_id"] = 77.0 },
		"type_uid":         func(m map[string]any) { m["type_uid"] = 300101.0 },
		"time as a string": func(m map[string]any) { m["time"] = "now" },
		"empty user":       func(m map[string]any) { m["user"] = map[string]any{"type": "User"} },
		"product version":  func(m map[string]any) { delete(m["metadata"].(map[string]any), "version") },
	} {
		m := asJSON(t, events.FromAudit(backoffice.AuditEntry{ID: "e", Tenant: "acme", Actor: backoffice.ActorRef{Kind: backoffice.ActorOperator, ID: "o", Name: "n"},
			Action: backoffice.ActionOperatorBlock, TargetType: "operator", TargetID: "o2", At: time.Now()}))
		spoil(m)
		assert.NotEmpty(t, s.check(t, m), name)
	}
}

var update = flag.Bool("update", false, "rewrite the mapping table of docs/events.md")

// mappingTable is the table docs/events.md shows: every action, its OCSF
// class and activity, severity and status.
func mappingTable(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("| action | OCSF class | activity | severity | status |\n|---|---|---|---|---|\n")
	for _, a := range allActions(t) {
		e := events.FromAudit(backoffice.AuditEntry{ID: "x", Tenant: "t", Action: a, TargetType: "operator", TargetID: "o", At: time.Unix(0, 0),
			Actor: backoffice.ActorRef{Kind: backoffice.ActorOperator, ID: "o", Name: "n"}})
		fmt.Fprintf(&b, "| `%s` | %s (%d) | %s (%d) | %s | %s |\n", a, e.ClassName, e.ClassUID, e.ActivityName, e.ActivityID, e.Severity, e.Status)
	}
	return b.String()
}

const (
	tableStart = "<!-- mapping table: go test ./events -run TestMappingTableInTheDocs -update -->\n"
	tableEnd   = "<!-- end of the mapping table -->\n"
)

// The docs' table is the mapping the code makes, action for action.
func TestMappingTableInTheDocs(t *testing.T) {
	path := filepath.Join("..", "docs", "events.md")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	doc := string(raw)
	i, j := strings.Index(doc, tableStart), strings.Index(doc, tableEnd)
	require.True(t, i >= 0 && j > i, "docs/events.md has the table's markers")
	want := mappingTable(t)
	if *update {
		doc = doc[:i+len(tableStart)] + want + doc[j:]
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	}
	assert.Equal(t, want, doc[i+len(tableStart):j], "docs/events.md's table is stale: go test ./events -run TestMappingTableInTheDocs -update")
}

// L1: the test event an Administrator sends to check a sink is a valid API
// Activity, saying it is a test.
func TestTheTestEventIsValid(t *testing.T) {
	s := loadOCSF(t)
	ev := events.TestEvent("acme", backoffice.ActorRef{Kind: backoffice.ActorOperator, ID: "op-1", Name: "ada"}, "test-1", time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC))
	for _, problem := range s.check(t, asJSON(t, ev)) {
		t.Error(problem)
	}
	assert.Equal(t, events.ClassAPIActivity, ev.ClassUID)
	assert.Equal(t, "test-1", ev.Metadata.UID)
	assert.Equal(t, "test event", ev.StatusDetail)
}
