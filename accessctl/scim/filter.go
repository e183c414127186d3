package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// maxFilter bounds a filter's length: a filter is parsed and walked for
// every resource.
const maxFilter = 2000

// compile turns a SCIM filter into a predicate over resource documents;
// the empty filter matches everything. A filter that does not parse is
// a 400 invalidFilter.
func compile(raw string) (func(map[string]any) bool, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return func(map[string]any) bool { return true }, nil
	}
	if len(raw) > maxFilter {
		return nil, badRequest("invalidFilter", "the filter is longer than %d characters", maxFilter)
	}
	exp, err := parseFilter(raw)
	if err != nil {
		return nil, badRequest("invalidFilter", "the filter could not be parsed")
	}
	if err := checkExpr(exp); err != nil {
		return nil, err
	}
	return func(doc map[string]any) bool { return eval(exp, doc) }, nil
}

// parseFilter parses with the number-preserving parser and turns a panic
// of the parser on hostile input into an error.
func parseFilter(raw string) (exp filter.Expression, err error) {
	defer func() {
		if recover() != nil {
			exp, err = nil, fmt.Errorf("scim: the filter could not be parsed")
		}
	}()
	return filter.ParseFilterNumber([]byte(raw))
}

// checkExpr refuses operators the filter grammar has but a value cannot
// meet (a comparison of an object).
func checkExpr(e filter.Expression) error {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		if err := checkExpr(e.Left); err != nil {
			return err
		}
		return checkExpr(e.Right)
	case *filter.NotExpression:
		return checkExpr(e.Expression)
	case *filter.ValuePath:
		return checkExpr(e.ValueFilter)
	case *filter.AttributeExpression:
		if e.Operator != filter.PR && e.CompareValue == nil && e.Operator != filter.EQ && e.Operator != filter.NE {
			return badRequest("invalidFilter", "%s needs a value", e.Operator)
		}
	}
	return nil
}

func eval(e filter.Expression, doc map[string]any) bool {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		if e.Operator == filter.AND {
			return eval(e.Left, doc) && eval(e.Right, doc)
		}
		return eval(e.Left, doc) || eval(e.Right, doc)
	case *filter.NotExpression:
		return !eval(e.Expression, doc)
	case *filter.ValuePath:
		for _, el := range elements(lookup(scope(doc, e.AttributePath.URIPrefix), e.AttributePath.AttributeName)) {
			if m, ok := el.(map[string]any); ok && eval(e.ValueFilter, m) {
				return true
			}
		}
		return false
	case *filter.AttributeExpression:
		vals := values(doc, e.AttributePath)
		if e.Operator == filter.PR {
			return slices.ContainsFunc(vals, present)
		}
		exact := caseExact(e.AttributePath)
		for _, v := range vals {
			if compare(v, e.Operator, e.CompareValue, exact) {
				return true
			}
		}
		// "ne" and an absent attribute: nothing equals, so it matches.
		return e.Operator == filter.NE && len(vals) == 0
	}
	return false
}

// scope is the part of the document a URN prefix names: the extension's
// object, or the document itself for the core schemas.
func scope(doc map[string]any, urn *string) map[string]any {
	if urn == nil || strings.EqualFold(*urn, UserSchema) || strings.EqualFold(*urn, GroupSchema) {
		return doc
	}
	m, _ := lookup(doc, *urn).(map[string]any)
	return m
}

