package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/events"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// siem keeps the events it takes; while refusing, it takes none.
type siem struct {
	mu       sync.Mutex
	refusing bool
	got      []events.Event
}

func (s *siem) Name() string { return "webhook siem.acme.test" }

func (s *siem) Send(_ context.Context, e events.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refusing {
		return errors.New("webhook answered 401: bad signature")
	}
	s.got = append(s.got, e)
	return nil
}

// L2: the audit page shows each sink's state in the tenant (its backlog,
// the last event delivered, the last error); an Administrator sends a
// test event and sees whether it arrived, and redelivers from a sequence
// number. The attacker's test: an operator without tenant.configure has
// neither button, and posting the forms anyway is refused, changing
// nothing.
func TestConsoleEventSinks(t *testing.T) {
	rx := &siem{refusing: true}
	var stream *events.Stream
	e := newEnvWith(t, func(k *memorytest.Kit, c *console.Config) {
		stream = &events.Stream{Store: k.Store, Chain: k.Store, Sinks: []events.Sink{rx}, Now: k.Clock.Now, ReportError: func(context.Context, error) {}}
		c.Events = stream
	})
	_, err := stream.Round(context.Background())
	require.NoError(t, err)

	chief := e.browser(t)
	e.login(t, chief, "chief")
	resp, body := e.get(t, chief, "/audit")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `data-sink="webhook siem.acme.test"`)
	assert.Contains(t, body, "retrying")
	assert.Contains(t, body, "bad signature")
	assert.Contains(t, body, "Send a test event")

	resp, body = e.post(t, chief, "/audit/events/test", url.Values{"sink": {rx.Name()}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "did not take test event")

	rx.mu.Lock()
	rx.refusing = false
	rx.mu.Unlock()
	resp, body = e.post(t, chief, "/audit/events/test", url.Values{"sink": {rx.Name()}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "delivered to webhook siem.acme.test")
	require.Len(t, rx.got, 1)
	assert.Equal(t, "events.test", rx.got[0].Metadata.EventCode)

	resp, body = e.post(t, chief, "/audit/events/redeliver", url.Values{"sink": {rx.Name()}, "from": {"one"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "is a whole number")
	resp, body = e.post(t, chief, "/audit/events/redeliver", url.Values{"sink": {rx.Name()}, "from": {"1"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "from entry 1 will be sent")
	for {
		n, err := stream.Round(context.Background())
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	_, body = e.get(t, chief, "/audit")
	assert.Contains(t, body, `<td class="sink-state">ok</td>`)
	assert.Contains(t, body, `<td class="sink-backlog">0</td>`)
	sent := len(rx.got)
	assert.Greater(t, sent, 40, "the chain, from its first entry")
	delivered := rx.got[sent-1].Metadata.Sequence

	manager := e.browser(t)
	e.login(t, manager, "manager")
	_, body = e.get(t, manager, "/audit")
	assert.NotContains(t, body, "Send a test event", "audit.read alone shows the state, not the buttons")
	resp, _ = e.post(t, manager, "/audit/events/test", url.Values{"sink": {rx.Name()}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = e.post(t, manager, "/audit/events/redeliver", url.Values{"sink": {rx.Name()}, "from": {"1"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	_, err = stream.Round(context.Background())
	require.NoError(t, err)
	// What came since is the manager's own login's entries, after the
	// last one delivered: nothing again, and no test event.
	for _, ev := range rx.got[sent:] {
		assert.Greater(t, ev.Metadata.Sequence, delivered, "nothing was redelivered: %s", ev.Metadata.EventCode)
		delivered = ev.Metadata.Sequence
	}
}
