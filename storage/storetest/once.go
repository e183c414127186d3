package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testOnce: I1 (a SAML assertion accepted once across every instance):
// of concurrent uses of one key exactly one is first; the key is used
// until its time, then free; tenants and keys do not share records.
func testOnce(t *testing.T, newStores func(*testing.T) Stores) {
	st := newStores(t)
	o := st.Once
	at := base
	var first atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			ok, err := o.UseOnce(ctx(), "t1", "assertion-1", at, at.Add(5*time.Minute))
			assert.NoError(t, err)
			if ok {
				first.Add(1)
			}
		})
	}
	wg.Wait()
	require.Equal(t, int64(1), first.Load(), "exactly one use is the first")

	ok, err := o.UseOnce(ctx(), "t1", "assertion-1", at.Add(4*time.Minute), at.Add(9*time.Minute))
	require.NoError(t, err)
	assert.False(t, ok, "still used before its time")
	ok, err = o.UseOnce(ctx(), "t2", "assertion-1", at, at.Add(5*time.Minute))
	require.NoError(t, err)
	assert.True(t, ok, "another tenant's key is another key")
	ok, err = o.UseOnce(ctx(), "t1", "assertion-2", at, at.Add(5*time.Minute))
	require.NoError(t, err)
	assert.True(t, ok)
	// A key is free again once its time has passed: a store that compares
	// the times it is given sees it at once, Redis when the record's
	// lifetime (until - at) has run out on its clock.
	ok, err = o.UseOnce(ctx(), "t1", "short", at, at.Add(50*time.Millisecond))
	require.NoError(t, err)
	require.True(t, ok)
	require.Eventually(t, func() bool {
		ok, err := o.UseOnce(ctx(), "t1", "short", at.Add(100*time.Millisecond), at.Add(time.Hour))
		return err == nil && ok
	}, 5*time.Second, 20*time.Millisecond, "a record ends at its time")
	_, err = o.UseOnce(cancelled(), "t1", "assertion-3", at, at.Add(time.Minute))
	require.Error(t, err)
}
