package backoffice

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
)

// Secret holds a value that must never be printed: a password hash, a TOTP
// seed, a token. Every fmt verb, JSON, text and slog render it as
// "[redacted]"; use string(s) where the value itself is needed.
type Secret string

// Redacted is what a Secret prints as, and what an audit entry records for
// a secret field that changed.
const Redacted = "[redacted]"

// Format prints "[redacted]" for every verb, including %#v.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// String returns "[redacted]".
func (s Secret) String() string { return Redacted }

// GoString returns "[redacted]".
func (s Secret) GoString() string { return Redacted }

// MarshalText returns "[redacted]", so JSON and text encoders never leak it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// LogValue keeps the value out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// NewToken returns a fresh token of 32 random bytes, base64url-encoded, to
// hand to a client once, and its digest, the only form a store keeps.
func NewToken() (token Secret, digest string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", NewError(ErrUnavailable, "backoffice: token", "no randomness available")
	}
	token = Secret(base64.RawURLEncoding.EncodeToString(b[:]))
	return token, Digest(token), nil
}

// Digest is the SHA-256 of a token in hex: how a token a client presents
// is looked up.
func Digest(token Secret) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
