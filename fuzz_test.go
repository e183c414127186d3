package backoffice_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

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

// FuzzAuditChain: H1, H2: whatever the entries say, a chain built as the
// stores build it holds, and changing what one entry says (as a store
// would keep it) breaks the chain at exactly that entry.
func FuzzAuditChain(f *testing.F) {
	f.Add("ann", "before", "after", uint8(1), "forged")
	f.Add("", "", "", uint8(0), "")
	f.Add("\xff", "a\x00b", "\u202e", uint8(3), "\xfe")
	f.Fuzz(func(t *testing.T, actor, before, after string, at uint8, edit string) {
		var head backoffice.ChainHead
		chain := make([]backoffice.AuditEntry, 4)
		for i := range chain {
			e := backoffice.AuditEntry{ID: fmt.Sprint("e", i), Tenant: "acme", Actor: backoffice.ActorRef{Kind: backoffice.ActorOperator, ID: "op", Name: actor},
				Action: "operator.update", TargetType: "operator", TargetID: "op-2", At: time.Unix(int64(i), 0),
				Changes: []backoffice.Change{{Field: "first_name", Before: before, After: fmt.Sprint(after, i)}}}
			head = backoffice.ChainLink(head, &e)
			chain[i] = e
		}
		walk := func() *backoffice.ChainBreak {
			var v backoffice.ChainVerifier
			for _, e := range chain {
				if b := v.Add(e); b != nil {
					return b
				}
			}
			return v.End(head)
		}
		if b := walk(); b != nil {
			t.Fatalf("an untouched chain broke: %v", b)
		}
		k := int(at) % len(chain)
		was := chain[k].Changes[0].After
		chain[k] = chain[k].Clone()
		chain[k].Changes[0].After = edit
		b := walk()
		if string([]rune(edit)) == string([]rune(was)) { // the same text once stored
			if b != nil {
				t.Fatalf("an edit that stores the same text broke the chain: %v", b)
			}
			return
		}
		if b == nil || b.Seq != int64(k+1) || b.Problem != backoffice.ChainAltered {
			t.Fatalf("editing entry %d: got %v", k+1, b)
		}
	})
}
