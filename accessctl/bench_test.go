package accessctl_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// benchActor returns an actor with two roles in a catalog of 67
// permissions (42 built-in, 25 of the host's).
func benchActor(b *testing.B) *accessctl.Actor {
	b.Helper()
	var extra []accessctl.PermissionInfo
	for i := range 25 {
		extra = append(extra, accessctl.PermissionInfo{Name: accessctl.Permission(fmt.Sprintf("host.perm_%02d", i))})
	}
	cat, err := accessctl.NewCatalog(extra...)
	require.NoError(b, err)
	require.GreaterOrEqual(b, len(cat.Permissions()), 60)
	store := memory.New()
	svc, err := accessctl.NewService(accessctl.Config{Store: store, Catalog: cat, Hasher: sharedHasher()})
	require.NoError(b, err)
	bootstrap(b, svc, accessctl.PresetDashboard)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor(tenantID, "bench"))
	o, err := svc.InviteOperator(sys, newOp("bench", accessctl.RoleBasicEditor, accessctl.RoleTransferOnly))
	require.NoError(b, err)
	o.Status = accessctl.StatusActive
	require.NoError(b, store.UpdateOperator(context.Background(), o, o.Version, accessctl.Guard{}, backoffice.AuditEntry{ID: "zz", Tenant: tenantID}))
	e := &env{t: b, store: store, svc: svc, clock: memorytest.NewClock(time.Now())}
	a, err := svc.Authenticate(context.Background(), e.token(o))
	require.NoError(b, err)
	return a
}

var sinkErr error

// BenchmarkAuthorize: the target is at most 20 ns/op and 0 allocs/op.
func BenchmarkAuthorize(b *testing.B) {
	a := benchActor(b)
	b.Run("Allowed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkErr = a.Authorize(accessctl.PermTransferCreate)
		}
		if sinkErr != nil {
			b.Fatal(sinkErr)
		}
	})
	b.Run("FromContext", func(b *testing.B) {
		ctx := accessctl.NewContext(context.Background(), a)
		b.ReportAllocs()
		for b.Loop() {
			_, sinkErr = accessctl.Require(ctx, accessctl.PermEndUserEdit)
		}
		if sinkErr != nil {
			b.Fatal(sinkErr)
		}
	})
	b.Run("Denied", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkErr = a.Authorize(accessctl.PermOperatorCreate)
		}
		if sinkErr == nil {
			b.Fatal("allowed")
		}
	})
}

// BenchmarkAuthenticate measures a whole session check on the memory store.
func BenchmarkAuthenticate(b *testing.B) {
	store := memory.New()
	svc, err := accessctl.NewService(accessctl.Config{Store: store, Hasher: sharedHasher()})
	require.NoError(b, err)
	admin := bootstrap(b, svc, accessctl.PresetDashboard)
	e := &env{t: b, store: store, svc: svc, clock: memorytest.NewClock(time.Now())}
	tok := e.token(admin)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Authenticate(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAudit (B3): the routine verification of a chain of
// 20,000 entries, ten of them new since the last walk, against the full
// walk of the same chain, in the same run; Ratio is full ÷ routine.
func BenchmarkVerifyAudit(b *testing.B) {
	k := memorytest.New(nil)
	sys := k.System()
	o, err := k.Ops.InviteOperator(sys, accessctl.NewOperator{Username: "busy", Email: "busy@acme.test", FirstName: "B", LastName: "B",
		Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true})
	require.NoError(b, err)
	edit := func(n int) {
		for range n {
			name := fmt.Sprintf("N%d", o.Version)
			o, err = k.Ops.UpdateOperator(sys, o.ID, accessctl.OperatorUpdate{Version: o.Version, FirstName: &name})
			require.NoError(b, err)
		}
	}
	edit(20_000)
	admin := k.As(accessctl.RoleAdministrator)
	_, err = k.Ops.VerifyAudit(admin)
	require.NoError(b, err)
	var routine, full time.Duration
	b.Run("Routine", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			edit(10)
			b.StartTimer()
			v, err := k.Ops.VerifyAudit(admin)
			require.NoError(b, err)
			require.EqualValues(b, 10, v.Verified)
		}
		routine = b.Elapsed() / time.Duration(b.N)
	})
	b.Run("Full", func(b *testing.B) {
		for b.Loop() {
			k.Clock.Advance(accessctl.FullVerifyEvery)
			v, err := k.Ops.VerifyAuditFull(admin)
			require.NoError(b, err)
			require.Nil(b, v.Break)
		}
		full = b.Elapsed() / time.Duration(b.N)
	})
	b.Run("Ratio", func(b *testing.B) {
		for b.Loop() {
		}
		if routine > 0 {
			b.ReportMetric(float64(full)/float64(routine), "full/routine")
		}
	})
}