// lookup reads an attribute by name, case-insensitively (RFC 7643, 2.1).
func lookup(m map[string]any, name string) any {
	if m == nil {
		return nil
	}
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func elements(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

// values are the values a path reaches: a multi-valued attribute's
// elements (their "value" when no sub-attribute is named), a complex
// attribute's sub-attribute.
func values(doc map[string]any, p filter.AttributePath) []any {
	v := lookup(scope(doc, p.URIPrefix), p.AttributeName)
	var out []any
	for _, el := range elements(v) {
		m, isMap := el.(map[string]any)
		switch {
		case p.SubAttribute != nil && isMap:
			out = append(out, elements(lookup(m, *p.SubAttribute))...)
		case p.SubAttribute != nil:
		case isMap:
			if x := lookup(m, "value"); x != nil {
				out = append(out, x)
			}
		default:
			out = append(out, el)
		}
	}
	return out
}

func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

// caseExact reports whether the attribute compares case-sensitively: ids
// and versions do, names and emails do not (RFC 7643's caseExact).
func caseExact(p filter.AttributePath) bool {
	name := strings.ToLower(p.AttributeName)
	sub := strings.ToLower(p.SubAttributeName())
	switch {
	case name == "id", name == "externalid":
		return true
	case name == "meta" && sub == "version":
		return true
	case (name == "members" || name == "groups" || name == "manager") && (sub == "value" || sub == ""):
		return true
	}
	return false
}

func compare(v any, op filter.CompareOperator, want any, exact bool) bool {
	switch x := v.(type) {
	case bool:
		w, ok := boolValue(want)
		if !ok {
			return false
		}
		switch op {
		case filter.EQ:
			return x == w
		case filter.NE:
			return x != w
		}
		return false
	case json.Number, float64, int, int64:
		a, errA := strconv.ParseFloat(fmt.Sprint(x), 64)
		b, errB := strconv.ParseFloat(fmt.Sprint(want), 64)
		if errA != nil || errB != nil {
			return false
		}
		return order(op, cmpFloat(a, b))
	case string:
		w, ok := want.(string)
		if !ok {
			if want == nil {
				return op == filter.NE
			}
			w = fmt.Sprint(want)
		}
		if !exact {
			x, w = strings.ToLower(x), strings.ToLower(w)
		}
		switch op {
		case filter.CO:
			return strings.Contains(x, w)
		case filter.SW:
			return strings.HasPrefix(x, w)
		case filter.EW:
			return strings.HasSuffix(x, w)
		}
		return order(op, strings.Compare(x, w))
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func order(op filter.CompareOperator, c int) bool {
	switch op {
	case filter.EQ:
		return c == 0
	case filter.NE:
		return c != 0
	case filter.GT:
		return c > 0
	case filter.GE:
		return c >= 0
	case filter.LT:
		return c < 0
	case filter.LE:
		return c <= 0
	}
	return false
}

// query is a list request: from the URL of a GET, or the body of a POST
// to .search.
type query struct {
	filter, startIndex, count, attributes, excluded string
}

// listQuery reads a list request: from the URL of a GET, or the body of a
// POST to .search.
func listQuery(r *http.Request) (query, error) {
	if r.Method == http.MethodGet {
		u := r.URL.Query()
		return query{filter: u.Get("filter"), startIndex: u.Get("startIndex"), count: u.Get("count"),
			attributes: u.Get("attributes"), excluded: u.Get("excludedAttributes")}, nil
	}
	doc, err := readJSON(r)
	if err != nil {
		return query{}, err
	}
	var q query
	str := func(k string) string {
		switch v := lookup(doc, k).(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		case []any:
			parts := make([]string, 0, len(v))
			for _, p := range v {
				if s, ok := p.(string); ok {
					parts = append(parts, s)
				}
			}
			return strings.Join(parts, ",")
		}
		return ""
	}
	q.filter, q.startIndex, q.count, q.attributes, q.excluded = str("filter"), str("startIndex"), str("count"), str("attributes"), str("excludedAttributes")
	return q, nil
}

// writeList answers a page of docs (RFC 7644, 3.4.2.4): startIndex is
// 1-based, below 1 means 1; a negative count means 0.
func (h *Handler) writeList(w http.ResponseWriter, q query, docs []map[string]any) error {
	start, count := 1, h.opts.MaxResults
	if q.startIndex != "" {
		n, err := strconv.Atoi(q.startIndex)
		if err != nil {
			return badRequest("invalidValue", "startIndex must be a number")
		}
		start = max(n, 1)
	}
	if q.count != "" {
		n, err := strconv.Atoi(q.count)
		if err != nil {
			return badRequest("invalidValue", "count must be a number")
		}
		count = min(max(n, 0), h.opts.MaxResults)
	}
	page := []map[string]any{}
	if start-1 < len(docs) {
		page = docs[start-1 : min(len(docs), start-1+count)]
	}
	resources := make([]any, len(page))
	for i, d := range page {
		resources[i] = selectFields(d, q.attributes, q.excluded)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas": []string{ListSchema}, "totalResults": len(docs), "startIndex": start, "itemsPerPage": len(page), "Resources": resources,
	})
	return nil
}

// selectAttributes applies a request's attributes and excludedAttributes.
func selectAttributes(doc map[string]any, r *http.Request) map[string]any {
	q := r.URL.Query()
	return selectFields(doc, q.Get("attributes"), q.Get("excludedAttributes"))
}

// selectFields keeps the listed top-level attributes (with id, schemas
// and meta, always returned) or drops the excluded ones. Names may be
// qualified by a schema URN or name a sub-attribute; the top-level
// attribute is what is kept or dropped.
func selectFields(doc map[string]any, attributes, excluded string) map[string]any {
	top := func(list string) map[string]bool {
		out := map[string]bool{}
		for _, a := range strings.Split(list, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			lower := strings.ToLower(a)
			for _, urn := range []string{UserSchema, GroupSchema} {
				lower = strings.TrimPrefix(lower, strings.ToLower(urn)+":")
			}
			if strings.HasPrefix(lower, strings.ToLower(EnterpriseSchema)) {
				out[strings.ToLower(EnterpriseSchema)] = true
				continue
			}
			name, _, _ := strings.Cut(lower, ".")
			out[name] = true
		}
		return out
	}
	keep, drop := top(attributes), top(excluded)
	if len(keep) == 0 && len(drop) == 0 {
		return doc
	}
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		lk := strings.ToLower(k)
		always := lk == "id" || lk == "schemas" || lk == "meta"
		switch {
		case always:
			out[k] = v
		case len(keep) > 0 && !keep[lk]:
		case drop[lk]:
		default:
			out[k] = v
		}
	}
	return out
}
