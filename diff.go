package backoffice

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuditValuer is a field value that says how it appears in an audit
// entry: an address on one line, a tax number masked.
type AuditValuer interface {
	AuditValue() string
}

var (
	secretType  = reflect.TypeFor[Secret]()
	timeType    = reflect.TypeFor[time.Time]()
	valuerType  = reflect.TypeFor[AuditValuer]()
	unsupported = "backoffice: Diff: field %s of %s has a type the audit log cannot record"
)

// Diff lists the fields that differ between before and after, two values
// of one struct type (or pointers to it), for an audit entry: the one way
// every service records a change. Only fields tagged `audit:"name"` are
// compared, so a field is recorded by choice, never by accident; a Secret
// field that changed is recorded with both values Redacted, never its
// value. An `audit:"name,date"` time is recorded as a date. Slices are
// recorded as their elements joined by commas (semicolons for elements
// that are AuditValuers), maps as sorted key=value pairs joined by
// semicolons, and a tagged struct field by its own tagged fields, named
// "field.subfield"; a zero time is the empty string. A nil before
// stands for the zero value, as when a record is created. Diff panics on a
// tagged field of a type it cannot record: that is a bug in the struct.
func Diff(before, after any) []Change {
	a := reflect.Indirect(reflect.ValueOf(after))
	var b reflect.Value
	if before == nil || reflect.ValueOf(before).Kind() == reflect.Pointer && reflect.ValueOf(before).IsNil() {
		b = reflect.New(a.Type()).Elem()
	} else {
		b = reflect.Indirect(reflect.ValueOf(before))
	}
	if a.Kind() != reflect.Struct || b.Type() != a.Type() {
		panic(fmt.Sprintf("backoffice: Diff of %s and %s: two values of one struct type", b.Type(), a.Type()))
	}
	return diffStruct(nil, "", b, a)
}

func diffStruct(out []Change, prefix string, b, a reflect.Value) []Change {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("audit")
		if !ok || tag == "-" {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		name = prefix + name
		switch {
		case f.Type == secretType:
			if b.Field(i).String() != a.Field(i).String() {
				out = append(out, Change{Field: name, Before: Redacted, After: Redacted})
			}
			continue
		case f.Type.Kind() == reflect.Struct && f.Type != timeType && !f.Type.Implements(valuerType):
			out = diffStruct(out, name+".", b.Field(i), a.Field(i))
			continue
		}
		x, y := auditString(b.Field(i), opt, f.Name, t), auditString(a.Field(i), opt, f.Name, t)
		if x != y {
			out = append(out, Change{Field: name, Before: x, After: y})
		}
	}
	return out
}

func auditString(v reflect.Value, opt, field string, owner reflect.Type) string {
	if v.Type().Implements(valuerType) {
		return v.Interface().(AuditValuer).AuditValue()
	}
	switch {
	case v.Type() == timeType:
		t := v.Interface().(time.Time)
		switch {
		case t.IsZero():
			return ""
		case opt == "date":
			return t.Format(time.DateOnly)
		}
		return t.UTC().Format(time.RFC3339Nano)
	case v.Type() == secretType:
		panic(fmt.Sprintf(unsupported, field, owner))
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Map:
		keys := v.MapKeys()
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = auditString(k, opt, field, owner) + "=" + auditString(v.MapIndex(k), opt, field, owner)
		}
		slices.Sort(parts)
		return strings.Join(parts, ";")
	case reflect.Slice:
		sep := ","
		if v.Type().Elem().Implements(valuerType) {
			sep = ";"
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = auditString(v.Index(i), opt, field, owner)
		}
		return strings.Join(parts, sep)
	}
	panic(fmt.Sprintf(unsupported, field, owner))
}
