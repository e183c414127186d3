package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
)

// Webhook sends each event to a URL in its own POST, signed as the
// Standard Webhooks specification says (standardwebhooks.com): the
// headers webhook-id (the event's stable uid, the receiver's idempotency
// key), webhook-timestamp (Unix seconds) and webhook-signature
// ("v1,<base64 HMAC-SHA256 of id.timestamp.body>"), the body the event's
// OCSF JSON. During a secret's rotation every secret given signs, the
// signatures separated by spaces, so a receiver holding either accepts.
// Build it with NewWebhook.
type Webhook struct {
	url    string
	keys   [][]byte
	client *http.Client
	now    func() time.Time
}

// WebhookOptions are a webhook's optional settings.
type WebhookOptions struct {
	// Client sends the requests; default one with a 10-second timeout.
	Client *http.Client
	// Now is the clock of the timestamps; default time.Now.
	Now func() time.Time
}

// NewWebhook is a webhook to target (http or https), signed with secrets
// ("whsec_" and the base64 of 24 to 64 random bytes; the new one first
// during a rotation). A bad URL or secret is an ErrInvalid error naming
// it.
func NewWebhook(target string, secrets []string, opts *WebhookOptions) (*Webhook, error) {
	var v backoffice.Violations
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" || u.User != nil {
		v.Add("url", "must be an http or https URL without credentials")
	}
	w := &Webhook{url: target, client: &http.Client{Timeout: 10 * time.Second}, now: time.Now}
	if len(secrets) == 0 {
		v.Add("secrets", "give at least one whsec_ secret")
	}
	for i, s := range secrets {
		key, err := ParseWebhookSecret(s)
		if err != nil {
			v.Add(fmt.Sprintf("secrets[%d]", i), "must be whsec_ and the base64 of 24 to 64 bytes")
			continue
		}
		w.keys = append(w.keys, key)
	}
	if err := v.Err("events: webhook"); err != nil {
		return nil, err
	}
	if opts != nil {
		if opts.Client != nil {
			w.client = opts.Client
		}
		if opts.Now != nil {
			w.now = opts.Now
		}
	}
	return w, nil
}

// ParseWebhookSecret reads a "whsec_…" secret into its key.
func ParseWebhookSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, backoffice.NewError(backoffice.ErrInvalid, "events: webhook secret", "a webhook secret begins with whsec_")
	}
	key, err := base64.StdEncoding.Strict().DecodeString(b64)
	// Canonical only: the decoder skips line breaks, which a secret has not.
	if err != nil || len(key) < 24 || len(key) > 64 || base64.StdEncoding.EncodeToString(key) != b64 {
		return nil, backoffice.NewError(backoffice.ErrInvalid, "events: webhook secret", "a webhook secret is whsec_ and the base64 of 24 to 64 bytes")
	}
	return key, nil
}

// Name names the sink in metrics and logs: its URL's host.
func (w *Webhook) Name() string {
	if u, err := url.Parse(w.url); err == nil {
		return "webhook " + u.Host
	}
	return "webhook"
}

// Sign is the webhook-signature header's value for a message.
func (w *Webhook) Sign(id string, at time.Time, body []byte) string {
	sigs := make([]string, 0, len(w.keys))
	for _, key := range w.keys {
		m := hmac.New(sha256.New, key)
		fmt.Fprintf(m, "%s.%d.", id, at.Unix())
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// DeliveryError is a delivery the receiver did not accept.
type DeliveryError struct {
	Status int
	Body   string // the start of the receiver's answer
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("events: webhook answered %d: %s", e.Status, e.Body)
}

// Send posts the event. A 2xx answer is delivery; anything else, or no
// answer, is an error, and the event is to be sent again, with the same
// webhook-id.
func (w *Webhook) Send(ctx context.Context, e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	now := w.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "backoffice-events")
	req.Header.Set("webhook-id", e.Metadata.UID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", w.Sign(e.Metadata.UID, now, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // the connection is kept
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &DeliveryError{Status: resp.StatusCode, Body: string(head)}
	}
	return nil
}
