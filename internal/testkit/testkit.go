// Package testkit holds the helpers the module's tests share: a clock that
// tests move instead of sleeping (X5), and one password hasher per test
// binary, since each costs a hash to build.
package testkit

import (
	"sync"
	"time"

	"github.com/backoffice-go/backoffice/accessctl/password"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Hasher returns a hasher at the OWASP minimum, shared by a test binary.
var Hasher = sync.OnceValue(func() *password.Hasher {
	h, err := password.NewHasher(password.Params{}, 0)
	if err != nil {
		panic(err)
	}
	return h
})
