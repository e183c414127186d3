package backoffice_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
)

// chainOf links n entries of one tenant as a store does.
func chainOf(n int) ([]backoffice.AuditEntry, backoffice.ChainHead) {
	var head backoffice.ChainHead
	out := make([]backoffice.AuditEntry, n)
	for i := range out {
		e := backoffice.AuditEntry{ID: fmt.Sprintf("e%02d", i), Tenant: "acme", Actor: backoffice.ActorRef{Kind: backoffice.ActorOperator, ID: "op", Name: "ann"},
			Action: backoffice.ActionOperatorUpdate, TargetType: "operator", TargetID: "op-2",
			At: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Changes: []backoffice.Change{{Field: "first_name", Before: "a", After: fmt.Sprint(i)}}}
		head = backoffice.ChainLink(head, &e)
		out[i] = e
	}
	return out, head
}

func verify(entries []backoffice.AuditEntry, head backoffice.ChainHead) *backoffice.ChainBreak {
	var v backoffice.ChainVerifier
	for _, e := range entries {
		if b := v.Add(e); b != nil {
			return b
		}
	}
	return v.End(head)
}

// H1: each entry's hash follows from its content and its predecessor's
// hash; H2: a walk names the first entry altered, removed or inserted.
func TestChainVerifier(t *testing.T) {
	chain, head := chainOf(6)
	assert.Nil(t, verify(chain, head))
	assert.Equal(t, int64(6), head.Seq)
	assert.Equal(t, chain[0].At, head.Started)
	var empty backoffice.ChainVerifier
	assert.Nil(t, empty.End(backoffice.ChainHead{}), "an empty log holds")

	tampered := func(edit func(es []backoffice.AuditEntry) []backoffice.AuditEntry) []backoffice.AuditEntry {
		es := make([]backoffice.AuditEntry, len(chain))
		for i, e := range chain {
			es[i] = e.Clone()
		}
		return edit(es)
	}
	cases := map[string]struct {
		entries []backoffice.AuditEntry
		head    backoffice.ChainHead
		want    backoffice.ChainBreak
	}{
		"a change edited": {tampered(func(es []backoffice.AuditEntry) []backoffice.AuditEntry {
			es[2].Changes[0].After = "forged"
			return es
		}), head, backoffice.ChainBreak{Seq: 3, EntryID: "e02", Problem: backoffice.ChainAltered}},
		"the actor edited": {tampered(func(es []backoffice.AuditEntry) []backoffice.AuditEntry {
			es[0].Actor.Name = "someone"
			return es
		}), head, backoffice.ChainBreak{Seq: 1, EntryID: "e00", Problem: backoffice.ChainAltered}},
		"the time moved": {tampered(func(es []backoffice.AuditEntry) []backoffice.AuditEntry {
			es[4].At = es[4].At.Add(time.Microsecond)
			return es
		}), head, backoffice.ChainBreak{Seq: 5, EntryID: "e04", Problem: backoffice.ChainAltered}},
		"an entry removed": {tampered(func(es []backoffice.AuditEntry) []backoffice.AuditEntry {
			return append(es[:3], es[4:]...)
		}), head, backoffice.ChainBreak{Seq: 4, Problem: backoffice.ChainRemoved}},
		"the last entry removed": {chain[:5], head, backoffice.ChainBreak{Seq: 6, Problem: backoffice.ChainRemoved}},
		"an entry with a number taken": {tampered(func(es []backoffice.AuditEntry) []backoffice.AuditEntry {
			dup := es[1]
			dup.ID = "forged"
			return append(es[:2], append([]backoffice.AuditEntry{dup}, es[2:]...)...)
		}), head, backoffice.ChainBreak{Seq: 2, EntryID: "forged", Problem: backoffice.ChainInserted}},
		"an entry past the head":     {chain, backoffice.ChainHead{Seq: 5, Hash: chain[4].Hash}, backoffice.ChainBreak{Seq: 6, Problem: backoffice.ChainInserted}},
		"the head's hash rewritten":  {chain, backoffice.ChainHead{Seq: 6, Hash: chain[4].Hash}, backoffice.ChainBreak{Seq: 6, Problem: backoffice.ChainAltered}},
		"an entry outside the chain": {chain, backoffice.ChainHead{Seq: 6, Hash: head.Hash, Stray: "x"}, backoffice.ChainBreak{EntryID: "x", Problem: backoffice.ChainInserted}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := verify(c.entries, c.head)
			require.NotNil(t, got)
			assert.Equal(t, c.want, *got)
			assert.Contains(t, got.Error(), string(c.want.Problem))
		})
	}
}

// H1: the digest is of what every store keeps: the time to the
// microsecond, invalid UTF-8 replaced byte by byte as JSON encodes it.
func TestContentDigestIsOfWhatStoresKeep(t *testing.T) {
	chain, _ := chainOf(1)
	e := chain[0]
	fine := e
	fine.At = e.At.Add(300 * time.Nanosecond).In(time.FixedZone("X", 3600))
	assert.Equal(t, e.ContentDigest(), fine.ContentDigest())
	bad, kept := e.Clone(), e.Clone()
	bad.Changes[0].After = "a\xff\xfeb"
	kept.Changes[0].After = "a\uFFFD\uFFFDb"
	assert.Equal(t, kept.ContentDigest(), bad.ContentDigest())
	// The encoding is unambiguous: moving text between fields changes it.
	moved := e.Clone()
	moved.Changes[0].Before, moved.Changes[0].After = moved.Changes[0].Before+moved.Changes[0].After, ""
	assert.NotEqual(t, e.ContentDigest(), moved.ContentDigest())
	seqd := e
	seqd.Seq, seqd.Hash = 99, "ff"
	assert.Equal(t, e.ContentDigest(), seqd.ContentDigest(), "its place in the chain is not its content")
	h, err := backoffice.ChainHash("", e.ContentDigest())
	require.NoError(t, err)
	assert.Equal(t, e.Hash, h)
	_, err = backoffice.ChainHash("zz", e.ContentDigest())
	require.Error(t, err)
}

// B3: a walk resumed from a checkpoint checks what follows it, and a
// checkpoint whose hash is not one is refused.
func TestResumeChain(t *testing.T) {
	var head backoffice.ChainHead
	var entries []backoffice.AuditEntry
	for i := range 6 {
		e := backoffice.AuditEntry{ID: fmt.Sprintf("e%d", i), Tenant: "acme", Action: "operator.update", TargetType: "operator", TargetID: "o", At: time.Unix(int64(i), 0)}
		head = backoffice.ChainLink(head, &e)
		entries = append(entries, e)
	}
	v, err := backoffice.ResumeChain(entries[2].Seq, entries[2].Hash)
	require.NoError(t, err)
	for _, e := range entries[3:] {
		require.Nil(t, v.Add(e))
	}
	assert.Nil(t, v.End(head))
	assert.EqualValues(t, 3, v.Verified())

	v, err = backoffice.ResumeChain(entries[2].Seq, entries[2].Hash)
	require.NoError(t, err)
	forged := entries[4]
	forged.Actor.Name = "mallory"
	require.Nil(t, v.Add(entries[3]))
	assert.Equal(t, &backoffice.ChainBreak{Seq: forged.Seq, EntryID: forged.ID, Problem: backoffice.ChainAltered}, v.Add(forged))

	_, err = backoffice.ResumeChain(3, "not hex")
	require.Error(t, err)
	v, err = backoffice.ResumeChain(0, "")
	require.NoError(t, err)
	require.Nil(t, v.Add(entries[0]), "a checkpoint of 0 is the chain's start")
}
