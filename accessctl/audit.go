package accessctl

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/backoffice-go/backoffice"
)

// AuditVerification is the result of walking a tenant's audit chain.
type AuditVerification struct {
	Tenant backoffice.TenantID `json:"tenant"`
	// Head is the end of the chain when the walk began; entries appended
	// since are left for the next walk.
	Head backoffice.ChainHead `json:"head"`
	// From is the checkpoint the walk went on from: entries up to it were
	// found intact by an earlier walk of this service and not read again;
	// 0 for a walk from the chain's first entry.
	From int64 `json:"from"`
	// Verified counts the entries this walk found intact, after From.
	Verified int64 `json:"verified"`
	// Break names the first entry altered, removed or inserted; nil when
	// the whole chain up to Head holds.
	Break *backoffice.ChainBreak `json:"break,omitempty"`
	At    time.Time              `json:"at"`
}

// verifyPage is how many entries a walk reads at a time.
const verifyPage = 1000

// FullVerifyEvery is how often a full verification of a tenant's chain
// may run on one service (B3).
const FullVerifyEvery = 10 * time.Minute

// verifyState is a tenant's verification on this service: its checkpoint,
// the last entry a walk found intact, and when it last walked the whole
// chain. Its lock makes concurrent walks take turns, each going on from
// the checkpoint the one before left.
type verifyState struct {
	mu         sync.Mutex
	checkpoint backoffice.ChainHead
	lastFull   time.Time
}

func (s *Service) verifyState(tenant backoffice.TenantID) *verifyState {
	v, _ := s.verified.LoadOrStore(tenant, &verifyState{})
	return v.(*verifyState)
}

// VerifyAudit checks the actor's tenant's audit chain up to its head and
// names the first entry that was altered, removed or inserted behind the
// store's back (PCI DSS v4.0 10.3.2, 10.3.4). It goes on from the
// checkpoint of the last walk that found the chain intact on this
// service, so a routine call costs what was written since (B3); the
// first call, and VerifyAuditFull, walk from the first entry. It reads a
// page at a time, so it suits a scheduled job as well as an auditor's
// click. Needs audit.read.
func (s *Service) VerifyAudit(ctx context.Context) (_ *AuditVerification, err error) {
	defer s.observe(&ctx, "accessctl.VerifyAudit")(&err)
	return s.verify(ctx, false)
}

// VerifyAuditFull walks the actor's tenant's whole chain from its first
// entry, to find an edit of an entry older than the checkpoint, which
// routine calls do not read again. It runs at most once every
// FullVerifyEvery per tenant on a service; sooner is refused with
// ErrFailedPrecondition. Needs audit.read.
func (s *Service) VerifyAuditFull(ctx context.Context) (_ *AuditVerification, err error) {
	defer s.observe(&ctx, "accessctl.VerifyAuditFull")(&err)
	return s.verify(ctx, true)
}

// verify walks the actor's tenant's chain, whole or on from the
// tenant's checkpoint, one walk of a tenant at a time, and moves the
// checkpoint to the head when the walk found the chain intact.
func (s *Service) verify(ctx context.Context, full bool) (*AuditVerification, error) {
	a, err := Require(ctx, PermAuditRead)
	if err != nil {
		return nil, err
	}
	st := s.verifyState(a.tenant)
	st.mu.Lock()
	defer st.mu.Unlock()
	cp := st.checkpoint
	if full {
		now := s.clock()
		if !st.lastFull.IsZero() && now.Before(st.lastFull.Add(FullVerifyEvery)) {
			return nil, backoffice.Errorf(backoffice.ErrFailedPrecondition, "accessctl: verify audit",
				"a full verification ran at %s; the next may run from %s", st.lastFull.Format(time.RFC3339), st.lastFull.Add(FullVerifyEvery).Format(time.RFC3339))
		}
		st.lastFull, cp = now, backoffice.ChainHead{}
	}
	head, err := s.store.AuditHead(backoffice.WithLaggingReads(ctx), a.tenant)
	if err != nil {
		return nil, err
	}
	if cp.Seq > head.Seq {
		cp = backoffice.ChainHead{} // the chain is shorter than it was: walk it all
	}
	v, err := backoffice.ResumeChain(cp.Seq, cp.Hash)
	if err != nil {
		return nil, err
	}
	after := cp.Seq
walk:
	for after < head.Seq {
		page, err := s.store.AuditChain(backoffice.WithLaggingReads(ctx), a.tenant, after, verifyPage)
		if err == nil && len(page) < verifyPage && (len(page) == 0 || page[len(page)-1].Seq < head.Seq) {
			// A read replica behind the head (read from the primary):
			// what it lacks is read from the primary, never taken for a
			// removal.
			page, err = s.store.AuditChain(ctx, a.tenant, after, verifyPage)
		}
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if e.Seq > head.Seq {
				break walk // appended after the walk began
			}
			if v.Add(e) != nil {
				break walk
			}
			after = e.Seq
		}
		if len(page) < verifyPage {
			break
		}
	}
	res := &AuditVerification{Tenant: a.tenant, Head: head, From: cp.Seq, Verified: v.Verified(), Break: v.End(head), At: s.clock()}
	if res.Break == nil {
		st.checkpoint = backoffice.ChainHead{Seq: head.Seq, Hash: head.Hash}
	} else {
		s.events(ctx, Event{Kind: EventChainBroken, Tenant: a.tenant,
			Reason: fmt.Sprintf("entry %d (%s): %s", res.Break.Seq, res.Break.EntryID, res.Break.Problem)})
	}
	return res, nil
}
