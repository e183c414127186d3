package backoffice_test

import (
	"errors"
	"testing"

	"github.com/backoffice-go/backoffice"
)

// FuzzDecodeCursor: a cursor from a client is either one this module made,
// which decodes to its key, or an ErrInvalid; never a panic.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{"", "YzE6YQ", backoffice.EncodeCursor("2026-01-01T00:00:00Z|u-1"), "%%%", "YzE6", "Zm9v"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, cursor string, limit int) {
		n, key, err := backoffice.DecodeCursor("fuzz", backoffice.PageRequest{Cursor: cursor, Limit: limit})
		if err != nil {
			if !errors.Is(err, backoffice.ErrInvalid) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n < 1 || n > 500 {
			t.Fatalf("limit %d out of 1..500", n)
		}
		if cursor != "" && backoffice.EncodeCursor(key) != cursor {
			t.Fatalf("cursor %q decodes to %q, which encodes differently", cursor, key)
		}
	})
}

// FuzzDiff: any two values of a tagged struct diff without panicking, and
// a secret never appears in a change.
func FuzzDiff(f *testing.F) {
	f.Add("Ada", "Grace", "old-hash", "new-hash", true)
	f.Fuzz(func(t *testing.T, a, b, secretA, secretB string, flag bool) {
		type rec struct {
			Name   string            `audit:"name"`
			Flag   bool              `audit:"flag"`
			Secret backoffice.Secret `audit:"secret"`
		}
		for _, c := range backoffice.Diff(&rec{a, flag, backoffice.Secret(secretA)}, &rec{b, !flag, backoffice.Secret(secretB)}) {
			if c.Field == "secret" && (c.Before != backoffice.Redacted || c.After != backoffice.Redacted) {
				t.Fatalf("a secret leaked into %+v", c)
			}
		}
	})
}
