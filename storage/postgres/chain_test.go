package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/events"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/postgres"
)

// chainFixture is a tenant with a history of ten operator edits on
// PostgreSQL, and an auditor's context to verify it with.
func chainFixture(t *testing.T, hooks ...func(context.Context, accessctl.Event)) (*accessctl.Service, context.Context, *sql.DB, []backoffice.AuditEntry) {
	t.Helper()
	s, db := open(t, "postgres")
	cfg := accessctl.Config{Store: s, Hasher: memorytest.Hasher()}
	for _, h := range hooks {
		cfg.Events = h
	}
	svc, err := accessctl.NewService(cfg)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = svc.Bootstrap(ctx, accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R", Password: "Correct-Horse-42", PasswordConfirmation: "Correct-Horse-42"}})
	require.NoError(t, err)
	sys := accessctl.NewContext(ctx, accessctl.SystemActor("acme", "audit-test"))
	o, err := svc.CreateOperator(sys, accessctl.NewOperator{Username: "bob", Email: "bob@acme.test", FirstName: "B", LastName: "B",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, Password: "Correct-Horse-43", PasswordConfirmation: "Correct-Horse-43"})
	require.NoError(t, err)
	for i := range 10 {
		name := fmt.Sprintf("Bob %d", i)
		o, err = svc.UpdateOperator(sys, o.ID, accessctl.OperatorUpdate{Version: o.Version, FirstName: &name})
		require.NoError(t, err)
	}
	v, err := svc.VerifyAudit(sys)
	require.NoError(t, err)
	require.Nil(t, v.Break)
	var chain []backoffice.AuditEntry
	for after := int64(0); ; {
		page, err := s.AuditChain(ctx, "acme", after, 100)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		chain = append(chain, page...)
		after = page[len(page)-1].Seq
	}
	require.Equal(t, v.Head.Seq, int64(len(chain)))
	require.Equal(t, v.Verified, int64(len(chain)))
	return svc, sys, db, chain
}

// H2: Verify names the first entry someone changed, removed or added in
// the database behind the store's back.
// The fixture's own walk left a checkpoint at the head: the edits below
// are of entries it found intact, so the full walk, the explicit re-check,
// is what finds them (B3).
func TestVerifyFindsRowsEditedInTheDatabase(t *testing.T) {
	t.Run("Altered", func(t *testing.T) {
		svc, sys, db, chain := chainFixture(t)
		target := chain[5]
		// An insider rewrites what one entry says was changed.
		_, err := db.Exec(`UPDATE backoffice_audit_entries SET changes = '[{"field":"first_name","before":"x","after":"Mallory"}]'
			WHERE tenant_id = 'acme' AND id = $1`, target.ID)
		require.NoError(t, err)
		v, err := svc.VerifyAuditFull(sys)
		require.NoError(t, err)
		require.NotNil(t, v.Break)
		assert.Equal(t, backoffice.ChainBreak{Seq: target.Seq, EntryID: target.ID, Problem: backoffice.ChainAltered}, *v.Break)
		assert.Equal(t, target.Seq-1, v.Verified)
	})
	t.Run("AlteredWithItsHashRecomputed", func(t *testing.T) {
		svc, sys, db, chain := chainFixture(t)
		// A cleverer insider edits the actor and recomputes that entry's
		// hash: the next entry no longer follows from it.
		target := chain[3]
		forged := target
		forged.Actor.Name = "someone else"
		link := backoffice.ChainLink(backoffice.ChainHead{Seq: chain[2].Seq, Hash: chain[2].Hash}, &forged)
		_, err := db.Exec(`UPDATE backoffice_audit_entries SET actor_name = $2, hash = decode($3, 'hex') WHERE tenant_id = 'acme' AND id = $1`,
			target.ID, forged.Actor.Name, link.Hash)
		require.NoError(t, err)
		v, err := svc.VerifyAuditFull(sys)
		require.NoError(t, err)
		require.NotNil(t, v.Break)
		assert.Equal(t, backoffice.ChainBreak{Seq: chain[4].Seq, EntryID: chain[4].ID, Problem: backoffice.ChainAltered}, *v.Break)
	})
	t.Run("AlteredBeforeTheCheckpoint", func(t *testing.T) {
		// B3: a routine walk goes on from its checkpoint and does not read
		// an entry it found intact again; the full walk finds its edit.
		svc, sys, db, chain := chainFixture(t)
		target := chain[2]
		_, err := db.Exec(`UPDATE backoffice_audit_entries SET actor_name = 'someone else' WHERE tenant_id = 'acme' AND id = $1`, target.ID)
		require.NoError(t, err)
		v, err := svc.VerifyAudit(sys)
		require.NoError(t, err)
		assert.Nil(t, v.Break, "the routine walk reads from its checkpoint on")
		assert.Zero(t, v.Verified)
		v, err = svc.VerifyAuditFull(sys)
		require.NoError(t, err)
		assert.Equal(t, &backoffice.ChainBreak{Seq: target.Seq, EntryID: target.ID, Problem: backoffice.ChainAltered}, v.Break)
	})
	t.Run("HeadRewrittenAfterTheCheckpoint", func(t *testing.T) {
		// The head row rewritten to another hash at the checkpoint's
		// number: the routine walk sees it.
		svc, sys, db, _ := chainFixture(t)
		_, err := svc.VerifyAudit(sys)
		require.NoError(t, err)
		_, err = db.Exec(`UPDATE backoffice_audit_heads SET hash = decode(repeat('ab', 32), 'hex') WHERE tenant_id = 'acme'`)
		require.NoError(t, err)
		v, err := svc.VerifyAudit(sys)
		require.NoError(t, err)
		require.NotNil(t, v.Break)
		assert.Equal(t, backoffice.ChainAltered, v.Break.Problem)
	})
	t.Run("Removed", func(t *testing.T) {
		svc, sys, db, chain := chainFixture(t)
		_, err := db.Exec(`DELETE FROM backoffice_audit_entries WHERE tenant_id = 'acme' AND id = $1`, chain[7].ID)
		require.NoError(t, err)
		v, err := svc.VerifyAuditFull(sys)
		require.NoError(t, err)
		assert.Equal(t, &backoffice.ChainBreak{Seq: chain[7].Seq, Problem: backoffice.ChainRemoved}, v.Break)
	})
	t.Run("LastRemoved", func(t *testing.T) {
		svc, sys, db, chain := chainFixture(t)
		last := chain[len(chain)-1]
		_, err := db.Exec(`DELETE FROM backoffice_audit_entries WHERE tenant_id = 'acme' AND id = $1`, last.ID)
		require.NoError(t, err)
		v, err := svc.VerifyAuditFull(sys)
		require.NoError(t, err)
		assert.Equal(t, &backoffice.ChainBreak{Seq: last.Seq, Problem: backoffice.ChainRemoved}, v.Break)
	})
	t.Run("InsertedOutsideTheChain", func(t *testing.T) {
		svc, sys, db, chain := chainFixture(t)
		_, err := db.Exec(`INSERT INTO backoffice_audit_entries (tenant_id, target_type, target_id, id, actor_kind, actor_id, actor_name, action, at, changes)
			VALUES ('acme', 'operator', 'op-x', 'forged', 'system', 'system:x', 'x', 'operator.update', $1, '[]')`, chain[4].At.Add(1))
		require.NoError(t, err)
		v, err := svc.VerifyAuditFull(sys)
		require.NoError(t, err)
		assert.Equal(t, &backoffice.ChainBreak{EntryID: "forged", Problem: backoffice.ChainInserted}, v.Break)
	})
	t.Run("InsertedIntoTheChain", func(t *testing.T) {
		svc, sys, db, chain := chainFixture(t)
		// Room is made at place 4 by moving the later entries up.
		_, err := db.Exec(`UPDATE backoffice_audit_entries SET seq = -seq - 1 WHERE tenant_id = 'acme' AND seq >= 4`)
		require.NoError(t, err)
		_, err = db.Exec(`UPDATE backoffice_audit_entries SET seq = -seq WHERE tenant_id = 'acme' AND seq < 0`)
		require.NoError(t, err)
		_, err = db.Exec(`UPDATE backoffice_audit_heads SET seq = seq + 1 WHERE tenant_id = 'acme'`)
		require.NoError(t, err)
		_, err = db.Exec(`INSERT INTO backoffice_audit_entries (tenant_id, target_type, target_id, id, actor_kind, actor_id, actor_name, action, at, changes, seq, hash)
			VALUES ('acme', 'operator', 'op-x', 'forged', 'system', 'system:x', 'x', 'operator.update', $1, '[]', 4, decode($2, 'hex'))`,
			chain[2].At, chain[3].Hash)
		require.NoError(t, err)
		v, err := svc.VerifyAuditFull(sys)
		require.NoError(t, err)
		assert.Equal(t, &backoffice.ChainBreak{Seq: 4, EntryID: "forged", Problem: backoffice.ChainAltered}, v.Break)
	})
}

// L1: a verification that finds the chain broken is a security event: a
// critical failure naming the entry, sent to the SIEM like the rest.
func TestABrokenChainIsASecurityEvent(t *testing.T) {
	rx := &recordingSink{}
	stream := &events.Stream{Sinks: []events.Sink{rx}, ReportError: func(context.Context, error) {}}
	svc, sys, db, chain := chainFixture(t, stream.Observe)
	pg, err := postgres.New(db, "postgres", nil)
	require.NoError(t, err)
	stream.Store, stream.Chain = pg, pg
	target := chain[3]
	_, err = db.Exec(`DELETE FROM backoffice_audit_entries WHERE tenant_id = 'acme' AND id = $1`, target.ID)
	require.NoError(t, err)
	v, err := svc.VerifyAuditFull(sys)
	require.NoError(t, err)
	require.NotNil(t, v.Break)
	_, err = stream.Round(context.Background())
	require.NoError(t, err)
	var found bool
	for _, ev := range rx.got {
		if ev.Metadata.EventCode == "audit.chain_broken" {
			found = true
			assert.Equal(t, events.SeverityCritical, ev.SeverityID)
			assert.Equal(t, events.StatusFailure, ev.StatusID)
			assert.Contains(t, ev.StatusDetail, fmt.Sprintf("entry %d", target.Seq))
			assert.Equal(t, "acme", ev.Metadata.TenantUID)
		}
	}
	assert.True(t, found, "the broken chain was reported")
}

type recordingSink struct{ got []events.Event }

func (r *recordingSink) Name() string { return "recorder" }

func (r *recordingSink) Send(_ context.Context, e events.Event) error {
	r.got = append(r.got, e)
	return nil
}
