package backoffice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// The kinds of error every service of the module returns, wrapped in an
// *Error that says what happened and what to do. Test for them with
// errors.Is.
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

// Error is the error type of the module. Kind is one of the kinds above,
// so errors.Is(err, ErrInvalid) works; Fields lists the offending fields
// for ErrInvalid and the duplicated field for ErrConflict.
type Error struct {
	Kind   error
	Op     string
	Msg    string
	Fields []FieldViolation
}

// NewError returns an *Error of the kind, for the operation, with the
// message and the fields.
func NewError(kind error, op, msg string, fields ...FieldViolation) *Error {
	return &Error{Kind: kind, Op: op, Msg: msg, Fields: fields}
}

// Errorf returns an *Error of the kind whose message is formatted as by
// fmt.Sprintf.
func Errorf(kind error, op, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Msg: fmt.Sprintf(format, args...)}
}

// Error formats the operation, the kind, the message and the fields.
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

// Unwrap returns the kind.
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

// ErrNotDelivered wraps a notifier's error. The change itself was stored.
var ErrNotDelivered = errors.New("notification not delivered; the change was saved, send it again")

// LogError is the default of every service's Config.ReportError, the hook
// that receives the errors a service handles without returning them: a
// notification that failed after its change committed (wrapping
// ErrNotDelivered), cleanup after a committed change, a store failure
// hidden behind a login refusal. It logs with log/slog's default logger.
func LogError(ctx context.Context, err error) {
	slog.Default().ErrorContext(ctx, "backoffice: handled error", "err", err)
}
