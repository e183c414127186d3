package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

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
		return storetest.Stores{Sessions: s, Tokens: s, Attempts: s}
	})
}

func TestPing(t *testing.T) {
	require.NoError(t, store(t).Ping(context.Background()))
}
