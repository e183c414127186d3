// Package password hashes and checks operators' passwords for package
// accessctl: argon2id at or above the OWASP minimum, with its parameters
// in each hash so they can be raised later, a bound on how many hashes
// run at once, and a configurable policy that can be listed for a UI.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/backoffice-go/backoffice"
	"golang.org/x/crypto/argon2"
)

// Policy is the configurable password policy. The zero value
// is not useful; start from DefaultPolicy.
type Policy struct {
	MinLength     int
	MaxLength     int
	RequireLower  bool
	RequireUpper  bool
	RequireDigit  bool
	RequireSymbol bool
	// RejectIdentity rejects passwords that contain the username or the
	// local part of the email (case-insensitively).
	RejectIdentity bool
	// RejectCommon rejects passwords found in the common-password list,
	// whatever their case and trailing digits or symbols.
	RejectCommon bool
}

// DefaultPolicy is 12 to 128 characters with lower case, upper
// case and a digit, not containing the username or email, not common.
func DefaultPolicy() Policy {
	return Policy{MinLength: 12, MaxLength: 128, RequireLower: true, RequireUpper: true,
		RequireDigit: true, RejectIdentity: true, RejectCommon: true}
}

// Criteria lists the policy in words, so a UI can show it next to the
// password field.
func (p Policy) Criteria() []string {
	c := []string{fmt.Sprintf("between %d and %d characters", p.MinLength, p.MaxLength)}
	if p.RequireLower {
		c = append(c, "at least one lower-case letter")
	}
	if p.RequireUpper {
		c = append(c, "at least one upper-case letter")
	}
	if p.RequireDigit {
		c = append(c, "at least one digit")
	}
	if p.RequireSymbol {
		c = append(c, "at least one symbol")
	}
	if p.RejectIdentity {
		c = append(c, "must not contain the username or email")
	}
	if p.RejectCommon {
		c = append(c, "must not be a commonly used password")
	}
	return c
}

// Check returns the reasons the password fails the policy, empty if it
// passes. The reasons never repeat the password.
func (p Policy) Check(password, username, email string) []string {
	var out []string
	n := utf8.RuneCountInString(password)
	if !utf8.ValidString(password) {
		return []string{"must be valid UTF-8"}
	}
	if n < p.MinLength || n > p.MaxLength {
		out = append(out, fmt.Sprintf("must be between %d and %d characters", p.MinLength, p.MaxLength))
	}
	var lower, upper, digit, symbol bool
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsControl(r):
			return append(out, "must not contain control characters")
		default:
			symbol = true
		}
	}
	if p.RequireLower && !lower {
		out = append(out, "must contain a lower-case letter")
	}
	if p.RequireUpper && !upper {
		out = append(out, "must contain an upper-case letter")
	}
	if p.RequireDigit && !digit {
		out = append(out, "must contain a digit")
	}
	if p.RequireSymbol && !symbol {
		out = append(out, "must contain a symbol")
	}
	lp := strings.ToLower(password)
	if p.RejectIdentity {
		local, _, _ := strings.Cut(email, "@")
		for _, id := range []string{username, local} {
			if len(id) >= 3 && strings.Contains(lp, strings.ToLower(id)) {
				out = append(out, "must not contain the username or email")
				break
			}
		}
	}
	if p.RejectCommon && isCommonPassword(lp) {
		out = append(out, "is a commonly used password; choose another")
	}
	return out
}

