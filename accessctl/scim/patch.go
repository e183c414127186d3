package scim

import (
	"fmt"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// maxOperations bounds the operations of one PATCH.
const maxOperations = 1000

// attrSet lists a resource's attributes (lower case) and whether each is
// multi-valued.
type attrSet map[string]bool

// patchOp is one operation of a PATCH request (RFC 7644, 3.5.2).
type patchOp struct {
	op    string // add, replace or remove
	path  string
	value any
}

// patchOps reads a PatchOp message. The op names are compared without
// case, since Entra ID sends "Add", "Replace" and "Remove" (I7).
func patchOps(body map[string]any) ([]patchOp, error) {
	if s, ok := lookup(body, "schemas").([]any); ok && !slices.ContainsFunc(s, func(v any) bool { x, _ := v.(string); return strings.EqualFold(x, PatchSchema) }) {
		return nil, badRequest("invalidSyntax", "a PATCH body is a %s message", PatchSchema)
	}
	raw, ok := lookup(body, "Operations").([]any)
	if !ok || len(raw) == 0 {
		return nil, badRequest("invalidSyntax", "Operations lists the changes; it is missing or empty")
	}
	if len(raw) > maxOperations {
		return nil, badRequest("tooMany", "at most %d operations in one PATCH", maxOperations)
	}
	out := make([]patchOp, 0, len(raw))
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, badRequest("invalidSyntax", "each operation is an object")
		}
		name, _ := lookup(m, "op").(string)
		path, _ := lookup(m, "path").(string)
		op := patchOp{op: strings.ToLower(strings.TrimSpace(name)), path: strings.TrimSpace(path), value: lookup(m, "value")}
		switch op.op {
		case "add", "replace":
			if op.value == nil {
				return nil, badRequest("invalidValue", "%s needs a value", op.op)
			}
		case "remove":
			if op.path == "" {
				return nil, badRequest("noTarget", "remove needs a path")
			}
		default:
			return nil, badRequest("invalidSyntax", "op %q is not add, replace or remove", name)
		}
		out = append(out, op)
	}
	return out, nil
}

// apply changes doc as the operation says.
func (o patchOp) apply(doc map[string]any, attrs attrSet) error {
	if o.path == "" {
		value, ok := o.value.(map[string]any)
		if !ok {
			return badRequest("invalidValue", "%s without a path takes an object of attributes", o.op)
		}
		for k, v := range value {
			if err := (patchOp{op: o.op, path: k, value: v}).apply(doc, attrs); err != nil {
				return err
			}
		}
		return nil
	}
	if strings.EqualFold(o.path, EnterpriseSchema) {
		// The extension as a whole: each of its attributes.
		value, ok := o.value.(map[string]any)
		if !ok && o.op != "remove" {
			return badRequest("invalidValue", "the extension takes an object of attributes")
		}
		if o.op == "remove" {
			deleteKey(doc, EnterpriseSchema)
			return nil
		}
		for k, v := range value {
			if err := (patchOp{op: o.op, path: EnterpriseSchema + ":" + k, value: v}).apply(doc, attrs); err != nil {
				return err
			}
		}
		return nil
	}
	p, err := parsePath(o.path)
	if err != nil {
		return badRequest("invalidPath", "the path %q could not be parsed", o.path)
	}
	container := doc
	if urn := p.AttributePath.URIPrefix; urn != nil && !strings.EqualFold(*urn, UserSchema) && !strings.EqualFold(*urn, GroupSchema) {
		if _, known := attrs[strings.ToLower(*urn)]; !known {
			return badRequest("invalidPath", "the schema %q is not one of this resource's", *urn)
		}
		ext, _ := lookup(doc, *urn).(map[string]any)
		if ext == nil {
			if o.op == "remove" {
				return nil
			}
			ext = map[string]any{}
			setKey(doc, *urn, ext)
		}
		container = ext
	} else if _, known := attrs[strings.ToLower(p.AttributePath.AttributeName)]; !known {
		return badRequest("invalidPath", "%q is not an attribute of this resource", p.AttributePath.AttributeName)
	}
	name := p.AttributePath.AttributeName
	sub := p.AttributePath.SubAttribute
	if p.SubAttribute != nil {
		sub = p.SubAttribute
	}
	if p.ValueExpression != nil {
		return o.applyFiltered(container, name, p.ValueExpression, sub)
	}
	if sub != nil {
		return o.applySub(container, name, *sub)
	}
	multi := attrs[strings.ToLower(name)]
	switch {
	case o.op == "remove" && multi && o.value != nil:
		// Entra ID removes members by listing them as the value.
		gone := map[string]bool{}
		for _, v := range elements(o.value) {
			if m, ok := v.(map[string]any); ok {
				if id, ok := lookup(m, "value").(string); ok {
					gone[id] = true
				}
			}
		}
		kept := slices.DeleteFunc(slices.Clone(elements(lookup(container, name))), func(v any) bool {
			m, _ := v.(map[string]any)
			id, _ := lookup(m, "value").(string)
			return gone[id]
		})
		setKey(container, name, kept)
	case o.op == "remove":
		deleteKey(container, name)
	case multi && o.op == "add":
		list := slices.Clone(elements(lookup(container, name)))
		for _, v := range elements(o.value) {
			if !slices.ContainsFunc(list, func(x any) bool { return sameValue(x, v) }) {
				list = append(list, v)
			}
		}
		setKey(container, name, list)
	case multi:
		setKey(container, name, elements(o.value))
	default:
		cur, isMap := lookup(container, name).(map[string]any)
		if v, ok := o.value.(map[string]any); ok && isMap {
			for k, x := range v { // a complex attribute: sub-attributes merge
				setKey(cur, k, x)
			}
			return nil
		}
		setKey(container, name, o.value)
	}
	return nil
}

