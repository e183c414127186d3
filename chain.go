package backoffice

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// The audit log of a tenant is a hash chain (PCI DSS v4.0 10.3.2 and
// 10.3.4): the store gives each entry the next sequence number of its
// tenant and the hash
//
//	Hash(n) = SHA-256(Hash(n-1) || ContentDigest(entry n))
//
// where Hash(0) is empty, in the same atomic write as the entry, so that
// writers on any number of instances never fork the chain. Altering,
// removing or inserting an entry breaks every link from there on, which
// ChainVerifier finds and names. Someone able to rewrite the whole tail
// of the chain and its head could hide an edit; a host that needs to rule
// that out publishes ChainHead.Hash somewhere the database's
// administrators cannot write (a ticket, a write-once bucket) now and
// then, and compares.

// ContentDigest is the SHA-256 of the entry's content in a fixed,
// unambiguous encoding: tenant, id, actor, action, target, time (UTC, to
// the microsecond every store keeps) and changes, each string
// length-prefixed after invalid UTF-8 is replaced byte by byte with
// U+FFFD, as every store's encoding does. Seq, Hash and Outbox are not
// part of it.
func (e AuditEntry) ContentDigest() [32]byte {
	h := sha256.New()
	var n [8]byte
	put := func(s string) {
		s = string([]rune(s))
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	put("backoffice.audit.v1")
	put(string(e.Tenant))
	put(e.ID)
	put(string(e.Actor.Kind))
	put(e.Actor.ID)
	put(e.Actor.Name)
	put(string(e.Action))
	put(e.TargetType)
	put(e.TargetID)
	put(Truncate(e.At).Format("2006-01-02T15:04:05.000000Z"))
	binary.BigEndian.PutUint64(n[:], uint64(len(e.Changes)))
	h.Write(n[:])
	for _, c := range e.Changes {
		put(c.Field)
		put(c.Before)
		put(c.After)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// ChainHash returns the hash of the entry with content digest d that
// follows the entry whose hash is prev (empty for a tenant's first entry),
// hex-encoded as AuditEntry.Hash holds it.
func ChainHash(prev string, d [32]byte) (string, error) {
	p, err := hex.DecodeString(prev)
	if err != nil {
		return "", fmt.Errorf("backoffice: chain hash: previous hash is not hex: %w", err)
	}
	return hex.EncodeToString(chainHash(p, d)), nil
}

func chainHash(prev []byte, d [32]byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(d[:])
	return h.Sum(nil)
}

// ChainLink is what a store computes for an entry it appends to its
// tenant's chain, given the tenant's head before it.
func ChainLink(head ChainHead, e *AuditEntry) ChainHead {
	prev, _ := hex.DecodeString(head.Hash) // a store's own head is always hex
	e.Seq = head.Seq + 1
	e.Hash = hex.EncodeToString(chainHash(prev, e.ContentDigest()))
	return ChainHead{Seq: e.Seq, Hash: e.Hash, Started: head.started(e.At)}
}

// ChainHead is the end of a tenant's chain: the sequence number and hash
// of its last entry.
type ChainHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// Started is the time of the chain's first entry.
	Started time.Time `json:"started"`
	// Stray is the id of an entry of the tenant outside the chain although
	// written after it started: one inserted behind the store's back. A
	// store that keeps no entries outside the chain leaves it empty.
	Stray string `json:"stray,omitempty"`
}

func (h ChainHead) started(at time.Time) time.Time {
	if h.Seq == 0 {
		return Truncate(at)
	}
	return h.Started
}

// ChainProblem says how a chain is broken.
type ChainProblem string

// Chain problems.
const (
	// ChainAltered: the entry's content or hash is not what was written.
	ChainAltered ChainProblem = "altered"
	// ChainRemoved: the entry with this sequence number is missing.
	ChainRemoved ChainProblem = "removed"
	// ChainInserted: the entry is not one the store appended.
	ChainInserted ChainProblem = "inserted"
)

// ChainBreak names the first broken link of a chain.
type ChainBreak struct {
	Seq     int64        `json:"seq"`
	EntryID string       `json:"entry_id,omitempty"`
	Problem ChainProblem `json:"problem"`
}

func (b *ChainBreak) Error() string {
	if b.EntryID == "" {
		return fmt.Sprintf("audit chain broken at entry %d: %s", b.Seq, b.Problem)
	}
	return fmt.Sprintf("audit chain broken at entry %d (%s): %s", b.Seq, b.EntryID, b.Problem)
}

// ChainVerifier walks a tenant's chain, entry by entry in sequence order,
// and stops at the first broken link. The zero value starts at the
// chain's first entry.
type ChainVerifier struct {
	next  int64
	prev  []byte
	broke *ChainBreak
	count int64
}

// ResumeChain returns a verifier that goes on from a checkpoint: the
// entry numbered seq, whose hash is hash, and every one before it, were
// found intact by an earlier walk. A checkpoint of 0 is the chain's start.
func ResumeChain(seq int64, hash string) (ChainVerifier, error) {
	if seq <= 0 {
		return ChainVerifier{}, nil
	}
	prev, err := hex.DecodeString(hash)
	if err != nil || len(prev) != sha256.Size {
		return ChainVerifier{}, fmt.Errorf("backoffice: resume chain: the checkpoint's hash is not a SHA-256 in hex")
	}
	return ChainVerifier{next: seq + 1, prev: prev}, nil
}

// Add checks the next entry of the walk and returns the first break found
// so far, nil while the chain holds.
func (v *ChainVerifier) Add(e AuditEntry) *ChainBreak {
	if v.broke != nil {
		return v.broke
	}
	if v.next == 0 {
		v.next = 1
	}
	switch {
	case e.Seq > v.next:
		v.broke = &ChainBreak{Seq: v.next, Problem: ChainRemoved}
	case e.Seq < v.next:
		// The walk is in sequence order, so this is a second entry with a
		// number already seen.
		v.broke = &ChainBreak{Seq: e.Seq, EntryID: e.ID, Problem: ChainInserted}
	default:
		want := chainHash(v.prev, e.ContentDigest())
		if hex.EncodeToString(want) != e.Hash {
			v.broke = &ChainBreak{Seq: e.Seq, EntryID: e.ID, Problem: ChainAltered}
			return v.broke
		}
		v.prev, v.next = want, v.next+1
		v.count++
	}
	return v.broke
}

// End checks the walk against the tenant's head and returns the first
// break, or nil when every entry up to the head was found intact.
func (v *ChainVerifier) End(head ChainHead) *ChainBreak {
	if v.broke != nil {
		return v.broke
	}
	last := v.next - 1
	if v.next == 0 {
		last = 0
	}
	switch {
	case last < head.Seq:
		return &ChainBreak{Seq: last + 1, Problem: ChainRemoved}
	case last > head.Seq:
		return &ChainBreak{Seq: head.Seq + 1, Problem: ChainInserted}
	case last > 0 && hex.EncodeToString(v.prev) != head.Hash:
		return &ChainBreak{Seq: last, Problem: ChainAltered}
	case head.Stray != "":
		return &ChainBreak{EntryID: head.Stray, Problem: ChainInserted}
	}
	return nil
}

// Verified returns how many entries the walk found intact.
func (v *ChainVerifier) Verified() int64 { return v.count }
