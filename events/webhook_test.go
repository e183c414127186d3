package events_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/events"
)

func newSecret(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// received is what a receiver got: each request's headers and body.
type received struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	status   int
}

func (r *received) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests, r.bodies = append(r.requests, req), append(r.bodies, body)
	w.WriteHeader(r.status)
}

func blockEvent() events.Event {
	return events.FromAudit(backoffice.AuditEntry{ID: "0195f2c4-7d1e-7000-8000-000000000042", Tenant: "acme", Seq: 7, Hash: "ab12",
		Actor: backoffice.ActorRef{Kind: backoffice.ActorOperator, ID: "op-1", Name: "ada"}, Action: backoffice.ActionOperatorBlock,
		TargetType: "operator", TargetID: "op-2", At: time.Now()})
}

// L3: a delivery is signed as the Standard Webhooks specification says,
// checked by the Standard Webhooks project's own Go library: its id is
// the event's uid, its body the event's OCSF JSON; a changed body, a
// wrong secret and a stale timestamp are refused by that library.
func TestWebhookSignedAsStandardWebhooks(t *testing.T) {
	rec := &received{status: http.StatusNoContent}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	secret := newSecret(t)
	now := time.Now()
	w, err := events.NewWebhook(srv.URL, []string{secret}, &events.WebhookOptions{Now: func() time.Time { return now }})
	require.NoError(t, err)
	e := blockEvent()
	require.NoError(t, w.Send(context.Background(), e))
	require.Len(t, rec.requests, 1)
	req, body := rec.requests[0], rec.bodies[0]

	verifier, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	require.NoError(t, verifier.Verify(body, req.Header), "the project's library accepts the signature")
	assert.Equal(t, e.Metadata.UID, req.Header.Get("webhook-id"))
	assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, float64(events.ClassAccountChange), got["class_uid"])

	assert.Error(t, verifier.Verify(append([]byte(" "), body...), req.Header), "a changed body")
	other, err := standardwebhooks.NewWebhook(newSecret(t))
	require.NoError(t, err)
	assert.ErrorIs(t, other.Verify(body, req.Header), standardwebhooks.ErrNoMatchingSignature, "another secret")

	// Stale: signed ten minutes ago, past the library's five-minute
	// tolerance.
	stale, err := events.NewWebhook(srv.URL, []string{secret}, &events.WebhookOptions{Now: func() time.Time { return now.Add(-10 * time.Minute) }})
	require.NoError(t, err)
	require.NoError(t, stale.Send(context.Background(), e))
	assert.ErrorIs(t, verifier.Verify(rec.bodies[1], rec.requests[1].Header), standardwebhooks.ErrMessageTooOld)

	// The same signature as the library's own for the same message.
	want, err := verifier.Sign(e.Metadata.UID, now, body)
	require.NoError(t, err)
	assert.Equal(t, want, w.Sign(e.Metadata.UID, now, body))
}

// L3: during a rotation both secrets sign, so a receiver that holds
// either the old or the new one accepts.
func TestWebhookRotation(t *testing.T) {
	rec := &received{status: http.StatusOK}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	old, fresh := newSecret(t), newSecret(t)
	w, err := events.NewWebhook(srv.URL, []string{fresh, old}, nil)
	require.NoError(t, err)
	require.NoError(t, w.Send(context.Background(), blockEvent()))
	for _, s := range []string{old, fresh} {
		v, err := standardwebhooks.NewWebhook(s)
		require.NoError(t, err)
		assert.NoError(t, v.Verify(rec.bodies[0], rec.requests[0].Header))
	}
}

// A receiver's refusal or absence is an error (the event is sent again
// later); bad settings are refused with the fields named.
func TestWebhookRefusals(t *testing.T) {
	rec := &received{status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(rec)
	w, err := events.NewWebhook(srv.URL, []string{newSecret(t)}, nil)
	require.NoError(t, err)
	var de *events.DeliveryError
	require.ErrorAs(t, w.Send(context.Background(), blockEvent()), &de)
	assert.Equal(t, http.StatusServiceUnavailable, de.Status)
	srv.Close()
	assert.Error(t, w.Send(context.Background(), blockEvent()), "no receiver")

	for _, tc := range []struct {
		url     string
		secrets []string
		field   string
	}{
		{"ftp://example.test/x", []string{newSecret(t)}, "url"},
		{"https://user:pw@example.test/x", []string{newSecret(t)}, "url"},
		{"https://example.test/x", nil, "secrets"},
		{"https://example.test/x", []string{"not-a-secret"}, "secrets[0]"},
		{"https://example.test/x", []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("short"))}, "secrets[0]"},
		{"https://example.test/x", []string{"whsec_!!!"}, "secrets[0]"},
	} {
		_, err := events.NewWebhook(tc.url, tc.secrets, nil)
		var be *backoffice.Error
		require.True(t, errors.As(err, &be), "%v", tc)
		assert.ErrorIs(t, err, backoffice.ErrInvalid)
		var fields []string
		for _, f := range be.Fields {
			fields = append(fields, f.Field)
		}
		assert.Contains(t, fields, tc.field, "%v", tc)
	}
}

// Whatever the string, reading a secret answers a key or ErrInvalid,
// never a panic; a key read is what the string encodes.
func FuzzWebhookSecret(f *testing.F) {
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Add("whsec_")
	f.Add("whsec_====")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := events.ParseWebhookSecret(s)
		if err != nil {
			require.ErrorIs(t, err, backoffice.ErrInvalid)
			return
		}
		require.Equal(t, s, "whsec_"+base64.StdEncoding.EncodeToString(key))
	})
}
