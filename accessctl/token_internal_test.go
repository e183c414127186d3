package accessctl

import (
	"testing"
	"time"

	"github.com/backoffice-go/backoffice"
)

// FuzzParseToken: whatever a client sends as a token parses to a tenant
// and a digest or is refused, never a panic; the service's own tokens
// parse back to their tenant.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"", ".", "YWNtZQ.x", "YWNtZQ.b3A.x", "not-a-token", "\xff.\xfe"} {
		f.Add(s, "acme")
	}
	f.Fuzz(func(t *testing.T, raw, tenant string) {
		if tn, digest, ok := parseToken(backoffice.Secret(raw)); ok && (tn == "" || len(digest) != 64) {
			t.Fatalf("parsed %q to (%q, %q)", raw, tn, digest)
		}
		if tenant == "" || len(tenant) > 64 {
			return // tenant ids are 3 to 64 characters
		}
		tok, digest, err := newTenantToken(backoffice.TenantID(tenant))
		if err != nil {
			t.Fatal(err)
		}
		tn, d, ok := parseToken(tok)
		if !ok || tn != backoffice.TenantID(tenant) || d != digest {
			t.Fatalf("a token of %q parses to (%q, %q, %v)", tenant, tn, d, ok)
		}
	})
}

// FuzzVerifyTOTP: any code against any secret answers without panicking,
// and a code is never accepted at or before the last step used.
func FuzzVerifyTOTP(f *testing.F) {
	f.Add("JBSWY3DPEHPK3PXP", "123456", int64(0))
	f.Fuzz(func(t *testing.T, secret, code string, last int64) {
		if step, ok := verifyTOTP(backoffice.Secret(secret), code, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), last); ok && step <= last {
			t.Fatalf("step %d accepted at or before %d", step, last)
		}
	})
}
