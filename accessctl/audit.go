package accessctl

import (
	"context"
	"time"

	"github.com/backoffice-go/backoffice"
)

// AuditVerification is the result of walking a tenant's audit chain.
type AuditVerification struct {
	Tenant backoffice.TenantID `json:"tenant"`
	// Head is the end of the chain when the walk began; entries appended
	// since are left for the next walk.
	Head backoffice.ChainHead `json:"head"`
	// Verified counts the entries found intact, from the first on.
	Verified int64 `json:"verified"`
	// Break names the first entry altered, removed or inserted; nil when
	// the whole chain up to Head holds.
	Break *backoffice.ChainBreak `json:"break,omitempty"`
	At    time.Time              `json:"at"`
}

// verifyPage is how many entries a walk reads at a time.
const verifyPage = 1000

// VerifyAudit walks the actor's tenant's audit chain from its first
// entry to its head and names the first entry that was altered, removed
// or inserted behind the store's back (PCI DSS v4.0 10.3.2, 10.3.4). It
// reads the chain a page at a time, so it suits a scheduled job as well as
// an auditor's click. Needs audit.read.
func (s *Service) VerifyAudit(ctx context.Context) (_ *AuditVerification, err error) {
	defer s.observe(&ctx, "accessctl.VerifyAudit")(&err)
	a, err := Require(ctx, PermAuditRead)
	if err != nil {
		return nil, err
	}
	head, err := s.store.AuditHead(ctx, a.tenant)
	if err != nil {
		return nil, err
	}
	var v backoffice.ChainVerifier
	var after int64
walk:
	for after < head.Seq {
		page, err := s.store.AuditChain(ctx, a.tenant, after, verifyPage)
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
	return &AuditVerification{Tenant: a.tenant, Head: head, Verified: v.Verified(), Break: v.End(head), At: s.clock()}, nil
}
