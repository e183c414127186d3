package redis_test

import (
	goredis "github.com/redis/go-redis/v9"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/redis"
)

// Sessions, one-time tokens and login attempts live in Redis, shared by
// every instance of the host; everything durable stays in the host's main
// store. (It needs a running server, so it is not run as a test.)
func ExampleNew() {
	client := goredis.NewClient(&goredis.Options{Addr: "localhost:6379"})
	defer client.Close()
	hot := redis.New(client, &redis.Options{Prefix: "backoffice"})
	ops, err := accessctl.NewService(accessctl.Config{Store: memory.New(), Sessions: hot, Tokens: hot, Attempts: hot})
	if err != nil {
		panic(err)
	}
	_ = ops
}
