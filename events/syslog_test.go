package events_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/events"
	"github.com/backoffice-go/backoffice/internal/testserver"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// L4: events sent to a real rsyslogd over TLS (RFC 5425 framing, a
// throwaway CA) are read back from the file rsyslogd wrote, each the
// event's OCSF JSON under its MSGID; a collector whose certificate the CA
// did not sign is refused.
func TestSyslogToARealRsyslog(t *testing.T) {
	r := testserver.StartRsyslog(t)
	s, err := events.NewSyslog(r.Addr, r.TLSConfig(), &events.SyslogOptions{Hostname: "backoffice-test"})
	require.NoError(t, err)
	defer s.Close()
	var sent []events.Event
	for i := range 25 {
		e := events.FromAudit(backoffice.AuditEntry{ID: fmt.Sprintf("entry-%02d", i), Tenant: "acme", Seq: int64(i + 1), Hash: "h",
			Actor: backoffice.ActorRef{Kind: backoffice.ActorOperator, ID: "op-1", Name: "ada"}, Action: backoffice.ActionDeviceLock,
			TargetType: "scadevice", TargetID: fmt.Sprintf("dev-%d", i), At: time.Now(),
			Changes: []backoffice.Change{{Field: "reason", Before: "", After: "suspected fraud: \"card\" <stolen>\nsecond line"}}})
		require.NoError(t, s.Send(context.Background(), e))
		sent = append(sent, e)
	}
	var lines []string
	require.Eventually(t, func() bool {
		lines = readLines(t, r.File)
		return len(lines) >= len(sent)
	}, 20*time.Second, 50*time.Millisecond, "rsyslogd wrote every event")
	require.Len(t, lines, len(sent))
	for i, line := range lines {
		msgid, body, ok := strings.Cut(line, " ")
		require.True(t, ok, line)
		assert.Equal(t, fmt.Sprintf("ocsf-%d", events.ClassEntityManagement), msgid)
		var got events.Event
		require.NoError(t, json.Unmarshal([]byte(body), &got), body)
		assert.Equal(t, sent[i].Metadata.UID, got.Metadata.UID, "in order")
		assert.Equal(t, sent[i].Metadata.Sequence, got.Metadata.Sequence)
	}

	// A collector the CA did not sign: refused by the handshake.
	stranger, err := events.NewSyslog(r.Addr, &tls.Config{MinVersion: tls.VersionTLS12}, nil)
	require.NoError(t, err)
	err = stranger.Send(context.Background(), sent[0])
	var refused *tls.CertificateVerificationError
	assert.ErrorAs(t, err, &refused, "refused: %v", err)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// The message itself: RFC 5424's header (facility 13, the severity, the
// version, a UTC timestamp, the host, the app, MSGID) and RFC 5425's
// length prefix counting its bytes.
func TestSyslogFormat(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 123456000, time.UTC)
	s, err := events.NewSyslog("collector.example:6514", &tls.Config{}, &events.SyslogOptions{Hostname: "host a\x00", Now: func() time.Time { return at }})
	require.NoError(t, err)
	e := events.FromAudit(backoffice.AuditEntry{ID: "e1", Tenant: "acme", Action: backoffice.ActionOperatorBlock, TargetType: "operator", TargetID: "o",
		Actor: backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:login", Name: "login"}, At: at})
	frame, err := s.Format(e)
	require.NoError(t, err)
	n, msg, ok := strings.Cut(string(frame), " ")
	require.True(t, ok)
	assert.Equal(t, fmt.Sprint(len(msg)), n)
	assert.True(t, strings.HasPrefix(msg, "<107>1 2026-12-07T10:00:00.123456Z hosta backoffice - ocsf-3001 - {"), msg)

	for _, bad := range []struct {
		addr string
		cfg  *tls.Config
	}{{"no-port", &tls.Config{}}, {"collector.example:6514", nil}} {
		_, err := events.NewSyslog(bad.addr, bad.cfg, nil)
		assert.ErrorIs(t, err, backoffice.ErrInvalid, "%v", bad)
	}
}
