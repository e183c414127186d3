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
