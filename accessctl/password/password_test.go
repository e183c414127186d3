package password

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A8: argon2id at or above the OWASP minimum, parameters in the hash.
func TestHasherParameters(t *testing.T) {
	_, err := NewHasher(Params{MemoryKiB: 8 * 1024, Time: 2, Threads: 1}, 1)
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	_, err = NewHasher(Params{MemoryKiB: 19 * 1024, Time: 1, Threads: 1}, 1)
	require.ErrorIs(t, err, backoffice.ErrInvalid)
	h, err := NewHasher(Params{}, 1)
	require.NoError(t, err)
	hash, err := h.Hash(context.Background(), "Zebra-Crossing-77")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(hash), "$argon2id$v=19$m=19456,t=2,p=1$"), "got %s", string(hash))
	ok, rehash, err := h.Verify(context.Background(), hash, "Zebra-Crossing-77")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, rehash)
	ok, _, _ = h.Verify(context.Background(), hash, "Zebra-Crossing-78")
	assert.False(t, ok)
	// Raised parameters ask for a rehash of older hashes.
	stronger, err := NewHasher(Params{MemoryKiB: 20 * 1024, Time: 2, Threads: 1}, 1)
	require.NoError(t, err)
	ok, rehash, err = stronger.Verify(context.Background(), hash, "Zebra-Crossing-77")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, rehash)
	for _, bad := range []backoffice.Secret{"", "$argon2id$v=19$m=0,t=2,p=1$AAAA$BBBB", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5"} {
		ok, _, err := h.Verify(context.Background(), bad, "x")
		require.NoError(t, err)
		assert.False(t, ok)
	}
}

// A8: no more hashes run at once than the bound, so a login flood queues
// instead of exhausting memory; a queued call gives up with its context.
func TestHasherBound(t *testing.T) {
	h, err := NewHasher(Params{}, 2)
	require.NoError(t, err)
	h.peak.Store(0)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := h.Hash(context.Background(), "Zebra-Crossing-77")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, h.peak.Load(), int32(2))
	assert.GreaterOrEqual(t, h.peak.Load(), int32(1))
	assert.Equal(t, 2, h.MaxConcurrent())
	// Saturate the bound, then a call with a short deadline fails cleanly.
	h.sem <- struct{}{}
	h.sem <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, err = h.Hash(ctx, "Zebra-Crossing-77")
	require.ErrorIs(t, err, backoffice.ErrUnavailable)
	_, _, err = h.Verify(ctx, "", "x")
	require.ErrorIs(t, err, backoffice.ErrUnavailable)
}

// FuzzPolicy checks the policy never panics, never echoes the
// password, and accepts only passwords within the length bounds.
func FuzzPolicy(f *testing.F) {
	for _, s := range []string{"", "Zebra-Crossing-77", "password", "P@ssw0rd2024!", "\x00\xff", "ÄÖÜäöü123456"} {
		f.Add(s, "user", "user@example.com")
	}
	p := DefaultPolicy()
	p.RequireSymbol = true
	// The words the reasons are made of: a password that is one of them
	// may appear in a reason without being echoed.
	var vocab strings.Builder
	for _, in := range [][3]string{{"", "", ""}, {"password", "", ""}, {"useruser", "user", ""}, {"a\x01", "", ""}, {"\xff", "", ""}} {
		vocab.WriteString(strings.Join(p.Check(in[0], in[1], in[2]), "|"))
	}
	f.Fuzz(func(t *testing.T, pw, user, email string) {
		reasons := p.Check(pw, user, email)
		if len(pw) >= 4 && !strings.Contains(vocab.String(), pw) {
			for _, r := range reasons {
				if strings.Contains(r, pw) {
					t.Fatalf("reason %q repeats the password", r)
				}
			}
		}
		if len(reasons) == 0 {
			n := len([]rune(pw))
			if n < p.MinLength || n > p.MaxLength {
				t.Fatalf("accepted a password of %d characters", n)
			}
		}
	})
}

// FuzzVerify: any stored hash and any password answer without panicking;
// a hash that is not argon2id PHC never verifies.
func FuzzVerify(f *testing.F) {
	h, err := NewHasher(Params{}, 0)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "plain", "$argon2id$v=19$m=0,t=0,p=0$$"} {
		f.Add(s, "Zebra-Crossing-77")
	}
	f.Fuzz(func(t *testing.T, hash, pw string) {
		if _, _, _, err := parsePHC(hash); err != nil {
			ok, _, verr := h.Verify(context.Background(), backoffice.Secret(hash), pw)
			if verr != nil || ok {
				t.Fatalf("a malformed hash answered ok=%v err=%v", ok, verr)
			}
		}
	})
}
