// Package ids generates identifiers that sort by creation time.
package ids

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Generator produces UUIDv7 strings (RFC 9562). Within one millisecond the
// 12-bit rand_a field is used as a counter, so ids from one generator sort in
// the order they were made even at a high rate. It is safe for concurrent use.
type Generator struct {
	mu   sync.Mutex
	now  func() time.Time
	ms   int64
	seq  uint16
	rand func([]byte)
}

// New returns a generator reading time from now (time.Now when nil).
func New(now func() time.Time) *Generator {
	if now == nil {
		now = time.Now
	}
	return &Generator{now: now, rand: func(b []byte) { _, _ = rand.Read(b) }}
}

// NewID returns the next id.
func (g *Generator) NewID() string {
	g.mu.Lock()
	ms := g.now().UnixMilli()
	if ms <= g.ms {
		// Same millisecond, or the clock went back: keep the order by
		// counting on from the last id.
		ms = g.ms
		g.seq++
		if g.seq > 0x0fff {
			ms++
			g.seq = 0
		}
	} else {
		g.seq = 0
	}
	g.ms = ms
	seq := g.seq
	g.mu.Unlock()

	var u [16]byte
	g.rand(u[8:])
	u[0] = byte(ms >> 40)
	u[1] = byte(ms >> 32)
	u[2] = byte(ms >> 24)
	u[3] = byte(ms >> 16)
	u[4] = byte(ms >> 8)
	u[5] = byte(ms)
	u[6] = 0x70 | byte(seq>>8)
	u[7] = byte(seq)
	u[8] = 0x80 | (u[8] & 0x3f)
	return format(u)
}

func format(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
