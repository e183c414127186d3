package accessctl

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"time"

	"github.com/backoffice-go/backoffice"
)

// TOTP as in RFC 6238: HMAC-SHA1, 30-second steps, 6 digits, which every
// authenticator app accepts. One step of clock skew either way is allowed.
const (
	totpPeriod = 30
	totpDigits = 6
	totpSkew   = 1
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newTOTPSecret returns a fresh 160-bit seed in base32.
func newTOTPSecret() (backoffice.Secret, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", backoffice.NewError(backoffice.ErrUnavailable, "accessctl: mfa", "no randomness available")
	}
	return backoffice.Secret(b32.EncodeToString(b[:])), nil
}

// TOTPCode returns the code of a base32 seed at time t. Hosts use it in
// tests; authenticator apps compute the same.
func TOTPCode(secret backoffice.Secret, t time.Time) (string, error) {
	key, err := b32.DecodeString(string(secret))
	if err != nil {
		return "", backoffice.NewError(backoffice.ErrInvalid, "accessctl: totp", "malformed secret")
	}
	return totpAt(key, t.Unix()/totpPeriod), nil
}

func totpAt(key []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// verifyTOTP checks code against the steps around now, refusing any step at
// or before lastStep so a code cannot be replayed. It returns the step that
// matched.
func verifyTOTP(secret backoffice.Secret, code string, now time.Time, lastStep int64) (int64, bool) {
	key, err := b32.DecodeString(string(secret))
	if err != nil || len(code) != totpDigits {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := cur + d
		if step <= lastStep {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(totpAt(key, step)), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// otpauthURI is the key URI authenticator apps read from a QR code.
func otpauthURI(issuer, account string, secret backoffice.Secret) backoffice.Secret {
	v := url.Values{}
	v.Set("secret", string(secret))
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	label := url.PathEscape(issuer + ":" + account)
	return backoffice.Secret("otpauth://totp/" + label + "?" + v.Encode())
}
