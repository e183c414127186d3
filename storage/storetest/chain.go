package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// requireChain walks the tenant's whole audit chain in small pages and
// requires it to hold: numbers 1 to the head's with no gap, every hash
// the one its content and predecessor give, the head the last entry's.
// It returns the chain.
func requireChain(t *testing.T, a accessctl.AuditStore, tenant backoffice.TenantID) []backoffice.AuditEntry {
	t.Helper()
	head, err := a.AuditHead(ctx(), tenant)
	require.NoError(t, err)
	var all []backoffice.AuditEntry
	var v backoffice.ChainVerifier
	for {
		page, err := a.AuditChain(ctx(), tenant, int64(len(all)), 7)
		require.NoError(t, err)
		for _, e := range page {
			require.Nil(t, v.Add(e), "entry %d of %s", e.Seq, tenant)
		}
		all = append(all, page...)
		if len(page) < 7 {
			break
		}
	}
	require.Nil(t, v.End(head), "H2: the chain of %s ends at its head", tenant)
	require.Equal(t, int64(len(all)), head.Seq)
	require.Equal(t, int64(len(all)), v.Verified())
	if len(all) > 0 {
		assert.Equal(t, backoffice.Truncate(all[0].At), head.Started)
	}
	return all
}

func testChain(t *testing.T, newStores func(*testing.T) Stores) {
	// H1: writers of one tenant racing on every kind of audited write
	// (creations, updates, refused stale updates, entries on their own)
	// leave one chain without fork or gap, holding exactly the entries
	// that were written; another tenant's writes make a chain of their own.
	t.Run("ConcurrentWritersNeverFork", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		f.tenant(t, "t2")
		const workers, rounds = 8, 12
		var wg sync.WaitGroup
		var mu sync.Mutex
		written := map[backoffice.TenantID]map[string]bool{"t1": {}, "t2": {}}
		record := func(e backoffice.AuditEntry) {
			mu.Lock()
			written[e.Tenant][e.ID] = true
			mu.Unlock()
		}
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tenant := backoffice.TenantID("t1")
				if w == workers-1 {
					tenant = "t2"
				}
				o := &accessctl.Operator{ID: accessctl.OperatorID(f.ids.next("op")), Tenant: tenant, Username: fmt.Sprintf("w%d", w),
					Roles: []accessctl.RoleName{admin}, AllAccounts: true, Status: accessctl.StatusActive, CreatedAt: base, UpdatedAt: base}
				e := f.entry(tenant, accessctl.TargetOperator, string(o.ID), "operator.create")
				if !assert.NoError(t, f.Operators.CreateOperator(ctx(), o, accessctl.Guard{}, e)) {
					return
				}
				record(e)
				for i := range rounds {
					e := f.entry(tenant, accessctl.TargetOperator, string(o.ID), "operator.update")
					e.Changes = []backoffice.Change{{Field: "first_name", Before: o.FirstName, After: fmt.Sprint(i)}}
					switch i % 3 {
					case 0:
						o.FirstName = fmt.Sprint(i)
						if assert.NoError(t, f.Operators.UpdateOperator(ctx(), o, o.Version, accessctl.Guard{}, e)) {
							record(e)
						}
					case 1:
						stale := o.Clone()
						requireKind(t, f.Operators.UpdateOperator(ctx(), stale, o.Version-1, accessctl.Guard{}, e), backoffice.ErrConflict)
					default:
						e.Action = "operator.send_password_reset"
						if assert.NoError(t, f.Audit.AppendAuditEntry(ctx(), e)) {
							record(e)
						}
					}
				}
			}()
		}
		wg.Wait()
		for tenant, want := range written {
			chain := requireChain(t, f.Audit, tenant)
			got := map[string]bool{}
			for _, e := range chain[1:] { // the first is the tenant's creation
				got[e.ID] = true
			}
			assert.Equal(t, want, got, "the chain of %s holds exactly the entries written", tenant)
		}
	})

	// H1: what a store returns of an entry carries its place in the chain.
	t.Run("EntriesCarryTheirLink", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenant(t, "t1")
		o := f.operator(t, "t1", "alice", admin)
		chain := requireChain(t, f.Audit, "t1")
		require.Len(t, chain, 2)
		hist := f.history(t, "t1", accessctl.TargetOperator, string(o.ID))
		require.Len(t, hist, 1)
		assert.Equal(t, chain[1], hist[0])
		assert.Equal(t, int64(2), hist[0].Seq)
		empty, err := f.Audit.AuditHead(ctx(), "nobody")
		require.NoError(t, err)
		assert.Zero(t, empty)
		none, err := f.Audit.AuditChain(ctx(), "t1", 2, 10)
		require.NoError(t, err)
		assert.Empty(t, none)
	})
}
