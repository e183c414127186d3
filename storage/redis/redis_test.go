package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/internal/testserver"
	"github.com/backoffice-go/backoffice/storage/redis"
	"github.com/backoffice-go/backoffice/storage/storetest"
)

func TestMain(m *testing.M) { testserver.Main(m) }

var prefixes atomic.Int64

// client returns a client of the shared test server.
func client(t testing.TB) goredis.UniversalClient {
	t.Helper()
	opt, err := goredis.ParseURL(testserver.RedisURL(t))
	require.NoError(t, err)
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// store returns a store with a key prefix of its own, for isolation.
func store(t testing.TB) *redis.Store {
	t.Helper()
	return redis.New(client(t), &redis.Options{Prefix: fmt.Sprintf("test%d", prefixes.Add(1))})
}

// D3, D4, X6: the Redis store passes the conformance suite for sessions,
// tokens and failed-login counts.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		s := store(t)
		return storetest.Stores{Sessions: s, Tokens: s, Attempts: s, Once: s}
	})
}

func TestPing(t *testing.T) {
	require.NoError(t, store(t).Ping(context.Background()))
}

// D3: records get a TTL of their lifetime, however far the services'
// clock is from Redis's, so they clean up without being dropped early.
func TestTTLs(t *testing.T) {
	c := client(t)
	prefix := fmt.Sprintf("ttl%d-%d", time.Now().UnixNano(), prefixes.Add(1))
	s := redis.New(c, &redis.Options{Prefix: prefix})
	ctx := context.Background()
	past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) // a test clock far behind
	id := "digest-ttl"
	require.NoError(t, s.CreateSession(ctx, &accessctl.Session{ID: id, Tenant: "acme", Operator: "op-ttl", CreatedAt: past, ExpiresAt: past.Add(2 * time.Hour)}))
	_, err := s.Session(ctx, "acme", id)
	require.NoError(t, err, "a session made on a skewed clock is kept")
	keys, err := c.Keys(ctx, prefix+":*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 2, "the session and its operator's set")
	for _, k := range keys {
		ttl, err := c.PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.InDelta(t, (2*time.Hour + time.Minute).Seconds(), ttl.Seconds(), 5, k)
	}
}
