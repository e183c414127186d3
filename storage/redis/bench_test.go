package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/accessctl"
)

func opsPerSecond(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkRedis measures the three hot operations on loopback, one
// client, sequential and from parallel goroutines.
func BenchmarkRedis(b *testing.B) {
	s := store(b)
	ctx := context.Background()
	now := time.Now().UTC()
	sid := "session-digest"
	require.NoError(b, s.CreateSession(ctx, &accessctl.Session{ID: sid, Tenant: "acme", Operator: "op-1", Epoch: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	b.Run("SessionCheck", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Session(ctx, "acme", sid); err != nil {
				b.Fatal(err)
			}
		}
		opsPerSecond(b)
	})
	b.Run("SessionCheckParallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Session(ctx, "acme", sid); err != nil {
					b.Error(err)
					return
				}
			}
		})
		opsPerSecond(b)
	})
	b.Run("TokenConsume", func(b *testing.B) {
		ids := make([]string, b.N)
		for i := range b.N {
			op := accessctl.OperatorID(fmt.Sprintf("op-%d", i))
			ids[i] = fmt.Sprintf("t-%d", i)
			require.NoError(b, s.IssueToken(ctx, &accessctl.Token{ID: ids[i], Purpose: accessctl.PurposePasswordReset, Tenant: "acme",
				Operator: op, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
		}
		b.ResetTimer()
		for i := range b.N {
			if _, err := s.ConsumeToken(ctx, accessctl.PurposePasswordReset, "acme", ids[i]); err != nil {
				b.Fatal(err)
			}
		}
		opsPerSecond(b)
	})
	b.Run("ReserveAndSettleAttempt", func(b *testing.B) {
		lim := accessctl.AttemptLimit{Max: 3, Window: time.Hour, Cooldown: time.Minute, Lease: time.Minute}
		i := 0
		for b.Loop() {
			i++
			op := accessctl.OperatorID(fmt.Sprintf("op-%d", i%1000))
			if _, err := s.ReserveAttempt(ctx, "acme", op, now, lim); err != nil {
				b.Fatal(err)
			}
			if _, err := s.SettleAttempt(ctx, "acme", op, now, accessctl.AttemptReturned); err != nil {
				b.Fatal(err)
			}
		}
		opsPerSecond(b)
	})
}
