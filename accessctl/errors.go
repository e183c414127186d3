package accessctl

import (
	"errors"
	"strings"
)

// The sentinel errors every service of this module returns, wrapped in an
// *Error that says what happened and what to do. Test for them with errors.Is;
// the enduser and scadevice packages return the same values.
var (
	// ErrNotFound means the record does not exist in the actor's tenant.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the input was rejected; the *Error lists the fields.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict means a stale version or a duplicate of a unique field.
	ErrConflict = errors.New("conflict")
	// ErrForbidden means the actor lacks the permission, or the change
	// would grant more than the actor holds.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated means there is no actor, or the credentials or
	// session were refused.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrFailedPrecondition means the request is well formed but the state
	// of the record does not allow it (last Administrator, non-zero balance…).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnavailable means a store could not be reached; nothing was decided
	// in the caller's favour. Retrying later may succeed.
	ErrUnavailable = errors.New("unavailable")
)

// FieldViolation names one rejected input field and why it was rejected. It
// never carries the rejected value, which may be a secret.
type FieldViolation struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is the error type returned by the services. Kind is one of the
// sentinels above, so errors.Is(err, ErrInvalid) works; Fields lists the
// offending fields for ErrInvalid and the duplicated field for ErrConflict.
type Error struct {
	Kind   error
	Op     string
	Msg    string
	Fields []FieldViolation
}

// Error formats the operation, the message and the fields.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		if f.Reason != "" {
			b.WriteString(": ")
			b.WriteString(f.Reason)
		}
		if i == len(e.Fields)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

// HasField reports whether the error names the field.
func (e *Error) HasField(name string) bool {
	for _, f := range e.Fields {
		if f.Field == name {
			return true
		}
	}
	return false
}

// Errorf builds an *Error of the given kind. It is exported for the other
// domain packages and for store adapters, which must translate their driver
// errors into these kinds.
func Errorf(kind error, op, msg string, fields ...FieldViolation) *Error {
	return &Error{Kind: kind, Op: op, Msg: msg, Fields: fields}
}

// Violations collects field violations; its Err is nil when there are none.
// The zero value is ready to use.
type Violations []FieldViolation

// Add records that field is invalid for reason.
func (v *Violations) Add(field, reason string) { *v = append(*v, FieldViolation{field, reason}) }

// Err returns an ErrInvalid *Error naming every violation, or nil.
func (v Violations) Err(op string) error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Kind: ErrInvalid, Op: op, Msg: "correct the listed fields and retry", Fields: v}
}

// FieldsOf returns the field names of err's violations, if it is an *Error.
func FieldsOf(err error) []string {
	var e *Error
	if !errors.As(err, &e) {
		return nil
	}
	out := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = f.Field
	}
	return out
}
