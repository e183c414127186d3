package backoffice

import (
	"encoding/base64"
	"strings"
)

// Page is one page of a listing. Next is the cursor of the following page,
// empty on the last one.
type Page[T any] struct {
	Items []T
	Next  string
}

// PageRequest asks for a page: Limit items (default 50, at most 500) after
// the Cursor returned with the previous page.
type PageRequest struct {
	Limit  int
	Cursor string
}

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// DecodeCursor validates a page request and returns its limit and the key
// its cursor stands for. A cursor this module did not make is ErrInvalid.
func DecodeCursor(op string, p PageRequest) (limit int, key string, err error) {
	limit = p.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	if limit > maxPageSize {
		limit = maxPageSize
	}
	if p.Cursor == "" {
		return limit, "", nil
	}
	b, derr := base64.RawURLEncoding.Strict().DecodeString(p.Cursor)
	// Only the exact text EncodeCursor makes is one: no other spelling of
	// the same bytes (newlines, padding bits) passes.
	if derr != nil || len(b) == 0 || len(b) > 512 || !strings.HasPrefix(string(b), "c1:") || EncodeCursor(string(b[3:])) != p.Cursor {
		return 0, "", NewError(ErrInvalid, op, "the cursor is not one this service returned", FieldViolation{"cursor", "malformed"})
	}
	return limit, string(b[3:]), nil
}

// EncodeCursor makes the opaque cursor for a key.
func EncodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("c1:" + key))
}

// MakePage turns a store result fetched with limit+1 items into a page
// whose Next cursor holds the key of its last item.
func MakePage[T any](items []T, limit int, key func(T) string) Page[T] {
	if len(items) > limit {
		items = items[:limit]
		return Page[T]{Items: items, Next: EncodeCursor(key(items[limit-1]))}
	}
	return Page[T]{Items: items}
}