// applySub changes one sub-attribute of a complex attribute (name.givenName),
// or of every element of a multi-valued one.
func (o patchOp) applySub(container map[string]any, name, sub string) error {
	switch cur := lookup(container, name).(type) {
	case []any:
		if o.op != "remove" && len(cur) == 0 {
			setKey(container, name, []any{map[string]any{sub: o.value}})
			return nil
		}
		for _, el := range cur {
			if m, ok := el.(map[string]any); ok {
				o.setOrRemove(m, sub)
			}
		}
	case map[string]any:
		o.setOrRemove(cur, sub)
	default:
		if o.op != "remove" {
			setKey(container, name, map[string]any{sub: o.value})
		}
	}
	return nil
}

// applyFiltered changes the elements of a multi-valued attribute that a
// value filter selects (emails[type eq "work"].value); an add or replace
// that selects none adds an element the filter would select (I7).
func (o patchOp) applyFiltered(container map[string]any, name string, f filter.Expression, sub *string) error {
	list := slices.Clone(elements(lookup(container, name)))
	matched := false
	for i := 0; i < len(list); i++ {
		m, ok := list[i].(map[string]any)
		if !ok || !eval(f, m) {
			continue
		}
		matched = true
		switch {
		case sub != nil:
			o.setOrRemove(m, *sub)
		case o.op == "remove":
			list = slices.Delete(list, i, i+1)
			i--
		default:
			if v, ok := o.value.(map[string]any); ok {
				for k, x := range v {
					setKey(m, k, x)
				}
			}
		}
	}
	if !matched && o.op != "remove" {
		el := equalities(f)
		if sub != nil {
			el[*sub] = o.value
		} else if v, ok := o.value.(map[string]any); ok {
			for k, x := range v {
				el[k] = x
			}
		}
		list = append(list, el)
	}
	setKey(container, name, list)
	return nil
}

func (o patchOp) setOrRemove(m map[string]any, key string) {
	if o.op == "remove" {
		deleteKey(m, key)
		return
	}
	setKey(m, key, o.value)
}

// equalities are the attribute eq value pairs of a filter's and-clauses:
// the element a filter selects, for an add that found none.
func equalities(f filter.Expression) map[string]any {
	out := map[string]any{}
	var walk func(filter.Expression)
	walk = func(e filter.Expression) {
		switch e := e.(type) {
		case *filter.LogicalExpression:
			if e.Operator == filter.AND {
				walk(e.Left)
				walk(e.Right)
			}
		case *filter.AttributeExpression:
			if e.Operator == filter.EQ && e.AttributePath.SubAttribute == nil {
				out[e.AttributePath.AttributeName] = e.CompareValue
			}
		}
	}
	walk(f)
	return out
}

func sameValue(a, b any) bool {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		va, vb := lookup(ma, "value"), lookup(mb, "value")
		return va != nil && fmt.Sprint(va) == fmt.Sprint(vb)
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// setKey sets an attribute, replacing the key of another case.
func setKey(m map[string]any, key string, v any) {
	deleteKey(m, key)
	m[key] = v
}

func deleteKey(m map[string]any, key string) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
}

// parsePath parses a PATCH path, turning a panic of the parser on hostile
// input into an error.
func parsePath(raw string) (p filter.Path, err error) {
	defer func() {
		if recover() != nil {
			err = fmt.Errorf("scim: the path could not be parsed")
		}
	}()
	if len(raw) > maxFilter {
		return filter.Path{}, fmt.Errorf("scim: the path is too long")
	}
	return filter.ParsePathNumber([]byte(raw))
}