func isCommonPassword(lower string) bool {
	stem := strings.TrimRightFunc(lower, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	for _, c := range commonPasswords {
		if lower == c || stem == c {
			return true
		}
	}
	return false
}

// commonPasswords holds frequent passwords and stems, lower case. A stem
// such as "password" also rejects "Password2024!".
var commonPasswords = [...]string{
	"password", "passw0rd", "p@ssw0rd", "p@ssword", "123456", "12345678", "123456789", "1234567890",
	"qwerty", "qwertyuiop", "azerty", "azertyuiop", "abc123", "letmein", "welcome", "welcome1",
	"iloveyou", "admin", "administrator", "changeme", "monkey", "dragon", "football", "baseball",
	"sunshine", "princess", "master", "shadow", "superman", "trustno1", "starwars", "whatever",
	"qazwsx", "michael", "jennifer", "hunter", "secret", "summer", "winter", "spring", "autumn",
	"loveme", "freedom", "ninja", "mustang", "access", "default", "login", "root", "toor",
	"passwordpassword", "correcthorsebatterystaple", "111111111111", "000000000000", "aaaaaaaaaaaa",
	"qwerty123456", "1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsx", "asdfghjkl", "zxcvbnm",
	"backoffice", "dashboard", "banking", "payments",
}

// Params are the argon2id cost parameters. They are stored in each
// hash, so raising them later rehashes every password at its next login.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// MinParams is the OWASP minimum for argon2id: 19 MiB, 2 passes, 1
// lane. NewHasher refuses anything weaker.
var MinParams = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

func (p Params) weakerThan(q Params) bool {
	return p.MemoryKiB < q.MemoryKiB || p.Time < q.Time || p.Threads < q.Threads
}

// Hasher hashes and verifies passwords with argon2id. At most
// MaxConcurrent hashes run at once (default: the number of CPUs), so a
// flood of logins queues instead of exhausting memory; a queued call gives
// up when its context ends.
//
// A login refused before any password is checked (unknown user, blocked,
// no attempt left) calls Delay instead: it waits as long as a check takes
// without taking a slot, so a flood of such refusals neither slows real
// logins nor tells an attacker which refusal it got.
type Hasher struct {
	params   Params
	sem      chan struct{}
	dummy    string
	inflight atomic.Int32
	peak     atomic.Int32
	hashes   atomic.Int64
	verifies atomic.Int64
	typical  atomic.Int64 // moving average of a Verify, in nanoseconds
}

// Stats counts what a hasher did since it was made.
type Stats struct {
	// Hashes and Verifies count the argon2id computations run, by kind.
	Hashes, Verifies int64
	// Peak is the most computations that ran at once.
	Peak int
	// Typical is the moving average of a Verify, queueing included: what
	// Delay waits.
	Typical time.Duration
}

// Stats returns the hasher's counters, for metrics and tests.
func (h *Hasher) Stats() Stats {
	return Stats{Hashes: h.hashes.Load(), Verifies: h.verifies.Load(), Peak: int(h.peak.Load()),
		Typical: time.Duration(h.typical.Load())}
}

// Delay waits as long as a Verify typically takes, or until ctx ends,
// without computing anything. A refusal that needs no hash calls it so
// that it takes as long as one that did.
func (h *Hasher) Delay(ctx context.Context) {
	t := time.NewTimer(time.Duration(h.typical.Load()))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// observe folds one Verify's duration into the moving average (1/8 weight).
func (h *Hasher) observe(d time.Duration) {
	for {
		old := h.typical.Load()
		next := old + (int64(d)-old)/8
		if old == 0 {
			next = int64(d)
		}
		if h.typical.CompareAndSwap(old, next) {
			return
		}
	}
}

// NewHasher returns a hasher with the given parameters and bound.
// A zero Params means MinParams; maxConcurrent <= 0 means
// runtime.NumCPU(). Parameters below the OWASP minimum are an ErrInvalid.
func NewHasher(p Params, maxConcurrent int) (*Hasher, error) {
	if p == (Params{}) {
		p = MinParams
	}
	if p.weakerThan(MinParams) {
		return nil, backoffice.NewError(backoffice.ErrInvalid, "password: new hasher", "argon2id parameters below the OWASP minimum (19 MiB, t=2, p=1)")
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	h := &Hasher{params: p, sem: make(chan struct{}, maxConcurrent)}
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	start := time.Now()
	d, err := h.hash(context.Background(), base64.RawStdEncoding.EncodeToString(pw[:]))
	if err != nil {
		return nil, err
	}
	h.observe(time.Since(start)) // a hash costs what a verify does
	h.hashes.Store(0)
	h.dummy = d
	return h, nil
}

// MaxConcurrent returns the bound on hashes running at once.
func (h *Hasher) MaxConcurrent() int { return cap(h.sem) }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return backoffice.NewError(backoffice.ErrUnavailable, "password: hash", "too many logins at once; retry shortly")
	}
	n := h.inflight.Add(1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return nil
}

func (h *Hasher) release() {
	h.inflight.Add(-1)
	<-h.sem
}

// Hash returns the PHC-format argon2id hash of the password, with a fresh
// 16-byte salt and the parameters in it.
func (h *Hasher) Hash(ctx context.Context, password string) (backoffice.Secret, error) {
	s, err := h.hash(ctx, password)
	return backoffice.Secret(s), err
}

func (h *Hasher) hash(ctx context.Context, password string) (string, error) {
	var salt [16]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return "", backoffice.NewError(backoffice.ErrUnavailable, "password: hash", "no randomness available")
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	h.hashes.Add(1)
	p := h.params
	key := argon2.IDKey([]byte(password), salt[:], p.Time, p.MemoryKiB, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt[:]), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches the hash, and whether the hash
// was made with weaker parameters than the hasher's and should be replaced.
// An empty or malformed hash is verified against a dummy hash, so the
// answer takes as long as a real one and is false.
func (h *Hasher) Verify(ctx context.Context, hash backoffice.Secret, password string) (ok, rehash bool, err error) {
	p, salt, key, perr := parsePHC(string(hash))
	if perr != nil {
		p, salt, key, _ = parsePHC(h.dummy)
	}
	start := time.Now()
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	h.verifies.Add(1)
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	h.release()
	h.observe(time.Since(start))
	ok = subtle.ConstantTimeCompare(got, key) == 1 && perr == nil
	return ok, ok && p.weakerThan(h.params), nil
}

func parsePHC(s string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(s, "$")
	bad := fmt.Errorf("malformed argon2id hash")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, bad
	}
	var m, t, th uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, bad
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		}
	}
	if m == 0 || t == 0 || th == 0 || th > 255 || m > 4<<20 {
		return p, nil, nil, bad
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, bad
	}
	return Params{MemoryKiB: uint32(m), Time: uint32(t), Threads: uint8(th)}, salt, key, nil
}
