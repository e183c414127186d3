package observed_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/observed"
	"github.com/backoffice-go/backoffice/storage/redis"
	"github.com/backoffice-go/backoffice/storage/storetest"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// recorder is an Observer that keeps each call's name, the name of the
// call it ran in, and whether it failed.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	name, parent string
	failed       bool
}

type parentKey struct{}

func (r *recorder) Start(ctx context.Context, name string) (context.Context, func(error)) {
	parent, _ := ctx.Value(parentKey{}).(string)
	return context.WithValue(ctx, parentKey{}, name), func(err error) {
		r.mu.Lock()
		r.calls = append(r.calls, call{name: name, parent: parent, failed: err != nil})
		r.mu.Unlock()
	}
}

func (r *recorder) names() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for _, c := range r.calls {
		out[c.name] = true
	}
	return out
}

// A wrapped store behaves as its inner store (the conformance suite's
// queries pass through it) and every call of it is observed.
func TestWrappedStoreConforms(t *testing.T) {
	rec := &recorder{}
	t.Cleanup(func() { // after the suite's parallel tests
		names := rec.names()
		for _, m := range []string{"CreateTenant", "UpdateOperator", "Session", "ConsumeToken", "ReserveAttempt", "FindEndUsers",
			"UpdateDevice", "ClaimMessages", "AuditChain", "CreateApproval", "UpdateReview", "TouchSession"} {
			assert.True(t, names["memory."+m], "memory.%s observed", m)
		}
	})
	storetest.RunQueries(t, func(t *testing.T) storetest.Stores {
		return storetest.FromStore(observed.Wrap(memory.New(), rec, "memory"))
	})
}

// A service call's span holds the store calls it makes, and a failed call
// is seen to fail.
func TestSpansNest(t *testing.T) {
	rec := &recorder{}
	store := observed.Wrap(memory.New(), rec, "memory")
	svc, err := accessctl.NewService(accessctl.Config{Store: store, Observer: rec, Hasher: memorytest.Hasher()})
	require.NoError(t, err)
	_, err = svc.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R",
			Password: "Sapphire-Lantern-71", PasswordConfirmation: "Sapphire-Lantern-71"}})
	require.NoError(t, err)
	rec.calls = nil
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))
	_, err = svc.Operator(sys, "nobody")
	require.ErrorIs(t, err, backoffice.ErrNotFound)
	require.Len(t, rec.calls, 2)
	assert.Equal(t, call{name: "memory.Operator", parent: "accessctl.Operator", failed: true}, rec.calls[0])
	assert.Equal(t, call{name: "accessctl.Operator", failed: true}, rec.calls[1])
	for _, c := range rec.calls {
		assert.False(t, strings.Contains(c.name, "Secret"))
	}
}

// The hot stores' wrapper observes sessions, tokens and attempts, on
// Redis.
func TestWrappedHotStores(t *testing.T) {
	rec := &recorder{}
	t.Cleanup(func() {
		names := rec.names()
		for _, m := range []string{"CreateSession", "Session", "IssueToken", "ConsumeToken", "ReserveAttempt", "TouchSession"} {
			assert.True(t, names["redis."+m], "redis.%s observed", m)
		}
	})
	opt, err := goredis.ParseURL(testserver.RedisURL(t))
	require.NoError(t, err)
	client := goredis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	var n atomic.Int64
	storetest.RunQueries(t, func(t *testing.T) storetest.Stores {
		hot := observed.WrapHot(redis.New(client, &redis.Options{Prefix: fmt.Sprintf("observed%d", n.Add(1))}), rec, "redis")
		return storetest.Stores{Sessions: hot, Tokens: hot, Attempts: hot, Once: hot}
	})
}
